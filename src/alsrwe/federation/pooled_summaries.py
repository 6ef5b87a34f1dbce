"""The pooled summaries: the local analyses' results from counts and moments.

Each adds up the sites' vectors (``summary_data``) in one round — two where the vector is
made of cells of moments (the cells' counts, then the moments of the cells of at least
``MIN_POOLED_CELL`` patients), three for subgroups (first the pooled mean age) — and then
computes exactly what the local analysis computes on the union: the same rate table with
Garwood limits, the same classes, geometric mean ratios and shares, Welch's interval and
Fieller's. What is not a sum over patients is not pooled, and says so: the median NfL change,
the NfL mixed model, early vs delayed's mixed-model sensitivity and NfL ratio; per-patient
rows stay at the sites.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from alsrwe.analytics.analyses.carriers import CarrierResult, CarrierSettings
from alsrwe.analytics.analyses.early_delayed import Difference, EarlyDelayedResult
from alsrwe.analytics.analyses.expected_events import poisson_ratio_ci
from alsrwe.analytics.analyses.nfl import BLOOD_KINDS, NflResult
from alsrwe.analytics.analyses.observed_expected import ObservedExpectedResult, RateComparison
from alsrwe.analytics.analyses.percent_slower import PercentSlower, percent_slower_from_moments
from alsrwe.analytics.analyses.responders import CLASSES, RespondersResult
from alsrwe.analytics.analyses.results import Attrition
from alsrwe.analytics.analyses.safety import (
    SafetySettings,
    csf_in_words,
    rate_table,
    rates_in_words,
)
from alsrwe.analytics.analyses.subgroups import (
    ROW_COLUMNS,
    VARIABLES,
    SubgroupResult,
    label_order,
    subgroup_row,
)
from alsrwe.domain.patient import DAYS_PER_YEAR
from alsrwe.federation.coordinator import Coordinator, Enrolment
from alsrwe.federation.errors import FederationError
from alsrwe.federation.protocol import (
    CarriersSpec,
    EarlyDelayedSpec,
    NflSpec,
    ObservedExpectedSpec,
    RespondersSpec,
    SafetySpec,
    SubgroupsSpec,
)
from alsrwe.federation.summary_data import (
    CARRIER_COUNTS,
    CSF_COUNTS,
    CSF_ROWS,
    OBSERVED_EXPECTED,
    SAFETY_STRATA,
    subgroup_layout,
)
from alsrwe.federation.survival_sums import Grid, kaplan_meier_pooled

_NO_PATIENTS = pd.DataFrame({"patient_id": pd.Series([], dtype=str)})
"""The per-patient table of a pooled result: empty, those rows stay at the sites."""

MIN_POOLED_CELL = 3
"""A cell of moments is asked for only if this many patients of the network are in it
(DataSHIELD's ``nfilter.tab``, domain-rules §9.6): fewer would show their values."""


def _kept_cells(coordinator: Coordinator, enrolment: Enrolment, params: list[float],
                minimum: int = MIN_POOLED_CELL) -> tuple[np.ndarray, np.ndarray]:
    """Two rounds: the cells' pooled counts, then the moments of the cells with at least
    ``minimum`` patients (the others come back as zeros); (counts, cells × moments)."""
    counts = coordinator.total(enrolment, "totals", params)
    keep = [1.0 if n >= minimum else 0.0 for n in counts]
    sums = coordinator.total(enrolment, "sums", [*params, *keep])
    return counts, sums.reshape(len(counts), -1)


@dataclass(frozen=True, eq=False)
class PooledSafety:
    """Pooled incidence per 100 patient-years and CSF flags (the local tables' columns)."""

    enrolment: Enrolment
    settings: SafetySettings
    person_years: float
    patients: int
    rates: pd.DataFrame
    csf: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return rates_in_words(self.rates, self.settings)

    def csf_frame(self) -> pd.DataFrame:
        return csf_in_words(self.csf, self.settings)


def pooled_safety(coordinator: Coordinator, spec: SafetySpec | None = None) -> PooledSafety:
    """Adverse events and person-time per stratum, added up in one round."""
    spec = spec or SafetySpec()
    enrolment = coordinator.enrol(spec)
    total = coordinator.total(enrolment, "counts")
    days, patients = float(total[0]), int(round(total[1]))
    cells = total[2: 2 + 2 * len(SAFETY_STRATA)].reshape(-1, 2)
    counts = pd.DataFrame([{"stratum": stratum, "value": value, "events": int(round(e)),
                            "patients": int(round(p))}
                           for (stratum, value), (e, p) in zip(SAFETY_STRATA, cells, strict=True)
                           if e > 0 or stratum == "all"])
    person_years = days / DAYS_PER_YEAR
    rates = rate_table(counts, person_years, spec.settings.level)
    csf_counts = total[2 + 2 * len(SAFETY_STRATA):].reshape(len(CSF_ROWS), len(CSF_COUNTS))
    rows = []
    for label, values in zip(CSF_ROWS, csf_counts, strict=True):
        count = {c: int(round(v)) for c, v in zip(CSF_COUNTS, values, strict=True)}
        rows.append({"doses": label, **count,
                     "share_pleocytosis": _share(count["pleocytosis"], count["with_wbc"]),
                     "share_raised_protein": _share(count["raised_protein"],
                                                    count["with_protein"])})
    return PooledSafety(enrolment, spec.settings, person_years, patients, rates,
                        pd.DataFrame(rows))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


R = TypeVar("R", RespondersResult, NflResult, EarlyDelayedResult, SubgroupResult,
            ObservedExpectedResult)


@dataclass(frozen=True, eq=False)
class PooledResult(Generic[R]):
    """A pooled summary: who took part and the local analysis's result type, its
    per-patient table empty."""

    enrolment: Enrolment
    result: R
    groups: pd.DataFrame | None = None


def pooled_responders(coordinator: Coordinator,
                      spec: RespondersSpec | None = None) -> PooledResult[RespondersResult]:
    """Patients per class (improved, stabilised, progressed), added up in one round."""
    spec = spec or RespondersSpec()
    enrolment = coordinator.enrol(spec)
    total = coordinator.total(enrolment, "counts")
    counts = {k: int(round(v)) for k, v in zip(CLASSES, total, strict=True)}
    result = RespondersResult(spec.settings, Attrition(enrolment.total_patients), [],
                              _NO_PATIENTS, counts)
    return PooledResult(enrolment, result)


def _mean_sd(n: float, total: float, squares: float) -> tuple[float, float]:
    """Mean and sample SD from n, Σx, Σx² (SD NaN below 2)."""
    if n < 1:
        return math.nan, math.nan
    mean = total / n
    if n < 2:
        return mean, math.nan
    return mean, math.sqrt(max(squares - n * mean * mean, 0.0) / (n - 1))


def _t(level: float, df: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2.0, df))


