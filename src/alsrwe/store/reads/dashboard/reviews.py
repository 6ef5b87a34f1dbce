"""Self-reports awaiting a clinician, each beside the clinic rating it can be compared with."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AlsfrsR, AssessmentSource
from alsrwe.store.models import (
    AlsfrsAssessment,
    Patient,
)
from alsrwe.store.reads.dashboard.queues import (
    PatientRef,
    QueuePage,
    Slice,
    first_row,
    living,
)
from alsrwe.store.reads.patients import ID_CHUNK
from alsrwe.store.scope import SiteScope

DISCREPANCY_POINTS = 6
"""A self-report this many ALSFRS-R points or more from the clinic rating is flagged for the
reviewer (alsrwe display choice: about a quarter of a year's typical decline)."""


@dataclass(frozen=True, slots=True)
class ClinicRating:
    date: dt.date
    total: int


@dataclass(frozen=True, slots=True)
class SelfReportToReview:
    patient: PatientRef
    assessment_id: int
    date: dt.date
    total: int
    clinic: ClinicRating | None = None
    """The patient's latest clinic rating on or before the self-report's date."""

    @property
    def difference(self) -> int | None:
        """Self-report total minus the clinic total (negative: the patient rates lower)."""
        return None if self.clinic is None else self.total - self.clinic.total

    @property
    def discrepant(self) -> bool:
        return self.difference is not None and abs(self.difference) >= DISCREPANCY_POINTS


# --- Self-reports ------------------------------------------------------------------------------


def _clinic_ratings(session: Session, patient_ids: Collection[int]
                    ) -> dict[int, list[ClinicRating]]:
    """Each patient's clinic ratings (date, total by the domain), oldest first."""
    wanted = sorted(set(patient_ids))
    found: dict[int, list[ClinicRating]] = defaultdict(list)
    for start in range(0, len(wanted), ID_CHUNK):
        for row in session.scalars(
            select(AlsfrsAssessment)
            .where(AlsfrsAssessment.patient_id.in_(wanted[start:start + ID_CHUNK]),
                   AlsfrsAssessment.source == AssessmentSource.CLINIC)
            .order_by(AlsfrsAssessment.date)
        ):
            total = AlsfrsR.from_items(row.items, gastrostomy=row.gastrostomy).total
            found[row.patient_id].append(ClinicRating(row.date, total))
    return found


def _compared(ratings: Iterable[ClinicRating], day: dt.date) -> ClinicRating | None:
    before = [r for r in ratings if r.date <= day]
    return before[-1] if before else None


def self_reports_to_review(
    session: Session, scope: SiteScope, window: Slice | None = None,
    since: dt.date | None = None,
) -> QueuePage[SelfReportToReview]:
    """Self-reported ALSFRS-R ratings not yet reviewed, newest first (totals by the domain),
    each with the patient's latest clinic rating on or before its date."""
    window = window or Slice(limit=None)

    def to_review(*columns: Any) -> Select[Any]:
        query = living(scope, (
            select(*columns).select_from(AlsfrsAssessment)
            .join(Patient, AlsfrsAssessment.patient_id == Patient.id)
            .where(AlsfrsAssessment.source == AssessmentSource.SELF,
                   AlsfrsAssessment.reviewed_at.is_(None))
        ))
        return query if since is None else query.where(AlsfrsAssessment.date >= since)

    total = session.scalar(to_review(func.count(AlsfrsAssessment.id))) or 0
    ordered = to_review(AlsfrsAssessment, Patient.pseudonym).order_by(
        AlsfrsAssessment.date.desc(), Patient.pseudonym, AlsfrsAssessment.id)
    offset = first_row(window, total)
    if window.limit is not None:
        ordered = ordered.limit(window.limit).offset(offset)
    found = list(session.execute(ordered))
    clinic = _clinic_ratings(session, [row.patient_id for row, _ in found])
    rows = [
        SelfReportToReview(PatientRef(row.patient_id, pseudonym), row.id, row.date,
                           AlsfrsR.from_items(row.items, gastrostomy=row.gastrostomy).total,
                           _compared(clinic.get(row.patient_id, ()), row.date))
        for row, pseudonym in found
    ]
    return QueuePage(rows, total, offset, window.limit)
