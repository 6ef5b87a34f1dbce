"""The registry as rows of the tidy CSV format, formatted so that import reads them back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from alsrwe.interop.tidy_schema import TABLES, TableSpec
from alsrwe.store.tidy_views import TIDY_VIEWS


def format_cell(value: Any) -> str:
    """One value as the format writes it: ISO dates, 0/1 flags, shortest exact numbers."""
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
    return str(value)


def export_rows(session: Session) -> Iterator[tuple[TableSpec, list[list[str]]]]:
    """Every table of the format with its rows (its columns only), in a stable order."""
    for spec in TABLES:
        result = session.execute(TIDY_VIEWS[spec.name])
        names = list(result.keys())
        positions = [names.index(column) for column in spec.columns]
        yield spec, [[format_cell(row[i]) for i in positions] for row in result]
