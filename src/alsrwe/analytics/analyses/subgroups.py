"""Subgroups of "% slower than expected": which patients the cohort estimate comes from.

The progression analysis (:mod:`alsrwe.analytics.analyses.progression`) is run once; its
included patients are then split by baseline variables joined from the cohort in the engine,
and each subgroup gets the cohort estimand of
:func:`alsrwe.analytics.analyses.percent_slower.percent_slower` (a ratio of means with
Fieller's interval) on its own patients:

* SOD1 variant: A4V (p.Ala5Val in HGVS numbering, docs/domain-rules.md §8) vs other;
* onset region: bulbar, spinal (upper or lower limb) or other (respiratory, generalised);
* age at the first dose (calendar year of the first dose − birth year; only the birth year is
  recorded): below vs at or above the cohort median, or a fixed cut (``age_cut_years``);
* ΔFRS at the first dose (the onset-based ΔFRS at the last pre-treatment assessment, Kimura
  2006, docs/domain-rules.md §1.2) in the Ambulanzpartner ALS-PR bands < 0.5, 0.5–1.0 and
  > 1.0 points/month (docs/domain-rules.md §9.6).

Patients with a variable not recorded form their own row, so every split adds up to the
overall n. Subgroups smaller than ``min_patients`` are shown without an estimate ("too few").
The intervals are per subgroup, **not adjusted for multiplicity**: with a dozen rows one of them
excluding the overall estimate by chance is expected, so they describe, they do not test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from alsrwe.analytics.analyses.percent_slower import Interval, PercentSlower, percent_slower
from alsrwe.analytics.analyses.progression import (
    ProgressionResult,
    ProgressionSettings,
    progression,
)
from alsrwe.analytics.analyses.results import (
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
from alsrwe.analytics.cohort.design import treatment_starts
from alsrwe.domain.alsfrs import PROGRESSION_BANDS, progression_band
from alsrwe.domain.sod1 import parse_sod1_variant

A4V = parse_sod1_variant("A4V")
"""SOD1 p.Ala5Val (legacy A4V)."""

NOT_RECORDED = "not recorded"
TOO_FEW = "too few"
VARIABLES = ("SOD1 variant", "onset region", "age at first dose", "ΔFRS at first dose")


class SubgroupSettings(AnalysisSettings):
    """Settings of :func:`subgroups`; the progression analysis runs with ``progression``."""

    progression: ProgressionSettings = ProgressionSettings()
    age_cut_years: float | None = Field(
        default=None, gt=0, description="age cut at the first dose; default the median")
    min_patients: int = Field(default=5, ge=2, description="smaller subgroups: no estimate")
    interval: Interval = "fieller"
    level: float = Field(default=0.95, gt=0, lt=1)


@dataclass(frozen=True)
class SubgroupResult(ResultFrames):
    """The overall "% slower than expected" and one row per subgroup of included patients."""

    settings: SubgroupSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    overall: PercentSlower
    rows: pd.DataFrame  # variable, subgroup, n, estimate, lower, upper, note
    patients: pd.DataFrame  # patient_id, the four subgroup labels, observed, expected rates
    age_cut_years: float

    def to_frame(self) -> pd.DataFrame:
        overall = pd.DataFrame([{"variable": "all", "subgroup": "all included patients",
                                 "n": self.overall.n, "estimate": self.overall.estimate,
                                 "lower": self.overall.lower, "upper": self.overall.upper,
                                 "note": ""}])
        return pd.concat([overall, self.rows], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe({
            "settings": self.settings.model_dump(mode="json"),
            "attrition": self.attrition.to_dict(),
            "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
            "method": self.overall.method, "age_cut_years": self.age_cut_years,
            "subgroups": frame_records(self.to_frame()),
            "patients": frame_records(self.patients),
        })
        return out


def _baseline(cohort: Cohort, drug: str) -> pd.DataFrame:
    """Per patient, in the engine: A4V or not, onset region, age at the first dose."""
    p = cohort.table("patients")
    starts = treatment_starts(cohort, drug).select("patient_id", "start_date")
    joined = p.join(starts, "patient_id")
    frame: pd.DataFrame = joined.select(
        "patient_id", "onset_region",
        a4v=joined.sod1_legacy == A4V.legacy,
        variant_recorded=joined.sod1_legacy.notnull(),
        age_at_first_dose=(joined.start_date.year() - joined.birth_year).cast("float64"),
    ).execute()
    frame["patient_id"] = frame["patient_id"].astype(str)
    return frame


def _region(value: Any) -> str:
    if value is None or pd.isna(value):
        return NOT_RECORDED
    if value == "bulbar":
        return "bulbar"
    return "spinal" if value in ("upper_limb", "lower_limb") else "other"


def _band(value: float) -> str:
    return progression_band(value) if math.isfinite(value) else NOT_RECORDED


def subgroup_labels(included: pd.DataFrame, baseline: pd.DataFrame,
                    age_cut: float) -> pd.DataFrame:
    """One label per variable for each included patient (module doc)."""
    frame = included.merge(baseline, on="patient_id", how="left")
    variant = np.where(frame["variant_recorded"].fillna(False).astype(bool),
                       np.where(frame["a4v"].fillna(False).astype(bool), "A4V (p.Ala5Val)",
                                "other variant"), NOT_RECORDED)
    age = frame["age_at_first_dose"].astype(np.float64)
    return pd.DataFrame({
        "patient_id": frame["patient_id"],
        "SOD1 variant": variant,
        "onset region": [_region(v) for v in frame["onset_region"]],
        "age at first dose": np.where(age.isna(), NOT_RECORDED,
                                      np.where(age < age_cut, f"< {age_cut:g} years",
                                               f"≥ {age_cut:g} years")),
        "ΔFRS at first dose": [_band(float(v)) for v in frame["delta_frs"].astype(np.float64)],
        "observed_rate_per_month": frame["observed_rate_per_month"].astype(np.float64),
        "expected_rate_per_month": frame["expected_rate_per_month"].astype(np.float64),
    })


def label_order(variable: str, labels: pd.Series) -> list[str]:
    """The labels present in ``labels`` in the order the report shows them."""
    preferred = {"SOD1 variant": ["A4V (p.Ala5Val)", "other variant"],
                 "onset region": ["bulbar", "spinal", "other"],
                 "ΔFRS at first dose": list(PROGRESSION_BANDS)}
    present = set(labels)
    first = [v for v in preferred.get(variable, sorted(present - {NOT_RECORDED})) if v in present]
    return first + [v for v in sorted(present) if v not in first]


ROW_COLUMNS = ["variable", "subgroup", "n", "estimate", "lower", "upper", "note"]


def subgroup_row(variable: str, label: str, n: int, est: PercentSlower | None) -> dict[str, Any]:
    """One row of the table: the estimate, or "too few" (``est`` None) below the minimum."""
    if est is None:
        return {"variable": variable, "subgroup": label, "n": n, "estimate": math.nan,
                "lower": math.nan, "upper": math.nan, "note": TOO_FEW}
    unbounded = not (math.isfinite(est.lower) and math.isfinite(est.upper))
    return {"variable": variable, "subgroup": label, "n": n, "estimate": est.estimate,
            "lower": est.lower, "upper": est.upper,
            "note": "interval unbounded" if unbounded else ""}


def _estimate_rows(patients: pd.DataFrame, settings: SubgroupSettings) -> pd.DataFrame:
    rows = []
    for variable in VARIABLES:
        for label in label_order(variable, patients[variable]):
            chosen = patients[patients[variable] == label]
            n = len(chosen)
            est = None if n < settings.min_patients else percent_slower(
                chosen["observed_rate_per_month"].to_numpy(np.float64),
                chosen["expected_rate_per_month"].to_numpy(np.float64),
                level=settings.level, interval=settings.interval)
            rows.append(subgroup_row(variable, label, n, est))
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def _diagnostics(rows: pd.DataFrame, base: ProgressionResult,
                 settings: SubgroupSettings) -> list[Diagnostic]:
    few = rows[rows["note"] == TOO_FEW]
    sizes = Diagnostic(
        "subgroup sizes", DiagnosticStatus.WARN if len(few) else DiagnosticStatus.PASS,
        f"{len(few)} of {len(rows)} subgroups have fewer than {settings.min_patients} "
        "patients and no estimate" + (f": {', '.join(few['subgroup'])}" if len(few) else ""))
    inherited = [Diagnostic(f"progression: {d.name}", d.status, d.detail)
                 for d in base.diagnostics]
    return [sizes, *inherited]


def included_with_baseline(cohort: Cohort, s: SubgroupSettings
                           ) -> tuple[ProgressionResult, pd.DataFrame, pd.DataFrame]:
    """The progression result, its included patients' rates and their baseline variables
    (the input of :func:`subgroup_labels`; a federated site labels its patients with it)."""
    base = progression(cohort, s.progression)
    included = base.patients[base.patients["included"]][
        ["patient_id", "delta_frs", "observed_rate_per_month", "expected_rate_per_month"]]
    return base, included, _baseline(cohort, s.progression.drug)


def subgroups(cohort: Cohort, settings: SubgroupSettings | None = None) -> SubgroupResult:
    """"% slower than expected" overall and per subgroup of the progression analysis'
    included patients (module doc); refusals of the progression analysis propagate."""
    s = settings or SubgroupSettings()
    base, included, baseline = included_with_baseline(cohort, s)
    ages = included.merge(baseline, on="patient_id", how="left")["age_at_first_dose"]
    age_cut = float(s.age_cut_years if s.age_cut_years is not None else ages.median())
    patients = subgroup_labels(included, baseline, age_cut)
    overall = percent_slower(patients["observed_rate_per_month"].to_numpy(np.float64),
                             patients["expected_rate_per_month"].to_numpy(np.float64),
                             level=s.level, interval=s.interval)
    rows = _estimate_rows(patients, s)
    return SubgroupResult(s, base.attrition, _diagnostics(rows, base, s), overall, rows,
                          patients, age_cut)


__all__ = ["A4V", "NOT_RECORDED", "ROW_COLUMNS", "TOO_FEW", "VARIABLES", "SubgroupResult",
           "SubgroupSettings", "included_with_baseline", "label_order", "subgroup_labels",
           "subgroup_row", "subgroups"]
