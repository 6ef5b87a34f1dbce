"""NfL surveillance of presymptomatic SOD1 carriers (docs/domain-rules.md §4.3, §7).

Per carrier (convention 10), on plasma NfL of one assay platform (convention 9;
``settings.assay`` or the most common among the carriers' values):

* baseline = the carrier's first value;
* trigger = the first later value that rose by ≥ ``rise_pg_ml`` from baseline to a level
  ≥ ``level_pg_ml`` (:func:`alsrwe.domain.nfl_surveillance.nfl_trigger`; default 10 and 44 pg/mL,
  the ATLAS randomisation trigger from a secondary source — **[U]**, configurable);
* above reference = a value above the age-specific upper reference limit (Simrén et al., Brain
  Commun 2022, :func:`alsrwe.domain.biomarkers.nfl_upper_reference`). The registry stores the
  birth year only, so age at a value is counted from 1 July of the birth year (mid-year birth),
  which is off by at most half a year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from pydantic import Field

from alsrwe.analytics.analyses.nfl import assay_label
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
from alsrwe.domain.biomarkers import (
    NflAssay,
    nfl_platform,
)
from alsrwe.domain.errors import MeasurementError
from alsrwe.domain.nfl_surveillance import (
    SurveillanceRule,
    nfl_trigger,
    nfl_upper_reference,
)
from alsrwe.domain.patient import DAYS_PER_YEAR, age_years


class CarrierSettings(AnalysisSettings):
    """Settings of :func:`carrier_surveillance` (convention 10, [U] defaults)."""

    rise_pg_ml: float = Field(default=10.0, ge=0, description="ATLAS trigger rise (§4.3), [U]")
    level_pg_ml: float = Field(default=44.0, ge=0, description="ATLAS trigger level (§4.3), [U]")
    assay: NflAssay | None = Field(
        default=None, description="platform; default the most common (convention 9)")


@dataclass(frozen=True)
class CarrierResult(ResultFrames):
    """One row per carrier with plasma NfL (``carriers``), flags and first dates."""

    settings: CarrierSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    assay: str
    carriers: pd.DataFrame
    values: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The carriers' values used: patient_id, date, value (pg/mL), years from their baseline."""

    @property
    def trigger_rule(self) -> str:
        """The trigger in words, with its source."""
        s = self.settings
        return (f"a rise of ≥ {s.rise_pg_ml:g} pg/mL from the carrier's first value to a level "
                f"≥ {s.level_pg_ml:g} pg/mL (ATLAS trigger, docs/domain-rules.md §4.3, [U])")

    def to_frame(self) -> pd.DataFrame:
        """One row per carrier in human column names (pseudonyms: the report only)."""
        c = self.carriers
        return pd.DataFrame({
            "patient": c["patient_id"], "plasma NfL values": c["n_values"],
            "first value (date)": c["baseline_date"], "first value (pg/mL)": c["baseline_pg_ml"],
            "last value (date)": c["last_date"], "last value (pg/mL)": c["last_pg_ml"],
            "highest value (pg/mL)": c["max_pg_ml"],
            "largest rise from the first value (pg/mL)": c["max_rise_pg_ml"],
            "age at the first value (years)": c["age_at_baseline"],
            "upper reference limit at the first value (pg/mL)":
                c["upper_reference_at_baseline"],
            "met the trigger": c["triggered"], "first triggering value (date)":
                c["first_trigger_date"],
            "above the age-specific limit": c["above_reference"],
            "first value above the limit (date)": c["first_above_reference_date"]})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe({
            "settings": self.settings.model_dump(mode="json"), "assay": self.assay,
            "attrition": self.attrition.to_dict(),
            "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
            "triggered": int(self.carriers["triggered"].sum()),
            "above_reference": int(self.carriers["above_reference"].sum()),
            "carriers": frame_records(self.carriers),
        })
        return out


def _age(when: date, birth_year: float) -> float:
    return age_years(int(birth_year), when)


def _upper_limit(when: date, birth_year: Any) -> float:
    if pd.isna(birth_year):
        return math.nan
    try:
        return nfl_upper_reference(_age(when, float(birth_year)))
    except MeasurementError:
        return math.nan


