"""ALSFRS-R responders on tofersen: improved, stabilised or progressed over a fixed window.

Real-world series summarise response as the share who "stabilised or improved": Sabatelli et
al. (17 Italian patients followed ≥ 48 weeks) report 9/17 stabilised or slightly improved and 4
deteriorated; the final VALOR OLE about 1 in 4 over ~3 years (docs/domain-rules.md §4.2, §5).
Those papers judged stability by eye from slopes; here the rule is explicit and configurable:
the change in ALSFRS-R total from the assessment nearest the first dose to the one nearest
``window_months`` later (each within ± ``tolerance_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import pandas as pd
from pydantic import Field, model_validator

from alsrwe.analytics.analyses.results import (
    AnalysisError,
    AnalysisSettings,
    Attrition,
    Diagnostic,
    DiagnosticStatus,
    ResultFrames,
    diagnostics_frame,
    frame_records,
    json_safe,
)
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import (
    nearest_to,
    progression_table,
    treated_patient_count,
)
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

CLASSES = ("improved", "stabilized", "progressed")


class RespondersSettings(AnalysisSettings):
    """Settings of :func:`responders`.

    ``improved_points`` = ``stable_points`` = 2 are alsrwe conventions, not a published MCID:
    about the smallest change in the total beyond inter-rater noise, symmetric in both
    directions, so that a change of −1, 0 or +1 is "stabilised" (no source in
    docs/domain-rules.md gives a point threshold; configure it to your site's definition).
    """

    drug: str = "tofersen"
    sources: tuple[str, ...] = Field(default=("clinic",), description="clinic-rated ALSFRS-R")
    window_months: float = Field(default=6.0, gt=0, description="≥6 months of tofersen, as the "
                                 "German series required (Meyer 2023; docs/domain-rules.md §5)")
    tolerance_days: int = Field(default=45, ge=0, description="half a 3-monthly visit interval")
    improved_points: int = Field(default=2, ge=1, description="change ≥ +this = improved")
    stable_points: int = Field(default=2, ge=1, description="change ≤ −this = progressed")
    min_patients: int = Field(default=5, ge=1, description="FAIL the size check below this")

    @model_validator(mode="after")
    def _windows_apart(self) -> Self:
        if self.window_months * DAYS_PER_MONTH <= 2 * self.tolerance_days:
            raise ValueError("window_months must exceed twice tolerance_days, or the baseline "
                             "and follow-up windows overlap")
        return self


def classify_change(change: float, improved_points: int, stable_points: int) -> str:
    """improved (≥ +improved), progressed (≤ −stable), otherwise stabilized."""
    if change >= improved_points:
        return "improved"
    if change <= -stable_points:
        return "progressed"
    return "stabilized"


def _signed(points: int) -> str:
    """+2, 0, −1: a change in points as readers write it (a true minus sign)."""
    return "0" if points == 0 else f"{points:+d}".replace("-", "−")


def class_labels(settings: RespondersSettings) -> dict[str, str]:
    """Each class with its definition in points, e.g. "stabilized (−1 to +1 points)"."""
    low, high = -(settings.stable_points - 1), settings.improved_points - 1
    stable = _signed(low) if low == high else f"{_signed(low)} to {_signed(high)}"
    return {"improved": f"improved (≥ {_signed(settings.improved_points)} points)",
            "stabilized": f"stabilized ({stable} points)",
            "progressed": f"progressed (≤ {_signed(-settings.stable_points)} points)"}


@dataclass(frozen=True, eq=False)
class RespondersResult(ResultFrames):
    """Per-patient classes and the cohort counts and shares."""

    settings: RespondersSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    patients: pd.DataFrame
    counts: dict[str, int]

    @property
    def n_classified(self) -> int:
        return sum(self.counts.values())

    @property
    def shares(self) -> dict[str, float]:
        n = self.n_classified
        return {k: v / n for k, v in self.counts.items()}

    @property
    def stabilized_or_improved(self) -> int:
        """Sabatelli's summary: patients who stabilised or improved."""
        return self.counts["improved"] + self.counts["stabilized"]

    @property
    def change_column(self) -> str:
        return f"ALSFRS-R change over {self.settings.window_months:g} months (points)"

    def to_frame(self) -> pd.DataFrame:
        """Counts and shares per class, each class with its definition in points."""
        labels = class_labels(self.settings)
        return pd.DataFrame([{self.change_column: labels[k], "patients": self.counts[k],
                              "share (%)": 100.0 * self.shares[k]} for k in CLASSES])

    def patients_frame(self) -> pd.DataFrame:
        """One row per classified patient, in human column names (pseudonyms: report only)."""
        months = f"{self.settings.window_months:g}"
        return pd.DataFrame({
            "patient": self.patients["patient_id"],
            "ALSFRS-R at the first dose": self.patients["baseline_total"],
            f"ALSFRS-R at month {months}": self.patients["followup_total"].astype(int),
            "months between the assessments": self.patients["months"],
            self.change_column: self.patients["change"],
            "class": self.patients["class"]})

    def to_dict(self) -> dict[str, Any]:
        out = {"settings": self.settings.model_dump(mode="json"),
               "attrition": self.attrition.to_dict(),
               "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
               "counts": self.counts, "shares": self.shares,
               "stabilized_or_improved": self.stabilized_or_improved,
               "n_classified": self.n_classified,
               "patients": frame_records(self.patients)}  # fmt: skip
        return dict(json_safe(out))


def responders(cohort: Cohort, settings: RespondersSettings | None = None) -> RespondersResult:
    """Classify each treated patient by the ALSFRS-R change over ``window_months``.

    Steps: treated patients → an assessment within ± tolerance of the first dose (baseline)
    → an assessment within ± tolerance of ``window_months`` later.
    """
    s = settings or RespondersSettings()
    n_treated = treated_patient_count(cohort, s.drug)
    if n_treated == 0:
        raise AnalysisError("administrations", f"no patient with ALS has a given dose of "
                                               f"{s.drug}; the analysis needs treated patients")
    rows = progression_table(cohort, s.drug, s.sources)
    base = nearest_to(rows, "total", 0.0, s.tolerance_days, "baseline")
    follow = nearest_to(rows, "total", s.window_months, s.tolerance_days, "followup")
    joined = base.left_join(follow, "patient_id").drop("patient_id_right")
    frame = joined.execute()
    attrition = Attrition(n_treated)
    attrition.apply(f"ALSFRS-R within ± {s.tolerance_days} days of the first dose", len(frame))
    frame = frame[frame["followup_total"].notna()].copy()
    attrition.apply(f"ALSFRS-R within ± {s.tolerance_days} days of month {s.window_months:g}",
                    len(frame))
    if frame.empty:
        raise AnalysisError("alsfrs", "no treated patient has assessments at both the first "
                                      "dose and the end of the window (± tolerance_days)")
    frame["patient_id"] = frame["patient_id"].astype(str)
    frame["change"] = (frame["followup_total"] - frame["baseline_total"]).astype(int)
    frame["months"] = frame["followup_t"] - frame["baseline_t"]
    frame["class"] = [classify_change(c, s.improved_points, s.stable_points)
                      for c in frame["change"]]
    frame = frame.sort_values("patient_id", ignore_index=True)
    counts = {k: int((frame["class"] == k).sum()) for k in CLASSES}
    n = len(frame)
    diagnostics = [Diagnostic(
        "enough patients classified",
        DiagnosticStatus.PASS if n >= s.min_patients else DiagnosticStatus.FAIL,
        f"{n} classified (needs ≥ {s.min_patients}); shares of small counts are unstable")]
    return RespondersResult(s, attrition, diagnostics, frame, counts)


__all__ = ["CLASSES", "RespondersResult", "RespondersSettings", "class_labels", "classify_change",
           "responders"]