def pooled_nfl(coordinator: Coordinator, spec: NflSpec | None = None) -> PooledResult[NflResult]:
    """Geometric mean ratios to baseline per window from n, Σ log r, Σ (log r)²."""
    spec = spec or NflSpec()
    s = spec.settings
    enrolment = coordinator.enrol(spec)
    counts, total = _kept_cells(coordinator, enrolment, [])
    blood = s.kind in BLOOD_KINDS
    rows: list[dict[str, float]] = []
    for week, n, (_, sum_log, sum_sq, below, base_below) in zip(s.weeks, counts, total,
                                                                strict=True):
        count = int(round(n))
        if count < MIN_POOLED_CELL:  # not asked for: too few patients in the window
            rows.append({"week": week, "n": count})
            continue
        mean, sd = _mean_sd(count, sum_log, sum_sq)
        half = _t(s.level, count - 1) * sd / math.sqrt(count)
        gmr = math.exp(mean)
        rows.append({"week": week, "n": count, "gmr": gmr, "lower": math.exp(mean - half),
                     "upper": math.exp(mean + half), "gmr_percent_change": (gmr - 1.0) * 100.0,
                     "median_percent_change": math.nan,  # a median is not a sum
                     "share_below_threshold": below / count if blood else math.nan,
                     "share_below_threshold_at_baseline": base_below / count
                     if blood else math.nan})
    assay = s.assay.value if s.assay is not None else ""
    windows = pd.DataFrame(rows, columns=["week", "n", "gmr", "lower", "upper",
                                          "gmr_percent_change", "median_percent_change",
                                          "share_below_threshold",
                                          "share_below_threshold_at_baseline"])
    result = NflResult(s, Attrition(enrolment.total_patients), [], assay, windows,
                       _NO_PATIENTS, None)
    return PooledResult(enrolment, result)


