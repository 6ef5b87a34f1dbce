"""Treatment periods of patients, and where each patient's course stands (by the domain).

Callers are already scoped: they pass the ids of patients in the user's scope.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.treatments import Course, TreatmentPeriod, course
from alsrwe.store.models import Treatment
from alsrwe.store.reads.patients import ID_CHUNK


def period_of(row: Treatment) -> TreatmentPeriod:
    return TreatmentPeriod(row.regimen, row.start_date, row.end_date, row.end_kind,
                           row.end_reason)


def treatment_rows(session: Session, patient_id: int) -> list[Treatment]:
    """A patient's treatment periods, oldest start first."""
    return list(session.scalars(select(Treatment).where(Treatment.patient_id == patient_id)
                                .order_by(Treatment.start_date, Treatment.id)))


def periods_by_patient(session: Session,
                       patient_ids: Collection[int]) -> dict[int, list[TreatmentPeriod]]:
    """Each patient's periods, oldest first (patients without any are absent)."""
    wanted = sorted(set(patient_ids))
    found: dict[int, list[TreatmentPeriod]] = defaultdict(list)
    for start in range(0, len(wanted), ID_CHUNK):
        rows = session.scalars(select(Treatment)
                               .where(Treatment.patient_id.in_(wanted[start:start + ID_CHUNK]))
                               .order_by(Treatment.patient_id, Treatment.start_date))
        for row in rows:
            found[row.patient_id].append(period_of(row))
    return dict(found)


def courses_by_patient(session: Session, patient_ids: Collection[int],
                       drug: str | None = None) -> dict[int, Course]:
    """Each patient's latest course (of ``drug`` if given); patients without one are absent."""
    found = {}
    for patient_id, periods in periods_by_patient(session, patient_ids).items():
        latest = course(periods, drug)
        if latest is not None:
            found[patient_id] = latest
    return found


__all__ = ["courses_by_patient", "period_of", "periods_by_patient", "treatment_rows"]
