"""Reading the audit trail: its head, its verification, and entries by patient, user, date.

The trail is read here and written only by :mod:`alsrwe.store.audit` (import-linter contracts
keep the two apart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from alsrwe.domain.audit_chain import ChainBreak, ChainEntry, ChainHead, find_break
from alsrwe.store.models import (
    RECORD_MODELS,
    AuditChainHead,
    AuditEntry,
    Base,
    Patient,
    Treatment,
)

VERIFY_BATCH = 5000
"""Entries fetched per round trip while verifying (bounded memory on any trail)."""


def chain_head(session: Session) -> ChainHead:
    """The stored head of the chain (an empty head for a trail that has none yet)."""
    head = session.get(AuditChainHead, 1)
    if head is None:
        return ChainHead(0, None, None)
    return ChainHead(head.entries, head.last_id, head.last_hash)


def _chain_entries(session: Session) -> Generator[ChainEntry]:
    columns = AuditEntry.__table__.c
    query = select(columns.id, columns.at, columns.actor, columns.action, columns.entity,
                   columns.patient_id, columns.detail, columns.prev_hash,
                   columns.hash).order_by(columns.id)
    with session.execute(query.execution_options(yield_per=VERIFY_BATCH)) as result:
        for row in result:
            yield ChainEntry(row.id, row.at, row.actor, row.action, row.entity,
                             row.patient_id, row.detail, row.prev_hash, row.hash)


def verify_chain(session: Session) -> ChainBreak | None:
    """The first entry that breaks the chain (or its head), ``None`` when all of it holds."""
    stored = session.get(AuditChainHead, 1)
    head = None if stored is None else ChainHead(stored.entries, stored.last_id,
                                                 stored.last_hash)
    with closing(_chain_entries(session)) as entries:  # closes the cursor on an early break
        return find_break(entries, head)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries ``alsrwe audit show`` and the audit page list."""

    patient: str | None = None
    actor: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    action: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    pseudonym: str | None
    detail: object


def _filtered(query: Select[AuditEntry, str], wanted: AuditFilter) -> Select[AuditEntry, str]:
    if wanted.patient is not None:
        query = query.where(Patient.pseudonym == wanted.patient)
    if wanted.actor is not None:
        query = query.where(AuditEntry.actor == wanted.actor)
    if wanted.action is not None:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.since is not None:
        query = query.where(AuditEntry.at >= dt.datetime.combine(wanted.since, dt.time(),
                                                                 tzinfo=dt.UTC))
    if wanted.until is not None:
        end = dt.datetime.combine(wanted.until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        query = query.where(AuditEntry.at < end)
    return query


def audit_entries(session: Session, wanted: AuditFilter = AuditFilter(), *,
                  limit: int = 200, before_id: int | None = None) -> Sequence[AuditRow]:
    """The newest entries matching ``wanted`` (at most ``limit``; older than ``before_id``)."""
    query = select(AuditEntry, Patient.pseudonym).outerjoin(
        Patient, Patient.id == AuditEntry.patient_id)
    query = _filtered(query, wanted)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = session.execute(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
    return [AuditRow(entry.id, entry.at, entry.actor, entry.action, entry.entity, pseudonym,
                     entry.detail) for entry, pseudonym in rows]


def patient_imports(session: Session, patient_id: int) -> Sequence[AuditRow]:
    """The imports that last wrote the patient's details or any of their records (an import's
    entry names no single patient; each row it writes carries its ``import_id``)."""
    import_ids: set[int] = set()
    models: tuple[type[Base], ...] = (Patient, *_record_models())
    for model in models:
        table = model.__table__
        key = table.c.id if model is Patient else table.c.patient_id
        import_ids.update(found for found in session.scalars(
            select(table.c.import_id).where(key == patient_id,
                                            table.c.import_id.is_not(None)).distinct()))
    if not import_ids:
        return []
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")
                              .order_by(AuditEntry.id.desc()))
    return [AuditRow(e.id, e.at, e.actor, e.action, e.entity, None, e.detail) for e in entries
            if isinstance(e.detail, dict) and e.detail.get("import_id") in import_ids]


def _record_models() -> tuple[type[Base], ...]:
    return (*RECORD_MODELS.values(), Treatment)


__all__ = ["AuditFilter", "AuditRow", "audit_entries", "chain_head", "patient_imports",
           "verify_chain"]