def welch_from_moments(a: tuple[float, float, float], b: tuple[float, float, float],
                       level: float) -> tuple[float, float, float]:
    """mean(a) − mean(b) with Welch–Satterthwaite's t interval, from each group's n, Σ, Σ²."""
    (na, *ra), (nb, *rb) = a, b
    mean_a, sd_a = _mean_sd(na, *ra)
    mean_b, sd_b = _mean_sd(nb, *rb)
    va, vb = sd_a**2 / na, sd_b**2 / nb
    diff, se = mean_a - mean_b, math.sqrt(va + vb)
    if se == 0.0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = _t(level, df) * se
    return diff, diff - half, diff + half


def pooled_early_delayed(coordinator: Coordinator,
                         spec: EarlyDelayedSpec | None = None) -> PooledResult[EarlyDelayedResult]:
    """ALSFRS-R change early vs delayed: Welch's difference from each group's moments."""
    spec = spec or EarlyDelayedSpec()
    s = spec.settings
    enrolment = coordinator.enrol(spec)
    counts, total = _kept_cells(coordinator, enrolment, [])
    na, nb = counts
    if min(na, nb) < MIN_POOLED_CELL:
        raise FederationError("groups", f"needs ≥ {MIN_POOLED_CELL} patients in each group "
                                        f"over the network; early {int(na)}, delayed "
                                        f"{int(nb)}", code="federation.pooled.too_few")
    diff, lower, upper = welch_from_moments(tuple(total[0]), tuple(total[1]), s.level)
    welch = Difference(diff, lower, upper, int(na), int(nb), "Welch t interval")
    means = {"early": float(total[0][1] / na), "delayed": float(total[1][1] / nb)}
    result = EarlyDelayedResult(s, Attrition(enrolment.total_patients), [], _NO_PATIENTS,
                                means, welch, None, None)
    groups = []
    for name, (n, sx, sxx) in zip(("early", "delayed"), total, strict=True):
        mean, sd = _mean_sd(n, sx, sxx)
        half = _t(s.level, n - 1) * sd / math.sqrt(n)
        groups.append({"group": name, "label": result.group_labels[name], "n": int(n),
                       "mean": mean, "lower": mean - half, "upper": mean + half})
    return PooledResult(enrolment, result, pd.DataFrame(groups))


def _percent_slower(values: np.ndarray, level: float) -> PercentSlower:
    n, so, se, soo, see, soe = values.tolist()
    return percent_slower_from_moments(int(round(n)), so, se, soo, see, soe, level=level)


def pooled_subgroups(coordinator: Coordinator,
                     spec: SubgroupsSpec | None = None) -> PooledResult[SubgroupResult]:
    """"% slower than expected" per subgroup: round 1 the pooled mean age (unless the cut is
    set), round 2 the six moments of every subgroup at that cut."""
    spec = spec or SubgroupsSpec()
    s = spec.settings
    enrolment = coordinator.enrol(spec)
    cut = s.age_cut_years
    if cut is None:
        _, sum_age, n_age = coordinator.total(enrolment, "counts").tolist()
        if n_age < 1:
            raise FederationError("age", "no included patient has a birth year: set "
                                         "age_cut_years", code="federation.pooled.too_few")
        cut = float(round(sum_age / n_age))  # ages are whole years: so is the cut
    # a subgroup below min_patients has no estimate: its moments are not even asked for
    counts, total = _kept_cells(coordinator, enrolment, [cut],
                                max(s.min_patients, MIN_POOLED_CELL))
    overall = _percent_slower(total[0], s.level)
    layout = subgroup_layout(cut)
    sizes = {cell: int(round(n)) for cell, n in zip(layout, counts[1:], strict=True)}
    cells = dict(zip(layout, total[1:], strict=True))
    rows = []
    for variable in VARIABLES:
        present = pd.Series([label for (v, label), n in sizes.items() if v == variable and n])
        for label in label_order(variable, present):
            n = sizes[(variable, label)]
            est = None if n < s.min_patients else _percent_slower(cells[(variable, label)],
                                                                  s.level)
            rows.append(subgroup_row(variable, label, n, est))
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS)
    result = SubgroupResult(s, Attrition(overall.n), [], overall, frame, _NO_PATIENTS,
                            float(cut))
    return PooledResult(enrolment, result)


