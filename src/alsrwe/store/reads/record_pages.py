"""One patient's records of one kind, a page at a time, site-scoped (the JSON API's lists).

Each function raises NotFound when the patient does not exist or is outside the scope, so
the web answers 404 without revealing which. Rows come back oldest first, with the total
number matching the filters (all pages) so that a client can page through them.
ALSFRS-R ratings are scored by the domain (:func:`alsrwe.store.reads.patient_file.score`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Base,
    Measurement,
    Medication,
    Milestone,
)
from alsrwe.store.reads.directory import MAX_PAGE_SIZE
from alsrwe.store.reads.patient_file import ScoredAssessment, score
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.scope import SiteScope

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecordPage(Generic[T]):
    """One page of a patient's records, how many match in all, and where the page starts."""

    rows: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class Paging:
    """Which page, and the optional date range (inclusive) on the record's own date."""

    limit: int = 25
    offset: int = 0
    start: dt.date | None = None
    end: dt.date | None = None

    def bounded(self) -> Paging:
        return Paging(max(1, min(self.limit, MAX_PAGE_SIZE)), max(0, self.offset),
                      self.start, self.end)


def _page(
    session: Session,
    scope: SiteScope,
    patient_id: int,
    model: type[Base],
    day: InstrumentedAttribute[Any],
    order: tuple[InstrumentedAttribute[Any], ...],
    paging: Paging,
    conditions: list[ColumnElement[bool]],
) -> RecordPage[Any]:
    patient_in_scope(session, scope, patient_id)
    paging = paging.bounded()
    where = [model.patient_id == patient_id, *conditions]  # type: ignore[attr-defined]
    if paging.start is not None:
        where.append(day >= paging.start)
    if paging.end is not None:
        where.append(day <= paging.end)
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = list(session.scalars(
        select(model).where(*where).order_by(*order, model.id)  # type: ignore[attr-defined]
        .limit(paging.limit).offset(paging.offset)
    ))
    return RecordPage(rows, total, paging.limit, paging.offset)


def alsfrs_page(
    session: Session, scope: SiteScope, patient_id: int, paging: Paging,
    source: AssessmentSource | None = None,
) -> RecordPage[ScoredAssessment]:
    """ALSFRS-R ratings, scored (total, domains, stages); optionally clinic or self-report."""
    conditions = [] if source is None else [AlsfrsAssessment.source == source]
    page = _page(session, scope, patient_id, AlsfrsAssessment, AlsfrsAssessment.date,
                 (AlsfrsAssessment.date, AlsfrsAssessment.source), paging, conditions)
    return RecordPage([score(row) for row in page.rows], page.total, page.limit, page.offset)


def measurements_page(
    session: Session, scope: SiteScope, patient_id: int, paging: Paging,
    kind: MeasurementKind | None = None,
) -> RecordPage[Measurement]:
    """Biomarker, lab and function values in canonical units; optionally one kind."""
    conditions = [] if kind is None else [Measurement.kind == kind]
    return _page(session, scope, patient_id, Measurement, Measurement.date,
                 (Measurement.date, Measurement.kind), paging, conditions)


def administrations_page(
    session: Session, scope: SiteScope, patient_id: int, paging: Paging,
    drug: str | None = None, status: AdministrationStatus | None = None,
) -> RecordPage[Administration]:
    """Planned doses and what happened to them; optionally one drug and/or status."""
    conditions: list[ColumnElement[bool]] = []
    if drug is not None:
        conditions.append(Administration.drug == drug)
    if status is not None:
        conditions.append(Administration.status == status)
    return _page(session, scope, patient_id, Administration, Administration.date,
                 (Administration.date, Administration.drug), paging, conditions)


def adverse_events_page(
    session: Session, scope: SiteScope, patient_id: int, paging: Paging
) -> RecordPage[AdverseEvent]:
    """Adverse events by onset date (the date range applies to the onset)."""
    return _page(session, scope, patient_id, AdverseEvent, AdverseEvent.onset_date,
                 (AdverseEvent.onset_date, AdverseEvent.term), paging, [])


def milestones_page(
    session: Session, scope: SiteScope, patient_id: int, paging: Paging
) -> RecordPage[Milestone]:
    """Disease milestones in the order they happened."""
    return _page(session, scope, patient_id, Milestone, Milestone.date,
                 (Milestone.date, Milestone.kind), paging, [])


def medications_page(
    session: Session, scope: SiteScope, patient_id: int, paging: Paging
) -> RecordPage[Medication]:
    """Concomitant medication courses by start date (the date range applies to the start)."""
    return _page(session, scope, patient_id, Medication, Medication.start_date,
                 (Medication.start_date, Medication.drug), paging, [])


__all__ = [
    "Paging",
    "RecordPage",
    "administrations_page",
    "adverse_events_page",
    "alsfrs_page",
    "measurements_page",
    "medications_page",
    "milestones_page",
]
