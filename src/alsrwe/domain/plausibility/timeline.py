"""Hard rules of time: every date between 1900 and today, and within the patient's life.

docs/domain-rules.md §11.1: no date before 1900-01-01 (the earliest birth year the registry
takes) or after today; no record before 1 January of the patient's birth year (only the year
is kept); nothing after the death milestone; milestones each once, none before symptom
onset, in the order the domain allows (:func:`alsrwe.domain.events.validate_milestones`).
"""

from __future__ import annotations

import datetime as dt

from alsrwe.domain.errors import DomainError, Problem
from alsrwe.domain.events import AFTER_DEATH, MILESTONE_ORDER, MilestoneKind, validate_milestones
from alsrwe.domain.patient import MIN_BIRTH_YEAR
from alsrwe.domain.plausibility.history import PatientHistory
from alsrwe.domain.records import Entry, MilestoneEntry, RecordEntry

EARLIEST_DATE = dt.date(MIN_BIRTH_YEAR, 1, 1)

BEFORE_1900 = "date.before_1900"
IN_FUTURE = "date.in_future"
BEFORE_BIRTH_YEAR = "date.before_birth_year"

AFTER_DEATH_FIELDS = {
    "alsfrs": "date", "measurements": "date", "administrations": "date",
    "medications": "start_date", "adverse_events": "onset_date",
}
"""The date of each kind of record that must not come after the patient's death (milestones:
:func:`milestone_problems`)."""


def calendar_problems(entry: Entry, today: dt.date) -> list[Problem]:
    """Dates before 1900 or after ``today``."""
    problems = []
    for field, day in entry.dates():
        if day < EARLIEST_DATE:
            problems.append(Problem(field, f"{day.isoformat()} is before 1900; check the year",
                                    BEFORE_1900))
        elif day > today:
            problems.append(Problem(field, f"{day.isoformat()} is in the future (after "
                                           f"{today.isoformat()})", IN_FUTURE))
    return problems


def life_problems(entry: RecordEntry, history: PatientHistory) -> list[Problem]:
    """Dates before the birth year or after death (a patient's own dates: patient_record)."""
    problems = []
    if history.birth_year is not None:
        born = dt.date(history.birth_year, 1, 1)
        problems += [Problem(field, f"{day.isoformat()} is before the patient's birth year "
                                    f"{history.birth_year}", BEFORE_BIRTH_YEAR)
                     for field, day in entry.dates() if day < born]
    death = history.death
    own = AFTER_DEATH_FIELDS.get(entry.table)
    is_death = isinstance(entry, MilestoneEntry) and entry.milestone.kind is MilestoneKind.DEATH
    if death is not None and own is not None:
        problems += [Problem(field, f"{day.isoformat()} is after the patient's death on "
                                    f"{death.isoformat()}", AFTER_DEATH)
                     for field, day in entry.dates() if field == own and day > death]
    if is_death and history.latest_record is not None:
        assert isinstance(entry, MilestoneEntry)
        latest, table = history.latest_record
        if latest > entry.milestone.date:
            problems.append(Problem("date", f"death on {entry.milestone.date.isoformat()} would "
                                            f"precede a record already dated {latest.isoformat()} "
                                            f"({table.replace('_', ' ')})", AFTER_DEATH))
    return problems


def milestone_problems(entry: MilestoneEntry, history: PatientHistory) -> list[Problem]:
    """The milestone with the patient's others: each kind once, none before onset, none after
    death. A registered milestone of the same kind counts (the form adds, never replaces)."""
    try:
        validate_milestones([*history.milestones, entry.milestone], onset=history.onset)
    except DomainError as error:
        return [Problem(error.field, error.rule, error.code)]
    return []


__all__ = [
    "AFTER_DEATH",
    "AFTER_DEATH_FIELDS",
    "BEFORE_1900",
    "BEFORE_BIRTH_YEAR",
    "EARLIEST_DATE",
    "IN_FUTURE",
    "MILESTONE_ORDER",
    "calendar_problems",
    "life_problems",
    "milestone_problems",
]
