"""Treatment periods: a patient starts a regimen, pauses or stops it with a reason, resumes it.

A period runs from its start date until it ends, paused or stopped; resuming after a pause is a
new period on the same regimen. The *course* is what the schedule engine continues from: the
open period and the paused ones before it, back to the last stop (docs/domain-rules.md §13).
Doses given before the course started belong to an earlier course and do not count towards
its loading doses. Pure functions: the clock is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from alsrwe.domain.errors import DomainError, EventError, InvalidInput, Problem, ScheduleError
from alsrwe.domain.records import clean_text
from alsrwe.domain.regimens import REGIMENS, Regimen

EARLIEST = dt.date(1900, 1, 1)


class TreatmentEnd(StrEnum):
    """How a treatment period ended: paused (to be resumed) or stopped."""

    PAUSED = "paused"
    STOPPED = "stopped"


class CourseStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class TreatmentPeriod:
    """One period on a regimen; ``end_*`` are all None while it runs."""

    regimen: str
    start_date: dt.date
    end_date: dt.date | None = None
    end_kind: TreatmentEnd | None = None
    end_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.end_date is None


@dataclass(frozen=True, slots=True)
class Course:
    """Where a patient's latest course on a drug stands, as of today."""

    regimen: Regimen
    status: CourseStatus
    start: dt.date
    """When the course began: doses before it do not count towards its schedule."""
    since: dt.date
    """When the current status began: the latest start, pause or stop."""
    reason: str | None


def known_regimen(regimen_id: str) -> Regimen:
    """The regimen with this id; the problem names the ``regimen`` field."""
    regimen = REGIMENS.get(regimen_id.strip().lower() if isinstance(regimen_id, str) else "")
    if regimen is None:
        known = ", ".join(sorted(REGIMENS))
        raise ScheduleError("regimen", f"{regimen_id!r} is not one of: {known}")
    return regimen


def _check_date(field: str, day: object, today: dt.date) -> dt.date:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise EventError(field, "is required" if day is None else f"{day!r} is not a date")
    if not EARLIEST <= day <= today:
        raise EventError(field, f"{day.isoformat()} must be between {EARLIEST.isoformat()} "
                                f"and today ({today.isoformat()})")
    return day


def _reason(value: object) -> str:
    text = clean_text("end_reason", value if isinstance(value, str) or value is None
                      else str(value))
    if text is None:
        raise DomainError("end_reason", "is required: say why the treatment is paused or stopped")
    return text


def start_period(regimen_id: str, start_date: object, periods: Sequence[TreatmentPeriod], *,
                 today: dt.date, death: dt.date | None = None) -> TreatmentPeriod:
    """A new period, or InvalidInput: unknown regimen, a date outside the record, or a
    period of the same drug still running or ending after this start."""
    problems: list[Problem] = []
    regimen: Regimen | None = None
    day: dt.date | None = None
    for check in ("regimen", "start_date"):
        try:
            if check == "regimen":
                regimen = known_regimen(regimen_id)
            else:
                day = _check_date("start_date", start_date, today)
        except DomainError as error:
            problems.append(error.problems[0])
    if regimen is not None and day is not None:
        if death is not None and day > death:
            problems.append(Problem("start_date", f"is after the patient's death "
                                                  f"({death.isoformat()})", "after_death"))
        for period in periods:
            if REGIMENS[period.regimen].drug != regimen.drug:
                continue
            if period.is_open:
                problems.append(Problem("regimen", f"{regimen.drug} is already running since "
                                                   f"{period.start_date.isoformat()} "
                                                   f"({period.regimen}); pause or stop it first"))
            elif period.end_date is not None and day < period.end_date:
                problems.append(Problem("start_date", f"{day.isoformat()} is before the end of "
                                                      f"the previous {regimen.drug} period "
                                                      f"({period.end_date.isoformat()})"))
    if problems:
        raise InvalidInput(problems)
    assert regimen is not None and day is not None
    return TreatmentPeriod(regimen.id, day)


def end_period(period: TreatmentPeriod, kind: object, end_date: object, reason: object, *,
               today: dt.date) -> TreatmentPeriod:
    """The period paused or stopped on ``end_date`` for ``reason``, or InvalidInput."""
    problems: list[Problem] = []
    if not period.is_open:
        problems.append(Problem("end_kind", f"this period already ended on "
                                            f"{period.end_date}: start a new one to resume"))
    try:
        how = TreatmentEnd(str(kind))
    except ValueError:
        problems.append(Problem("end_kind", f"{kind!r} must be 'paused' or 'stopped'"))
        how = None
    day: dt.date | None = None
    try:
        day = _check_date("end_date", end_date, today)
        if day < period.start_date:
            problems.append(Problem("end_date", f"{day.isoformat()} is before the start "
                                                f"({period.start_date.isoformat()})"))
    except DomainError as error:
        problems.append(error.problems[0])
    try:
        text = _reason(reason)
    except DomainError as error:
        problems.append(error.problems[0])
    if problems:
        raise InvalidInput(problems)
    return TreatmentPeriod(period.regimen, period.start_date, day, how, text)


def course(periods: Sequence[TreatmentPeriod], drug: str | None = None) -> Course | None:
    """The latest course (of ``drug``, or of the drug of the latest period), None if none.

    The course starts at the earliest period reached by walking back from the latest one
    through paused periods; a stopped period ends a course.
    """
    chosen = [p for p in periods if drug is None or REGIMENS[p.regimen].drug == drug]
    if not chosen:
        return None
    ordered = sorted(chosen, key=lambda p: p.start_date)
    if drug is None:
        latest_drug = REGIMENS[ordered[-1].regimen].drug
        ordered = [p for p in ordered if REGIMENS[p.regimen].drug == latest_drug]
    latest = ordered[-1]
    start = latest.start_date
    for earlier in reversed(ordered[:-1]):
        if earlier.end_kind is not TreatmentEnd.PAUSED:
            break
        start = earlier.start_date
    if latest.is_open:
        status, since, reason = CourseStatus.ACTIVE, latest.start_date, None
    else:
        assert latest.end_date is not None
        status = (CourseStatus.PAUSED if latest.end_kind is TreatmentEnd.PAUSED
                  else CourseStatus.STOPPED)
        since, reason = latest.end_date, latest.end_reason
    return Course(REGIMENS[latest.regimen], status, start, since, reason)


def doses_in_course(given: Sequence[dt.date], latest: Course | None) -> list[dt.date]:
    """The given doses the schedule continues from: those of the course (all without one)."""
    if latest is None:
        return sorted(given)
    return sorted(day for day in given if day >= latest.start)


def scheduled(latest: Course | None) -> bool:
    """Whether a next dose is due: no course recorded (doses only), or a running one."""
    return latest is None or latest.status is CourseStatus.ACTIVE


__all__ = ["Course", "CourseStatus", "TreatmentEnd", "TreatmentPeriod", "course",
           "doses_in_course", "end_period", "known_regimen", "scheduled", "start_period"]
