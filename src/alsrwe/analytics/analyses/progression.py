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

The primary estimand is the cohort ratio θ = 1 − Σ observed / Σ expected rate over the
included patients (:data:`~alsrwe.analytics.analyses.percent_slower.ESTIMAND`), with Fieller's
interval; the argument (no exclusion on the denominator, why not per-patient ratios, why not a
bootstrap) is in :mod:`alsrwe.analytics.analyses.percent_slower` and docs/validation.md.
Patients are included on visits and follow-up only: an OLS pre-slope is unbiased, so a small or
negative expected rate adds noise, not bias, while excluding it selected on noise. The check on
the denominator is whether the *mean* expected rate is significantly above zero.

The piecewise LMM assumes an additive on-treatment change of slope. Under a proportional
effect (the synthetic truth: on-slope = (1 − effect) × pre-slope) it weights long pre-treatment
histories (slow progressors) and underestimates "% slower" (≈37% for a true 50% in our
simulations); with no effect it is unbiased. It is therefore a labelled sensitivity analysis
shown without a CI, and ``"pre_slope"`` is the default expected rate.

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

from alsrwe.analytics.analyses.percent_slower import (
    ESTIMAND,
    Interval,
    denominator_interval,
    percent_slower,
)
from alsrwe.analytics.analyses.results import (
    AnalysisError,
    AnalysisSettings,
    Attrition,
    Diagnostic,
    DiagnosticStatus,
    ResultFrames,
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


BOUNDED_RATIO = "mean expected rate above zero"
"""The diagnostic that says whether "% slower" is bounded (FAIL: its CI is not reported)."""


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
    interval: Interval = Field(
        default="fieller", description="CI of the cohort % slower: Fieller's, 94-96% coverage "
        "at ~19 patients; percentile and bootstrap-t covered 89-91% (docs/validation.md)")
    covariates: tuple[Covariate, ...] = Field(default=(), description="baseline LMM covariates")
    reml: bool = True
    lmm_sensitivity: bool = Field(
        default=True, description="fit the piecewise LMM sensitivity analysis (always fitted "
        "when expected = 'lmm')")
    level: float = Field(default=0.95, gt=0, lt=1)
    min_patients: int = Field(default=10, ge=2, description="FAIL the visits check below this")


LMM_DEFINITION = (
    "piecewise mixed model with an additive change of slope at the first dose: "
    "1 − (β_t + β_t_post)/β_t; under a proportional effect it weights long pre-treatment "
    "histories and is biased towards zero — a sensitivity analysis")


@dataclass(frozen=True, slots=True)
class LmmSlopes:
    """The piecewise LMM total ~ t + t_post (+ covariates) + (1 + t | patient): a sensitivity
    analysis, so no CI (its delta-method CI covered a true proportional 50% in 0% of runs)."""

    pre_slope_per_month: float
    on_slope_per_month: float
    percent_slower: float
    definition: str
    converged: bool
    singular: bool
    n_patients: int
    n_obs: int


@dataclass(frozen=True, eq=False)
class ProgressionResult(ResultFrames):
    """Per-patient rates and the cohort "% slower than expected" (:data:`ESTIMAND`) with its
    CI (``ci_method``); the LMM value is a sensitivity analysis without a CI."""

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
    estimand: str
    ci_method: str

    def to_frame(self) -> pd.DataFrame:
        """One row per cohort estimate: rates of decline positive (points/month), % slower in
        percent; ``role`` is primary / sensitivity / descriptive; n as the attrition's end."""
        n, expected = self.n_included, self.settings.expected.replace("_", " ")
        rows = [
            ("observed on-treatment rate of decline (points/month)",
             self.observed_rate_per_month, None, n, "descriptive"),
            (f"expected rate of decline ({expected}; points/month)",
             self.expected_rate_per_month, None, n, "descriptive"),
            (f"% slower than expected (1 − Σ observed / Σ expected; {self.ci_method})",
             self.percent_slower, self.percent_slower_ci, n, "primary"),
        ]  # fmt: skip
        if self.lmm is not None:
            m = self.lmm
            k = m.n_patients
            fitted = "" if k == n else f"; fitted to the {k} patients with enough visits"
            rows += [
                (f"LMM pre-treatment rate of decline (−β_t; points/month{fitted})",
                 -m.pre_slope_per_month, None, k, "sensitivity"),
                (f"LMM on-treatment rate of decline (−(β_t + β_t_post); points/month{fitted})",
                 -m.on_slope_per_month, None, k, "sensitivity"),
                (f"LMM % slower (additive piecewise model, no CI{fitted})", m.percent_slower,
                 None, k, "sensitivity"),
            ]  # fmt: skip
        return pd.DataFrame(
            [{"estimate": name, "value": value, "lower": ci[0] if ci else math.nan,
              "upper": ci[1] if ci else math.nan, "n_patients": k, "role": role}
             for name, value, ci, k, role in rows])  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "settings": self.settings.model_dump(mode="json"),
            "estimand": self.estimand,
            "ci_method": self.ci_method,
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
    return frame


def lmm_rows(cohort: Cohort, settings: ProgressionSettings) -> pd.DataFrame:
    """The assessments the piecewise mixed model is fitted to: patient_id, total, t, t_post
    (and the covariates) of the treated patients with enough visits."""
    sums = patient_sums(cohort, settings)
    return _lmm_rows(cohort, settings, sums, _per_patient(sums.execute()))


def _enough(sums: ibis.Table, s: ProgressionSettings) -> ibis.ir.BooleanValue:
    return ((sums.n_pre >= s.min_pre_assessments) & (sums.n_on >= s.min_on_assessments)
            & (sums.on_months >= s.min_on_months))


def _lmm_slopes(fit: LmmResult) -> LmmSlopes:
    """Pre slope = β_t, on slope = β_t + β_t_post, % slower = 1 − on/pre (no CI: a biased
    sensitivity analysis under a proportional effect, see :data:`LMM_DEFINITION`)."""
    pre, on = fit.fixed["t"], fit.fixed["t"] + fit.fixed["t_post"]
    return LmmSlopes(
        pre_slope_per_month=pre, on_slope_per_month=on,
        percent_slower=100.0 * (1.0 - on / pre), definition=LMM_DEFINITION,
        converged=fit.converged, singular=fit.singular, n_patients=fit.n_groups,
        n_obs=fit.n_obs)


def _run_lmm(cohort: Cohort, s: ProgressionSettings, sums: ibis.Table,
             per: pd.DataFrame) -> tuple[LmmSlopes | None, LmmResult | None, str]:
    if not s.lmm_sensitivity and s.expected != "lmm":
        return None, None, "lmm_sensitivity = False"
    data = _lmm_rows(cohort, s, sums, per)
    try:
        fit = fit_lmm(data, "total", ["t", "t_post", *s.covariates], "patient_id", "t",
                      reml=s.reml)
    except LmmError as error:
        return None, None, f"{error.field}: {error.rule}"
    return _lmm_slopes(fit), fit, ""


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


def _diagnostics(s: ProgressionSettings, per: pd.DataFrame, lmm: LmmSlopes | None,
                 lmm_message: str) -> list[Diagnostic]:
    ok, fail, na = DiagnosticStatus.PASS, DiagnosticStatus.FAIL, DiagnosticStatus.NOT_EVALUATED
    few = int((~per["enough_visits"]).sum())
    n_in = int(per["included"].sum())
    out = [Diagnostic(
        "enough visits", ok if n_in >= s.min_patients else fail,
        f"{few} treated patient(s) with too few assessments (pre < {s.min_pre_assessments}, or "
        f"on < {s.min_on_assessments} / < {s.min_on_months:g} months); {n_in} included "
        f"(needs ≥ {s.min_patients})")]
    inc = per.loc[per["included"], "expected_rate_per_month"].to_numpy(float)
    low, high = denominator_interval(inc, s.level)
    small = int((inc <= 0.1).sum())
    kept = f"{small} of {inc.size} included patient(s) with an expected rate ≤ 0.1 points/month " \
           "are kept (an unbiased, noisy denominator; excluding them biased the ratio)"
    level = f"{100 * s.level:g}%"
    if low > 0:
        out.append(Diagnostic(
            BOUNDED_RATIO, ok,
            f"mean expected rate {inc.mean():.2f} points/month ({level} CI {low:.2f} to "
            f"{high:.2f}) excludes zero, so the ratio and its CI are bounded; {kept}"))
    else:
        out.append(Diagnostic(
            BOUNDED_RATIO, fail,
            f"mean expected rate {inc.mean():.2f} points/month ({level} CI {low:.2f} to "
            f"{high:.2f}) does not exclude zero: the ratio is unbounded and its CI is not "
            f"reported; {kept}"))
    if lmm is None:
        out.append(Diagnostic("LMM convergence", na, lmm_message))
    else:
        out.append(Diagnostic("LMM convergence", fit_status(lmm.converged, lmm.singular),
                              f"converged={lmm.converged}, singular={lmm.singular}"))
    return out


def progression(cohort: Cohort, settings: ProgressionSettings | None = None) -> ProgressionResult:
    """Per-patient and cohort ALSFRS-R rates before and on treatment, and "% slower".

    Steps: treated patients → ≥ k pre-treatment assessments → enough on-treatment follow-up →
    a computable expected rate (no rule on its size). The primary estimate is
    100·(1 − Σ observed rate / Σ expected rate) over included patients (:data:`ESTIMAND`),
    with Fieller's interval; the LMM % slower is a sensitivity analysis without a CI.
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
    per["included"] = per["rate_computable"]
    attrition.apply(f"expected rate ({s.expected}) computable", int(per["included"].sum()))
    inc = per[per["included"]]
    if len(inc) < 2:
        raise AnalysisError("alsfrs", "fewer than 2 patients have both an observed and an "
                                      f"expected ({s.expected}) rate of decline")
    obs = inc["observed_rate_per_month"].to_numpy(float)
    exp = inc["expected_rate_per_month"].to_numpy(float)
    primary = percent_slower(obs, exp, level=s.level, interval=s.interval)
    return ProgressionResult(
        settings=s, attrition=attrition, diagnostics=_diagnostics(s, per, lmm, lmm_message),
        patients=per, n_included=len(inc), observed_rate_per_month=float(obs.mean()),
        expected_rate_per_month=float(exp.mean()), percent_slower=primary.estimate,
        percent_slower_ci=(primary.lower, primary.upper), lmm=lmm, estimand=ESTIMAND,
        ci_method=primary.method)


__all__ = ["BOUNDED_RATIO", "LMM_DEFINITION", "LmmSlopes", "ProgressionResult",
           "ProgressionSettings", "lmm_rows", "ols_slope", "patient_sums", "progression"]
