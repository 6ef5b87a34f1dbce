"""The schedule engine: next due dose, calendar, adherence and the dosing calendar view.

It always continues from the *actual* date of the last dose (convention 5 of
docs/domain-rules.md), never from the plan; cycles follow convention 6.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from alsrwe.domain.dosing import CyclePhase, IntervalPhase, Regimen
from alsrwe.domain.errors import ScheduleError

LATE_AFTER_DAYS = 7
"""alsrwe convention, not a label fact: a dose given more than this many days late is late."""

HORIZON_DAYS = 90
"""How far ahead the schedule view plans by default (alsrwe display choice)."""

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Due:
    """The next dose: its due date, overall number, phase, position in the phase, days overdue.

    ``phase`` is the phase name for interval regimens ("loading", "maintenance") and "cycle N"
    for cycle regimens; ``phase_dose`` is the 1-based dose within that phase or cycle.
    """

    date: dt.date
    number: int
    phase: str
    phase_dose: int
    overdue_days: int


@dataclass(frozen=True, slots=True)
class _Slot:
    due: dt.date
    phase: str
    phase_dose: int


class _IntervalCourse:
    """One course of an interval regimen, fed doses in order (convention 5)."""

    def __init__(self, phases: Sequence[IntervalPhase], start: dt.date) -> None:
        self._phases = phases
        self._start = start
        self._count = 0
        self._last: dt.date | None = None

    def due(self, today: dt.date) -> _Slot:
        phase, index = self._phase_at(self._count)
        if self._last is None:
            return _Slot(self._start, phase.name, index + 1)
        return _Slot(self._last + phase.interval_days * _DAY, phase.name, index + 1)

    def give(self, day: dt.date) -> _Slot:
        slot = self.due(day)
        self._count += 1
        self._last = day
        return slot

    def _phase_at(self, position: int) -> tuple[IntervalPhase, int]:
        for phase in self._phases[:-1]:
            if phase.doses is None or position < phase.doses:
                return phase, position
            position -= phase.doses
        return self._phases[-1], position


class _CycleCourse:
    """One course of a cycle regimen, fed doses in order (convention 6).

    A cycle is anchored at its actual first dose. Within it the next dose is due the day after
    the last one, while doses remain and the treatment period is still open on the day it could
    be given (so a missed day can be made up inside the period). Otherwise the next cycle is due
    ``window_days + off_days`` after the anchor: 28 days, which keeps at least 14 drug-free days.
    """

    def __init__(self, phases: Sequence[CyclePhase], start: dt.date) -> None:
        self._phases = phases
        self._start = start
        self._cycle = 0
        self._in_cycle = 0
        self._anchor = start
        self._last = start

    def due(self, today: dt.date) -> _Slot:
        if self._cycle == 0:
            return _Slot(self._start, "cycle 1", 1)
        phase = self._phase_of(self._cycle)
        window_end = self._anchor + (phase.window_days - 1) * _DAY
        if self._in_cycle < phase.doses and max(today, self._last + _DAY) <= window_end:
            return _Slot(self._last + _DAY, f"cycle {self._cycle}", self._in_cycle + 1)
        next_start = self._anchor + (phase.window_days + phase.off_days) * _DAY
        return _Slot(next_start, f"cycle {self._cycle + 1}", 1)

    def give(self, day: dt.date) -> _Slot:
        slot = self.due(day)
        if slot.phase_dose == 1:
            self._cycle += 1
            self._in_cycle = 0
            self._anchor = day
        self._in_cycle += 1
        self._last = day
        return slot

    def _phase_of(self, cycle: int) -> CyclePhase:
        remaining = cycle
        for phase in self._phases[:-1]:
            if phase.cycles is None or remaining <= phase.cycles:
                return phase
            remaining -= phase.cycles
        return self._phases[-1]


_Course = _IntervalCourse | _CycleCourse


def _course(regimen: Regimen, start: dt.date) -> _Course:
    if regimen.cyclic:
        return _CycleCourse([p for p in regimen.phases if isinstance(p, CyclePhase)], start)
    return _IntervalCourse([p for p in regimen.phases if isinstance(p, IntervalPhase)], start)


def _checked(given: Sequence[dt.date], today: dt.date) -> list[dt.date]:
    days = sorted(given)
    for earlier, later in zip(days, days[1:], strict=False):
        if earlier == later:
            raise ScheduleError("given", f"dose date {later} appears twice; one dose per day")
    if days and days[-1] > today:
        raise ScheduleError("given", f"dose date {days[-1]} is after today ({today})")
    return days


def _walk(
    regimen: Regimen,
    given: Sequence[dt.date],
    today: dt.date,
    start: dt.date | None,
    reload_from: dt.date | None,
) -> tuple[list[tuple[dt.date, _Slot]], _Course]:
    """Assign every given dose its slot; return them with the course that is still running.

    With ``reload_from`` the doses before it are history (walked from ``start``) and a new
    course starts at its first phase on ``reload_from``.
    """
    days = _checked(given, today)
    parts = [(start, days)]
    if reload_from is not None:
        parts = [(start, [d for d in days if d < reload_from])]
        parts.append((reload_from, [d for d in days if d >= reload_from]))
    pairs: list[tuple[dt.date, _Slot]] = []
    course = _course(regimen, today)
    for part_start, part in parts:
        course = _course(regimen, part_start or (part[0] if part else today))
        pairs.extend((day, course.give(day)) for day in part)
    return pairs, course


def next_due(
    regimen: Regimen,
    given: Sequence[dt.date],
    today: dt.date,
    start: dt.date | None = None,
    *,
    reload_from: dt.date | None = None,
) -> Due:
    """The next dose, from the doses actually given (convention 5; docs/domain-rules.md §3.1).

    With no dose given, dose 1 is due on ``start`` (or ``today``). Missed or deferred doses are
    simply absent from ``given``: the due date stays put and ``overdue_days`` grows.
    Interruptions: by default the schedule resumes from the last actual dose. ``reload_from``
    is the clinician's explicit choice to restart the first (loading) phase on that date; the
    labels give no threshold for when to reload, so alsrwe never decides it.
    """
    pairs, course = _walk(regimen, given, today, start, reload_from)
    slot = course.due(today)
    overdue = max(0, (today - slot.due).days)
    return Due(slot.due, len(pairs) + 1, slot.phase, slot.phase_dose, overdue)


def interval_into(regimen: Regimen, number: int) -> int:
    """Days from the previous actual dose to dose ``number`` (2, 3, …) of an interval regimen:
    the same answer as :func:`next_due` (convention 5), without walking the doses before it."""
    if regimen.cyclic or number < 2:
        raise ScheduleError("number", "an interval before dose 2 or later of an interval regimen")
    phase, _ = _IntervalCourse([p for p in regimen.phases if isinstance(p, IntervalPhase)],
                               dt.date.min)._phase_at(number - 1)
    return phase.interval_days


def planned_calendar(regimen: Regimen, start: dt.date, until: dt.date) -> list[dt.date]:
    """The ideal calendar, every dose on time, from ``start`` up to and including ``until``."""
    course = _course(regimen, start)
    planned: list[dt.date] = []
    day = start
    while day <= until:
        course.give(day)
        planned.append(day)
        day = course.due(day).due
    return planned


@dataclass(frozen=True, slots=True)
class Adherence:
    """How well the doses given follow the regimen up to ``today``.

    ``expected_by_schedule`` counts doses due by today on the actual-dose schedule (each due date
    moves with the actual previous dose); ``expected_by_plan`` counts doses on the ideal planned
    calendar from the start to today. ``proportion`` = given / expected_by_plan, capped at 1
    (early doses), ``None`` when nothing was expected yet. ``longest_gap_days`` is the longest
    drug-free stretch, including the open one from the last dose to today. ``late_doses`` counts
    doses given more than ``late_after_days`` after they were due (an alsrwe convention).
    """

    doses_given: int
    expected_by_schedule: int
    expected_by_plan: int
    proportion: float | None
    longest_gap_days: int | None
    days_since_last_dose: int | None
    late_doses: int
    late_after_days: int
    overdue_days: int


def adherence(
    regimen: Regimen,
    given: Sequence[dt.date],
    today: dt.date,
    start: dt.date | None = None,
    *,
    reload_from: dt.date | None = None,
    late_after_days: int = LATE_AFTER_DAYS,
) -> Adherence:
    """Adherence to the regimen by ``today`` (schedule from actual doses, convention 5)."""
    pairs, course = _walk(regimen, given, today, start, reload_from)
    days = [day for day, _ in pairs]
    due_next = course.due(today).due
    by_schedule = sum(slot.due <= today for _, slot in pairs) + (due_next <= today)
    plan_start = start or (days[0] if days else today)
    if reload_from is None:
        by_plan = len(planned_calendar(regimen, plan_start, today))
    else:
        before = planned_calendar(regimen, plan_start, min(today, reload_from - _DAY))
        by_plan = len(before) + len(planned_calendar(regimen, reload_from, today))
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    if days:
        gaps.append((today - days[-1]).days)
    return Adherence(
        doses_given=len(days),
        expected_by_schedule=by_schedule,
        expected_by_plan=by_plan,
        proportion=min(1.0, len(days) / by_plan) if by_plan else None,
        longest_gap_days=max(gaps) if gaps else None,
        days_since_last_dose=(today - days[-1]).days if days else None,
        late_doses=sum((day - slot.due).days > late_after_days for day, slot in pairs),
        late_after_days=late_after_days,
        overdue_days=max(0, (today - due_next).days),
    )


@dataclass(frozen=True, slots=True)
class ScheduledDose:
    """One row of a patient's dosing calendar: a dose given (with its delay) or one planned."""

    number: int
    phase: str
    phase_dose: int
    due: dt.date
    given: dt.date | None = None
    delay_days: int | None = None

    @property
    def is_given(self) -> bool:
        """True for a dose already given, False for one still planned."""
        return self.given is not None


