"""Export of the registry as tidy CSV files, formatted so that import reads them back.

Export → import → export is the identity: the SOD1 notation is the one entered, numbers are
written in their shortest exact form, and confirmed plausibility warnings are written as
their codes in ``confirmed_warnings``, so that a re-import needs no new confirmation.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Collection, Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alsrwe.domain.tidy_format import TABLES, TableSpec, join_warnings, neutralise_formula
from alsrwe.interop.tidy_csv.manifest import write_manifest
from alsrwe.store.db import unit_of_work
from alsrwe.store.reads.audit_log import chain_head
from alsrwe.store.reads.tidy_views import tidy_view
from alsrwe.store.writes.disclosures import record_export


def format_cell(value: Any) -> str:
    """One value as the format writes it: ISO dates, 0/1 flags, shortest exact numbers,
    confirmed warnings (``[{"code": …}, …]``) as their codes, and text that a spreadsheet
    would run as a formula (``=``, ``+``, ``-``, ``@``) behind a ``'`` (import undoes it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, list):
        return join_warnings([item["code"] for item in value])
    if isinstance(value, str):
        return neutralise_formula(value)
    return str(value)


def export_rows(session: Session, pseudonyms: Collection[str] | None = None,
                ) -> Iterator[tuple[TableSpec, list[list[str]]]]:
    """Every table of the format with its rows (its columns only), in a stable order; only
    the rows of ``pseudonyms`` when given."""
    for spec in TABLES:
        result = session.execute(tidy_view(spec.name, pseudonyms))
        names = list(result.keys())
        positions = [names.index(column) for column in spec.columns]
        yield spec, [[format_cell(row[i]) for i in positions] for row in result]


def text_tables(session: Session, pseudonyms: Collection[str] | None = None,
                ) -> dict[str, list[dict[str, str]]]:
    """The registry (or ``pseudonyms``' records) as text cells by column, per tidy table:
    what every exporter (FHIR, REDCap, OMOP) starts from, exactly as import reads it back."""
    return {spec.name: [dict(zip(spec.columns, row, strict=True)) for row in rows]
            for spec, rows in export_rows(session, pseudonyms)}


def export_tidy(engine: Engine, directory: Path, *,
                actor: str = "alsrwe export") -> dict[str, int]:
    """Write the whole registry as tidy CSV files and their manifest (when it was read, so a
    re-import knows what changed since); the export is audited. Returns rows per file."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with unit_of_work(engine, read_only=True) as session:
        read_at = dt.datetime.now(dt.UTC)
        head = chain_head(session).as_dict()
        for spec, rows in export_rows(session):
            with (directory / spec.filename).open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(spec.columns)
                writer.writerows(rows)
                counts[spec.name] = len(rows)
    write_manifest(directory, read_at, counts, head)
    with unit_of_work(engine) as session:
        record_export(session, actor, "export", str(directory.resolve()), counts)
    return counts


__all__ = ["export_rows", "export_tidy", "format_cell", "text_tables"]
