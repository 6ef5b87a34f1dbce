"""Read functions for the CLI and web, plus the audit entry every write use case adds.

Each takes an open :class:`~sqlalchemy.orm.Session` (from ``unit_of_work``) and returns ORM
objects or plain values; none commits, so a caller's use case stays one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    AuditEntry,
    Measurement,
    Milestone,
    Patient,
    Site,
)

TOFERSEN = "tofersen"


def get_patient(session: Session, pseudonym: str) -> Patient | None:
    """The patient with this pseudonym (the CSV's ``patient_id``), or ``None``."""
    return session.scalars(select(Patient).where(Patient.pseudonym == pseudonym)).one_or_none()


def assessments_for(session: Session, patient_id: int) -> list[AlsfrsAssessment]:
    """A patient's ALSFRS-R assessments, oldest first (clinic before self-report on a day)."""
    query = (
        select(AlsfrsAssessment)
        .where(AlsfrsAssessment.patient_id == patient_id)
        .order_by(AlsfrsAssessment.date, AlsfrsAssessment.source)
    )
    return list(session.scalars(query))


def administrations_for(
    session: Session, patient_id: int, drug: str | None = None
) -> list[Administration]:
    """A patient's planned doses (given, missed, deferred), oldest first; optionally one drug."""
    query = select(Administration).where(Administration.patient_id == patient_id)
    if drug is not None:
        query = query.where(Administration.drug == drug)
    return list(session.scalars(query.order_by(Administration.date, Administration.drug)))


def measurements_for(
    session: Session, patient_id: int, kind: MeasurementKind | None = None
) -> list[Measurement]:
    """A patient's measurements, oldest first; optionally of one kind."""
    query = select(Measurement).where(Measurement.patient_id == patient_id)
    if kind is not None:
        query = query.where(Measurement.kind == kind)
    return list(session.scalars(query.order_by(Measurement.date, Measurement.kind)))


def milestones_for(session: Session, patient_id: int) -> list[Milestone]:
    """A patient's milestones in the order they happened."""
    query = (
        select(Milestone)
        .where(Milestone.patient_id == patient_id)
        .order_by(Milestone.date, Milestone.kind)
    )
    return list(session.scalars(query))


def adverse_events_for(session: Session, patient_id: int) -> list[AdverseEvent]:
    """A patient's adverse events by onset date."""
    query = (
        select(AdverseEvent)
        .where(AdverseEvent.patient_id == patient_id)
        .order_by(AdverseEvent.onset_date, AdverseEvent.term)
    )
    return list(session.scalars(query))


def cohort_summary(session: Session, top_variants: int = 5, drug: str = TOFERSEN) -> dict[str, Any]:
    """Headline counts of the registry, as plain values (ready for a table or JSON).

    Keys: ``patients`` (int); ``by_site`` {site code: patients}, every site, 0 when empty;
    ``by_status`` {status: patients}, every status; ``variants`` the ``top_variants``
    commonest SOD1 variants as ``{"hgvs", "legacy", "patients"}`` dicts, most frequent first
    (ties by name); ``on_treatment`` patients with at least one *given* dose of ``drug``;
    ``assessments`` ALSFRS-R ratings (clinic and self-report); ``deaths`` death milestones;
    ``adverse_events_by_term`` {term: events}, only terms that occur.
    """
    by_site_rows = session.execute(
        select(Site.code, func.count(Patient.id))
        .outerjoin(Patient, Patient.site_id == Site.id)
        .group_by(Site.code)
        .order_by(Site.code)
    )
    by_status = {status.value: 0 for status in PatientStatus}
    for status, count in session.execute(
        select(Patient.status, func.count()).group_by(Patient.status)
    ):
        by_status[status.value] = count
    patients_per_variant = func.count().label("patients")
    variant_rows = session.execute(
        select(Patient.sod1_hgvs, Patient.sod1_legacy, patients_per_variant)
        .group_by(Patient.sod1_hgvs, Patient.sod1_legacy)
        .order_by(patients_per_variant.desc(), Patient.sod1_hgvs, Patient.sod1_legacy)
        .limit(top_variants)
    )
    on_treatment = session.scalar(
        select(func.count(distinct(Administration.patient_id))).where(
            Administration.drug == drug, Administration.status == AdministrationStatus.GIVEN
        )
    )
    deaths = session.scalar(
        select(func.count()).select_from(Milestone).where(Milestone.kind == MilestoneKind.DEATH)
    )
    ae_rows = session.execute(
        select(AdverseEvent.term, func.count())
        .group_by(AdverseEvent.term)
        .order_by(AdverseEvent.term)
    )
    return {
        "patients": sum(by_status.values()),
        "by_site": dict(by_site_rows.all()),
        "by_status": by_status,
        "variants": [
            {"hgvs": hgvs, "legacy": legacy, "patients": count}
            for hgvs, legacy, count in variant_rows
        ],
        "on_treatment": on_treatment or 0,
        "assessments": session.scalar(select(func.count()).select_from(AlsfrsAssessment)) or 0,
        "deaths": deaths or 0,
        "adverse_events_by_term": {term.value: count for term, count in ae_rows},
    }


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


__all__ = [
    "adverse_events_for",
    "administrations_for",
    "assessments_for",
    "cohort_summary",
    "get_patient",
    "measurements_for",
    "milestones_for",
    "record_audit",
]
