"""Import of an OMOP CDM instance (a folder of CSV/Parquet files, or a DuckDB file).

The instance is read by :func:`.reader.read_omop` in DuckDB, each tidy table comes back as
text cells formatted as the tidy format writes them, and those rows take the one door in
(:func:`alsrwe.interop.tidy_csv.importer.import_text_rows`): the same builders, rulebook,
confirmations and all-or-nothing transaction as a tidy CSV import. A problem names the OMOP
row it comes from, e.g. ``measurement (measurement_id 17), column unit: …``.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy import Engine

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS, TABLES_BY_NAME
from alsrwe.interop.omop.load import load_omop_folder, omop_files
from alsrwe.interop.omop.reader import OmopTables, read_omop
from alsrwe.interop.omop.tables import CDM_BY_NAME
from alsrwe.interop.progress import NO_PROGRESS, Progress
from alsrwe.interop.tidy_csv.export import format_cell
from alsrwe.interop.tidy_csv.importer import ImportReport, import_text_rows
from alsrwe.interop.tidy_csv.rows import TextRow
from alsrwe.store.writes.imports import ImportSource

DUCKDB_SUFFIX = ".duckdb"
FILES = {"patients": "person", "alsfrs": "observation", "measurements": "measurement",
         "administrations": "drug_exposure", "medications": "drug_exposure",
         "adverse_events": "condition_occurrence", "milestones": "procedure_occurrence, death"}
"""The OMOP table each tidy table is read from (for the import's record of its source)."""
SOURCE_OF = {"sod1_variant": "sod1_input"}
"""Tidy column ← reader column where they differ (the variant as entered, not normalised)."""


def looks_like_omop(path: Path) -> bool:
    """A DuckDB file, or a folder with a person table (person.csv, PERSON.csv, .parquet …)."""
    if path.is_file():
        return path.suffix.lower() == DUCKDB_SUFFIX
    if not path.is_dir():
        return False
    try:
        return "person" in omop_files(path)
    except InvalidInput:
        return True  # a person table given twice: OMOP, with a problem to report


def _person_schema(con: BaseBackend, path: Path) -> str | None:
    # raw SQL: Ibis 12's con.sql() and list_tables() call an API that DuckDB 2.0 removed
    found = con.raw_sql("SELECT DISTINCT table_schema FROM information_schema.tables "
                        "WHERE lower(table_name) = 'person' ORDER BY table_schema").fetchall()
    schemas = [str(row[0]) for row in found]
    if not schemas:
        raise InvalidInput([Problem(None, "holds no person table: not an OMOP CDM database",
                                    file=str(path))])
    return None if "main" in schemas else schemas[0]


def open_omop(path: Path) -> tuple[BaseBackend, str | None]:
    """The instance at ``path`` on DuckDB (a folder is loaded in memory; a DuckDB file is
    opened read-only) and the schema that holds its tables."""
    if path.is_file() and path.suffix.lower() == DUCKDB_SUFFIX:
        try:
            con = ibis.duckdb.connect(str(path), read_only=True)
        except Exception as error:  # duckdb's own IOException / InvalidInputException
            raise InvalidInput([Problem(None, f"cannot be opened as a DuckDB database: "
                                              f"{error}", file=str(path))]) from None
        return con, _person_schema(con, path)
    return load_omop_folder(path), None


def _cell(value: Any) -> str:
    """A value of a result frame as the tidy format writes it."""
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, float | np.floating) and math.isnan(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.floating):
        value = float(value)
    return format_cell(value)


def _where(record: dict[str, Any]) -> str:
    table = str(record["omop_table"])
    spec = CDM_BY_NAME.get(table)
    column = spec.id_column if spec is not None and spec.id_column else "person_id"
    return f"{table} ({column} {_cell(record['omop_id'])})"


def text_rows(read: OmopTables, progress: Progress = NO_PROGRESS,
              ) -> tuple[dict[str, list[TextRow]], list[Problem]]:
    """Every tidy table as text rows, and the assessments OMOP holds only in part."""
    tables: dict[str, list[TextRow]] = {}
    for name, table in read.tables.items():
        columns = [c for c in TABLES_BY_NAME[name].columns if c != CONFIRMED_WARNINGS]
        frame = table.execute()
        rows = []
        for record in frame.to_dict(orient="records"):
            values = {c: _cell(record.get(SOURCE_OF.get(c, c) if name == "patients" else c))
                      for c in columns}
            rows.append(TextRow(_where(record), None, values))
        tables[name] = rows
        progress(name, len(rows), len(rows))
    problems = []
    for record in read.incomplete_alsfrs.execute().to_dict(orient="records"):
        missing = [q for q in ITEM_COLUMNS if _cell(record[q]) == ""]
        problems.append(Problem(missing[0], f"the ALSFRS-R assessment of {record['patient_id']} "
                                            f"on {_cell(record['date'])} ({record['source']}) "
                                            f"lacks item(s) {', '.join(missing)}",
                                file=_where(record)))
    return tables, problems


def import_omop(engine: Engine, path: Path, *, today: date, actor: str = "alsrwe import",
                accept_warnings: bool = False, progress: Progress = NO_PROGRESS,
                ) -> ImportReport:
    """Import an OMOP CDM folder or DuckDB file into the registry: one transaction, all or
    nothing, judged by the same rules as a tidy CSV import."""
    con, database = open_omop(Path(path))
    try:
        tables, problems = text_rows(read_omop(con, database=database), progress)
    finally:
        con.disconnect()
    if not tables["patients"] and not problems:
        raise InvalidInput([Problem(None, "holds no person with an ALS condition (concept "
                                          "373182), an SOD1 variant or an alsrwe registry "
                                          "status", file=str(path))])
    source = ImportSource(str(path), {name: FILES[name] for name in tables})
    return import_text_rows(engine, tables, problems, source=source, today=today, actor=actor,
                            accept_warnings=accept_warnings, progress=progress)


__all__ = ["looks_like_omop", "import_omop", "open_omop", "text_rows"]
