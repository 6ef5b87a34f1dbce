"""The audit trail: one sealed entry per use case, written by the write path in the same
transaction.

Every write of :mod:`alsrwe.store.writes` (a form, an API call, an import, an account change,
a view or an export) adds its entry here before its transaction commits, so the entry and the
change land together or not at all. Each entry is sealed into the hash chain
(:mod:`alsrwe.domain.audit_chain`): the writer locks the chain's head row, takes the next id,
hashes the entry after the previous one and moves the head, so concurrent writers queue on
that row and the chain stays linear on PostgreSQL as on SQLite (whose writers already hold
the database's write lock).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.audit_chain import GENESIS, ChainEntry, entry_hash, json_value
from alsrwe.store.models import AuditChainHead, AuditEntry
from alsrwe.store.models.base import utc_now

audit_value = json_value
"""A column value as the trail's JSON keeps it (:func:`alsrwe.domain.audit_chain.json_value`)."""


def _as_json(detail: dict[str, Any] | None) -> Any:
    """The detail exactly as the JSON column will give it back (tuples as lists, dates ISO),
    so that the hash sealed now is the hash recomputed from the stored row."""
    if detail is None:
        return None
    return json.loads(json.dumps(detail, default=audit_value, allow_nan=False))


def _locked_head(session: Session) -> AuditChainHead:
    head = session.scalars(select(AuditChainHead).where(AuditChainHead.id == 1)
                           .with_for_update()).one_or_none()
    if head is None:  # a registry made by create_all (tests) rather than the migrations
        head = AuditChainHead(id=1, entries=0, last_id=None, last_hash=None)
        session.add(head)
    return head


def record_audit(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    detail: dict[str, Any] | None = None,
    *,
    patient_id: int | None = None,
) -> AuditEntry:
    """Seal an audit entry into the chain; it commits (or rolls back) with the use case."""
    head = _locked_head(session)
    entry_id = (head.last_id or 0) + 1
    previous = head.last_hash or GENESIS
    at = utc_now()
    content = _as_json(detail)
    sealed = entry_hash(previous, ChainEntry(entry_id, at, actor, action, entity, patient_id,
                                             content))
    entry = AuditEntry(id=entry_id, at=at, actor=actor, action=action, entity=entity,
                       detail=content, patient_id=patient_id, prev_hash=previous, hash=sealed)
    session.add(entry)
    head.entries += 1
    head.last_id, head.last_hash = entry_id, sealed
    session.flush()
    return entry


__all__ = ["audit_value", "record_audit"]
