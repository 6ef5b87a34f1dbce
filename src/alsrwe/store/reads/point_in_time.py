"""A patient's record on a past date: the stored rows, rewound through the audit trail
(:mod:`alsrwe.domain.audit_rewind`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alsrwe.domain.audit_chain import json_value
from alsrwe.domain.audit_rewind import Change, State, rewind
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS, TABLES_BY_NAME
from alsrwe.store.models import (
    RECORD_MODELS,
    AuditEntry,
    Patient,
    Treatment,
)
from alsrwe.store.models.base import VERSION_COLUMNS
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.scope import SiteScope

PATIENT_COLUMNS = ("sex", "birth_year", "status", "sod1_hgvs", "sod1_legacy", "sod1_input",
                   "zygosity", "onset_date", "onset_region", "diagnosis_date",
                   "genetic_test_date", "counselling_date")
TREATMENT_COLUMNS = ("regimen", "start_date", "end_date", "end_kind", "end_reason")


def _columns(table: str) -> list[str]:
    return [c for c in TABLES_BY_NAME[table].columns
            if c not in ("patient_id", CONFIRMED_WARNINGS, *VERSION_COLUMNS)]


@dataclass(frozen=True, slots=True)
class PatientAsOf:
    """The patient's details and records as they stood at ``at`` (``None``: not yet
    registered); records by tidy table, each with its ``id``, oldest first."""

    at: dt.datetime
    patient: dict[str, Any] | None
    records: dict[str, list[dict[str, Any]]]
    changes_undone: int


def _current(session: Session, patient: Patient) -> State:
    state: State = {("patients", patient.id): {
        name: json_value(getattr(patient, name)) for name in PATIENT_COLUMNS}}
    for table, model in RECORD_MODELS.items():
        names = _columns(table)
        columns = model.__table__.c
        query = select(columns.id, *(columns[n] for n in names)).where(
            columns.patient_id == patient.id)
        for row in session.execute(query):
            state[(str(model.__tablename__), row.id)] = {
                n: json_value(getattr(row, n)) for n in names}
    for treatment in session.scalars(select(Treatment).where(
            Treatment.patient_id == patient.id)):
        state[("treatments", treatment.id)] = {
            n: json_value(getattr(treatment, n)) for n in TREATMENT_COLUMNS}
    return state


def patient_as_of(session: Session, scope: SiteScope, patient_id: int,
                  at: dt.datetime) -> PatientAsOf:
    """The patient's record as it was at ``at``, rebuilt from today's rows and the trail."""
    patient = patient_in_scope(session, scope, patient_id)
    newer = session.execute(
        select(AuditEntry.action, AuditEntry.entity, AuditEntry.detail).where(
            AuditEntry.at > at,
            or_(AuditEntry.patient_id == patient.id, AuditEntry.action == "import"))
        .order_by(AuditEntry.id.desc())).all()
    changes = [Change(action, entity, detail or {}) for action, entity, detail in newer]
    state = rewind(_current(session, patient), changes)
    models = RECORD_MODELS
    table_of = {str(model.__tablename__): name for name, model in models.items()}
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in models}
    records["treatments"] = []
    for (entity, record_id), values in sorted(state.items()):
        if entity in table_of:
            records[table_of[entity]].append({"id": record_id, **values})
        elif entity == "treatments":
            records["treatments"].append({"id": record_id, **values})
    return PatientAsOf(at, state.get(("patients", patient.id)), records, len(changes))


__all__ = ["PatientAsOf", "patient_as_of"]
