"""Neurofilament response to tofersen: per-patient % change, cohort geometric mean ratios and a
log-scale mixed model giving the mean ratio per month (docs/domain-rules.md §7, convention 9).

* Baseline: the last value within ``baseline_window_days`` before or on the first dose (CSF
  drawn at the first lumbar puncture precedes the injection, so the dose day counts).
* Follow-up at each window of ``weeks``: the value nearest to week × 7 days after the first
  dose, within ± ``tolerance_days`` (ties: the earlier value).
* Per patient: % change = (post/pre − 1) × 100 (Meyer 2023, Smith 2025; convention 9).
* Cohort: geometric mean ratio (GMR) = exp(mean log(post/pre)) with a t interval on the log
  scale, reported also as (GMR − 1) × 100 %.
* Over time: ``log(value) ~ 1 + months + (1 + months | patient)`` by REML (:func:`fit_lmm`),
  using the baseline (at month 0) and on-treatment values up to the last window; exp(slope) is
  the mean ratio (MR) per month, as the Padova study's CSF NfL "MR 0.97 (0.94–0.99)" (§7).
  The fall to a plateau is not linear on the log scale; the MR per month summarises it.

One matrix (the kind) and one assay platform at a time: values from different platforms are
never pooled (convention 9). The platform is ``settings.assay`` or else the most common one
among the kind's values; assay labels are read with :func:`alsrwe.domain.biomarkers.nfl_platform`
and the choice is reported as a diagnostic.
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
    ResultFrames,
    diagnostics_frame,
    fit_status,
    frame_records,
    json_safe,
)
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import treatment_starts
from alsrwe.analytics.lmm.fit import fit_lmm
from alsrwe.analytics.lmm.sufficient import LmmError
from alsrwe.domain.alsfrs import DAYS_PER_MONTH
from alsrwe.domain.biomarkers import NflAssay, nfl_platform

NflKind = Literal["nfl_serum", "nfl_plasma", "nfl_csf", "pnfh_csf"]
_BLOOD = ("nfl_serum", "nfl_plasma")
BLOOD_KINDS = _BLOOD
"""The NfL kinds measured in blood: the serum cut-off applies to them."""
KIND_LABELS = {"nfl_serum": "serum NfL", "nfl_plasma": "plasma NfL", "nfl_csf": "CSF NfL",
               "pnfh_csf": "CSF pNfH"}
ASSAY_LABELS = {"simoa": "Simoa", "ella": "Ella", "ecl": "ECL", "elisa": "ELISA",
                "other": "other platform", "unknown": "unknown platform"}


def kind_label(kind: str) -> str:
    """A measurement kind in words ("serum NfL"); unknown kinds are shown as they are."""
    return KIND_LABELS.get(kind, kind)


def assay_label(assay: str) -> str:
    """An assay platform as its maker writes it ("Simoa")."""
    return ASSAY_LABELS.get(assay, assay)


class NflSettings(AnalysisSettings):
    """Settings of :func:`nfl_response`."""

    kind: NflKind = Field(default="nfl_serum", description="matrix and marker (§7)")
    assay: NflAssay | None = Field(
        default=None, description="platform; default the most common (convention 9)")
    baseline_window_days: int = Field(
        default=90, ge=0, description="baseline: last value this many days before dose 1")
    weeks: tuple[int, ...] = Field(
        default=(12, 24, 52), min_length=1, description="follow-up windows (weeks on drug)")
    tolerance_days: int = Field(
        default=28, ge=0,
        description="± days around each window; assumption: half a maintenance interval")
    threshold_pg_ml: float = Field(
        default=62.0, gt=0,
        description="serum NfL cut-off separating ALS from other conditions (Verde 2019)")
    drug: str = "tofersen"
    level: float = Field(default=0.95, gt=0, lt=1)


@dataclass(frozen=True)
class MixedModelRatio:
    """exp(slope) of the log-scale mixed model: the mean ratio per month with Wald limits."""

    ratio_per_month: float
    lower: float
    upper: float
    n_obs: int
    n_patients: int
    converged: bool
    singular: bool


@dataclass(frozen=True)
class NflResult(ResultFrames):
    """Per-window GMRs (``windows``), per-patient changes (``patients``), the mixed model.

    ``share_below_threshold`` is the share of patients whose value at the window is below
    ``threshold_pg_ml``: with the default 62 pg/mL (Verde et al., JNNP 2019, Simoa serum, sens
    85.5 %, spec 81.8 % for ALS vs other conditions) it is the share whose serum NfL has left
    the range typical of ALS — not a return to normal (age-specific limits are far lower, §7).
    Computed for blood NfL only (the cut-off is a serum value; plasma is close but not equal).
    """

    settings: NflSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    assay: str
    windows: pd.DataFrame
    patients: pd.DataFrame
    mixed_model: MixedModelRatio | None

    @property
    def label(self) -> str:
        """The kind and platform in words, e.g. "serum NfL (Simoa)"."""
        return f"{kind_label(self.settings.kind)} ({assay_label(self.assay)})"

    def to_frame(self) -> pd.DataFrame:
        """The windows' GMRs in human column names; the shares only for blood NfL."""
        s, level = self.settings, f"{self.settings.level:.0%}"
        w = self.windows
        out = pd.DataFrame({
            "week on treatment": w["week"], "patients": w["n"],
            "geometric mean ratio to baseline": w["gmr"], f"{level} CI lower": w["lower"],
            f"{level} CI upper": w["upper"], "geometric mean change (%)": w["gmr_percent_change"],
            "median change (%)": w["median_percent_change"]})
        if s.kind in _BLOOD:
            below = f"below {s.threshold_pg_ml:g} pg/mL"
            out[f"share {below} (%)"] = 100.0 * w["share_below_threshold"]
            out[f"share {below} at baseline (%)"] = 100.0 * w["share_below_threshold_at_baseline"]
        return out

    def to_dict(self) -> dict[str, Any]:
        model = None if self.mixed_model is None else json_safe(vars(self.mixed_model))
        out: dict[str, Any] = json_safe({
            "settings": self.settings.model_dump(mode="json"), "assay": self.assay,
            "attrition": self.attrition.to_dict(),
            "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
            "windows": frame_records(self.windows), "patients": frame_records(self.patients),
            "mixed_model": model,
        })
        return out


