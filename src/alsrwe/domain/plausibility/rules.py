"""The rulebook's entry points: one record against its patient, a patient row, confirmations.

The catalogue :data:`RULES` lists every rule code the rulebook and the record builders can
report (docs/domain-rules.md §11 documents each).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from alsrwe.domain.errors import Problem
from alsrwe.domain.plausibility import adverse_events, doses, identity, timeline, values
from alsrwe.domain.plausibility.history import PatientHistory
from alsrwe.domain.plausibility.settings import DEFAULT_SETTINGS, PlausibilitySettings
from alsrwe.domain.records import (
    AdministrationEntry,
    AdverseEventEntry,
    AlsfrsEntry,
    MeasurementEntry,
    MilestoneEntry,
    PatientEntry,
    RecordEntry,
)

UNKNOWN_PATIENT = "patient_id.unknown"
DUPLICATE_ROW = "row.duplicate"
DUPLICATE_RECORD = "record.duplicate"
IDENTIFYING_COLUMN = "privacy.identifying_column"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule of the rulebook: its code, whether a confirmation lets it through, what it says."""

    code: str
    soft: bool
    summary: str


RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in (
    Rule(timeline.BEFORE_1900, False, "a date before 1900-01-01"),
    Rule(timeline.IN_FUTURE, False, "a date after today"),
    Rule(timeline.BEFORE_BIRTH_YEAR, False, "a record dated before the patient's birth year"),
    Rule(timeline.AFTER_DEATH, False, "a record dated after the patient's death"),
    Rule(timeline.MILESTONE_ORDER, False, "milestones once each, none before onset"),
    Rule("drug.unknown", False, "a drug outside the coded vocabulary"),
    Rule("value.not_finite", False, "a number that is not finite"),
    Rule("value.negative", False, "a negative (or zero) amount"),
    Rule("value.impossible", False, "a value outside what its unit can physically be"),
    Rule("text.control_character", False, "a NUL byte or other control character"),
    Rule(doses.ABOVE_MAXIMUM, False, "a dose above the maximum multiple of the label dose"),
    Rule(doses.CSF_ABOVE_VOLUME, False, "more CSF removed than an adult has"),
    Rule(doses.CSF_NOT_INTRATHECAL, False, "CSF removed for a drug not given intrathecally"),
    Rule(identity.PSEUDONYM_CASE, False, "a pseudonym that differs only in case"),
    Rule(UNKNOWN_PATIENT, False, "a record of a patient neither imported nor registered"),
    Rule(DUPLICATE_ROW, False, "a natural key given twice in one import"),
    Rule(DUPLICATE_RECORD, False, "a natural key the patient already has (a form, the API)"),
    Rule(IDENTIFYING_COLUMN, False, "a column that would carry a direct identifier"),
    Rule(doses.NOT_LABEL_DOSE, True, "a dose other than the label's"),
    Rule(doses.TOO_SOON, True, "a dose sooner than the schedule allows"),
    Rule(doses.CSF_OUTSIDE_RANGE, True, "CSF removed outside the usual range"),
    Rule(values.VALUE_OUTSIDE_RANGE, True, "a measurement outside its plausible range"),
    Rule(values.ALSFRS_LARGE_CHANGE, True, "an ALSFRS-R total far from the previous one"),
    Rule(identity.SITE_CHANGED, True, "an import moving a patient to another site"),
    Rule(identity.SEX_CHANGED, True, "an import changing a patient's sex"),
    Rule(identity.BIRTH_YEAR_CHANGED, True, "an import changing a patient's birth year"),
    Rule(adverse_events.NO_RECENT_LUMBAR_PUNCTURE, True,
         "a post-lumbar puncture headache more than 5 days after the last lumbar puncture"),
)})
"""Every rule code the rulebook (and the record builders) can report."""

SOFT_CODES = frozenset(code for code, rule in RULES.items() if rule.soft)


def record_problems(entry: RecordEntry, history: PatientHistory, *, today: dt.date,
                    settings: PlausibilitySettings = DEFAULT_SETTINGS) -> list[Problem]:
    """Every rule ``entry`` breaks against the patient's history, except the milestone order
    (which an import judges per patient, :mod:`.batch`)."""
    problems = timeline.calendar_problems(entry, today) + timeline.life_problems(entry, history)
    match entry:
        case AdministrationEntry():
            problems += doses.dose_problems(entry, history, settings)
        case MeasurementEntry():
            problems += values.measurement_problems(entry, settings)
        case AlsfrsEntry():
            problems += values.rating_problems(entry, history, settings)
        case AdverseEventEntry():
            problems += adverse_events.adverse_event_problems(entry, history)
    return problems


def check_record(entry: RecordEntry, history: PatientHistory, *, today: dt.date,
                 settings: PlausibilitySettings = DEFAULT_SETTINGS) -> list[Problem]:
    """Every rule one record breaks, given the patient's history without it (a form, the API)."""
    problems = record_problems(entry, history, today=today, settings=settings)
    if isinstance(entry, MilestoneEntry):
        problems += timeline.milestone_problems(entry, history)
    return problems


def check_patient(entry: PatientEntry, registered: PatientHistory | None, *,
                  today: dt.date) -> list[Problem]:
    """The rules of a patient row beyond its own: dates in the calendar, identity changes."""
    return timeline.calendar_problems(entry, today) + identity.identity_problems(entry,
                                                                                 registered)


def settle(problems: Iterable[Problem], confirmed: Collection[str] = (), *,
           accept_all: bool = False) -> tuple[list[Problem], list[Problem]]:
    """(problems that stop the write, soft problems confirmed): a soft problem is confirmed
    when its code is in ``confirmed`` or everything is accepted (``--accept-warnings``)."""
    stopping: list[Problem] = []
    accepted: list[Problem] = []
    for problem in problems:
        if problem.soft and (accept_all or problem.code in confirmed):
            accepted.append(problem)
        else:
            stopping.append(problem)
    return stopping, accepted


__all__ = [
    "DUPLICATE_RECORD",
    "DUPLICATE_ROW",
    "IDENTIFYING_COLUMN",
    "RULES",
    "SOFT_CODES",
    "UNKNOWN_PATIENT",
    "Rule",
    "check_patient",
    "check_record",
    "record_problems",
    "settle",
]
