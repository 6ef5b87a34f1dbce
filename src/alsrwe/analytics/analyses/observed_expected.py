"""Observed vs expected beyond the clinic's own history: ΔFRS, PRO-ACT and ENCALS.

A patient's own pre-treatment slope is the usual "expected" (:mod:`.progression`); here the
expectations come from outside (docs/domain-rules.md §16):

* ALSFRS-R — the observed on-treatment rate of decline (−OLS slope of the totals from the
  first dose, points/month) against ΔFRS at the first dose ((48 − the last total at or before
  it)/months from onset to that assessment; Kimura 2006, §1.2) and against the PRO-ACT mean
  rate, 0.99 points/month (§9.6). Cohort summaries are 100·(1 − Σobs/Σexp), WITHOUT CIs:
  none has had its coverage checked.
* Survival — ENCALS-predicted event-free survival from the first dose, conditional on being
  event-free then (t0 = months from onset to the first dose; Westeneng 2018, §6.1), against
  the Kaplan–Meier curve of the ENCALS composite; the expected curve is Ederer I; O/E with an
  exact Poisson CI, E fixed (:mod:`.expected_events`; coverage checked in docs/validation.md).

The tidy tables record neither the El Escorial category, ALS-FTD nor C9orf72: they are set by
``unrecorded_*`` (default 0 = absent, TRICALS coefficients without C9orf72) and a WARN says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from alsrwe.analytics.analyses.expected_events import (
    EventsRatio,
    ederer_curve,
    expected_events,
    poisson_ratio_ci,
)
from alsrwe.analytics.analyses.observed_expected_data import patient_frame
from alsrwe.analytics.analyses.results import (
    AnalysisError,
    AnalysisSettings,
    Attrition,
    Diagnostic,
    DiagnosticStatus,
    diagnostics_frame,
    frame_records,
    json_safe,
)
from alsrwe.analytics.analyses.survival_estimators import KaplanMeier, kaplan_meier
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.domain.encals import (
    FULL_MODEL,
    TRICALS_RISK_PROFILE,
    encals_predictors,
    linear_predictor,
)
from alsrwe.domain.reference_rates import PRO_ACT_RATE_OF_DECLINE

CAVEAT = ("ENCALS coefficients come from a public R implementation of Westeneng et al. 2018 and "
          "were not cross-checked against the paper's supplement")


class ObservedExpectedSettings(AnalysisSettings):
    """Settings of :func:`observed_vs_expected`; defaults are alsrwe conventions unless sourced."""

    drug: str = "tofersen"
    sources: tuple[str, ...] = Field(default=("clinic",), description="clinic-rated ALSFRS-R")
    min_on_assessments: int = Field(default=3, ge=2, description="for an on-treatment slope")
    min_on_months: float = Field(
        default=6.0, ge=0, description="on-treatment span, as the progression analysis "
        "(German PRO study, Meyer 2023; docs/domain-rules.md §5)")
    reference_rate_per_month: float = Field(
        default=PRO_ACT_RATE_OF_DECLINE, gt=0, description="PRO-ACT mean rate of decline, "
        "points/month (Muscle Nerve 2018;57:937-945, PMID 29244213; docs/domain-rules.md §9.6)")
    model: Literal["tricals", "full"] = Field(
        default="tricals", description="ENCALS coefficient set (§6.1): TRICALS risk profile "
        "without C9orf72, or the full Lancet model with it")
    unrecorded_definite_als: float = Field(
        default=0.0, ge=0, le=1, description="value used for El Escorial 'definite ALS', which "
        "the tidy tables do not record: 0 = absent (default), 1 = present, between = an "
        "assumed prevalence")
    unrecorded_als_ftd: float = Field(default=0.0, ge=0, le=1,
                                      description="the same for ALS-FTD")
    unrecorded_c9orf72: float = Field(default=0.0, ge=0, le=1,
                                      description="the same for C9orf72 (full model only)")
    vc_kinds: tuple[Literal["svc_percent", "fvc_percent"], ...] = Field(
        default=("svc_percent", "fvc_percent"), min_length=1,
        description="vital capacity % predicted, slow or forced (§6.1)")
    vc_window_days: int = Field(
        default=183, ge=0, description="the latest VC at most this many days before the first "
        "dose (or on its day); alsrwe convention")
    censor_date: date | None = Field(default=None, description="data cut-off; default none")
    curve_step_months: float = Field(default=0.5, gt=0, description="expected-curve grid")
    min_patients: int = Field(default=5, ge=1, description="FAIL a part below this")
    min_events: int = Field(default=5, ge=0, description="WARN the O/E below this many events")
    level: float = Field(default=0.95, gt=0, lt=1)


@dataclass(frozen=True, slots=True)
class RateComparison:
    """Mean observed vs mean expected rate of decline for one reference (points/month)."""

    reference: str
    n: int
    observed_mean: float
    expected_mean: float
    percent_slower: float  # 100·(1 − Σobs/Σexp); no CI (coverage not validated)


@dataclass(frozen=True, eq=False)
class ObservedExpectedResult:
    """ALSFRS-R rates vs ΔFRS and PRO-ACT; KM vs ENCALS-expected survival and O/E."""

    settings: ObservedExpectedSettings
    attrition: Attrition  # the ALSFRS-R part
    survival_attrition: Attrition  # the ENCALS part
    diagnostics: list[Diagnostic]
    rates: pd.DataFrame  # per patient
    comparisons: tuple[RateComparison, ...]
    survival_patients: pd.DataFrame  # per patient: predictors, LP, t0, follow-up, event, E
    observed_curve: KaplanMeier | None
    expected_curve: pd.DataFrame  # months, expected_survival (Ederer I)
    events: EventsRatio | None
    caveat: str = CAVEAT

    def attrition_frame(self) -> pd.DataFrame:
        """Both attrition logs, one after the other, with the part they belong to."""
        return pd.concat([self.attrition.to_frame().assign(part="ALSFRS-R rates"),
                          self.survival_attrition.to_frame().assign(part="ENCALS survival")],
                         ignore_index=True)[["part", "rule", "removed", "remaining"]]

    def to_frame(self) -> pd.DataFrame:
        """One row per cohort estimate: rates (points/month), % slower, O/E with its CI."""
        rows: list[dict[str, Any]] = []
        for c in self.comparisons:
            rows += [
                {"estimate": "mean observed on-treatment rate (points/month)",
                 "reference": c.reference, "value": c.observed_mean, "n_patients": c.n},
                {"estimate": "mean expected rate (points/month)", "reference": c.reference,
                 "value": c.expected_mean, "n_patients": c.n},
                {"estimate": "% slower than expected, 100·(1 − Σobs/Σexp)",
                 "reference": c.reference, "value": c.percent_slower, "n_patients": c.n},
            ]  # fmt: skip
        if self.events is not None and self.observed_curve is not None:
            e, n = self.events, self.observed_curve.n
            rows += [
                {"estimate": "observed events (O)", "reference": "ENCALS", "value": e.observed,
                 "n_patients": n},
                {"estimate": "expected events (E)", "reference": "ENCALS", "value": e.expected,
                 "n_patients": n},
                {"estimate": "O/E (exact Poisson CI, E fixed)", "reference": "ENCALS",
                 "value": e.ratio, "lower": e.lower, "upper": e.upper, "n_patients": n},
            ]  # fmt: skip
        return pd.DataFrame(rows, columns=["estimate", "reference", "value", "lower", "upper",
                                           "n_patients"])

    def to_dict(self) -> dict[str, Any]:
        curve = None if self.observed_curve is None else frame_records(self.observed_curve.table)
        out = {"settings": self.settings.model_dump(mode="json"),
               "attrition": self.attrition.to_dict(),
               "survival_attrition": self.survival_attrition.to_dict(),
               "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
               "estimates": frame_records(self.to_frame()),
               "rates": frame_records(self.rates),
               "survival_patients": frame_records(self.survival_patients),
               "observed_curve": curve, "expected_curve": frame_records(self.expected_curve),
               "caveat": self.caveat}  # fmt: skip
        return dict(json_safe(out))


# --- ALSFRS-R rates ------------------------------------------------------------------------


def _rates(per: pd.DataFrame, s: ObservedExpectedSettings,
           attrition: Attrition) -> tuple[pd.DataFrame, tuple[RateComparison, ...]]:
    enough = (per["n_on"] >= s.min_on_assessments) & (per["on_months"] >= s.min_on_months) \
        & per["observed_rate_per_month"].notna()
    attrition.apply(f"≥ {s.min_on_assessments} on-treatment assessments over ≥ "
                    f"{s.min_on_months:g} months", int(enough.sum()))
    rates = per[enough & per["delta_frs"].notna()]
    attrition.apply("an ALSFRS-R total at or before the first dose (ΔFRS)", len(rates))
    rates = rates[["patient_id", "n_on", "on_months", "observed_rate_per_month", "delta_frs"]]
    rates = rates.assign(pro_act_rate_per_month=s.reference_rate_per_month).reset_index(drop=True)
    comparisons = []
    for name, column in (("ΔFRS at first dose", "delta_frs"),
                         ("PRO-ACT", "pro_act_rate_per_month")):
        obs, exp = rates["observed_rate_per_month"], rates[column]
        share = 100.0 * (1.0 - obs.sum() / exp.sum()) if exp.sum() > 0 else math.nan
        comparisons.append(RateComparison(name, len(rates), float(obs.mean()),
                                          float(exp.mean()), float(share)))
    return rates, tuple(comparisons)


# --- ENCALS survival -----------------------------------------------------------------------


def _survival_rows(per: pd.DataFrame, s: ObservedExpectedSettings,
                   attrition: Attrition) -> pd.DataFrame:
    steps = [("ΔFRS at the first dose (a total at or before it)", per["delta_frs"].notna()),
             ("diagnostic delay > 0 (diagnosis after onset)", per["delay_months"] > 0),
             ("age at onset > 0 (birth year)", per["age_at_onset"] > 0),
             (f"vital capacity % predicted ≤ {s.vc_window_days} days before the first dose",
              per["vc_percent"] > 0),
             ("milestones consistent with onset (domain rules)", per["milestones_ok"]),
             ("event-free at the first dose, with follow-up after it",
              per["follow_up_months"] > 0)]  # fmt: skip
    keep = pd.Series(True, index=per.index)
    for rule, ok in steps:
        keep &= ok.fillna(False).astype(bool)
        attrition.apply(rule, int(keep.sum()))
    rows = per[keep].copy()
    coefficients = FULL_MODEL if s.model == "full" else TRICALS_RISK_PROFILE
    predictors = rows[["delta_frs", "delay_months", "age_at_onset", "vc_percent",
                       "bulbar_onset"]].to_numpy(dtype=float)
    rows["lp"] = [linear_predictor(encals_predictors(
        float(dfrs), float(delay), float(age), float(vc), float(bulbar),
        s.unrecorded_definite_als, s.unrecorded_als_ftd, s.unrecorded_c9orf72), coefficients)
        for dfrs, delay, age, vc, bulbar in predictors]
    rows["expected_events"] = expected_events(rows["t0_months"].tolist(),
                                              rows["follow_up_months"].tolist(),
                                              rows["lp"].tolist())
    columns = ["patient_id", "delta_frs", "delay_months", "age_at_onset", "vc_percent",
               "bulbar_onset", "lp", "t0_months", "follow_up_months", "event",
               "expected_events"]
    return rows[columns].reset_index(drop=True)


def _curves(rows: pd.DataFrame, s: ObservedExpectedSettings
            ) -> tuple[KaplanMeier | None, pd.DataFrame, EventsRatio | None]:
    if rows.empty:
        return None, pd.DataFrame(columns=["months", "expected_survival"]), None
    km = kaplan_meier(rows["follow_up_months"], rows["event"], level=s.level)
    top = float(rows["follow_up_months"].max())
    grid = np.arange(0.0, top + s.curve_step_months, s.curve_step_months)
    expected = ederer_curve(rows["t0_months"].tolist(), rows["lp"].tolist(), grid)
    ratio = poisson_ratio_ci(int(rows["event"].sum()), float(rows["expected_events"].sum()),
                             s.level)
    return km, pd.DataFrame({"months": grid, "expected_survival": expected}), ratio


# --- diagnostics and the analysis ----------------------------------------------------------


def _diagnostics(s: ObservedExpectedSettings, rates: pd.DataFrame, rows: pd.DataFrame,
                 uncounted_ventilation: int, events: EventsRatio | None) -> list[Diagnostic]:
    ok, warn, fail = DiagnosticStatus.PASS, DiagnosticStatus.WARN, DiagnosticStatus.FAIL
    n = len(rows)
    unrecorded = ["El Escorial 'definite ALS'", "ALS-FTD"]
    values = [s.unrecorded_definite_als, s.unrecorded_als_ftd]
    if s.model == "full":
        unrecorded.append("C9orf72")
        values.append(s.unrecorded_c9orf72)
    taken = "; ".join(f"{name} = {v:g}" for name, v in zip(unrecorded, values, strict=True))
    model = ("full Lancet model (with C9orf72)" if s.model == "full"
             else "TRICALS risk profile (no C9orf72)")
    out = [
        Diagnostic("ALSFRS-R patients", ok if len(rates) >= s.min_patients else fail,
                   f"{len(rates)} patients with an on-treatment rate and ΔFRS "
                   f"(needs ≥ {s.min_patients})"),
        Diagnostic("ENCALS patients", ok if n >= s.min_patients else fail,
                   f"{n} patients with every recorded ENCALS predictor at the first dose "
                   f"(needs ≥ {s.min_patients})"),
        Diagnostic("unrecorded ENCALS predictors", warn,
                   f"not recorded for any of the {n} patients, taken as {taken} "
                   f"(0 = absent); {model}"),
        Diagnostic("ENCALS composite (NIV > 23 h/day)", warn if uncounted_ventilation else ok,
                   f"milestones carry no ventilator hours, so {uncounted_ventilation} NIV or "
                   "permanent-ventilation milestone(s) after the first dose of included "
                   "patients could not count; events are death and tracheostomy"),
    ]
    if events is None:
        out.append(Diagnostic("events for O/E", DiagnosticStatus.NOT_EVALUATED,
                              "no patient with the ENCALS predictors"))
    else:
        out.append(Diagnostic("events for O/E", ok if events.observed >= s.min_events else warn,
                              f"{events.observed} observed, {events.expected:.1f} expected "
                              f"(WARN below {s.min_events} observed)"))
    return out


def observed_vs_expected(cohort: Cohort, settings: ObservedExpectedSettings | None = None
                         ) -> ObservedExpectedResult:
    """Observed on-treatment progression and survival against external expectations."""
    s = settings or ObservedExpectedSettings()
    per, uncounted = patient_frame(cohort, s.drug, s.sources, s.vc_kinds, s.vc_window_days,
                                   s.censor_date)
    if per.empty:
        raise AnalysisError("administrations", f"no patient with ALS has a given dose of "
                                               f"{s.drug}; the analysis needs treated patients")
    attrition, survival_attrition = Attrition(len(per)), Attrition(len(per))
    rates, comparisons = _rates(per, s, attrition)
    rows = _survival_rows(per, s, survival_attrition)
    if rates.empty and rows.empty:
        raise AnalysisError("alsfrs", "no treated patient has an on-treatment rate with ΔFRS, "
                                      "nor every ENCALS predictor at the first dose")
    km, expected, events = _curves(rows, s)
    uncounted_kept = int(uncounted[uncounted.index.isin(rows["patient_id"])].sum())
    return ObservedExpectedResult(
        settings=s, attrition=attrition, survival_attrition=survival_attrition,
        diagnostics=_diagnostics(s, rates, rows, uncounted_kept, events), rates=rates,
        comparisons=comparisons, survival_patients=rows, observed_curve=km,
        expected_curve=expected, events=events)


__all__ = ["CAVEAT", "ObservedExpectedResult", "ObservedExpectedSettings", "RateComparison",
           "observed_vs_expected"]