def geometric_mean_ratio(log_ratios: np.ndarray, level: float = 0.95) -> tuple[float, ...]:
    """(n, GMR, lower, upper): exp of the mean log ratio and of its t interval."""
    x = np.asarray(log_ratios, dtype=np.float64)
    n = x.size
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return 1, math.exp(mean), math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return n, math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def _choose_platform(cohort: Cohort, settings: NflSettings) -> tuple[NflAssay, list[str],
                                                                     Diagnostic]:
    m = cohort.table("measurements")
    m = m.filter(m.kind == settings.kind)
    counts: pd.DataFrame = m.group_by("assay").aggregate(n=m.count()).execute()
    if counts.empty:
        raise AnalysisError("measurements.kind", f"no {settings.kind} values in the cohort")
    counts["platform"] = [nfl_platform(None if pd.isna(a) else str(a)) for a in counts["assay"]]
    by_platform = counts.groupby("platform")["n"].sum().sort_values(ascending=False)
    chosen = settings.assay or NflAssay(by_platform.index[0])
    if chosen not in by_platform.index:
        raise AnalysisError("assay", f"no {settings.kind} values measured on {chosen.value}")
    labels = [str(a) for a, p in zip(counts["assay"], counts["platform"], strict=True)
              if p == chosen and not pd.isna(a)]
    others = {str(p): int(n) for p, n in by_platform.items() if p != chosen}
    detail = f"{chosen.value} ({int(by_platform[chosen])} values)" + (
        f"; not pooled: {others}" if others else "; the only platform")
    status = DiagnosticStatus.PASS
    return chosen, labels, Diagnostic("one assay platform", status, detail)


