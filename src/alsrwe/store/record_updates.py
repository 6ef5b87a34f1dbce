"""Corrections of a patient's records: one ``update_*`` per kind, as ``update_adverse_event``.

Only the fields given change; the record, as changed, is validated again by the same domain
rules as when it was added (``alsrwe.store.records``), including its natural key and, for a
milestone, the patient's other milestones. A record whose patient is outside the caller's
:class:`SiteScope` is :class:`RecordNotFound`, like a missing one; a broken rule is a
:class:`RecordInvalid` raised before anything changes. One audit entry per update; the
caller's transaction is never committed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AlsfrsR
from alsrwe.domain.biomarkers import normalize_measurement
from alsrwe.domain.events import Milestone as MilestoneEvent
from alsrwe.domain.events import milestone, validate_milestones
from alsrwe.domain.regimens import check_administration
from alsrwe.store.models import (
    ALSFRS_ITEMS,
    Administration,
    AlsfrsAssessment,
    Base,
    Measurement,
    Milestone,
    Patient,
)
from alsrwe.store.queries import milestones_for, record_audit
from alsrwe.store.records import RecordInvalid, RecordNotFound, domain_rules, not_in_future
from alsrwe.store.scope import SiteScope

R = TypeVar("R", bound=Base)

ALSFRS_FIELDS = frozenset({"date", "gastrostomy", *ALSFRS_ITEMS})
MEASUREMENT_FIELDS = frozenset({"date", "kind", "value", "unit", "assay", "lab"})
ADMINISTRATION_FIELDS = frozenset({"date", "drug", "status", "dose_mg", "lot", "csf_removed_ml"})
MILESTONE_FIELDS = frozenset({"date", "kind"})
_OPTIONAL = frozenset({"assay", "lab", "dose_mg", "lot", "csf_removed_ml"})
"""Fields that may be emptied (set to null); every other one needs a value."""


def scoped_record(session: Session, scope: SiteScope, model: type[R], record_id: int) -> R:
    """The record if its patient is in scope; RecordNotFound otherwise (absent or foreign)."""
    column = model.__table__.c
    query = scope.patients(
        select(model).join(Patient, Patient.id == column.patient_id).where(column.id == record_id)
    )
    row = session.scalars(query).one_or_none()
    if row is None:
        raise RecordNotFound(f"no such {model.__tablename__.rstrip('s').replace('_', ' ')}")
    return row


def _merged(row: Base, allowed: frozenset[str], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The record's fields with the changes applied; unknown or emptied fields refused."""
    problems = dict.fromkeys(sorted(set(changes) - allowed), "cannot be changed")
    problems |= {name: "cannot be empty" for name, value in changes.items()
                 if value is None and name in allowed and name not in _OPTIONAL}
    if problems:
        raise RecordInvalid(problems)
    return {name: getattr(row, name) for name in allowed} | dict(changes)


def _refuse_other_duplicate(
    session: Session, row: Base, field: str, message: str, **key: Any
) -> None:
    """A natural key taken by another record of the patient is a field problem."""
    model = type(row)
    query = select(model).filter_by(**key).where(
        model.__table__.c.id != row.id).limit(1)  # type: ignore[attr-defined]
    if session.scalar(query) is not None:
        raise RecordInvalid({field: message})


def _audit(session: Session, row: Base, actor: str, action: str,
           changes: Mapping[str, Any]) -> None:
    session.flush()
    patient_id: int = getattr(row, "patient_id")  # noqa: B009 (Base declares no columns)
    pseudonym = session.scalar(select(Patient.pseudonym).where(Patient.id == patient_id))
    record_audit(session, actor, action, str(row.__tablename__),
                 {"patient": pseudonym, "id": getattr(row, "id"),  # noqa: B009
                  "changed": sorted(changes)})


