"""The write path for treatment periods: start a regimen, pause or stop it with a reason.

The rules are the domain's (:mod:`alsrwe.domain.treatments`): a known regimen, dates within the
record and not after death, one running period per drug, a reason for every pause or stop.
A patient or period outside the caller's scope is NotFound. One audit entry per change, in
the caller's transaction (never committed here).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.errors import NotFound
from alsrwe.domain.treatments import TreatmentEnd, end_period, start_period
from alsrwe.store.audit import record_audit
from alsrwe.store.models import Patient, Treatment
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.reads.records import death_date, scoped_record
from alsrwe.store.reads.treatments import period_of, treatment_rows
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.versions import lock_current, stamp


def start_treatment(session: Session, scope: SiteScope, patient_id: int, regimen: str,
                    start_date: object, *, actor: str, today: dt.date) -> Treatment:
    """Start a period on ``regimen`` for a patient in scope, or raise its problems."""
    patient = patient_in_scope(session, scope, patient_id)
    periods = [period_of(row) for row in treatment_rows(session, patient.id)]
    period = start_period(regimen, start_date, periods, today=today,
                          death=death_date(session, patient.id))
    row = Treatment(patient_id=patient.id, regimen=period.regimen,
                    start_date=period.start_date)
    stamp(row, actor, new=True)
    session.add(row)
    session.flush()
    record_audit(session, actor, "treatment_start", "treatments",
                 {"patient": patient.pseudonym, "id": row.id, "regimen": row.regimen,
                  "start_date": row.start_date.isoformat()}, patient_id=patient.id)
    return row


def end_treatment(session: Session, scope: SiteScope, treatment_id: int, kind: object,
                  end_date: object, reason: object, *, actor: str, today: dt.date,
                  patient_id: int | None = None, expected_version: int | None = None
                  ) -> Treatment:
    """Pause or stop a running period (of ``patient_id``, when given), or raise its problems."""
    row = scoped_record(session, scope, Treatment, treatment_id)
    if patient_id is not None and row.patient_id != patient_id:
        raise NotFound("no such treatment")
    lock_current(session, row, expected_version, "this treatment")
    ended = end_period(period_of(row), kind, end_date, reason, today=today)
    row.end_date, row.end_kind, row.end_reason = ended.end_date, ended.end_kind, ended.end_reason
    stamp(row, actor)
    session.flush()
    pseudonym = session.scalar(select(Patient.pseudonym).where(Patient.id == row.patient_id))
    assert ended.end_date is not None and ended.end_kind is not None
    action = "treatment_pause" if ended.end_kind is TreatmentEnd.PAUSED else "treatment_stop"
    record_audit(session, actor, action, "treatments", {
        "patient": pseudonym, "id": row.id, "regimen": row.regimen,
        "end_date": ended.end_date.isoformat(), "reason": ended.end_reason},
        patient_id=row.patient_id)
    return row


__all__ = ["end_treatment", "start_treatment"]
