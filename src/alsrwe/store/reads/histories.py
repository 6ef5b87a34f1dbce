"""Patients' histories from the registry, as the rulebook judges new records against them.

:class:`~alsrwe.domain.plausibility.PatientHistory` is the domain's view of what the registry
holds about a patient: timeline, registered identity, milestones, doses given, ALSFRS-R
totals, latest record. The write path reads it here for one patient (a form, an API call)
or for every patient an import names, with a fixed number of queries either way.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import ITEM_COLUMNS, AssessmentSource
from alsrwe.domain.dosing import AdministrationStatus
from alsrwe.domain.events import Milestone as MilestoneEvent
from alsrwe.domain.plausibility import PatientHistory, pseudonym_key
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Base,
    Measurement,
    Medication,
    Milestone,
    Patient,
    Site,
)
from alsrwe.store.reads.patients import ID_CHUNK

DATED_RECORDS: tuple[tuple[type[Base], Any], ...] = (
    (AlsfrsAssessment, AlsfrsAssessment.date), (Measurement, Measurement.date),
    (Administration, Administration.date), (Medication, Medication.start_date),
    (AdverseEvent, AdverseEvent.onset_date),
)
"""Records whose date a death milestone must not precede, and which date that is."""


class _Reader:
    """Rows of one kind for the chosen patients, less the record left out."""

    def __init__(self, session: Session, ids: Sequence[int],
                 without: tuple[type[Base], int] | None) -> None:
        self.session, self.ids, self.without = session, ids, without

    def rows(self, model: type[Base], *columns: Any, where: Any = None,
             per_patient: bool = False) -> Iterator[Any]:
        """``columns`` of ``model``'s rows; grouped by patient when ``per_patient``."""
        table = model.__table__
        for start in range(0, len(self.ids), ID_CHUNK):
            query = select(*columns).where(table.c.patient_id.in_(self.ids[start:start + ID_CHUNK]))
            if where is not None:
                query = query.where(where)
            if self.without is not None and self.without[0] is model:
                query = query.where(table.c.id != self.without[1])
            if per_patient:
                query = query.group_by(table.c.patient_id)
            yield from self.session.execute(query)


def load_histories(
    session: Session, patient_ids: Collection[int],
    without: tuple[type[Base], int] | None = None,
) -> dict[int, PatientHistory]:
    """The histories of these patients, by id; ``without`` = (model, id) leaves one record out
    (the one being corrected, so that it is judged against the others only)."""
    ids = sorted(set(patient_ids))
    read = _Reader(session, ids, without)
    milestones: dict[int, list[MilestoneEvent]] = defaultdict(list)
    for pid, kind, day in read.rows(Milestone, Milestone.patient_id, Milestone.kind,
                                    Milestone.date):
        milestones[pid].append(MilestoneEvent(kind, day))
    doses: dict[int, dict[str, list[dt.date]]] = defaultdict(lambda: defaultdict(list))
    for pid, drug, day in read.rows(
            Administration, Administration.patient_id, Administration.drug, Administration.date,
            where=Administration.status == AdministrationStatus.GIVEN):
        doses[pid][drug].append(day)
    ratings: dict[int, dict[AssessmentSource, list[tuple[dt.date, int]]]] = defaultdict(
        lambda: defaultdict(list))
    total = sum(getattr(AlsfrsAssessment, q) for q in ITEM_COLUMNS)
    for pid, source, day, points in read.rows(
            AlsfrsAssessment, AlsfrsAssessment.patient_id, AlsfrsAssessment.source,
            AlsfrsAssessment.date, total):
        ratings[pid][source].append((day, int(points)))
    latest: dict[int, tuple[dt.date, str]] = {}
    for model, column in DATED_RECORDS:
        for pid, day in read.rows(model, model.__table__.c.patient_id, func.max(column),
                                  per_patient=True):
            if day is not None and (pid not in latest or day > latest[pid][0]):
                latest[pid] = (day, str(model.__tablename__))
    found: dict[int, PatientHistory] = {}
    for start in range(0, len(ids), ID_CHUNK):
        query = (select(Patient.id, Patient.pseudonym, Patient.birth_year, Patient.onset_date,
                        Site.code, Patient.sex)
                 .join(Site, Patient.site_id == Site.id)
                 .where(Patient.id.in_(ids[start:start + ID_CHUNK])))
        for pid, pseudonym, birth_year, onset, site, sex in session.execute(query):
            found[pid] = PatientHistory(
                pseudonym=pseudonym, birth_year=birth_year, onset=onset, site=site, sex=sex,
                milestones=tuple(sorted(milestones[pid], key=lambda m: m.date)),
                given_doses={drug: tuple(sorted(days)) for drug, days in doses[pid].items()},
                ratings={source: tuple(sorted(pairs)) for source, pairs in ratings[pid].items()},
                latest_record=latest.get(pid),
            )
    return found


def pseudonym_keys(session: Session) -> Mapping[str, str]:
    """Every registered pseudonym by its case-folded key (the letter-case rule)."""
    return {pseudonym_key(p): p for p in session.scalars(select(Patient.pseudonym))}


__all__ = ["DATED_RECORDS", "load_histories", "pseudonym_keys"]
