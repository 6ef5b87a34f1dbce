"""Early vs delayed start of tofersen: ALSFRS-R change (and NfL ratio) at a fixed week.

VALOR's integrated 52-week analysis compared early-start (tofersen from randomisation) with
delayed-start (placebo, then tofersen ~6 months later): ALSFRS-R change −6.0 vs −9.5
(docs/domain-rules.md §4.1, §4.2). In a registry there is no randomisation: here "early" means
treatment started ≤ ``delay_months_cutoff`` months after diagnosis (or onset), and both groups
are measured from their own first dose, so the comparison is of on-treatment courses by
disease stage at start, confounded by whatever made the start early (e.g. fast progression
leading to a quick diagnosis). VALOR instead measured both arms from randomisation.
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

from alsrwe.analytics.analyses.nfl import kind_label
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
    months_between,
    nearest_to,
    progression_table,
    treated_patient_count,
    treatment_starts,
)
from alsrwe.analytics.lmm.fit import fit_lmm
from alsrwe.analytics.lmm.sufficient import LmmError
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

NFL_KINDS = ("nfl_plasma", "nfl_serum")


class EarlyDelayedSettings(AnalysisSettings):
    """Settings of :func:`early_vs_delayed`; defaults are alsrwe conventions unless sourced."""

    drug: str = "tofersen"
    sources: tuple[str, ...] = Field(default=("clinic",), description="clinic-rated ALSFRS-R")
    reference: Literal["diagnosis", "onset"] = "diagnosis"
    delay_months_cutoff: float = Field(default=12.0, gt=0, description="early = start ≤ this")
    week: float = Field(default=52.0, gt=0, description="VALOR/OLE integrated analysis (§4.1)")
    tolerance_days: int = Field(default=45, ge=0, description="half a 3-monthly visit interval")
    level: float = Field(default=0.95, gt=0, lt=1)
    lmm: bool = Field(default=True, description="also fit total ~ t × early + (1 + t | patient)")
    nfl_kind: Literal["auto", "nfl_plasma", "nfl_serum"] = Field(
        default="auto", description="one matrix, never pooled (convention 9); auto = the one "
        "with more measurements (plasma on a tie, VALOR's matrix)")


@dataclass(frozen=True, slots=True)
class Difference:
    """A difference early − delayed with its CI (for NfL: a ratio of GMRs)."""

    estimate: float
    lower: float
    upper: float
    n_early: int
    n_delayed: int
    method: str


@dataclass(frozen=True, eq=False)
class EarlyDelayedResult(ResultFrames):
    """Mean ALSFRS-R change per group, the Welch difference, the LMM and NfL alternatives."""

    settings: EarlyDelayedSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    patients: pd.DataFrame
    mean_change: dict[str, float]
    difference: Difference
    lmm_difference: Difference | None
    nfl_ratio: Difference | None

    @property
    def group_labels(self) -> dict[str, str]:
        """The two groups in words, with the cut-off and the reference date."""
        s = self.settings
        return {"early": f"early start (first dose ≤ {s.delay_months_cutoff:g} months "
                         f"after {s.reference})",
                "delayed": f"delayed start (> {s.delay_months_cutoff:g} months)"}

    def group_summary(self) -> pd.DataFrame:
        """Per group: patients and the mean ALSFRS-R change with its t interval (points)."""
        rows = []
        for name, early in (("early", True), ("delayed", False)):
            change = self.patients.loc[self.patients["early"] == early, "change"]
            mean, lower, upper = mean_interval(change.to_numpy(float), self.settings.level)
            rows.append({"group": name, "label": self.group_labels[name],
                         "n": int(change.size), "mean": mean, "lower": lower, "upper": upper})
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """The estimates with their unit and sign convention (early − delayed, or a ratio)."""
        s, level = self.settings, f"{self.settings.level:.0%}"
        change = f"ALSFRS-R change from the first dose to week {s.week:g}"
        rows = [(f"difference in {change}: early − delayed (positive = early declined less)",
                 "points", self.difference),
                (f"mixed-model difference in {change}: early − delayed (positive = early "
                 "declined less)", "points", self.lmm_difference),
                (f"ratio of NfL geometric mean ratios (week {s.week:g} / first dose): early / "
                 "delayed (below 1 = NfL fell more in early starters)", "ratio",
                 self.nfl_ratio)]  # fmt: skip
        return pd.DataFrame([{"estimate": name, "unit": unit, "value": d.estimate,
                              f"{level} CI lower": d.lower, f"{level} CI upper": d.upper,
                              "early starters": d.n_early, "delayed starters": d.n_delayed,
                              "method": d.method} for name, unit, d in rows if d is not None])

    def to_dict(self) -> dict[str, Any]:
        out = {"settings": self.settings.model_dump(mode="json"),
               "attrition": self.attrition.to_dict(),
               "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
               "mean_change": self.mean_change, "estimates": frame_records(self.to_frame()),
               "patients": frame_records(self.patients)}  # fmt: skip
        return dict(json_safe(out))


def welch_difference(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float, float]:
    """mean(a) − mean(b) with a Welch–Satterthwaite t interval (unequal variances)."""
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff, se = float(a.mean() - b.mean()), math.sqrt(va + vb)
    if se == 0.0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    return diff, diff - half, diff + half


def mean_interval(x: np.ndarray, level: float) -> tuple[float, float, float]:
    """mean(x) with its t interval (NaN limits below 2 values)."""
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2.0, x.size - 1)) * float(x.std(ddof=1))
    return mean, mean - half / math.sqrt(x.size), mean + half / math.sqrt(x.size)


def _groups(cohort: Cohort, s: EarlyDelayedSettings) -> ibis.Table:
    """Treated patients with ALS and their delay (months) from the reference date to start."""
    p = cohort.table("patients")
    p = p.filter(p.status == "patient")
    starts = treatment_starts(cohort, s.drug).join(p, "patient_id")
    ref = starts.diagnosis_date if s.reference == "diagnosis" else starts.onset_date
    return starts.select("patient_id", "start_date",
                         delay_months=months_between(starts.start_date, ref))


def _changes(cohort: Cohort, s: EarlyDelayedSettings, groups: ibis.Table) -> pd.DataFrame:
    rows = progression_table(cohort, s.drug, s.sources)
    target = s.week * 7 / DAYS_PER_MONTH
    base = nearest_to(rows, "total", 0.0, s.tolerance_days, "baseline")
    follow = nearest_to(rows, "total", target, s.tolerance_days, "week")
    joined = groups.left_join(base, "patient_id").drop("patient_id_right")
    joined = joined.left_join(follow, "patient_id").drop("patient_id_right")
    frame: pd.DataFrame = joined.execute()
    frame["patient_id"] = frame["patient_id"].astype(str)
    return frame.sort_values("patient_id", ignore_index=True)


def _lmm_difference(cohort: Cohort, s: EarlyDelayedSettings, per: pd.DataFrame,
                    ) -> tuple[Difference | None, Diagnostic]:
    """β(t × early) · week from total ~ t + early + t·early + (1 + t | patient) fitted on the
    assessments from the first dose to the week (+ tolerance) of the compared patients."""
    rows = progression_table(cohort, s.drug, s.sources)
    end = (s.week * 7 + s.tolerance_days) / DAYS_PER_MONTH
    rows = rows.filter((rows.t >= 0) & (rows.t <= end)).select("patient_id", "total", "t")
    data = rows.execute()
    data["patient_id"] = data["patient_id"].astype(str)
    early = per.set_index("patient_id")["early"]
    data = data[data["patient_id"].isin(early.index)].copy()
    data["total"] = data["total"].astype(float)
    data["early"] = data["patient_id"].map(early).astype(float)
    data["t_early"] = data["t"] * data["early"]
    try:
        fit = fit_lmm(data, "total", ["t", "early", "t_early"], "patient_id", "t")
    except LmmError as error:
        return None, Diagnostic("LMM convergence", DiagnosticStatus.NOT_EVALUATED,
                                f"{error.field}: {error.rule}")
    months = s.week * 7 / DAYS_PER_MONTH  # t is in months: β × months = points by the week
    est = fit.fixed["t_early"] * months
    n_early = int(data.groupby("patient_id")["early"].first().sum())
    # No interval: with one random-slope variance for both groups, its Wald interval covered
    # 88-92% when the groups' variances differ (docs/validation.md); Welch's is the interval.
    diff = Difference(est, math.nan, math.nan, n_early, fit.n_groups - n_early,
                      "sensitivity, no CI: mixed model (t × early) slope × months to the week")
    return diff, Diagnostic("LMM convergence", fit_status(fit.converged, fit.singular),
                            f"converged={fit.converged}, singular={fit.singular}; "
                            f"optimum {fit.optimum_check}")


def _nfl_kind(cohort: Cohort, s: EarlyDelayedSettings) -> str | None:
    if s.nfl_kind != "auto":
        return s.nfl_kind
    m = cohort.table("measurements")
    counts = m.filter(m.kind.isin(list(NFL_KINDS))).kind.value_counts().execute()
    if counts.empty:
        return None
    counts = counts.set_index("kind").iloc[:, 0]
    return max(NFL_KINDS, key=lambda k: (int(counts.get(k, 0)), k == "nfl_plasma"))


def _nfl_ratio(cohort: Cohort, s: EarlyDelayedSettings, per: pd.DataFrame) -> Difference | None:
    """Ratio of the groups' geometric mean NfL ratios (week / first dose), Welch CI on logs."""
    kind = _nfl_kind(cohort, s)
    if kind is None:
        return None
    m = cohort.table("measurements")
    m = m.filter((m.kind == kind) & (m.value > 0))
    starts = treatment_starts(cohort, s.drug).select("patient_id", "start_date")
    m = m.join(starts, "patient_id")
    m = m.select("patient_id", "date", "value", t=months_between(m.date, m.start_date))
    target = s.week * 7 / DAYS_PER_MONTH
    base = nearest_to(m, "value", 0.0, s.tolerance_days, "baseline")
    follow = nearest_to(m, "value", target, s.tolerance_days, "week")
    pair = base.join(follow, "patient_id").execute()
    pair["patient_id"] = pair["patient_id"].astype(str)
    pair = pair.merge(per[["patient_id", "early"]], on="patient_id")
    log_ratio = np.log(pair["week_value"] / pair["baseline_value"]).to_numpy(float)
    a, b = log_ratio[pair["early"].to_numpy(bool)], log_ratio[~pair["early"].to_numpy(bool)]
    if a.size < 2 or b.size < 2:
        return None
    diff, lower, upper = welch_difference(a, b, s.level)
    return Difference(math.exp(diff), math.exp(lower), math.exp(upper), a.size, b.size,
                      f"{kind_label(kind)}: GMR early / GMR delayed, Welch on log ratios")