def _values(cohort: Cohort, settings: NflSettings, platform: NflAssay,
            labels: list[str]) -> pd.DataFrame:
    """Treated patients' values of the kind and platform, in days from the first dose."""
    m = cohort.table("measurements")
    keep = m.assay.isin(labels) if labels else ibis.literal(False)
    if platform is NflAssay.UNKNOWN:
        keep = keep | m.assay.isnull()
    m = m.filter((m.kind == settings.kind) & keep & (m.value > 0))
    starts = treatment_starts(cohort, settings.drug).select("patient_id", "start_date")
    j = m.join(starts, "patient_id")
    days = j.date.delta(j.start_date, unit="day")
    last = max(settings.weeks) * 7 + settings.tolerance_days
    j = j.select("patient_id", "value", days=days)
    j = j.filter((j.days >= -settings.baseline_window_days) & (j.days <= last))
    frame: pd.DataFrame = j.execute()
    frame["patient_id"] = frame["patient_id"].astype(str)
    return frame.sort_values(["patient_id", "days"], kind="stable").reset_index(drop=True)


def _windows(values: pd.DataFrame, baseline: pd.Series, settings: NflSettings) -> pd.DataFrame:
    """One row per (patient, window): the nearest on-treatment value within the tolerance."""
    post = values[values["days"] > 0]
    rows = []
    for week in settings.weeks:
        target = week * 7
        near = post.assign(gap=(post["days"] - target).abs())
        near = near[near["gap"] <= settings.tolerance_days]
        near = near.sort_values(["patient_id", "gap", "days"], kind="stable")
        near = near.drop_duplicates("patient_id")
        near = near[near["patient_id"].isin(baseline.index)]
        rows.append(pd.DataFrame({"patient_id": near["patient_id"], "week": week,
                                  "days": near["days"], "value": near["value"]}))
    out = pd.concat(rows, ignore_index=True)
    out["baseline"] = out["patient_id"].map(baseline).astype(np.float64)
    out["ratio"] = out["value"] / out["baseline"]
    out["percent_change"] = (out["ratio"] - 1.0) * 100.0
    return out


def _summaries(per_patient: pd.DataFrame, settings: NflSettings) -> pd.DataFrame:
    rows = []
    blood = settings.kind in _BLOOD
    for week in settings.weeks:
        w = per_patient[per_patient["week"] == week]
        n, gmr, lo, hi = geometric_mean_ratio(np.log(w["ratio"].to_numpy()), settings.level)
        below = float((w["value"] < settings.threshold_pg_ml).mean()) if blood and n else math.nan
        base_below = (float((w["baseline"] < settings.threshold_pg_ml).mean())
                      if blood and n else math.nan)
        rows.append({"week": week, "n": n, "gmr": gmr, "lower": lo, "upper": hi,
                     "gmr_percent_change": (gmr - 1.0) * 100.0,
                     "median_percent_change": float(w["percent_change"].median()) if n
                     else math.nan,
                     "share_below_threshold": below,
                     "share_below_threshold_at_baseline": base_below})
    return pd.DataFrame(rows)


def _model_patients(values: pd.DataFrame, baseline_days: pd.Series) -> pd.Index:
    """Patients the mixed model uses: a baseline and ≥ 1 value after the first dose (up to the
    last window); a baseline alone says nothing about the change."""
    post = values.loc[values["days"] > 0, "patient_id"].unique()
    return baseline_days.index.intersection(pd.Index(post))


