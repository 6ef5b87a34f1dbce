"""What a site computes from its own registry for one analysis, and the vectors it sends.

The site runs the same analytics code as a local report (progression's mixed-model rows and
per-patient rates, survival's time-varying spells), restricted to the analysis's subgroup,
and reduces it to sums over its patients. Each vector's layout is fixed by the analysis, so
the coordinator can add the sites' vectors without seeing them one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from alsrwe.analytics.analyses.progression import ProgressionSettings, lmm_rows, progression
from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.analyses.survival import SurvivalSettings, time_varying_spells
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.lmm.deviance import ProfiledDeviance
from alsrwe.analytics.lmm.sufficient import LmmError, SufficientStats, sufficient_stats
from alsrwe.analytics.lmm.sufficient import within_slope_ss as _within
from alsrwe.federation.errors import FederationError
from alsrwe.federation.protocol import (
    LmmSpec,
    ProgressionSpec,
    Spec,
    Subgroup,
    SurvivalSpec,
)
from alsrwe.federation.summary_data import Tally, summary_data
from alsrwe.federation.survival_sums import Grid, coarsen, cox_sums, km_counts

LMM_Y, LMM_GROUP, LMM_SLOPE = "total", "patient_id", "t"
LMM_FIXED = ("t", "t_post")
_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class LocalData:
    """A site's data for one analysis, before anything is summed."""

    patients: frozenset[str]
    rows: int
    parameters: int
    binary_levels: dict[str, tuple[int, int]] = field(default_factory=dict)
    stats: SufficientStats | None = None
    rates: tuple[np.ndarray, np.ndarray] | None = None
    spells: pd.DataFrame | None = None
    patient_spells: pd.DataFrame | None = None
    tally: Tally | None = None


def in_subgroup(cohort: Cohort, subgroup: Subgroup) -> frozenset[str]:
    """The ids of the patients in ``subgroup`` (age at onset = onset year − birth year)."""
    p = cohort.frame("patients")
    keep = pd.Series(True, index=p.index)
    if subgroup.onset_region is not None:
        keep &= p["onset_region"] == subgroup.onset_region
    if subgroup.min_onset_age is not None or subgroup.max_onset_age is not None:
        age = pd.to_datetime(p["onset_date"]).dt.year - pd.to_numeric(p["birth_year"])
        if subgroup.min_onset_age is not None:
            keep &= age >= subgroup.min_onset_age
        if subgroup.max_onset_age is not None:
            keep &= age <= subgroup.max_onset_age
    return frozenset(p.loc[keep.fillna(False).astype(bool), "patient_id"].astype(str))


def local_data(cohort: Cohort, spec: Spec) -> LocalData:
    """The site's data for ``spec``; an analysis that cannot run here is a FederationError."""
    try:
        if not isinstance(spec, LmmSpec | ProgressionSpec | SurvivalSpec):
            patients, rows, tally = summary_data(cohort, spec)
            return LocalData(patients, rows, 1, tally=tally)
        members = in_subgroup(cohort, spec.subgroup)
        if isinstance(spec, LmmSpec):
            return _lmm_data(cohort, spec, members)
        if isinstance(spec, ProgressionSpec):
            return _progression_data(cohort, spec, members)
        return _survival_data(cohort, spec, members)
    except (AnalysisError, LmmError) as error:
        raise FederationError(error.field, error.rule, code="federation.site.no_data") from error


def _progression_settings(spec: LmmSpec | ProgressionSpec) -> ProgressionSettings:
    return ProgressionSettings(drug=spec.drug, min_pre_assessments=spec.min_pre_assessments,
                               min_on_assessments=spec.min_on_assessments,
                               min_on_months=spec.min_on_months, lmm_sensitivity=False)


def _lmm_data(cohort: Cohort, spec: LmmSpec, members: frozenset[str]) -> LocalData:
    rows = lmm_rows(cohort, _progression_settings(spec))
    rows = rows[rows[LMM_GROUP].isin(members)]
    ids = frozenset(rows[LMM_GROUP].astype(str))
    stats = _site_stats(rows)
    return LocalData(ids, len(rows), len(LMM_FIXED) + 1 + 4, stats=stats)


def _site_stats(rows: pd.DataFrame) -> SufficientStats | None:
    """A site's per-patient statistics; none below 3 patients (such a site is refused by
    the minimum number of patients anyway, ``DisclosureRules.min_patients`` ≥ 3)."""
    if rows[LMM_GROUP].nunique() < 3:
        return None
    return sufficient_stats(rows, LMM_Y, list(LMM_FIXED), LMM_GROUP, LMM_SLOPE)


