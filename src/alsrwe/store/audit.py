"""The audit trail: one entry per use case, written by the write path in the same transaction.

Every write of :mod:`alsrwe.store.writes` (a form, an API call, an import, an account change)
adds its entry here before its transaction commits, so the entry and the change land
together or not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from alsrwe.store.models import AuditEntry


def record_audit(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; it commits (or rolls back) with the use case's data."""
    entry = AuditEntry(actor=actor, action=action, entity=entity, detail=detail)
    session.add(entry)
    session.flush()
    return entry


def audit_value(value: Any) -> Any:
    """A column value as the audit trail's JSON keeps it: dates ISO, enums by their value."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value)


__all__ = ["audit_value", "record_audit"]
