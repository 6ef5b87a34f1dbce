"""Carrier NfL surveillance: the trigger rule and age-specific reference limits.

Presymptomatic SOD1 carriers are followed with plasma NfL (ATLAS, docs/domain-rules.md §4.3,
convention 10); a rise past a trigger or above the age-specific upper reference limit (§7)
calls for review. Builds on :mod:`alsrwe.domain.biomarkers` (units and measurements).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from alsrwe.domain.biomarkers import (
    NFL_KINDS,
    Matrix,
    Measurement,
    NflAssay,
    check_non_negative,
)
from alsrwe.domain.errors import MeasurementError


@dataclass(frozen=True, slots=True)
class SurveillanceRule:
    """When a presymptomatic carrier's NfL should trigger review (convention 10, [U]).

    Default after ATLAS (Benatar et al., Neurotherapeutics 2022;19:1248-58; MND Australia
    summary, docs/domain-rules.md §4.3): a rise of ≥ 10 pg/mL from the carrier's own baseline to a
    level ≥ 44 pg/mL in plasma. Secondary-source values, so configurable, not fact.
    """

    rise_pg_ml: float = 10.0
    level_pg_ml: float = 44.0
    matrix: Matrix = Matrix.PLASMA

    def __post_init__(self) -> None:
        check_non_negative("rise_pg_ml", self.rise_pg_ml)
        check_non_negative("level_pg_ml", self.level_pg_ml)


DEFAULT_SURVEILLANCE_RULE = SurveillanceRule()


def _surveillance_value(field: str, item: float | Measurement, rule: SurveillanceRule) -> float:
    if isinstance(item, Measurement):
        if item.kind not in NFL_KINDS or item.matrix is not rule.matrix:
            raise MeasurementError(
                field, f"{item.kind.value} is not NfL in {rule.matrix.value}, the rule's matrix"
            )
        return item.value
    check_non_negative(field, item)
    return float(item)


_FLOAT_SLACK = 1e-9


def nfl_trigger(
    baseline: float | Measurement,
    value: float | Measurement,
    rule: SurveillanceRule = DEFAULT_SURVEILLANCE_RULE,
) -> bool:
    """True when ``value`` rose by ≥ rule.rise from ``baseline`` and is ≥ rule.level (pg/mL).

    Plain numbers are taken as pg/mL in the rule's matrix. Measurements are checked: they
    must be NfL in the rule's matrix, and two known, different platforms are refused
    (never compare across platforms silently, convention 9).
    """
    before = _surveillance_value("baseline", baseline, rule)
    after = _surveillance_value("value", value, rule)
    if isinstance(baseline, Measurement) and isinstance(value, Measurement):
        platforms = {baseline.platform, value.platform} - {NflAssay.UNKNOWN}
        if len(platforms) > 1:
            raise MeasurementError("assay", "baseline and value come from different platforms")
    # Lab values carry a few decimals: compare at 1e-9 pg/mL so that 54.1 → 64.1 is a rise of
    # exactly 10 and not 9.999… in binary floating point.
    return (after - before >= rule.rise_pg_ml - _FLOAT_SLACK
            and after >= rule.level_pg_ml - _FLOAT_SLACK)


@dataclass(frozen=True, slots=True)
class NflReferenceBand:
    """Upper reference limit for ages ``min_age`` ≤ completed years < ``max_age`` (None: open)."""

    min_age: int
    max_age: int | None
    upper_pg_ml: float


SIMREN_2022_PLASMA: tuple[NflReferenceBand, ...] = (
    NflReferenceBand(5, 18, 7.0),
    NflReferenceBand(18, 51, 10.0),
    NflReferenceBand(51, 61, 15.0),
    NflReferenceBand(61, 71, 20.0),
    NflReferenceBand(71, None, 35.0),
)
"""Plasma NfL 95th percentiles by age (5–17, 18–50, 51–60, 61–70, > 70 y): Simrén J et al.,
Brain Commun 2022 (PMC9297091), docs/domain-rules.md §7. Simoa; plasma only."""


def nfl_upper_reference(
    age_years: float, bands: tuple[NflReferenceBand, ...] = SIMREN_2022_PLASMA
) -> float:
    """The age-specific upper reference limit (pg/mL) for completed years of age (§7)."""
    if isinstance(age_years, bool) or not math.isfinite(age_years):
        raise MeasurementError("age_years", f"{age_years!r} is not a finite age")
    completed = math.floor(age_years)
    for band in bands:
        if band.min_age <= completed and (band.max_age is None or completed < band.max_age):
            return band.upper_pg_ml
    raise MeasurementError("age_years", f"no NfL reference limit for age {age_years:g} years")


def nfl_above_reference(
    value_pg_ml: float,
    age_years: float,
    bands: tuple[NflReferenceBand, ...] = SIMREN_2022_PLASMA,
) -> bool:
    """Flag a plasma NfL value above the age-specific upper reference (convention 10)."""
    check_non_negative("value", value_pg_ml)
    return value_pg_ml > nfl_upper_reference(age_years, bands)


__all__ = [
    "DEFAULT_SURVEILLANCE_RULE",
    "SIMREN_2022_PLASMA",
    "NflReferenceBand",
    "SurveillanceRule",
    "nfl_above_reference",
    "nfl_trigger",
    "nfl_upper_reference",
]
