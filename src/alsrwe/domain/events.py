"""Disease milestones and the composite endpoint (docs/domain-rules.md §6.3, convention 7).

Milestones follow docs/data-format.md (milestones.csv): each kind happens once per patient.
Errors are EventError naming the field (``kind``, ``date``, ``hours_per_day`` …).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from alsrwe.domain.errors import EventError


class OnsetRegion(StrEnum):
    """Body region of the first symptom."""

    BULBAR = "bulbar"
    UPPER_LIMB = "upper_limb"
    LOWER_LIMB = "lower_limb"
    RESPIRATORY = "respiratory"
    GENERALIZED = "generalized"


class MilestoneKind(StrEnum):
    """Milestones recorded after onset (onset and diagnosis are attributes of the patient)."""

    GASTROSTOMY = "gastrostomy"
    NIV = "niv"
    TRACHEOSTOMY = "tracheostomy"
    PERMANENT_VENTILATION = "permanent_ventilation"
    DEATH = "death"


VENTILATION_KINDS: frozenset[MilestoneKind] = frozenset(
    {MilestoneKind.NIV, MilestoneKind.PERMANENT_VENTILATION}
)

MILESTONE_ORDER = "milestone.order"
"""Rule code: each milestone once, none before symptom onset (docs/domain-rules.md §11)."""
AFTER_DEATH = "date.after_death"
"""Rule code: nothing after death (docs/domain-rules.md §11)."""

# When two qualifying milestones share a date, the endpoint names the gravest.
_GRAVITY = (
    MilestoneKind.DEATH,
    MilestoneKind.TRACHEOSTOMY,
    MilestoneKind.PERMANENT_VENTILATION,
    MilestoneKind.NIV,
    MilestoneKind.GASTROSTOMY,
)


def _check_date(field: str, value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise EventError(field, f"{value!r} is not a date")


def _check_hours(field: str, hours: float) -> None:
    if isinstance(hours, bool) or not math.isfinite(hours) or not 0 < hours <= 24:
        raise EventError(field, f"{hours!r} must be more than 0 and at most 24 hours per day")


@dataclass(frozen=True, slots=True)
class Milestone:
    """A dated milestone; ``hours_per_day`` is ventilator use, known only for NIV/PV.

    Build it with :func:`milestone`, which validates.
    """

    kind: MilestoneKind
    date: dt.date
    hours_per_day: float | None = None


def milestone(
    kind: str | MilestoneKind, date: dt.date, hours_per_day: float | None = None
) -> Milestone:
    """Validate one milestone (kind from the CSV vocabulary; hours only for ventilation)."""
    try:
        parsed = MilestoneKind(kind.strip().lower())
    except ValueError:
        names = ", ".join(k.value for k in MilestoneKind)
        raise EventError("kind", f"'{kind}' is not a milestone; use one of {names}") from None
    _check_date("date", date)
    if hours_per_day is not None:
        if parsed not in VENTILATION_KINDS:
            raise EventError("hours_per_day", f"hours per day apply to ventilation, not {parsed}")
        _check_hours("hours_per_day", hours_per_day)
    return Milestone(parsed, date, hours_per_day)


@dataclass(frozen=True, slots=True)
class PermanentVentilationRule:
    """What makes ventilation permanent: ≥ ``min_hours_per_day`` for ≥ ``min_consecutive_days``.

    Default 22 h/day for 21 consecutive days: the commonly cited trial definition, **[U]**
    (VALOR's exact definition was not found; docs/domain-rules.md §6.3, convention 7), so
    configurable.
    """

    min_hours_per_day: float = 22.0
    min_consecutive_days: int = 21

    def __post_init__(self) -> None:
        _check_hours("min_hours_per_day", self.min_hours_per_day)
        days = self.min_consecutive_days
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise EventError("min_consecutive_days", f"{days!r} must be a whole number ≥ 1")


DEFAULT_PERMANENT_VENTILATION = PermanentVentilationRule()


def permanent_ventilation_start(
    daily_hours: Iterable[tuple[dt.date, float]],
    rule: PermanentVentilationRule = DEFAULT_PERMANENT_VENTILATION,
) -> dt.date | None:
    """First day of the first run of qualifying days, or None (a derived PV milestone date).

    A run is consecutive calendar days each with ≥ rule.min_hours_per_day of ventilation;
    a missing day breaks it. Dating PV at the start of the run (not its 21st day) is an
    alsrwe choice: the ventilator dependence began then. Duplicate days are refused.
    """
    seen: dict[dt.date, float] = {}
    for day, hours in daily_hours:
        _check_date("date", day)
        if isinstance(hours, bool) or not math.isfinite(hours) or not 0 <= hours <= 24:
            raise EventError("hours_per_day", f"{hours!r} on {day} must be between 0 and 24")
        if day in seen:
            raise EventError("date", f"{day} is given twice")
        seen[day] = hours
    start: dt.date | None = None
    previous: dt.date | None = None
    for day in sorted(seen):
        qualifies = seen[day] >= rule.min_hours_per_day
        if not qualifies:
            start = None
        elif start is None or previous is None or (day - previous).days != 1:
            start = day
        previous = day
        if start is not None and (day - start).days + 1 >= rule.min_consecutive_days:
            return start
    return None


@dataclass(frozen=True, slots=True)
class CompositeDefinition:
    """Which milestones end a patient's event-free time (convention 7, docs/domain-rules.md §6.3).

    ``kinds`` are the milestone kinds that count. When ``ventilation_min_hours_per_day``
    is set, an NIV or PV milestone counts only if its recorded ``hours_per_day`` is
    strictly above it — how the ENCALS variant (NIV > 23 h/day) is expressed; NIV without
    recorded hours then does not count. ``permanent_ventilation`` is the rule by which PV
    milestones are dated from daily ventilator logs (:func:`permanent_ventilation_start`).
    """

    name: str
    kinds: frozenset[MilestoneKind]
    ventilation_min_hours_per_day: float | None = None
    permanent_ventilation: PermanentVentilationRule = DEFAULT_PERMANENT_VENTILATION

    def __post_init__(self) -> None:
        if not self.kinds:
            raise EventError("kinds", "a composite endpoint needs at least one milestone kind")
        if self.ventilation_min_hours_per_day is not None:
            _check_hours("ventilation_min_hours_per_day", self.ventilation_min_hours_per_day)

    def qualifies(self, item: Milestone) -> bool:
        """Whether ``item`` is an event under this definition."""
        if item.kind not in self.kinds:
            return False
        threshold = self.ventilation_min_hours_per_day
        if threshold is None or item.kind not in VENTILATION_KINDS:
            return True
        return item.hours_per_day is not None and item.hours_per_day > threshold


DEFAULT_COMPOSITE = CompositeDefinition(
    "death_tracheostomy_permanent_ventilation",
    frozenset(
        {MilestoneKind.DEATH, MilestoneKind.TRACHEOSTOMY, MilestoneKind.PERMANENT_VENTILATION}
    ),
)
"""Death, tracheostomy or permanent ventilation: VALOR/OLE "death or PV" (§4.1) + tracheostomy."""

ENCALS_COMPOSITE = CompositeDefinition(
    "encals",
    frozenset(
        {
            MilestoneKind.DEATH,
            MilestoneKind.TRACHEOSTOMY,
            MilestoneKind.NIV,
            MilestoneKind.PERMANENT_VENTILATION,
        }
    ),
    ventilation_min_hours_per_day=23.0,
)
"""NIV > 23 h/day, tracheostomy or death: Westeneng et al., Lancet Neurol 2018 (§6.1, §6.3)."""


def validate_milestones(
    milestones: Iterable[Milestone], onset: dt.date | None = None
) -> tuple[Milestone, ...]:
    """The milestones sorted by date, after checking the rules of milestones.csv.

    Each kind happens once (natural key patient_id + kind); nothing happens after death;
    with ``onset`` given, nothing happens before symptom onset.
    """
    ordered = tuple(sorted(milestones, key=lambda m: (m.date, _GRAVITY.index(m.kind))))
    first: dict[MilestoneKind, dt.date] = {}
    for item in ordered:
        if item.kind in first:
            raise EventError(
                "kind",
                f"milestone '{item.kind}' appears twice ({first[item.kind]} and {item.date}); "
                "each milestone happens once",
                MILESTONE_ORDER,
            )
        first[item.kind] = item.date
        if onset is not None and item.date < onset:
            raise EventError("date", f"{item.kind} on {item.date} is before onset on {onset}",
                             MILESTONE_ORDER)
    death = first.get(MilestoneKind.DEATH)
    if death is not None and ordered[-1].date > death:
        late = ordered[-1]
        raise EventError("date", f"{late.kind} on {late.date} is after death on {death}",
                         AFTER_DEATH)
    return ordered


def check_milestones(milestones: Iterable[Milestone], onset: dt.date | None = None) -> None:
    """Raise EventError if the milestones break a rule of :func:`validate_milestones`."""
    validate_milestones(milestones, onset)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The first qualifying milestone: when and which."""

    date: dt.date
    kind: MilestoneKind


def composite_endpoint(
    milestones: Iterable[Milestone],
    definition: CompositeDefinition = DEFAULT_COMPOSITE,
    onset: dt.date | None = None,
) -> Endpoint | None:
    """The earliest qualifying milestone, or None when there is none (convention 7).

    Milestones are validated first (:func:`validate_milestones`). On a tie the gravest
    kind is named (death, tracheostomy, permanent ventilation, NIV).
    """
    for item in validate_milestones(milestones, onset):
        if definition.qualifies(item):
            return Endpoint(item.date, item.kind)
    return None


@dataclass(frozen=True, slots=True)
class EventTime:
    """Survival data for one patient: whether the event happened, and its or the censoring date."""

    event: bool
    date: dt.date

    def days_since(self, origin: dt.date) -> int:
        """Days from ``origin`` (e.g. onset or first dose) to the event or censoring."""
        days = (self.date - origin).days
        if days < 0:
            raise EventError("origin", f"{origin} is after the event or censoring date {self.date}")
        return days


def time_to_event(
    milestones: Iterable[Milestone],
    censor_date: dt.date,
    definition: CompositeDefinition = DEFAULT_COMPOSITE,
    onset: dt.date | None = None,
) -> EventTime:
    """Event at the composite endpoint's date, or censored at ``censor_date``.

    An endpoint after ``censor_date`` (e.g. the data cut-off) is not seen: the patient is
    censored there, as in administrative censoring.
    """
    _check_date("censor_date", censor_date)
    if onset is not None and censor_date < onset:
        raise EventError("censor_date", f"{censor_date} is before onset on {onset}")
    endpoint = composite_endpoint(milestones, definition, onset)
    if endpoint is not None and endpoint.date <= censor_date:
        return EventTime(event=True, date=endpoint.date)
    return EventTime(event=False, date=censor_date)


__all__ = [
    "DEFAULT_COMPOSITE",
    "DEFAULT_PERMANENT_VENTILATION",
    "ENCALS_COMPOSITE",
    "VENTILATION_KINDS",
    "CompositeDefinition",
    "Endpoint",
    "EventTime",
    "Milestone",
    "MilestoneKind",
    "OnsetRegion",
    "PermanentVentilationRule",
    "check_milestones",
    "composite_endpoint",
    "milestone",
    "permanent_ventilation_start",
    "time_to_event",
    "validate_milestones",
]
