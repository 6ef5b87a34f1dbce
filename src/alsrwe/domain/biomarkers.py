"""Biomarkers, labs and function measurements with their units (see docs/domain-rules.md §7, §9.2).

The vocabulary, canonical units and accepted alternatives are the contract of
docs/data-format.md (measurements.csv). Values are stored in the canonical unit only;
the raw value is converted once, here, on the way in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from alsrwe.domain.errors import MeasurementError


class MeasurementKind(StrEnum):
    """What was measured; the matrix is part of the kind (serum, plasma or CSF)."""

    NFL_SERUM = "nfl_serum"
    NFL_PLASMA = "nfl_plasma"
    NFL_CSF = "nfl_csf"
    PNFH_CSF = "pnfh_csf"
    SVC_PERCENT = "svc_percent"
    FVC_PERCENT = "fvc_percent"
    HHD_MEGASCORE = "hhd_megascore"
    WEIGHT_KG = "weight_kg"
    CSF_WBC = "csf_wbc"
    CSF_PROTEIN = "csf_protein"
    CSF_SOD1 = "csf_sod1"


class Matrix(StrEnum):
    """The specimen a lab value was measured in (FHIR Specimen; docs/domain-rules.md §9.3)."""

    SERUM = "serum"
    PLASMA = "plasma"
    CSF = "csf"


class NflAssay(StrEnum):
    """Neurofilament assay platform (docs/domain-rules.md §7, convention 9).

    Values from different platforms differ (LabCorp vs Simoa in the ARC study), so every
    NfL value keeps its platform and analyses never pool platforms silently.
    """

    SIMOA = "simoa"
    ELLA = "ella"
    ECL = "ecl"
    ELISA = "elisa"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Units and plausible range of one measurement kind.

    ``alternatives`` maps an accepted unit to the factor that converts it to the canonical
    unit (canonical = value × factor). ``minimum``/``maximum`` are inclusive; ``None`` is
    unbounded. Ranges other than "≥ 0" are alsrwe plausibility conventions, not clinical
    reference limits.
    """

    kind: MeasurementKind
    canonical_unit: str
    ucum: str
    alternatives: tuple[tuple[str, float], ...] = ()
    minimum: float | None = 0.0
    maximum: float | None = None
    matrix: Matrix | None = None

    @property
    def accepted_units(self) -> tuple[str, ...]:
        """The canonical unit first, then the alternatives, as written in data-format.md."""
        return (self.canonical_unit, *(unit for unit, _ in self.alternatives))


WEIGHT_RANGE_KG = (10.0, 400.0)
"""alsrwe plausibility limits for an adult body weight (kg), not a clinical range."""
PERCENT_PREDICTED_MAX = 200.0
"""alsrwe plausibility limit for % of predicted (SVC/FVC may exceed 100)."""

_NG_PER_L = (("ng/L", 1.0),)  # ng/L = pg/mL exactly (data-format.md; docs/domain-rules.md §7)
_K = MeasurementKind

