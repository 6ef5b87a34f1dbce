"""What the registry already holds about a patient, against which a new record is checked.

The store builds a :class:`PatientHistory` from the database for a form or an API call; an
import merges it with the rows of the files being imported (:func:`merged_history`), so a
record is judged against the same timeline and history at every edge.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.dosing import AdministrationStatus
from alsrwe.domain.events import Milestone, MilestoneKind
from alsrwe.domain.patient import Sex
from alsrwe.domain.records import (
    AdministrationEntry,
    AlsfrsEntry,
    MilestoneEntry,
    PatientEntry,
    RecordEntry,
)


@dataclass(frozen=True, slots=True)
class PatientHistory:
    """A patient's timeline and the parts of their record that the rules look at.

    ``given_doses`` are the dates of doses given, per drug code, sorted; ``ratings`` the
    (date, total) of ALSFRS-R ratings per source, sorted; ``latest_record`` the latest dated
    record other than a milestone (what a death milestone must not precede). ``site`` and
    ``sex`` are the registered identity (None for a patient not yet registered).
    """

    pseudonym: str
    birth_year: int | None = None
    onset: dt.date | None = None
    site: str | None = None
    sex: Sex | None = None
    milestones: tuple[Milestone, ...] = ()
    given_doses: Mapping[str, tuple[dt.date, ...]] = field(default_factory=dict)
    ratings: Mapping[AssessmentSource, tuple[tuple[dt.date, int], ...]] = field(
        default_factory=dict)
    latest_record: tuple[dt.date, str] | None = None

    @property
    def death(self) -> dt.date | None:
        return next((m.date for m in self.milestones if m.kind is MilestoneKind.DEATH), None)

    def doses_around(self, drug: str,
                     day: dt.date) -> tuple[int, dt.date | None, dt.date | None]:
        """(how many doses of ``drug`` were given before ``day``, the last of them, the first
        one after ``day``); a dose on ``day`` itself is not counted."""
        doses = self.given_doses.get(drug, ())
        before, after = bisect.bisect_left(doses, day), bisect.bisect_right(doses, day)
        return (before, doses[before - 1] if before else None,
                doses[after] if after < len(doses) else None)

    def previous_rating(self, source: AssessmentSource,
                        day: dt.date) -> tuple[dt.date, int] | None:
        """The latest (date, total) of ``source`` before ``day``, if any."""
        ratings = self.ratings.get(source, ())
        at = bisect.bisect_left(ratings, (day,))
        return ratings[at - 1] if at > 0 else None


def merged_history(
    pseudonym: str,
    registered: PatientHistory | None,
    patient: PatientEntry | None,
    records: Iterable[RecordEntry],
) -> PatientHistory:
    """The history after an import: the registered one with the import's patient row (its
    timeline wins) and records (a record with the natural key of a registered one replaces
    it; a milestone of a kind already registered replaces that one). ``latest_record`` stays
    the registry's: the import's own records are each checked against the merged death."""
    base = registered or PatientHistory(pseudonym)
    milestones = {m.kind: m for m in base.milestones}
    doses = {drug: set(days) for drug, days in base.given_doses.items()}
    ratings = {source: dict(pairs) for source, pairs in base.ratings.items()}
    for entry in records:
        if isinstance(entry, MilestoneEntry):
            milestones[entry.milestone.kind] = entry.milestone
        elif isinstance(entry, AdministrationEntry):
            days = doses.setdefault(entry.drug.value, set())
            if entry.status is AdministrationStatus.GIVEN:
                days.add(entry.date)
            else:
                days.discard(entry.date)
        elif isinstance(entry, AlsfrsEntry):
            ratings.setdefault(entry.source, {})[entry.date] = entry.score.total
    identity = patient.identity if patient is not None else None
    return PatientHistory(
        pseudonym=pseudonym,
        birth_year=identity.birth_year if identity else base.birth_year,
        onset=identity.onset_date if identity else base.onset,
        site=base.site,
        sex=base.sex,
        milestones=tuple(sorted(milestones.values(), key=lambda m: m.date)),
        given_doses=MappingProxyType({d: tuple(sorted(v)) for d, v in doses.items()}),
        ratings=MappingProxyType({s: tuple(sorted(v.items())) for s, v in ratings.items()}),
        latest_record=base.latest_record,
    )


__all__ = ["PatientHistory", "merged_history"]