def change_frame(cohort: Cohort, s: EarlyDelayedSettings) -> tuple[pd.DataFrame, Attrition]:
    """Per compared patient: early or not and the ALSFRS-R change to the week, with the
    attrition (a federated site sends this frame's per-group sums)."""
    n_treated = treated_patient_count(cohort, s.drug)
    if n_treated == 0:
        raise AnalysisError("administrations", f"no patient with ALS has a given dose of "
                                               f"{s.drug}; the analysis needs treated patients")
    frame = _changes(cohort, s, _groups(cohort, s))
    attrition = Attrition(n_treated)
    frame = frame[frame["delay_months"].notna()].copy()
    attrition.apply(f"with a {s.reference} date", len(frame))
    frame = frame[frame["baseline_total"].notna()]
    attrition.apply(f"ALSFRS-R within ± {s.tolerance_days} days of the first dose", len(frame))
    frame = frame[frame["week_total"].notna()].copy()
    attrition.apply(f"ALSFRS-R within ± {s.tolerance_days} days of week {s.week:g}", len(frame))
    frame["early"] = frame["delay_months"] <= s.delay_months_cutoff
    frame["change"] = (frame["week_total"] - frame["baseline_total"]).astype(float)
    return frame, attrition


def early_vs_delayed(cohort: Cohort,
                     settings: EarlyDelayedSettings | None = None) -> EarlyDelayedResult:
    """ALSFRS-R change from the first dose to ``week`` in early vs delayed starters.

    Steps: treated patients → with a reference date → an assessment within ± tolerance of the
    first dose → one within ± tolerance of the week. Difference = early − delayed (positive =
    early starters lost fewer points), Welch CI.
    """
    s = settings or EarlyDelayedSettings()
    frame, attrition = change_frame(cohort, s)
    a = frame.loc[frame["early"], "change"].to_numpy(float)
    b = frame.loc[~frame["early"], "change"].to_numpy(float)
    if a.size < 2 or b.size < 2:
        raise AnalysisError("delay_months_cutoff", f"needs ≥ 2 patients in each group with "
                                                   f"assessments at the first dose and week "
                                                   f"{s.week:g}; early {a.size}, delayed {b.size}")
    diff, lower, upper = welch_difference(a, b, s.level)
    welch = Difference(diff, lower, upper, a.size, b.size, "Welch t interval")
    lmm, lmm_check = (_lmm_difference(cohort, s, frame) if s.lmm else
                      (None, Diagnostic("LMM convergence", DiagnosticStatus.NOT_EVALUATED,
                                        "lmm = False")))
    small = min(a.size, b.size) < 5
    diagnostics = [lmm_check, Diagnostic(
        "groups of ≥ 5 patients", DiagnosticStatus.FAIL if small else DiagnosticStatus.PASS,
        f"early {a.size}, delayed {b.size}")]
    return EarlyDelayedResult(
        settings=s, attrition=attrition, diagnostics=diagnostics, patients=frame,
        mean_change={"early": float(a.mean()), "delayed": float(b.mean())}, difference=welch,
        lmm_difference=lmm, nfl_ratio=_nfl_ratio(cohort, s, frame))


__all__ = ["Difference", "EarlyDelayedResult", "EarlyDelayedSettings", "change_frame",
           "early_vs_delayed",
           "mean_interval", "welch_difference"]
