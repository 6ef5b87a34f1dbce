"""Optimistic concurrency for every record: check the version a write was made on, then
stamp the record's next version, with who wrote it and when.

Two clinicians editing the same record must never silently overwrite each other (a lost
update): each write names the version it read; the record is locked (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite writers hold the database's write lock), compared, and only
then changed. A stale version raises :class:`~alsrwe.domain.errors.StaleVersion` naming who
changed the record and when.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alsrwe.domain.errors import StaleVersion
from alsrwe.store import models
from alsrwe.store.audit import audit_value
from alsrwe.store.models.base import Base, utc_now


def lock_current(session: Session, row: Base, expected: int | None, what: str,
                 shown: Callable[[], dict[str, Any]] | None = None) -> None:
    """Lock ``row`` and refuse the write if ``expected`` is not its stored version.

    ``expected=None`` means the caller has no version to state (the import, whose own
    check compares export times; the web edges require one). ``shown`` are the stored
    values the conflict reports (read after the lock), for the page to show beside the user's.
    """
    table = row.__table__
    session.execute(select(table.c.version).where(
        table.c.id == getattr(row, "id")).with_for_update())  # noqa: B009
    session.refresh(row)  # the values as committed now that no one else can change them
    current: int = getattr(row, "version")  # noqa: B009 (Base declares no columns)
    if expected is None or expected == current:
        return
    changed_at = getattr(row, "changed_at")  # noqa: B009
    values = shown() if shown else {}
    raise StaleVersion(what, expected, current, getattr(row, "changed_by"),  # noqa: B009
                       changed_at.isoformat(timespec="seconds") if changed_at else None,
                       {name: audit_value(value) for name, value in values.items()})


def stamp(row: Base, actor: str, *, new: bool = False) -> None:
    """Record who wrote ``row`` and when, and raise its version (a new row is version 1)."""
    if not new:
        setattr(row, "version", getattr(row, "version") + 1)  # noqa: B009, B010
    setattr(row, "changed_at", utc_now())  # noqa: B010
    setattr(row, "changed_by", actor)  # noqa: B010


def version_stamp(actor: str) -> dict[str, Any]:
    """The columns a bulk insert sets on each new row."""
    return {"changed_at": utc_now(), "changed_by": actor}


def registry_version(session: Session) -> tuple[int, int, int]:
    """(patients, Σ revision, highest id): changes with every registration and every change
    of a patient or of one of their records — the revision triggers raise it in the database
    itself (migration 0004), so no writer can change what the rulebook reads without it."""
    found = session.execute(select(func.count(models.Patient.id),
                                   func.coalesce(func.sum(models.Patient.revision), 0),
                                   func.coalesce(func.max(models.Patient.id), 0))).one()
    return int(found[0]), int(found[1]), int(found[2])


__all__ = ["lock_current", "registry_version", "stamp", "version_stamp"]