def update_alsfrs(
    session: Session, scope: SiteScope, assessment_id: int, changes: Mapping[str, Any], *,
    actor: str, today: dt.date | None = None,
) -> AlsfrsAssessment:
    """Correct an ALSFRS-R rating: its date, items or scale of item 5 (not its source)."""
    row = scoped_record(session, scope, AlsfrsAssessment, assessment_id)
    merged = _merged(row, ALSFRS_FIELDS, changes)
    not_in_future("date", merged["date"], today)
    with domain_rules():
        rating = AlsfrsR.from_items([merged[q] for q in ALSFRS_ITEMS],
                                    gastrostomy=merged["gastrostomy"])
    _refuse_other_duplicate(
        session, row, "date",
        f"an ALSFRS-R rating ({row.source.value}) is already recorded on "
        f"{merged['date'].isoformat()}",
        patient_id=row.patient_id, date=merged["date"], source=row.source,
    )
    row.date, row.gastrostomy = merged["date"], rating.gastrostomy
    for name, value in zip(ALSFRS_ITEMS, rating.items, strict=True):
        setattr(row, name, value)
    _audit(session, row, actor, "alsfrs_update", changes)
    return row


def update_measurement(
    session: Session, scope: SiteScope, measurement_id: int, changes: Mapping[str, Any], *,
    actor: str, today: dt.date | None = None,
) -> Measurement:
    """Correct a measurement; a new value is read in ``unit`` (the stored unit if not sent)."""
    row = scoped_record(session, scope, Measurement, measurement_id)
    if "unit" in changes and "value" not in changes:
        raise RecordInvalid({"value": "send the value with its unit"})
    merged = _merged(row, MEASUREMENT_FIELDS, changes)
    not_in_future("date", merged["date"], today)
    with domain_rules():
        measured = normalize_measurement(merged["kind"], merged["value"], merged["unit"],
                                         assay=merged["assay"], lab=merged["lab"])
    _refuse_other_duplicate(
        session, row, "kind",
        f"a {measured.kind.value} value is already recorded on {merged['date'].isoformat()}",
        patient_id=row.patient_id, date=merged["date"], kind=measured.kind,
    )
    row.date, row.kind, row.value, row.unit = (merged["date"], measured.kind, measured.value,
                                               measured.unit)
    row.assay, row.lab = measured.assay, measured.lab
    _audit(session, row, actor, "measurement_update", changes)
    return row


def update_administration(
    session: Session, scope: SiteScope, administration_id: int, changes: Mapping[str, Any], *,
    actor: str, today: dt.date | None = None,
) -> Administration:
    """Correct a dose: date, drug, status, dose, lot or CSF removed."""
    row = scoped_record(session, scope, Administration, administration_id)
    merged = _merged(row, ADMINISTRATION_FIELDS, changes)
    not_in_future("date", merged["date"], today)
    with domain_rules():
        status = check_administration(merged["drug"], merged["status"], merged["dose_mg"],
                                      merged["csf_removed_ml"])
    name = merged["drug"].strip().lower()
    _refuse_other_duplicate(
        session, row, "date",
        f"a dose of {name} is already recorded on {merged['date'].isoformat()}",
        patient_id=row.patient_id, date=merged["date"], drug=name,
    )
    row.date, row.drug, row.status, row.dose_mg = merged["date"], name, status, merged["dose_mg"]
    row.lot = (merged["lot"] or "").strip() or None
    row.csf_removed_ml = merged["csf_removed_ml"]
    _audit(session, row, actor, "administration_update", changes)
    return row


def update_milestone(
    session: Session, scope: SiteScope, milestone_id: int, changes: Mapping[str, Any], *,
    actor: str, today: dt.date | None = None,
) -> Milestone:
    """Correct a milestone; checked with the patient's other milestones and onset."""
    row = scoped_record(session, scope, Milestone, milestone_id)
    merged = _merged(row, MILESTONE_FIELDS, changes)
    not_in_future("date", merged["date"], today)
    onset = session.scalar(select(Patient.onset_date).where(Patient.id == row.patient_id))
    with domain_rules():
        changed = milestone(merged["kind"], merged["date"])
        others = [MilestoneEvent(m.kind, m.date) for m in milestones_for(session, row.patient_id)
                  if m.id != row.id]
        validate_milestones([*others, changed], onset=onset)
    row.kind, row.date = changed.kind, changed.date
    _audit(session, row, actor, "milestone_update", changes)
    return row


__all__ = [
    "ADMINISTRATION_FIELDS",
    "ALSFRS_FIELDS",
    "MEASUREMENT_FIELDS",
    "MILESTONE_FIELDS",
    "scoped_record",
    "update_administration",
    "update_alsfrs",
    "update_measurement",
    "update_milestone",
]
