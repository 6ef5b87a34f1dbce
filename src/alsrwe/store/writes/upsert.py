"""Writing many rows by their natural key: insert the new, update the changed, skip the same.

A repeated import must create no duplicates and a corrected spreadsheet must update in place,
so the import batch (:mod:`alsrwe.store.writes.imports`) writes through :func:`upsert`, inside
the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from alsrwe.store.models import Base

CHUNK = 5000
"""Rows (and key look-ups) per statement: under SQLite's and PostgreSQL's parameter limits."""


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]],
           key: Sequence[str]) -> UpsertCounts:
    """Insert or update ``rows`` of ``model`` matched on the ``key`` columns.

    Existing rows are looked up by the first key column (``patient_id`` or the table's own
    natural key), compared column by column, and only those that differ are updated.
    """
    if not rows:
        return UpsertCounts(0, 0, 0)
    table = model.__table__
    columns = list(rows[0])
    first = key[0]
    wanted = sorted({row[first] for row in rows})
    existing: dict[tuple[Any, ...], Any] = {}
    for chunk in _chunks(wanted):
        stmt = select(table.c.id, *(table.c[name] for name in columns))
        stmt = stmt.where(table.c[first].in_(chunk))
        for found in session.execute(stmt):
            existing[tuple(getattr(found, name) for name in key)] = found
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in rows:
        old = existing.get(tuple(row[name] for name in key))
        if old is None:
            inserts.append(row)
        elif any(getattr(old, name) != row[name] for name in columns):
            updates.append({"id": old.id, **row})
    for chunk in _chunks(inserts):
        session.execute(insert(model), list(chunk))
    for chunk in _chunks(updates):
        session.execute(update(model), list(chunk))
    session.flush()
    return UpsertCounts(len(inserts), len(updates), len(rows) - len(inserts) - len(updates))