def _progression_data(cohort: Cohort, spec: ProgressionSpec,
                      members: frozenset[str]) -> LocalData:
    settings = _progression_settings(spec).model_copy(update={"expected": spec.expected})
    result = progression(cohort, settings)
    per = result.patients
    per = per[per["included"] & per["patient_id"].astype(str).isin(members)]
    o = per["observed_rate_per_month"].to_numpy(float)
    e = per["expected_rate_per_month"].to_numpy(float)
    assessments = int(per["n_pre"].sum() + per["n_on"].sum())  # the rows the rates rest on
    return LocalData(frozenset(per["patient_id"].astype(str)), assessments, 2, rates=(o, e))


def _survival_data(cohort: Cohort, spec: SurvivalSpec, members: frozenset[str]) -> LocalData:
    settings = SurvivalSettings(endpoint=spec.endpoint, drug=spec.drug,
                                covariates=spec.covariates)
    spells = time_varying_spells(cohort, settings)
    spells = spells[spells["patient_id"].astype(str).isin(members)]
    grid = Grid(spec.grid_months)
    coarse = coarsen(spells, grid)
    whole = spells.groupby("patient_id", as_index=False).agg(
        entry=("entry", "min"), stop=("stop", "max"), event=("event", "max"))
    levels: dict[str, tuple[int, int]] = {}
    for name in ("treated", *[c for c in spec.covariates if c == "bulbar_onset"]):
        ever = spells.groupby("patient_id")[name].max()
        levels[name] = (int((ever == 0).sum()), int((ever == 1).sum()))
    parameters = len(spec.terms) if spec.kind == "cox" else 1
    return LocalData(frozenset(spells["patient_id"].astype(str)), len(coarse), parameters,
                     binary_levels=levels if spec.kind == "cox" else {},
                     spells=coarse, patient_spells=coarsen(whole, grid))


# --- the vectors a site sends -----------------------------------------------------------


def lmm_totals(data: LocalData) -> np.ndarray:
    """[X y]ᵀ[X y] (row-major), n_obs, n_groups, Σ s², Σᵢ within-patient SS of s."""
    stats = _need(data.stats, "lmm")
    q = stats.n_fixed + 1
    wtw = np.empty((q, q))
    wtw[:-1, :-1], wtw[:-1, -1], wtw[-1, :-1] = stats.xtx, stats.xty, stats.xty
    wtw[-1, -1] = stats.yty
    return np.concatenate([wtw.ravel(), [stats.n_obs, stats.n_groups,
                                         float(stats.ztz[:, 1, 1].sum()), _within(stats)]])


def lmm_sums(data: LocalData, reml: bool, params: list[float]) -> np.ndarray:
    """The sums over the site's patients at θ (``params`` = θ₁, θ₂, θ₃, slope scale)."""
    stats = _need(data.stats, "lmm")
    if len(params) != 4:
        raise FederationError("params", "a mixed-model round needs θ₁, θ₂, θ₃ and the scale",
                              code="federation.params.shape")
    profile = ProfiledDeviance(stats, reml, float(params[3]))
    return profile.group_sums(np.array(params[:3], dtype=np.float64)).to_vector()


def progression_moments(data: LocalData) -> np.ndarray:
    """n, Σo, Σe, Σo², Σe², Σoe over the site's included patients (o observed, e expected)."""
    o, e = _need(data.rates, "progression")
    return np.array([o.size, o.sum(), e.sum(), o @ o, e @ e, o @ e], dtype=np.float64)


def km_vector(data: LocalData, spec: SurvivalSpec) -> np.ndarray:
    return km_counts(_need(data.patient_spells, "km"), spec.horizon).ravel()


def cox_vector(data: LocalData, spec: SurvivalSpec, beta: list[float]) -> np.ndarray:
    if len(beta) != len(spec.terms):
        raise FederationError("params", f"a Cox round needs {len(spec.terms)} coefficients",
                              code="federation.params.shape")
    return cox_sums(_need(data.spells, "cox"), list(spec.terms), np.array(beta), spec.horizon)


def _need(value: _T | None, what: str) -> _T:
    if value is None:
        raise FederationError("analysis", f"the site has no {what} data for this analysis",
                              code="federation.site.no_data")
    return value


__all__ = ["LMM_FIXED", "LocalData", "cox_vector", "in_subgroup", "km_vector", "lmm_sums",
           "lmm_totals", "local_data", "progression_moments"]
