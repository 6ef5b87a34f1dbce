"""One patient's records of each kind, oldest first, and a record found by id within a scope.

Each function takes an open :class:`~sqlalchemy.orm.Session` (from ``unit_of_work``) and
returns ORM rows; none writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.errors import NotFound
from alsrwe.domain.events import MilestoneKind
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Base,
    FlagAcknowledgement,
    Measurement,
    Medication,
    Milestone,
    Patient,
    VoidedRecord,
)
from alsrwe.store.scope import SiteScope

R = TypeVar("R", bound=Base)
A = TypeVar("A", bound="Rated")


class Rated(Protocol):
    """An ALSFRS-R rating as stored or scored: who rated it and whether it was reviewed."""

    @property
    def source(self) -> AssessmentSource: ...

    @property
    def reviewed_at(self) -> dt.datetime | None: ...


def headline_rating(ratings: Sequence[A]) -> A | None:
    """The rating a page or summary leads with (docs/domain-rules.md §13): the latest clinic
    rating; without one, the latest self-report a clinician reviewed; never an unreviewed
    self-report. ``ratings`` oldest first."""
    clinic = [r for r in ratings if r.source is AssessmentSource.CLINIC]
    reviewed = [r for r in ratings
                if r.source is AssessmentSource.SELF and r.reviewed_at is not None]
    chosen = clinic or reviewed
    return chosen[-1] if chosen else None



def record_name(model: type[Base]) -> str:
    """How messages name a kind of record ("alsfrs assessment", "adverse event")."""
    return str(model.__tablename__).rstrip("s").replace("_", " ")


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


def death_date(session: Session, patient_id: int) -> dt.date | None:
    """The date of the patient's death milestone, if any."""
    return session.scalar(select(Milestone.date).where(
        Milestone.patient_id == patient_id, Milestone.kind == MilestoneKind.DEATH))


def medications_for(session: Session, patient_id: int) -> list[Medication]:
    """A patient's concomitant medications by start date."""
    query = (select(Medication).where(Medication.patient_id == patient_id)
             .order_by(Medication.start_date, Medication.drug))
    return list(session.scalars(query))


def voided_for(session: Session, patient_id: int) -> list[VoidedRecord]:
    """A patient's voided records, most recently voided first."""
    query = (select(VoidedRecord).where(VoidedRecord.patient_id == patient_id)
             .order_by(VoidedRecord.voided_at.desc(), VoidedRecord.id.desc()))
    return list(session.scalars(query))


def acknowledgements_for(session: Session, patient_id: int) -> list[FlagAcknowledgement]:
    """The flags a clinician acknowledged for a patient, by sample date."""
    query = (select(FlagAcknowledgement).where(FlagAcknowledgement.patient_id == patient_id)
             .order_by(FlagAcknowledgement.sample_date))
    return list(session.scalars(query))


def scoped_record(session: Session, scope: SiteScope, model: type[R], record_id: int) -> R:
    """The record if its patient is in scope; NotFound otherwise (absent or foreign)."""
    column = model.__table__.c
    query = scope.patients(
        select(model).join(Patient, Patient.id == column.patient_id).where(column.id == record_id)
    )
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFound(f"no such {record_name(model)}")
    return row


__all__ = [
    "acknowledgements_for",
    "adverse_events_for",
    "administrations_for",
    "assessments_for",
    "death_date",
    "headline_rating",
    "measurements_for",
    "medications_for",
    "milestones_for",
    "record_name",
    "scoped_record",
    "voided_for",
]