def _mixed_model(values: pd.DataFrame, baseline_days: pd.Series,
                 level: float) -> tuple[MixedModelRatio | None, Diagnostic]:
    keep = values[values["patient_id"].isin(_model_patients(values, baseline_days))]
    base = keep["days"] == keep["patient_id"].map(baseline_days)
    data = keep[base | (keep["days"] > 0)].copy()
    data["months"] = data["days"].clip(lower=0) / DAYS_PER_MONTH
    data["log_value"] = np.log(data["value"])
    name = "log-scale mixed model"
    try:
        fit = fit_lmm(data, "log_value", ["months"], "patient_id", "months")
    except LmmError as error:
        detail = f"{error.field}: {error.rule}"
        return None, Diagnostic(name, DiagnosticStatus.NOT_EVALUATED, detail)
    # t with patients − 2 df, not z: the Wald z interval covered 93.6% at 20 patients, this
    # one 95.0% (93.9% at 100, where both agree; docs/validation.md)
    q = float(stats.t.ppf(0.5 + level / 2.0, max(fit.n_groups - 2, 1)))
    b, se = fit.fixed["months"], fit.se["months"]
    model = MixedModelRatio(math.exp(b), math.exp(b - q * se), math.exp(b + q * se),
                            fit.n_obs, fit.n_groups, fit.converged, fit.singular)
    status = fit_status(fit.converged, fit.singular)
    detail = f"MR/month {model.ratio_per_month:.3f} ({model.lower:.3f}-{model.upper:.3f})"
    return model, Diagnostic(name, status, detail + ("; singular fit" if fit.singular else ""))


def nfl_response(cohort: Cohort, settings: NflSettings | None = None) -> NflResult:
    """NfL (or pNfH) change on tofersen for one matrix and platform (module docstring)."""
    settings = settings or NflSettings()
    starts = treatment_starts(cohort, settings.drug)
    attrition = Attrition(start=int(cohort.table("patients").count().execute()))
    attrition.apply(f"treated with {settings.drug}", int(starts.count().execute()))
    platform, labels, platform_check = _choose_platform(cohort, settings)
    values = _values(cohort, settings, platform, labels)
    around = f"{kind_label(settings.kind)} on {assay_label(platform.value)} around treatment"
    attrition.apply(around, values["patient_id"].nunique())
    pre = values[values["days"] <= 0]
    last_pre = pre.groupby("patient_id")["days"].max()
    at_last = pre[pre["days"] == pre["patient_id"].map(last_pre)]
    baseline = np.exp(np.log(at_last["value"]).groupby(at_last["patient_id"]).mean())
    attrition.apply(f"baseline within {settings.baseline_window_days} days before dose 1",
                    len(baseline))
    attrition.apply(f"a value after dose 1 up to week {max(settings.weeks)} + "
                    f"{settings.tolerance_days} days (mixed model)",
                    len(_model_patients(values, last_pre)))
    per_patient = _windows(values, baseline, settings)
    weeks = ", ".join(f"{w:g}" for w in settings.weeks[:-1])
    weeks = f"{weeks} or {settings.weeks[-1]:g}" if weeks else f"{settings.weeks[-1]:g}"
    attrition.apply(f"a value within ± {settings.tolerance_days} days of week {weeks} "
                    "(windows)", per_patient["patient_id"].nunique())
    if per_patient.empty:
        raise AnalysisError("measurements", f"no patient has {settings.kind} at baseline and "
                            "in a follow-up window")
    windows = _summaries(per_patient, settings)
    model, model_check = _mixed_model(values, last_pre, settings.level)
    diagnostics = [platform_check, model_check, _threshold_check(settings)]
    return NflResult(settings, attrition, diagnostics, platform.value, windows, per_patient,
                     model)


def _threshold_check(settings: NflSettings) -> Diagnostic:
    name = f"share below {settings.threshold_pg_ml:g} pg/mL"
    if settings.kind not in _BLOOD:
        return Diagnostic(name, DiagnosticStatus.NOT_EVALUATED, "a blood NfL cut-off")
    detail = "Verde 2019 serum cut-off" + (" applied to plasma" if settings.kind != "nfl_serum"
                                           else "")
    return Diagnostic(name, DiagnosticStatus.PASS, detail)


__all__ = ["BLOOD_KINDS", "KIND_LABELS", "MixedModelRatio", "NflResult", "NflSettings",
           "assay_label",
           "geometric_mean_ratio", "kind_label", "nfl_response"]
