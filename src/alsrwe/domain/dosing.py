"""The regimen model: a drug, its dose and route, and phases of intervals or cycles.

A regimen is data (docs/domain-rules.md §3.1, conventions 5 and 6); the engine that turns it
and the doses actually given into due dates lives in :mod:`alsrwe.domain.schedule`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from alsrwe.domain.choices import parse_choice
from alsrwe.domain.errors import ScheduleError


class AdministrationStatus(StrEnum):
    """What happened to a planned dose."""

    GIVEN = "given"
    MISSED = "missed"
    DEFERRED = "deferred"


class Route(StrEnum):
    """Route of administration as the label states it."""

    INTRATHECAL = "intrathecal"
    INTRAVENOUS = "intravenous"


class Authority(StrEnum):
    """The regulator whose label a regimen transcribes."""

    FDA = "FDA"
    EMA = "EMA"


@dataclass(frozen=True, slots=True)
class IntervalPhase:
    """Doses each due ``interval_days`` after the previous *actual* dose (convention 5).

    ``doses`` counts the doses in the phase; ``None`` means open-ended (only the last phase).
    The interval is the gap *into* each dose of the phase; a course's first dose is due at start.
    """

    name: str
    interval_days: int
    doses: int | None = None


@dataclass(frozen=True, slots=True)
class CyclePhase:
    """Cycles of ``doses`` daily doses within a ``window_days`` period, then ``off_days`` drug-free.

    ``cycles`` counts the cycles in the phase; ``None`` means open-ended. Cycles are named
    "cycle 1", "cycle 2", … across phases (IV edaravone, convention 6).
    """

    doses: int
    window_days: int
    off_days: int
    cycles: int | None = None


Phase = IntervalPhase | CyclePhase


@dataclass(frozen=True, slots=True)
class MissedDoseRule:
    """What to do when a dose is missed, as the label (or, where it is silent, alsrwe) says."""

    situation: str
    rule: str
    source: str = "label"


@dataclass(frozen=True, slots=True)
class Regimen:
    """A declarative dosing regimen transcribed from one label (US PI or EU SmPC).

    ``dose`` is per administration in ``unit``; ``volume_ml`` is the administered volume when the
    label states it. Phases are all interval phases or all cycle phases; the last is open-ended
    (these are chronic therapies, so ``next_due`` always has an answer).
    """

    id: str
    drug: str
    dose: float
    unit: str
    route: Route
    phases: tuple[Phase, ...]
    authority: Authority
    label: str
    label_revision: str
    source_url: str
    prescriber_requirement: str | None = None
    missed_dose_rules: tuple[MissedDoseRule, ...] = ()
    volume_ml: float | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        _check_phases(self.phases)

    @property
    def cyclic(self) -> bool:
        """True for cycle regimens (IV edaravone), False for interval regimens (tofersen)."""
        return isinstance(self.phases[0], CyclePhase)

    @property
    def min_interval_days(self) -> int:
        """The shortest gap between doses the schedule ever asks for (1 day inside a cycle)."""
        if self.cyclic:
            return 1
        return min(p.interval_days for p in self.phases if isinstance(p, IntervalPhase))


def _check_amount(field: str, value: float | None, *, positive: bool) -> None:
    """A finite amount, > 0 when ``positive``, else ≥ 0 (ScheduleError naming the column)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScheduleError(field, f"{value!r} is not a number")
    if not math.isfinite(value):
        raise ScheduleError(field, f"{value} is not a finite number", "value.not_finite")
    if value <= 0 if positive else value < 0:
        bound = "greater than 0" if positive else "at least 0"
        raise ScheduleError(field, f"{value:g} must be {bound}", "value.negative")


def check_administration(
    drug: str, status: str | AdministrationStatus, dose_mg: float | None,
    csf_removed_ml: float | None = None,
) -> AdministrationStatus:
    """Validate one planned dose as administrations.csv states it (data-format.md).

    Rules: a drug name; status given, missed or deferred; a given dose has its dose, and any
    dose is a finite number > 0 mg; CSF removed at the lumbar puncture is finite and ≥ 0 mL.
    Raises ScheduleError naming the column.
    """
    if not drug.strip():
        raise ScheduleError("drug", "is required")
    parsed = parse_choice(AdministrationStatus, "status", status, error=ScheduleError)
    _check_amount("dose_mg", dose_mg, positive=True)
    if parsed is AdministrationStatus.GIVEN and dose_mg is None:
        raise ScheduleError("dose_mg", "is required when status is given")
    _check_amount("csf_removed_ml", csf_removed_ml, positive=False)
    return parsed


def _check_phases(phases: tuple[Phase, ...]) -> None:
    if not phases:
        raise ScheduleError("phases", "a regimen needs at least one phase")
    if len({type(p) for p in phases}) != 1:
        raise ScheduleError("phases", "phases must all be interval phases or all cycle phases")
    counts = [p.doses if isinstance(p, IntervalPhase) else p.cycles for p in phases]
    if counts[-1] is not None or None in counts[:-1]:
        raise ScheduleError("phases", "only the last phase is open-ended, and it must be")
    if any(c is not None and c < 1 for c in counts):
        raise ScheduleError("phases", "a finite phase has at least one dose or cycle")
    for p in phases:
        if isinstance(p, IntervalPhase) and p.interval_days < 1:
            raise ScheduleError("phases", "interval_days must be at least 1")
        if isinstance(p, CyclePhase) and not (1 <= p.doses <= p.window_days and p.off_days >= 0):
            raise ScheduleError("phases", "a cycle has 1..window_days doses and off_days >= 0")


# --- The regimens -------------------------------------------------------------------------------
