"""The rulebook's numbers: every range a soft rule uses, as a named setting with its source.

The defaults are documented in docs/domain-rules.md §11. Where a source gives a number it is
cited; where none does (the label states no early window for a dose, no maximum NfL is
published) the default is alsrwe's own and says so. A site can override any of them
(``PlausibilitySettings.from_mapping``, fed by ``ALSRWE_PLAUSIBILITY_FILE`` at the edge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class ValueRange:
    """A plausible range (inclusive; ``None`` = unbounded) and where the numbers come from."""

    low: float | None
    high: float | None
    source: str

    def holds(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def breach(self, value: float, unit: str) -> str:
        """How ``value`` leaves the range, in words ("above the plausible maximum of …")."""
        if self.low is not None and value < self.low:
            return f"below the plausible minimum of {self.low:g} {unit}"
        return f"above the plausible maximum of {self.high:g} {unit}"


_K = MeasurementKind
_SERUM_NFL = ValueRange(None, 1000.0, "alsrwe default: ALS medians 46-99 pg/mL, IQR up to 132 "
                                      "(Sugimoto 2020); no published maximum found")
VALUE_RANGES: Mapping[MeasurementKind, ValueRange] = MappingProxyType({
    _K.NFL_SERUM: _SERUM_NFL,
    _K.NFL_PLASMA: _SERUM_NFL,
    _K.NFL_CSF: ValueRange(None, 50_000.0, "alsrwe default above the ALS range 1,795-35,945 "
                                           "pg/mL (J Neurol 2018, doi 10.1007/s00415-018-9043-0)"),
    _K.PNFH_CSF: ValueRange(None, 30_000.0, "alsrwe default, ~10x the ALS median 2,787 pg/mL "
                                            "(Ganesalingam 2013)"),
    _K.CSF_WBC: ValueRange(None, 100.0, "alsrwe default, 20x the normal adult limit of 5 /uL"),
    _K.CSF_PROTEIN: ValueRange(10.0, 200.0, "alsrwe default around the 95% reference interval "
                                            "24.0-93.4 mg/dL (Fautsch 2023)"),
    _K.SVC_PERCENT: ValueRange(10.0, 150.0, "alsrwe default; healthy adults 87-134 % (ERJ)"),
    _K.FVC_PERCENT: ValueRange(10.0, 150.0, "alsrwe default; healthy adults 87-134 % (ERJ)"),
})
"""Soft ranges per measurement kind (docs/domain-rules.md §11); kinds not listed have none."""


@dataclass(frozen=True, slots=True)
class PlausibilitySettings:
    """The numbers behind the soft rules (and the one hard dose limit), with their defaults.

    - ``max_dose_multiple``: a dose above this many label doses is refused (alsrwe
      convention: five tofersen vials, 75 mL, half the adult CSF volume).
    - ``early_dose_fraction``: a dose may come this share of its interval before its due
      date (0.25: 3 days in loading, 7 in maintenance; alsrwe default, the labels state no
      early window).
    - ``csf_removed_ml``: the plausible CSF volume removed before an intrathecal dose (label:
      about 10 mL; a diagnostic lumbar puncture removes 6-20 mL); ``csf_volume_ml``, the adult
      CSF volume (~150 mL, StatPearls), above which removal is impossible.
    - ``value_ranges``: plausible measurement values per kind.
    - ``alsfrs_change_points`` + ``alsfrs_change_points_per_month`` × months: how far a
      rating may move from the previous one of the same source. 95% of patients decline
      0.04-1.96 points/month (van Eijk 2025); 4 points/month, about twice that, leaves room for
      the fastest SOD1 variants (A4V; one tofersen patient at 2.66, Meyer 2023); the 6-point
      allowance for rater and day-to-day variation is alsrwe's. A rating 12 points off the one
      two weeks before is still flagged.
    """

    max_dose_multiple: float = 5.0
    early_dose_fraction: float = 0.25
    csf_removed_ml: tuple[float, float] = (5.0, 20.0)
    csf_volume_ml: float = 150.0
    value_ranges: Mapping[MeasurementKind, ValueRange] = field(default_factory=lambda: VALUE_RANGES)
    alsfrs_change_points: float = 6.0
    alsfrs_change_points_per_month: float = 4.0

    def __post_init__(self) -> None:
        for name in ("max_dose_multiple", "csf_volume_ml", "alsfrs_change_points",
                     "alsfrs_change_points_per_month"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    math.isfinite(value) and value > 0):
                raise DomainError(name, f"{value!r} must be a number greater than 0")
        share = self.early_dose_fraction
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
            raise DomainError("early_dose_fraction", f"{share!r} must be at least 0 and below 1")
        low, high = self.csf_removed_ml
        if not 0 <= low <= high <= self.csf_volume_ml:
            raise DomainError("csf_removed_ml", f"({low}, {high}) must be 0 ≤ low ≤ high ≤ "
                                                f"csf_volume_ml")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PlausibilitySettings:
        """Defaults overridden by ``data`` (e.g. a site's TOML file); unknown keys are refused.

        ``value_ranges`` maps a measurement kind to ``[low, high]`` (either may be omitted).
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DomainError(unknown[0], f"is not a plausibility setting; use one of "
                                          f"{', '.join(sorted(known))}")
        changes = {k: v for k, v in data.items() if k != "value_ranges"}
        if "csf_removed_ml" in changes:
            changes["csf_removed_ml"] = tuple(changes["csf_removed_ml"])
        settings = replace(cls(), **changes)
        if "value_ranges" in data:
            settings = replace(settings, value_ranges=_ranges(data["value_ranges"]))
        return settings


def _ranges(data: Mapping[str, Any]) -> Mapping[MeasurementKind, ValueRange]:
    ranges = dict(VALUE_RANGES)
    for name, bounds in data.items():
        try:
            kind = MeasurementKind(name)
        except ValueError:
            raise DomainError("value_ranges", f"'{name}' is not a measurement kind") from None
        low, high = (list(bounds) + [None, None])[:2]
        ranges[kind] = ValueRange(low, high, "site setting")
    return MappingProxyType(ranges)


DEFAULT_SETTINGS = PlausibilitySettings()

__all__ = ["DEFAULT_SETTINGS", "VALUE_RANGES", "PlausibilitySettings", "ValueRange"]
