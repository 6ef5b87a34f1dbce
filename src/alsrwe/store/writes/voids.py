"""The write path for voiding a record entered in error: out of its table, kept with a reason.

A voided record leaves its table, so no analysis, export, schedule or rule sees it again; it
is kept whole in ``voided_records`` (its columns as text) with who voided it, when and why,
for the record page to show struck through. A record whose patient is outside the caller's
scope is NotFound. One audit entry, holding the record's values; never committed here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.errors import DomainError, NotFound
from alsrwe.domain.records import clean_text
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS, TABLES_BY_NAME
from alsrwe.store.audit import audit_value, record_audit
from alsrwe.store.models import Patient, VoidedRecord
from alsrwe.store.reads.records import scoped_record
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.records import ACTIONS, MODELS
from alsrwe.store.writes.versions import lock_current

REASON_FIELD = "void_reason"


def void_record(session: Session, scope: SiteScope, table: str, record_id: int, reason: object,
                *, actor: str, now: dt.datetime, patient_id: int | None = None,
                expected_version: int | None = None) -> VoidedRecord:
    """Void one record of ``table`` (a tidy table name) for ``reason``, or raise.

    NotFound when the record is absent, outside the scope or (given ``patient_id``) another
    patient's; DomainError naming ``void_reason`` when the reason is blank or too long.
    """
    model = MODELS[table]
    row = scoped_record(session, scope, model, record_id)
    owner: int = getattr(row, "patient_id")  # noqa: B009 (Base declares no columns)
    if patient_id is not None and owner != patient_id:
        raise NotFound(f"no such {table} record")
    lock_current(session, row, expected_version,
                 f"this {ACTIONS[table].replace('_', ' ')} record")
    text = clean_text(REASON_FIELD, reason if isinstance(reason, str) or reason is None
                      else str(reason))
    if text is None:
        raise DomainError(REASON_FIELD, "is required: say why the record is voided")
    names = [c for c in TABLES_BY_NAME[table].columns if c not in ("patient_id",
                                                                      CONFIRMED_WARNINGS)]
    values = {name: audit_value(getattr(row, name)) for name in names}
    voided = VoidedRecord(patient_id=owner, table_name=table, record_id=record_id,
                          record=values, reason=text, voided_by=actor, voided_at=now)
    session.add(voided)
    session.delete(row)
    session.flush()
    pseudonym = session.scalar(select(Patient.pseudonym).where(Patient.id == owner))
    record_audit(session, actor, f"{ACTIONS[table]}_void", str(model.__tablename__),
                 {"patient": pseudonym, "id": record_id, "reason": text, "before": values},
                 patient_id=owner)
    return voided


__all__ = ["REASON_FIELD", "void_record"]