KIND_SPECS: Mapping[MeasurementKind, KindSpec] = MappingProxyType(
    {
        _K.NFL_SERUM: KindSpec(_K.NFL_SERUM, "pg/mL", "pg/mL", _NG_PER_L, matrix=Matrix.SERUM),
        _K.NFL_PLASMA: KindSpec(_K.NFL_PLASMA, "pg/mL", "pg/mL", _NG_PER_L, matrix=Matrix.PLASMA),
        _K.NFL_CSF: KindSpec(_K.NFL_CSF, "pg/mL", "pg/mL", _NG_PER_L, matrix=Matrix.CSF),
        _K.PNFH_CSF: KindSpec(_K.PNFH_CSF, "pg/mL", "pg/mL", _NG_PER_L, matrix=Matrix.CSF),
        _K.SVC_PERCENT: KindSpec(_K.SVC_PERCENT, "%", "%", maximum=PERCENT_PREDICTED_MAX),
        _K.FVC_PERCENT: KindSpec(_K.FVC_PERCENT, "%", "%", maximum=PERCENT_PREDICTED_MAX),
        # The megascore is a mean of z-scores: it may be negative (data-format.md).
        _K.HHD_MEGASCORE: KindSpec(_K.HHD_MEGASCORE, "score", "{score}", minimum=None),
        _K.WEIGHT_KG: KindSpec(
            _K.WEIGHT_KG, "kg", "kg", minimum=WEIGHT_RANGE_KG[0], maximum=WEIGHT_RANGE_KG[1]
        ),
        _K.CSF_WBC: KindSpec(
            _K.CSF_WBC, "/uL", "/uL", (("cells/uL", 1.0), ("10*6/L", 1.0)), matrix=Matrix.CSF
        ),
        _K.CSF_PROTEIN: KindSpec(
            _K.CSF_PROTEIN, "mg/dL", "mg/dL", (("g/L", 100.0),), matrix=Matrix.CSF
        ),
        _K.CSF_SOD1: KindSpec(_K.CSF_SOD1, "ng/mL", "ng/mL", matrix=Matrix.CSF),
    }
)

NFL_KINDS: frozenset[MeasurementKind] = frozenset({_K.NFL_SERUM, _K.NFL_PLASMA, _K.NFL_CSF})
NEUROFILAMENT_KINDS: frozenset[MeasurementKind] = NFL_KINDS | {_K.PNFH_CSF}


@functools.lru_cache(maxsize=256)
def _unit_key(unit: str) -> str:
    """Compare units ignoring case, whitespace and the micro sign (µ or μ written for u).
    Cached: an import asks the same few units hundreds of thousands of times."""
    return "".join(unit.split()).replace("\u00b5", "u").replace("\u03bc", "u").casefold()


_KINDS_BY_VALUE: Mapping[str, MeasurementKind] = MappingProxyType(
    {kind.value: kind for kind in MeasurementKind})
"""Kinds by their value: a dictionary look-up, several times faster than ``MeasurementKind(…)``
(which an import of a 200,000-row measurements file calls once per row)."""


def parse_kind(kind: str | MeasurementKind) -> MeasurementKind:
    """The measurement kind named by ``kind``; MeasurementError(field="kind") otherwise."""
    found = _KINDS_BY_VALUE.get(kind.strip().lower())
    if found is None:
        names = ", ".join(k.value for k in MeasurementKind)
        rule = f"'{kind}' is not a measurement kind; use one of {names}"
        raise MeasurementError("kind", rule)
    return found


def _factor(spec: KindSpec, unit: str) -> float:
    key = _unit_key(unit)
    if key == _unit_key(spec.canonical_unit):
        return 1.0
    for alternative, factor in spec.alternatives:
        if key == _unit_key(alternative):
            return factor
    accepted = " or ".join(spec.accepted_units)
    raise MeasurementError(
        "unit", f"unit '{unit}' is not accepted for {spec.kind.value}; use {accepted}"
    )


def _scale(value: float, factor: float, *, divide: bool = False) -> float:
    # Decimal arithmetic on the shortest repr keeps 0.45 g/L at exactly 45 mg/dL, so a
    # value on a threshold stays on it (45.00000000000001 would flag raised protein).
    if factor == 1.0:
        return float(value)  # the canonical unit: Decimal would give the same float back
    exact = Decimal(repr(value))
    scaled = exact / Decimal(repr(factor)) if divide else exact * Decimal(repr(factor))
    return float(scaled)


def to_canonical(kind: str | MeasurementKind, value: float, unit: str) -> float:
    """``value`` in ``unit`` expressed in the kind's canonical unit (no range check)."""
    spec = KIND_SPECS[parse_kind(kind)]
    return _scale(value, _factor(spec, unit))


