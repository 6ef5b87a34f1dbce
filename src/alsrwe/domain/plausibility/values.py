"""Soft rules of values: a measurement outside its plausible range, an ALSFRS-R total that
moved more than disease and rater can explain (docs/domain-rules.md §11.2).

A value outside these ranges is probably a typo (a unit slip, a digit too many), but may be
real: a confirmation lets it through and is kept with the record.
"""

from __future__ import annotations

from alsrwe.domain.alsfrs import DAYS_PER_MONTH
from alsrwe.domain.biomarkers import KIND_SPECS
from alsrwe.domain.errors import Problem
from alsrwe.domain.plausibility.history import PatientHistory
from alsrwe.domain.plausibility.settings import PlausibilitySettings
from alsrwe.domain.records import AlsfrsEntry, MeasurementEntry

VALUE_OUTSIDE_RANGE = "value.outside_range"
ALSFRS_LARGE_CHANGE = "alsfrs.large_change"


def measurement_problems(entry: MeasurementEntry,
                         settings: PlausibilitySettings) -> list[Problem]:
    """The value against its kind's plausible range, in the canonical unit."""
    measured = entry.measurement
    plausible = settings.value_ranges.get(measured.kind)
    if plausible is None or plausible.holds(measured.value):
        return []
    unit = KIND_SPECS[measured.kind].canonical_unit
    breach = plausible.breach(measured.value, unit)
    return [Problem("value", f"{measured.value:g} {unit} is {breach} for {measured.kind.value}",
                    VALUE_OUTSIDE_RANGE, soft=True)]


def rating_problems(entry: AlsfrsEntry, history: PatientHistory,
                    settings: PlausibilitySettings) -> list[Problem]:
    """The total against the previous rating of the same source (clinic or self)."""
    previous = history.previous_rating(entry.source, entry.date)
    if previous is None:
        return []
    day, total = previous
    months = abs((entry.date - day).days) / DAYS_PER_MONTH
    allowed = settings.alsfrs_change_points + settings.alsfrs_change_points_per_month * months
    change = entry.score.total - total
    if abs(change) <= allowed:
        return []
    return [Problem(None, f"the total {entry.score.total} is {abs(change)} points "
                            f"{'above' if change > 0 else 'below'} the {entry.source.value} "
                            f"rating of {total} on {day.isoformat()} ({months:.1f} months "
                            f"apart; more than {allowed:.0f} is unusual)",
                    ALSFRS_LARGE_CHANGE, soft=True)]


__all__ = ["ALSFRS_LARGE_CHANGE", "VALUE_OUTSIDE_RANGE", "measurement_problems",
           "rating_problems"]
