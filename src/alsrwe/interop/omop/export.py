"""Export of the registry as OMOP CDM v5.4 tables (CSV or Parquet), audited.

The registry is read once as tidy text tables (what a tidy export writes), mapped by
:mod:`.mapping` and written one file per CDM table, named as the table (``person.csv`` …),
with the CDM's columns in DDL order. CSV: a header row, comma-separated, UTF-8, empty = NULL,
ISO dates. Parquet: the CDM types (integer → int32, NUMERIC → double, date → date32).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import Engine

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.interop.omop.mapping import omop_tables
from alsrwe.interop.omop.tables import CDM_TABLES, CDM_VERSION
from alsrwe.interop.progress import NO_PROGRESS, Progress
from alsrwe.interop.tidy_csv.export import text_tables
from alsrwe.store.db import unit_of_work
from alsrwe.store.writes.disclosures import record_export

FileFormat = Literal["csv", "parquet"]
FILE_FORMATS: tuple[FileFormat, ...] = ("csv", "parquet")


def write_table(table: pa.Table, path: Path, file_format: FileFormat) -> None:
    """One CDM table as a CSV (NULL = empty cell) or Parquet file."""
    if file_format == "parquet":
        pq.write_table(table, path)
        return
    pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))


def export_omop(engine: Engine, directory: Path, *, file_format: FileFormat = "csv",
                actor: str = "alsrwe export", progress: Progress = NO_PROGRESS,
                ) -> dict[str, int]:
    """Write the registry as OMOP CDM v5.4 tables into ``directory``; rows per table.

    Pseudonymous like the registry: person_source_value is the pseudonym and only the year
    of birth is written. The export is recorded in the audit trail.
    """
    if file_format not in FILE_FORMATS:
        raise InvalidInput([Problem("file_format", f"'{file_format}' is not one of "
                                                   f"{', '.join(FILE_FORMATS)}")])
    directory.mkdir(parents=True, exist_ok=True)
    with unit_of_work(engine, read_only=True) as session:
        text = text_tables(session)
    tables = omop_tables(text, progress)
    counts: dict[str, int] = {}
    for spec in CDM_TABLES:
        table = tables[spec.name]
        write_table(table, directory / f"{spec.name}.{file_format}", file_format)
        counts[spec.name] = table.num_rows
        progress(f"{spec.name}.{file_format}", table.num_rows, table.num_rows)
    with unit_of_work(engine) as session:
        record_export(session, actor, "export", str(directory.resolve()), counts,
                      {"format": f"omop-cdm-{CDM_VERSION}", "file_format": file_format})
    return counts


__all__ = ["FILE_FORMATS", "FileFormat", "export_omop", "write_table"]
