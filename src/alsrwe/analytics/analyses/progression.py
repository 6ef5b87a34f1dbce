"""ALSFRS-R progression before and on tofersen: "% slower than expected", per patient and cohort.

Real-world tofersen series report how much slower patients progress on treatment than
expected (docs/domain-rules.md §5: the German PRO study's 25% relative reduction of ALS-PR,
Sabatelli's on- vs pre-treatment slopes). None of them publishes how "expected" was computed,
so here it is an explicit setting (``ProgressionSettings.expected``):

* ``"pre_slope"`` — the patient's own pre-treatment OLS slope, extrapolated;
* ``"delta_frs"`` — the onset-based ΔFRS at the last pre-treatment assessment (Kimura 2006,
  docs/domain-rules.md §1.2), as clinics often do; it underestimates later decline
  (Proudfoot 2016);
* ``"lmm"`` — the pre-treatment slope of the cohort piecewise mixed model plus the patient's
  BLUP (the model's single random slope is shared by both periods).

The piecewise LMM assumes an additive on-treatment change of slope. Under a proportional
effect (the synthetic truth: on-slope = (1 − effect) × pre-slope) it weights long pre-treatment
histories (slow progressors) and underestimates "% slower" (≈36% for a true 50% in our
simulations); with no effect it is unbiased. ``"pre_slope"`` is the default for that reason.

Per-patient OLS slopes come from sums (n, Σt, Σt², Σy, Σty per patient and period) computed
by an Ibis group-by in the engine; only one row per patient comes back. Slopes are
points/month with their natural sign (negative = decline), rates of decline are positive
(docs/domain-rules.md conventions 1-2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from alsrwe.analytics.analyses.results import (
    AnalysisError,
    AnalysisSettings,
    Attrition,
    Diagnostic,
    DiagnosticStatus,
    diagnostics_frame,
    fit_status,
    frame_records,
    json_safe,
)
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import (
    progression_table,
    treated_patient_count,
    treatment_starts,
)
from alsrwe.analytics.lmm.fit import LmmResult, fit_lmm
from alsrwe.analytics.lmm.sufficient import LmmError
from alsrwe.domain.alsfrs import MAX_TOTAL

Covariate = Literal["age_at_onset", "bulbar_onset", "delta_frs", "riluzole"]


class ProgressionSettings(AnalysisSettings):
    """Settings of :func:`progression`; defaults are alsrwe conventions unless a source is given."""

    drug: str = "tofersen"
    sources: tuple[str, ...] = Field(default=("clinic",), description="clinic-rated ALSFRS-R")
    min_pre_assessments: int = Field(default=3, ge=1, description="for a pre-treatment slope")
    min_on_assessments: int = Field(default=3, ge=2, description="for an on-treatment slope")
    min_on_months: float = Field(
        default=6.0, ge=0, description="on-treatment span; real-world series required ≥6 months "
        "of tofersen (German PRO study, Meyer 2023; docs/domain-rules.md §5)")
    expected: Literal["pre_slope", "delta_frs", "lmm"] = "pre_slope"
    min_expected_rate: float = Field(
        default=0.1, ge=0, description="points/month; patients expected to decline at most this "
        "little are excluded (a ratio over ~0 explodes); alsrwe convention")
    max_near_zero_share: float = Field(
        default=0.1, ge=0, le=1, description="FAIL the denominator check above this share")
    covariates: tuple[Covariate, ...] = Field(default=(), description="baseline LMM covariates")
    reml: bool = True
    bootstrap: int = Field(default=2000, ge=0, description="patient-level percentile bootstrap")
    seed: int = Field(default=20260630, ge=0)
    level: float = Field(default=0.95, gt=0, lt=1)
    min_patients: int = Field(default=10, ge=2, description="FAIL the visits check below this")


@dataclass(frozen=True, slots=True)
class LmmSlopes:
    """The piecewise LMM total ~ t + t_post (+ covariates) + (1 + t | patient)."""

    pre_slope_per_month: float
    pre_slope_ci: tuple[float, float]
    on_slope_per_month: float
    on_slope_ci: tuple[float, float]
    percent_slower: float
    percent_slower_ci: tuple[float, float]
    converged: bool
    singular: bool
    n_patients: int
    n_obs: int


@dataclass(frozen=True, eq=False)
class ProgressionResult:
    """Per-patient rates and the cohort "% slower than expected" with its bootstrap CI."""

    settings: ProgressionSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    patients: pd.DataFrame
    n_included: int
    observed_rate_per_month: float
    expected_rate_per_month: float
    percent_slower: float
    percent_slower_ci: tuple[float, float]
    lmm: LmmSlopes | None

    def to_frame(self) -> pd.DataFrame:
        """One row per cohort estimate (percent, or points/month), with CI and n."""
        n = self.n_included
        rows = [
            ("observed on-treatment rate (points/month)", self.observed_rate_per_month, None, n),
            ("expected rate (points/month)", self.expected_rate_per_month, None, n),
            (f"% slower than expected ({self.settings.expected})", self.percent_slower,
             self.percent_slower_ci, n),
        ]  # fmt: skip
        if self.lmm is not None:
            m = self.lmm
            rows += [
                ("LMM pre-treatment slope_per_month", m.pre_slope_per_month, m.pre_slope_ci,
                 m.n_patients),
                ("LMM on-treatment slope_per_month", m.on_slope_per_month, m.on_slope_ci,
                 m.n_patients),
                ("LMM % slower", m.percent_slower, m.percent_slower_ci, m.n_patients),
            ]  # fmt: skip
        return pd.DataFrame(
            [{"estimate": name, "value": value, "lower": ci[0] if ci else math.nan,
              "upper": ci[1] if ci else math.nan, "n_patients": k}
             for name, value, ci, k in rows])  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "settings": self.settings.model_dump(mode="json"),
            "attrition": self.attrition.to_dict(),
            "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
            "estimates": frame_records(self.to_frame()),
            "patients": frame_records(self.patients),
            "lmm": None if self.lmm is None else {
                k: getattr(self.lmm, k) for k in LmmSlopes.__slots__},
        }
        return dict(json_safe(out))


def patient_sums(cohort: Cohort, settings: ProgressionSettings) -> ibis.Table:
    """Per treated patient, in the engine: n, Σt, Σt², Σy, Σty before (t < 0) and on (t ≥ 0)
    treatment, the on-treatment span, and the last pre-treatment assessment."""
    rows = progression_table(cohort, settings.drug, settings.sources)
    rows = rows.filter(rows.start_date.notnull())
    t, y = rows.t, rows.total.cast("float64")
    parts: dict[str, Any] = {"start_date": rows.start_date.max(),
                             "last_pre_date": rows.date.max(where=t < 0),
                             "on_months": t.max(where=t >= 0)}
    for period, where in (("pre", t < 0), ("on", t >= 0)):
        parts[f"n_{period}"] = y.count(where=where)
        parts[f"st_{period}"] = t.sum(where=where)
        parts[f"stt_{period}"] = (t * t).sum(where=where)
        parts[f"sy_{period}"] = y.sum(where=where)
        parts[f"sty_{period}"] = (t * y).sum(where=where)
    sums = rows.group_by("patient_id").aggregate(**parts)
    last = rows.join(sums.select("patient_id", "last_pre_date"),
                     ["patient_id", rows.date == sums.last_pre_date])
    last = last.group_by("patient_id").aggregate(
        last_pre_total=last.total.max(), last_pre_months_from_onset=last.months_from_onset.max())
    last = last.rename(pid="patient_id")
    return sums.left_join(last, sums.patient_id == last.pid).drop("pid")


def ols_slope(n: Any, st: Any, stt: Any, sy: Any, sty: Any) -> Any:
    """OLS slope from sums: (nΣty − ΣtΣy) / (nΣt² − (Σt)²); NaN when t does not vary."""
    den = n * stt - st * st
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 1e-9 * np.maximum(n * stt, 1.0), (n * sty - st * sy) / den, np.nan)


def _per_patient(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.fillna({c: 0.0 for c in frame.columns if c[:2] in ("n_", "st", "sy")})
    out = pd.DataFrame({"patient_id": f["patient_id"].astype(str), "start_date": f["start_date"],
                        "n_pre": f["n_pre"].astype(int), "n_on": f["n_on"].astype(int),
                        "on_months": f["on_months"].astype(float)})  # fmt: skip
    for p in ("pre", "on"):
        out[f"{p}_slope_per_month"] = ols_slope(
            *(f[f"{s}_{p}"].to_numpy(float) for s in ("n", "st", "stt", "sy", "sty")))
    months = f["last_pre_months_from_onset"].astype(float)
    out["last_pre_total"] = f["last_pre_total"].astype(float)
    out["delta_frs"] = np.where(months > 0, (MAX_TOTAL - out["last_pre_total"]) / months, np.nan)
    return out.sort_values("patient_id", ignore_index=True)


def _covariates(cohort: Cohort, settings: ProgressionSettings, per: pd.DataFrame) -> pd.DataFrame:
    """Baseline covariates per patient (age at onset in years, bulbar onset, ΔFRS, riluzole
    at the first dose), computed in the engine except ΔFRS."""
    p = cohort.table("patients")
    starts = treatment_starts(cohort, settings.drug).select("patient_id", "start_date")
    meds = cohort.table("medications")
    ril = meds.join(starts, "patient_id")
    ril = ril.filter((ril.drug == "riluzole") & (ril.start_date <= ril.start_date_right)
                     & (ril.stop_date.isnull() | (ril.stop_date >= ril.start_date_right)))
    base = p.select("patient_id",
                    age_at_onset=(p.onset_date.year() - p.birth_year).cast("float64"),
                    bulbar_onset=(p.onset_region == "bulbar").cast("float64"))
    frame = base.execute()
    frame["patient_id"] = frame["patient_id"].astype(str)
    on_ril = set(ril.select("patient_id").distinct().execute()["patient_id"].astype(str))
    frame["riluzole"] = frame["patient_id"].isin(on_ril).astype(float)
    frame = frame.merge(per[["patient_id", "delta_frs"]], on="patient_id", how="inner")
    out: pd.DataFrame = frame[["patient_id", *settings.covariates]]
    return out


def _lmm_rows(cohort: Cohort, s: ProgressionSettings, sums: ibis.Table,
              per: pd.DataFrame) -> pd.DataFrame:
    """The assessments of patients with enough visits (filtered in the engine) + covariates."""
    rows = progression_table(cohort, s.drug, s.sources)
    kept = sums.filter(_enough(sums, s)).select("patient_id")
    data = rows.semi_join(kept, "patient_id").select("patient_id", "total", "t", "t_post")
    frame: pd.DataFrame = data.execute()
    frame["patient_id"] = frame["patient_id"].astype(str)
    frame["total"] = frame["total"].astype(float)
    if s.covariates:
        frame = frame.merge(_covariates(cohort, s, per), on="patient_id").dropna()
    frame["t_pre"] = np.minimum(frame["t"], 0.0)
    return frame


def _enough(sums: ibis.Table, s: ProgressionSettings) -> ibis.ir.BooleanValue:
    return ((sums.n_pre >= s.min_pre_assessments) & (sums.n_on >= s.min_on_assessments)
            & (sums.on_months >= s.min_on_months))


def _lmm_slopes(fit: LmmResult, refit: LmmResult, level: float) -> LmmSlopes:
    """Pre slope = β_t, on slope = β_t + β_t_post. The on slope's SE comes from the same model
    refitted as total ~ t_pre + t_post (same θ: both fixed designs span the same space), and
    Cov(pre, on) from Var(β_t_post) = Var(on) + Var(pre) − 2 Cov; % slower = 1 − on/pre with
    a delta-method CI."""
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    pre, on = fit.fixed["t"], fit.fixed["t"] + fit.fixed["t_post"]
    v_pre, v_diff, v_on = fit.se["t"] ** 2, fit.se["t_post"] ** 2, refit.se["t_post"] ** 2
    cov = (v_on + v_pre - v_diff) / 2.0
    ratio = on / pre
    v_ratio = (v_on - 2 * ratio * cov + ratio**2 * v_pre) / pre**2
    slower, se_slower = 100.0 * (1.0 - ratio), 100.0 * math.sqrt(max(v_ratio, 0.0))
    se_pre, se_on = fit.se["t"], math.sqrt(v_on)
    return LmmSlopes(
        pre_slope_per_month=pre, pre_slope_ci=(pre - z * se_pre, pre + z * se_pre),
        on_slope_per_month=on, on_slope_ci=(on - z * se_on, on + z * se_on),
        percent_slower=slower, percent_slower_ci=(slower - z * se_slower, slower + z * se_slower),
        converged=fit.converged and refit.converged, singular=fit.singular,
        n_patients=fit.n_groups, n_obs=fit.n_obs)


def _run_lmm(cohort: Cohort, s: ProgressionSettings, sums: ibis.Table,
             per: pd.DataFrame) -> tuple[LmmSlopes | None, LmmResult | None, str]:
    data = _lmm_rows(cohort, s, sums, per)
    try:
        fit = fit_lmm(data, "total", ["t", "t_post", *s.covariates], "patient_id", "t",
                      reml=s.reml)
        refit = fit_lmm(data, "total", ["t_pre", "t_post", *s.covariates], "patient_id", "t",
                        reml=s.reml)
    except LmmError as error:
        return None, None, f"{error.field}: {error.rule}"
    return _lmm_slopes(fit, refit, s.level), fit, ""


def _rates(per: pd.DataFrame, s: ProgressionSettings, fit: LmmResult | None) -> pd.DataFrame:
    """Observed on-treatment and expected rates of decline (positive = decline) per patient."""
    per = per.copy()
    per["observed_rate_per_month"] = -per["on_slope_per_month"]
    if s.expected == "pre_slope":
        expected = -per["pre_slope_per_month"]
    elif s.expected == "delta_frs":
        expected = per["delta_frs"]
    else:
        if fit is None:
            raise AnalysisError("expected", "the LMM could not be fitted, so 'lmm' has no "
                                            "expected rate; choose 'pre_slope' or 'delta_frs'")
        blup = fit.blups.assign(group=fit.blups["group"].astype(str)).set_index("group")["slope"]
        per["lmm_pre_slope_per_month"] = fit.fixed["t"] + per["patient_id"].map(blup)
        expected = -per["lmm_pre_slope_per_month"]
    per["expected_rate_per_month"] = expected
    with np.errstate(divide="ignore", invalid="ignore"):
        per["percent_slower"] = 100.0 * (1.0 - per["observed_rate_per_month"] / expected)
    return per


def percent_slower_bootstrap(observed: np.ndarray, expected: np.ndarray, resamples: int,
                             seed: int, level: float) -> tuple[float, float]:
    """Percentile CI of 100·(1 − mean observed / mean expected), resampling patients."""
    if resamples == 0 or observed.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // observed.size)
    draws = []
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, observed.size, (min(chunk, resamples - start), observed.size))
        draws.append(100.0 * (1.0 - observed[idx].mean(axis=1) / expected[idx].mean(axis=1)))
    values = np.concatenate(draws)
    lower, upper = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lower), float(upper)


def _diagnostics(s: ProgressionSettings, per: pd.DataFrame, lmm: LmmSlopes | None,
                 lmm_message: str) -> list[Diagnostic]:
    ok, fail, na = DiagnosticStatus.PASS, DiagnosticStatus.FAIL, DiagnosticStatus.NOT_EVALUATED
    few = int((~per["enough_visits"]).sum())
    n_in = int(per["included"].sum())
    near, computable = int(per["near_zero"].sum()), int(per["rate_computable"].sum())
    out = [Diagnostic(
        "enough visits", ok if n_in >= s.min_patients else fail,
        f"{few} treated patient(s) with too few assessments (pre < {s.min_pre_assessments}, or "
        f"on < {s.min_on_assessments} / < {s.min_on_months:g} months); {n_in} included "
        f"(needs ≥ {s.min_patients})")]
    share = near / computable if computable else 0.0
    out.append(Diagnostic(
        "expected rate away from zero", ok if share <= s.max_near_zero_share else fail,
        f"{near} of {computable} patient(s) expected to decline ≤ {s.min_expected_rate:g} "
        f"points/month were excluded ({100 * share:.0f}%; "
        f"limit {100 * s.max_near_zero_share:.0f}%)"))
    if lmm is None:
        out.append(Diagnostic("LMM convergence", na, lmm_message))
    else:
        out.append(Diagnostic("LMM convergence", fit_status(lmm.converged, lmm.singular),
                              f"converged={lmm.converged}, singular={lmm.singular}"))
    if s.bootstrap == 0:
        out.append(Diagnostic("bootstrap CI", na, "bootstrap = 0"))
    return out


def progression(cohort: Cohort, settings: ProgressionSettings | None = None) -> ProgressionResult:
    """Per-patient and cohort ALSFRS-R rates before and on treatment, and "% slower".

    Steps: treated patients → ≥ k pre-treatment assessments → enough on-treatment follow-up →
    a computable expected rate → expected rate > ``min_expected_rate``. The cohort estimate is
    100·(1 − mean observed rate / mean expected rate) over included patients (a ratio of
    means, stable where per-patient ratios are not), with a percentile bootstrap CI.
    """
    s = settings or ProgressionSettings()
    n_treated = treated_patient_count(cohort, s.drug)
    if n_treated == 0:
        raise AnalysisError("administrations", f"no patient with ALS has a given dose of "
                                               f"{s.drug}; the analysis needs treated patients")
    sums = patient_sums(cohort, s)
    per = _per_patient(sums.execute())
    attrition = Attrition(n_treated)
    pre_ok = per["n_pre"] >= s.min_pre_assessments
    attrition.apply(f"≥ {s.min_pre_assessments} pre-treatment assessments", int(pre_ok.sum()))
    per["enough_visits"] = pre_ok & (per["n_on"] >= s.min_on_assessments) \
        & (per["on_months"] >= s.min_on_months)
    attrition.apply(f"≥ {s.min_on_assessments} on-treatment assessments over ≥ "
                    f"{s.min_on_months:g} months", int(per["enough_visits"].sum()))
    if not per["enough_visits"].any():
        raise AnalysisError("alsfrs", "no treated patient has enough assessments before and on "
                                      "treatment (see min_pre_assessments, min_on_assessments, "
                                      "min_on_months)")
    lmm, fit, lmm_message = _run_lmm(cohort, s, sums, per)
    per = _rates(per, s, fit)
    per["rate_computable"] = per["enough_visits"] & per["expected_rate_per_month"].notna() \
        & per["observed_rate_per_month"].notna()
    attrition.apply(f"expected rate ({s.expected}) computable", int(per["rate_computable"].sum()))
    per["near_zero"] = per["rate_computable"] \
        & (per["expected_rate_per_month"] <= s.min_expected_rate)
    per["included"] = per["rate_computable"] & ~per["near_zero"]
    attrition.apply(f"expected rate > {s.min_expected_rate:g} points/month",
                    int(per["included"].sum()))
    inc = per[per["included"]]
    if len(inc) < 2:
        raise AnalysisError("alsfrs", "fewer than 2 patients have an expected rate of decline "
                                      f"above {s.min_expected_rate:g} points/month")
    obs = inc["observed_rate_per_month"].to_numpy(float)
    exp = inc["expected_rate_per_month"].to_numpy(float)
    return ProgressionResult(
        settings=s, attrition=attrition, diagnostics=_diagnostics(s, per, lmm, lmm_message),
        patients=per, n_included=len(inc), observed_rate_per_month=float(obs.mean()),
        expected_rate_per_month=float(exp.mean()),
        percent_slower=100.0 * (1.0 - float(obs.mean()) / float(exp.mean())),
        percent_slower_ci=percent_slower_bootstrap(obs, exp, s.bootstrap, s.seed, s.level),
        lmm=lmm)


__all__ = ["LmmSlopes", "ProgressionResult", "ProgressionSettings", "ols_slope", "patient_sums",
           "percent_slower_bootstrap", "progression"]