def pooled_observed_expected(coordinator: Coordinator, spec: ObservedExpectedSpec | None = None
                             ) -> PooledResult[ObservedExpectedResult]:
    """Observed vs ΔFRS, PRO-ACT and ENCALS from one round: the mean rates and % slower, O/E
    with its exact Poisson interval, the Ederer I curve (its sums over patients) and the
    observed Kaplan–Meier from the first dose on the grid."""
    spec = spec or ObservedExpectedSpec()
    s = spec.settings
    enrolment = coordinator.enrol(spec)
    total = coordinator.total(enrolment, "counts")
    head = dict(zip(OBSERVED_EXPECTED, total[: len(OBSERVED_EXPECTED)].tolist(), strict=True))
    n = int(round(head["n_rates"]))
    comparisons = tuple(
        RateComparison(name, n, head["sum_observed"] / n if n else math.nan,
                       expected / n if n else math.nan,
                       100.0 * (1.0 - head["sum_observed"] / expected) if expected > 0
                       else math.nan)
        for name, expected in (("ΔFRS at first dose", head["sum_delta_frs"]),
                               ("PRO-ACT", head["sum_pro_act"])))
    n_survival = int(round(head["n_survival"]))
    months = np.array(spec.curve_months)
    ederer = total[len(OBSERVED_EXPECTED): len(OBSERVED_EXPECTED) + months.size]
    counts = total[len(OBSERVED_EXPECTED) + months.size:].reshape(2, spec.horizon)
    km, events, curve = None, None, pd.DataFrame(columns=["months", "expected_survival"])
    if n_survival:
        km = kaplan_meier_pooled(counts, Grid(spec.grid_months), s.level, n=n_survival)
        events = poisson_ratio_ci(int(round(head["observed_events"])),
                                  head["expected_events"], s.level)
        shown = months <= float(km.table["time"].max())  # up to the last observed time
        curve = pd.DataFrame({"months": months[shown],
                              "expected_survival": ederer[shown] / n_survival})
    result = ObservedExpectedResult(
        settings=s, attrition=Attrition(n), survival_attrition=Attrition(n_survival),
        diagnostics=[], rates=_NO_PATIENTS, comparisons=comparisons,
        survival_patients=_NO_PATIENTS, observed_curve=km, expected_curve=curve, events=events)
    return PooledResult(enrolment, result)


@dataclass(frozen=True, eq=False)
class PooledCarriers:
    """How many carriers with plasma NfL met the trigger or exceeded the age-specific limit."""

    enrolment: Enrolment
    settings: CarrierSettings
    counts: dict[str, int]

    @property
    def trigger_rule(self) -> str:
        return CarrierResult(self.settings, Attrition(self.counts["carriers"]), [],
                             self.assay, _NO_PATIENTS).trigger_rule

    @property
    def assay(self) -> str:
        return self.settings.assay.value if self.settings.assay is not None else ""

    def to_frame(self) -> pd.DataFrame:
        n = self.counts["carriers"]
        words = {"carriers": "carriers with plasma NfL on this platform",
                 "with_follow_up": "with a value after the first (trigger evaluable)",
                 "triggered": "met the trigger: " + self.trigger_rule,
                 "above_reference": "a value above the age-specific upper reference limit "
                                    "(Simrén 2022)"}
        return pd.DataFrame([{"carriers": words[k], "n": self.counts[k],
                              "share (%)": 100.0 * self.counts[k] / n if n else math.nan}
                             for k in CARRIER_COUNTS])


def pooled_carriers(coordinator: Coordinator,
                    spec: CarriersSpec | None = None) -> PooledCarriers:
    """Carriers per surveillance flag, added up in one round."""
    spec = spec or CarriersSpec()
    enrolment = coordinator.enrol(spec)
    total = coordinator.total(enrolment, "counts")
    counts = {k: int(round(v)) for k, v in zip(CARRIER_COUNTS, total, strict=True)}
    return PooledCarriers(enrolment, spec.settings, counts)


__all__ = ["PooledCarriers", "PooledResult", "PooledSafety", "pooled_carriers",
           "pooled_early_delayed", "pooled_nfl", "pooled_observed_expected", "pooled_responders",
           "pooled_safety", "pooled_subgroups", "welch_from_moments"]
