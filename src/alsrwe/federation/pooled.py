"""The pooled analyses: the local estimators, fed with totals added up over the sites.

* Mixed model: round 1 adds the data-only totals ([X y]ᵀ[X y], counts, Σ s²); every
  evaluation of the profiled deviance at θ is then one round adding the sums over patients
  (``alsrwe.analytics.lmm.deviance.GroupSums``), and the local optimiser, boundary check and
  result (``fit_profile``) run on them unchanged — so the fit equals the fit of the pooled
  rows, without BLUPs (they are per patient, and stay at the sites).
* "% slower than expected": one round adding n, Σo, Σe, Σo², Σe², Σoe.
* Kaplan–Meier and Cox on the documented grid (``survival_sums``): one round of numbers at
  risk and events; Newton–Raphson rounds of Efron risk-set sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alsrwe.analytics.analyses.percent_slower import PercentSlower, percent_slower_from_moments
from alsrwe.analytics.analyses.survival_estimators import KaplanMeier
from alsrwe.analytics.lmm.deviance import GroupSums, SummedDeviance, Totals, slope_scale_of
from alsrwe.analytics.lmm.estimate import fit_profile
from alsrwe.analytics.lmm.result import LmmResult
from alsrwe.analytics.lmm.sufficient import INTERCEPT, check_totals
from alsrwe.federation.coordinator import Coordinator, Enrolment
from alsrwe.federation.errors import FederationError
from alsrwe.federation.protocol import LmmSpec, ProgressionSpec, SurvivalSpec
from alsrwe.federation.site_data import LMM_FIXED
from alsrwe.federation.survival_sums import (
    CoxLayout,
    Grid,
    PooledCox,
    fit_cox_pooled,
    kaplan_meier_pooled,
)


@dataclass(frozen=True, eq=False)
class PooledLmm:
    """The pooled piecewise mixed model: total ~ t + t_post + (1 + t | patient)."""

    enrolment: Enrolment
    fit: LmmResult

    @property
    def pre_slope(self) -> float:
        return self.fit.fixed["t"]

    @property
    def on_slope(self) -> float:
        return self.fit.fixed["t"] + self.fit.fixed["t_post"]

    @property
    def percent_slower(self) -> float:
        return 100.0 * (1.0 - self.on_slope / self.pre_slope)


@dataclass(frozen=True, eq=False)
class PooledProgression:
    """Pooled "% slower than expected" (cohort ratio of means, Fieller's interval)."""

    enrolment: Enrolment
    result: PercentSlower
    observed_rate: float
    expected_rate: float


@dataclass(frozen=True, eq=False)
class PooledKm:
    enrolment: Enrolment
    curve: KaplanMeier


@dataclass(frozen=True, eq=False)
class PooledCoxResult:
    enrolment: Enrolment
    cox: PooledCox


def pooled_lmm(coordinator: Coordinator, spec: LmmSpec | None = None) -> PooledLmm:
    """The exact pooled mixed model over the sites that enrol."""
    spec = spec or LmmSpec()
    enrolment = coordinator.enrol(spec)
    terms = (INTERCEPT, *LMM_FIXED)
    q = len(terms) + 1
    raw = coordinator.total(enrolment, "totals")
    wtw = raw[: q * q].reshape(q, q)
    n_obs, n_groups = int(round(raw[q * q])), int(round(raw[q * q + 1]))
    slope_ss, within = float(raw[q * q + 2]), float(raw[q * q + 3])
    check_totals(terms, wtw[:-1, :-1], n_obs, n_groups, within, slope_ss,
                 ("total", "patient_id", "t"))
    scale = slope_scale_of(slope_ss, n_obs)
    memo: dict[bytes, GroupSums] = {}

    def sums_at(theta: np.ndarray) -> GroupSums:
        key = theta.tobytes()
        if key not in memo:  # the optimiser revisits points: never ask the sites twice
            vector = coordinator.total(enrolment, "sums", [*theta.tolist(), scale])
            memo[key] = GroupSums.from_vector(vector, len(terms))
        return memo[key]

    totals = Totals(terms, wtw, n_obs, n_groups, slope_ss)
    fit = fit_profile(SummedDeviance(totals, spec.reml, scale, sums_at))
    return PooledLmm(enrolment, fit)


def pooled_progression(coordinator: Coordinator,
                       spec: ProgressionSpec | None = None) -> PooledProgression:
    """Pooled "% slower than expected" from one round of moments."""
    spec = spec or ProgressionSpec()
    enrolment = coordinator.enrol(spec)
    n, so, se, soo, see, soe = coordinator.total(enrolment, "counts").tolist()
    count = int(round(n))
    result = percent_slower_from_moments(count, so, se, soo, see, soe, level=spec.level)
    return PooledProgression(enrolment, result, so / count if count else math.nan,
                             se / count if count else math.nan)


def pooled_km(coordinator: Coordinator, spec: SurvivalSpec | None = None) -> PooledKm:
    """Pooled Kaplan–Meier from onset (delayed entry) on the grid."""
    spec = spec or SurvivalSpec(kind="km")
    if spec.kind != "km":
        raise FederationError("kind", "a Kaplan–Meier run needs kind 'km'")
    enrolment = coordinator.enrol(spec)
    counts = coordinator.total(enrolment, "counts").reshape(2, spec.horizon)
    curve = kaplan_meier_pooled(counts, Grid(spec.grid_months), spec.level,
                                n=enrolment.total_patients)
    return PooledKm(enrolment, curve)


def pooled_cox(coordinator: Coordinator, spec: SurvivalSpec | None = None) -> PooledCoxResult:
    """Pooled Cox model (Efron ties) with tofersen time-varying, by Newton rounds."""
    spec = spec or SurvivalSpec(kind="cox")
    if spec.kind != "cox":
        raise FederationError("kind", "a Cox run needs kind 'cox'")
    enrolment = coordinator.enrol(spec)
    layout = CoxLayout(len(spec.terms), spec.horizon)

    def evaluate(beta: np.ndarray) -> np.ndarray:
        return coordinator.total(enrolment, "sums", beta.tolist())

    cox = fit_cox_pooled(evaluate, layout, list(spec.terms), level=spec.level)
    return PooledCoxResult(enrolment, cox)


def site_table(enrolment: Enrolment, threshold: int) -> pd.DataFrame:
    """Each site's patient count, or "< threshold" for a site that declined."""
    rows: list[dict[str, Any]] = []
    for site in sorted({*enrolment.patients, *enrolment.refusals}):
        if site in enrolment.patients:
            rows.append({"site": site, "patients": str(enrolment.patients[site]),
                         "status": "took part"})
        else:
            rows.append({"site": site, "patients": f"< {threshold}" if "min_patients" in
                         enrolment.refusals[site] else "—", "status": "declined: "
                         + enrolment.refusals[site]})
    return pd.DataFrame(rows, columns=["site", "patients", "status"])


__all__ = ["PooledCoxResult", "PooledKm", "PooledLmm", "PooledProgression", "pooled_cox",
           "pooled_km", "pooled_lmm", "pooled_progression", "site_table"]