def schedule(
    regimen: Regimen,
    given: Sequence[dt.date],
    today: dt.date,
    start: dt.date | None = None,
    horizon_days: int = HORIZON_DAYS,
    *,
    reload_from: dt.date | None = None,
) -> list[ScheduledDose]:
    """The dosing calendar: every dose given, the next dose, and planned doses ahead.

    Past rows carry the due date (from the actual previous dose), the date given and the delay
    in days (negative = early). The next dose is always listed, even beyond the horizon; later
    rows up to ``today + horizon_days`` assume it is given on its due date, or today if overdue,
    and all after it on time.
    """
    if horizon_days < 0:
        raise ScheduleError("horizon_days", "must be zero or more")
    pairs, course = _walk(regimen, given, today, start, reload_from)
    rows = [
        ScheduledDose(n, slot.phase, slot.phase_dose, slot.due, day, (day - slot.due).days)
        for n, (day, slot) in enumerate(pairs, start=1)
    ]
    until = today + horizon_days * _DAY
    slot, number = course.due(today), len(pairs) + 1
    while number == len(pairs) + 1 or slot.due <= until:
        rows.append(ScheduledDose(number, slot.phase, slot.phase_dose, slot.due))
        day = max(slot.due, today)
        course.give(day)
        slot, number = course.due(day), number + 1
    return rows