def _carrier_row(pid: str, series: pd.DataFrame, birth_year: Any,
                 rule: SurveillanceRule) -> dict[str, Any]:
    dates = [pd.Timestamp(d).date() for d in series["date"]]
    values = [float(v) for v in series["value"]]
    baseline = values[0]
    trigger = next((d for d, v in zip(dates[1:], values[1:], strict=True)
                    if nfl_trigger(baseline, v, rule)), None)
    limits = [_upper_limit(d, birth_year) for d in dates]
    above = next((d for d, v, u in zip(dates, values, limits, strict=True)
                  if not math.isnan(u) and v > u), None)
    return {"patient_id": pid, "n_values": len(values), "baseline_date": dates[0],
            "baseline_pg_ml": baseline, "last_date": dates[-1], "last_pg_ml": values[-1],
            "max_pg_ml": max(values), "max_rise_pg_ml": max(values) - baseline,
            "age_at_baseline": _age(dates[0], float(birth_year))
            if not pd.isna(birth_year) else math.nan,
            "upper_reference_at_baseline": limits[0],
            "triggered": trigger is not None, "first_trigger_date": trigger,
            "above_reference": above is not None, "first_above_reference_date": above}


def _carrier_values(cohort: Cohort, kind: str) -> tuple[pd.DataFrame, int]:
    p = cohort.table("patients")
    carriers = p.filter(p.status == "carrier").select("patient_id", "birth_year")
    n_carriers = int(carriers.count().execute())
    m = cohort.table("measurements")
    m = m.filter((m.kind == kind) & m.value.notnull())
    j = m.join(carriers, "patient_id").select("patient_id", "date", "value", "assay",
                                              "birth_year")
    frame: pd.DataFrame = j.execute()
    return frame, n_carriers


def carrier_surveillance(cohort: Cohort,
                         settings: CarrierSettings | None = None) -> CarrierResult:
    """Flag carriers whose plasma NfL meets the trigger or exceeds the age-specific limit."""
    settings = settings or CarrierSettings()
    rule = SurveillanceRule(settings.rise_pg_ml, settings.level_pg_ml)
    attrition = Attrition(start=int(cohort.table("patients").count().execute()))
    values, n_carriers = _carrier_values(cohort, "nfl_plasma")
    attrition.apply("presymptomatic carriers", n_carriers)
    if values.empty:
        raise AnalysisError("measurements", "no plasma NfL values of carriers")
    values["platform"] = [nfl_platform(None if pd.isna(a) else str(a)) for a in values["assay"]]
    counts = values["platform"].value_counts()
    chosen = settings.assay or NflAssay(counts.index[0])
    if chosen not in counts.index:
        raise AnalysisError("assay", f"no carrier plasma NfL measured on {chosen.value}")
    others = {str(k): int(v) for k, v in counts.items() if k != chosen}
    values = values[values["platform"] == chosen]
    values = values.sort_values(["patient_id", "date"], kind="stable")
    attrition.apply(f"plasma NfL on {assay_label(chosen.value)}", values["patient_id"].nunique())
    rows = [_carrier_row(str(pid), series, series["birth_year"].iloc[0], rule)
            for pid, series in values.groupby("patient_id", sort=True, observed=True)]
    frame = pd.DataFrame(rows)
    single = int((frame["n_values"] < 2).sum())
    diagnostics = [
        Diagnostic("one assay platform", DiagnosticStatus.PASS,
                   f"{chosen.value}" + (f"; not pooled: {others}" if others else "")),
        Diagnostic("follow-up values", DiagnosticStatus.PASS if single < len(frame)
                   else DiagnosticStatus.FAIL,
                   f"{single} carriers with a baseline only (trigger not evaluable)"),
    ]
    first = values.groupby("patient_id", observed=True)["date"].transform("min")
    series = values.assign(years=(pd.to_datetime(values["date"]) - pd.to_datetime(first)).dt.days
                           / DAYS_PER_YEAR)[["patient_id", "date", "value", "years"]]
    series = series.assign(patient_id=series["patient_id"].astype(str)).reset_index(drop=True)
    return CarrierResult(settings, attrition, diagnostics, chosen.value, frame, series)


__all__ = ["CarrierResult", "CarrierSettings", "carrier_surveillance"]