def from_canonical(kind: str | MeasurementKind, value: float, unit: str) -> float:
    """A canonical ``value`` expressed in another accepted ``unit`` (for export and display)."""
    spec = KIND_SPECS[parse_kind(kind)]
    return _scale(value, _factor(spec, unit), divide=True)


_ASSAY_ALIASES: Mapping[str, NflAssay] = MappingProxyType(
    {
        "simoa": NflAssay.SIMOA,
        "quanterix": NflAssay.SIMOA,
        "ella": NflAssay.ELLA,
        "simpleplex": NflAssay.ELLA,
        "ecl": NflAssay.ECL,
        "electrochemiluminescence": NflAssay.ECL,
        "elisa": NflAssay.ELISA,
        "other": NflAssay.OTHER,
        "unknown": NflAssay.UNKNOWN,
    }
)


def nfl_platform(assay: str | None) -> NflAssay:
    """The platform of a free-text assay label; empty → UNKNOWN, unrecognised → OTHER."""
    if assay is None or not assay.strip():
        return NflAssay.UNKNOWN
    key = "".join(assay.split()).casefold().replace("-", "")
    return _ASSAY_ALIASES.get(key, NflAssay.OTHER)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One value in its kind's canonical unit, with the assay label and lab it came from.

    ``assay`` keeps the label as given (stripped); ``platform`` reads it for neurofilament
    kinds, because NfL is never pooled across platforms without saying so (convention 9).
    """

    kind: MeasurementKind
    value: float
    unit: str
    assay: str | None = None
    lab: str | None = None

    @property
    def matrix(self) -> Matrix | None:
        return KIND_SPECS[self.kind].matrix

    @property
    def ucum(self) -> str:
        return KIND_SPECS[self.kind].ucum

    @property
    def platform(self) -> NflAssay | None:
        """The neurofilament assay platform; None for kinds that are not neurofilaments."""
        return nfl_platform(self.assay) if self.kind in NEUROFILAMENT_KINDS else None


def _check_range(spec: KindSpec, value: float, given: str) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if high is None:
        bounds = f"≥ {low:g}"
    elif low is None:
        bounds = f"≤ {high:g}"
    else:
        bounds = f"between {low:g} and {high:g}"
    raise MeasurementError(
        "value",
        f"{given} is out of range for {spec.kind.value}: must be {bounds} {spec.canonical_unit}",
        "value.impossible",
    )


def normalize_measurement(
    kind: str | MeasurementKind,
    value: float,
    unit: str,
    *,
    assay: str | None = None,
    lab: str | None = None,
) -> Measurement:
    """Validate a raw value and convert it to the canonical unit (data-format.md, §9.2).

    Raises MeasurementError naming ``kind``, ``unit`` or ``value`` and the rule broken.
    The range is checked on the canonical value, so 0.5 g/L and 50 mg/dL agree.
    """
    spec = KIND_SPECS[parse_kind(kind)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MeasurementError("value", f"{value!r} is not a number")
    factor = _factor(spec, unit)
    if not math.isfinite(value):
        raise MeasurementError("value", f"{value} is not a finite number", "value.not_finite")
    canonical = _scale(float(value), factor)
    _check_range(spec, canonical, f"{value:g} {unit.strip()}")
    return Measurement(
        kind=spec.kind,
        value=canonical,
        unit=spec.canonical_unit,
        assay=_blank_to_none(assay),
        lab=_blank_to_none(lab),
    )


def _blank_to_none(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


def check_non_negative(field: str, value: float) -> None:
    """Raise MeasurementError unless ``value`` is a finite number ≥ 0."""
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise MeasurementError(field, f"{value!r} must be a finite number ≥ 0")


# --- NfL change ------------------------------------------------------------------------------


def nfl_percent_change(baseline: float, value: float) -> float:
    """Per-patient change from baseline in percent: (post/pre − 1) × 100.

    Convention 9 (docs/domain-rules.md §7): how Meyer et al. 2023 and Smith et al. 2025 report NfL
    change. Cohort summaries use the geometric mean ratio instead (analytics). A baseline of
    0 has no ratio, so it is refused.
    """
    check_non_negative("value", value)
    check_non_negative("baseline", baseline)
    if baseline == 0:
        raise MeasurementError("baseline", "baseline must be > 0 to compute a percent change")
    return (value / baseline - 1.0) * 100.0


# --- CSF flags (convention 8) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsfThresholds:
    """Site-configurable CSF flag limits; a value strictly above a limit is flagged.

    The tofersen label reports "CSF white blood cell increased" and "CSF protein increased"
    (US PI 5.3, docs/domain-rules.md §3.2) but gives no thresholds. The defaults are the usual adult
    lumbar CSF reference limits, > 5 cells/µL and > 45 mg/dL (0.45 g/L), adopted by
    convention 8; sites may set their own. Raw values are always stored.
    """

    wbc_per_ul: float = 5.0
    protein_mg_dl: float = 45.0

    def __post_init__(self) -> None:
        check_non_negative("wbc_per_ul", self.wbc_per_ul)
        check_non_negative("protein_mg_dl", self.protein_mg_dl)


DEFAULT_CSF_THRESHOLDS = CsfThresholds()


@dataclass(frozen=True, slots=True)
class CsfFlags:
    """Flags for one CSF sample; None where the value was not measured."""

    pleocytosis: bool | None
    raised_protein: bool | None

    @property
    def any(self) -> bool:
        return bool(self.pleocytosis) or bool(self.raised_protein)


def csf_flags(
    wbc_per_ul: float | None,
    protein_mg_dl: float | None,
    thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS,
) -> CsfFlags:
    """Pleocytosis (WBC > limit) and raised protein (protein > limit), convention 8."""
    pleocytosis = None
    if wbc_per_ul is not None:
        check_non_negative("csf_wbc", wbc_per_ul)
        pleocytosis = wbc_per_ul > thresholds.wbc_per_ul
    raised = None
    if protein_mg_dl is not None:
        check_non_negative("csf_protein", protein_mg_dl)
        raised = protein_mg_dl > thresholds.protein_mg_dl
    return CsfFlags(pleocytosis=pleocytosis, raised_protein=raised)




# --- BMI -------------------------------------------------------------------------------------

HEIGHT_RANGE_M = (0.5, 2.5)
"""alsrwe plausibility limits for an adult height in metres."""


def bmi(weight_kg: float, height_m: float) -> float:
    """Body-mass index, kg/m² (weight within the weight_kg limits, height 0.5-2.5 m)."""
    w_low, w_high = WEIGHT_RANGE_KG
    h_low, h_high = HEIGHT_RANGE_M
    if (
        isinstance(weight_kg, bool)
        or not math.isfinite(weight_kg)
        or not w_low <= weight_kg <= w_high
    ):
        raise MeasurementError(
            "weight_kg", f"{weight_kg!r} kg must be between {w_low:g} and {w_high:g}"
        )
    if isinstance(height_m, bool) or not math.isfinite(height_m) or not h_low <= height_m <= h_high:
        raise MeasurementError(
            "height_m", f"{height_m!r} m must be between {h_low:g} and {h_high:g}"
        )
    return weight_kg / (height_m * height_m)


__all__ = [
    "DEFAULT_CSF_THRESHOLDS",
    "HEIGHT_RANGE_M",
    "KIND_SPECS",
    "NEUROFILAMENT_KINDS",
    "NFL_KINDS",
    "PERCENT_PREDICTED_MAX",
    "WEIGHT_RANGE_KG",
    "CsfFlags",
    "CsfThresholds",
    "KindSpec",
    "Matrix",
    "Measurement",
    "MeasurementKind",
    "NflAssay",
    "bmi",
    "check_non_negative",
    "csf_flags",
    "from_canonical",
    "nfl_percent_change",
    "nfl_platform",
    "normalize_measurement",
    "parse_kind",
    "to_canonical",
]
