"""Adverse-event incidence per 100 patient-years on tofersen, and CSF flags at lumbar punctures.

Exposure of a treated patient runs from the first given dose to the earliest of: the last given
dose + ``exposure_tail_days`` (default 28 days, the maintenance dosing interval, US PI/EU SmPC,
docs/domain-rules.md §3.1: a dose "covers" the interval to the next one), death, and the end
of follow-up (the last contact — the latest dated record — or ``censor_date`` when earlier).

Events: adverse events with onset on or after the first dose. With ``on_treatment_only``
(default) only events up to the end of exposure count; without it every event from the first
dose on counts (late events after stopping), over the same exposure time.

Rates are events / patient-years × 100 with exact Poisson (Garwood 1936) limits from the
chi-square distribution: lower = χ²(α/2; 2k)/2, upper = χ²(1 − α/2; 2k + 2)/2 events.

CSF at lumbar punctures (US PI 5.3 "CSF white blood cell increased", "CSF protein increased";
docs/domain-rules.md §3.2): each given dose is matched to the nearest CSF WBC and protein
result within ± ``lab_match_days`` (default 0: the same day, as CSF is drawn before the
injection) and flagged by :func:`alsrwe.domain.biomarkers.csf_flags` with the convention-8
limits (> 5 cells/µL, > 45 mg/dL), configurable per site. The first dose's sample is
pre-treatment and reported apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
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
    frame_records,
    json_safe,
)
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import registry_dates, treatment_starts
from alsrwe.domain.biomarkers import CsfThresholds, csf_flags
from alsrwe.domain.patient import DAYS_PER_YEAR

_FAR = date(9999, 12, 31)

TERM_WORDS = {"csf_wbc_increased": "CSF white cell count increased",
              "csf_protein_increased": "CSF protein increased",
              "raised_intracranial_pressure": "raised intracranial pressure",
              "other": "other (free-text term)", "unknown": "term not recorded"}
"""Terms whose code does not read as words once its underscores are spaces."""

STRATUM_WORDS = {"all": "all adverse events", "serious": "seriousness", "grade": "grade",
                 "term": "term"}


def term_label(term: str) -> str:
    """An adverse-event term in words: "CSF protein increased", "musculoskeletal stiffness"."""
    if term in TERM_WORDS:
        return TERM_WORDS[term]
    return " ".join("CSF" if word == "csf" else word for word in term.split("_"))


def _category(stratum: str, value: str) -> str:
    if stratum == "term":
        return term_label(value)
    if stratum == "grade":
        return value if value == "unknown" else f"grade {value}"
    return "any adverse event" if stratum == "all" else value


class SafetySettings(AnalysisSettings):
    """Settings of :func:`safety_incidence`."""

    drug: str = "tofersen"
    exposure_tail_days: int = Field(
        default=28, ge=0, description="exposure after the last dose: one maintenance interval "
        "of 28 days (§3.1)")
    censor_date: date | None = Field(default=None, description="data cut-off; default none")
    on_treatment_only: bool = Field(
        default=True, description="count events only up to the end of exposure")
    level: float = Field(default=0.95, gt=0, lt=1)
    lab_match_days: int = Field(default=0, ge=0, description="± days from a dose to its CSF labs")
    csf_wbc_per_ul: float = Field(default=5.0, ge=0, description="pleocytosis: > this "
                                  "(convention 8)")
    csf_protein_mg_dl: float = Field(default=45.0, ge=0, description="raised protein: > this "
                                     "(convention 8)")


def poisson_ci(events: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) limits for a Poisson count: χ²(α/2; 2k)/2 and χ²(1−α/2; 2k+2)/2."""
    if events < 0:
        raise AnalysisError("events", f"a count cannot be negative, got {events}")
    alpha = 1.0 - level
    lower = 0.0 if events == 0 else float(stats.chi2.ppf(alpha / 2.0, 2 * events)) / 2.0
    upper = float(stats.chi2.ppf(1.0 - alpha / 2.0, 2 * events + 2)) / 2.0
    return lower, upper


def incidence_rate(events: int, person_years: float, level: float = 0.95,
                   per: float = 100.0) -> tuple[float, float, float]:
    """(rate, lower, upper) per ``per`` person-years with exact Poisson limits."""
    if person_years <= 0:
        return math.nan, math.nan, math.nan
    lower, upper = poisson_ci(events, level)
    scale = per / person_years
    return events * scale, lower * scale, upper * scale


def exposure_table(cohort: Cohort, settings: SafetySettings) -> ibis.Table:
    """Per treated patient: first dose, end of exposure and exposure in days (in the engine)."""
    starts = treatment_starts(cohort, settings.drug)
    m = cohort.table("milestones")
    deaths = m.filter(m.kind == "death").group_by("patient_id").aggregate(death=m.date.min())
    j = (starts.left_join(deaths, "patient_id").select(~ibis.selectors.endswith("_right"))
         .left_join(registry_dates(cohort), "patient_id")
         .select(~ibis.selectors.endswith("_right")))
    tail = j.last_dose_date + ibis.interval(days=settings.exposure_tail_days)
    cut = ibis.literal(settings.censor_date or _FAR)
    end = ibis.least(tail.cast("date"), j.death.fill_null(_FAR), j.last_contact.fill_null(_FAR),
                     cut)
    out = j.select("patient_id", "start_date", end_date=end)
    out = out.filter(out.end_date >= out.start_date)
    return out.mutate(days=out.end_date.delta(out.start_date, unit="day"))


def _event_counts(cohort: Cohort, exposure: ibis.Table, settings: SafetySettings,
                  person_years: float) -> pd.DataFrame:
    ae = cohort.table("adverse_events")
    j = ae.join(exposure, "patient_id")
    keep = j.onset_date >= j.start_date
    if settings.on_treatment_only:
        keep = keep & (j.onset_date <= j.end_date)
    if settings.censor_date is not None:
        keep = keep & (j.onset_date <= settings.censor_date)
    j = j.filter(keep)
    strata = {"term": j.term.cast("string"), "grade": j.grade.cast("string"),
              "serious": ibis.ifelse(j.serious.fill_null(False), "serious", "not serious")}
    parts = [j.select("patient_id", stratum=ibis.literal("all"), value=ibis.literal("any"))]
    parts += [j.select("patient_id", stratum=ibis.literal(name), value=expr.fill_null("unknown"))
              for name, expr in strata.items()]
    rows = ibis.union(*parts)
    counts: pd.DataFrame = rows.group_by(["stratum", "value"]).aggregate(
        events=rows.count(), patients=rows.patient_id.nunique()).execute()
    return rate_table(counts, person_years, settings.level)


def rate_table(counts: pd.DataFrame, person_years: float, level: float) -> pd.DataFrame:
    """Events and patients per (stratum, value) → the ordered table of rates with exact limits
    (also fed with counts added up over the sites of a federated network)."""
    counts = counts[["stratum", "value", "events", "patients"]]
    if not (counts["stratum"] == "all").any():
        counts = pd.concat([pd.DataFrame([{"stratum": "all", "value": "any", "events": 0,
                                           "patients": 0}]), counts], ignore_index=True)
    order = {"all": 0, "serious": 1, "grade": 2, "term": 3}
    counts = counts.sort_values(["stratum", "value"], key=lambda s: s.map(order)
                                if s.name == "stratum" else s).reset_index(drop=True)
    rates = [incidence_rate(int(k), person_years, level) for k in counts["events"]]
    counts["person_years"] = person_years
    counts["rate_per_100py"] = [r[0] for r in rates]
    counts["lower"] = [r[1] for r in rates]
    counts["upper"] = [r[2] for r in rates]
    return counts


CSF_KINDS = ("csf_wbc", "csf_protein")


def _nearest_labs(cohort: Cohort, doses: ibis.Table, days: int) -> ibis.Table:
    """Per dose, the CSF white cells and protein measured nearest to it (within ``days``).

    One join of the doses with both lab kinds and one ranking window, so every engine plans
    it as a single pass (PostgreSQL re-planned nested per-kind joins very badly).
    """
    m = cohort.table("measurements")
    m = m.filter(m.kind.isin(list(CSF_KINDS))).select(
        "patient_id", "kind", lab_date="date", lab_value="value")
    j = doses.select("patient_id", "date").join(m, "patient_id")
    j = j.mutate(gap=j.lab_date.delta(j.date, unit="day").abs()).filter(lambda t: t.gap <= days)
    rank = ibis.row_number().over(group_by=["patient_id", "date", "kind"],
                                  order_by=["gap", "lab_date"])
    j = j.mutate(rank=rank)
    j = j.filter(j["rank"] == 0)
    return j.group_by(["patient_id", "date"]).aggregate(
        **{kind: j.lab_value.max(where=j.kind == kind) for kind in CSF_KINDS})


def csf_flag_shares(cohort: Cohort, settings: SafetySettings) -> pd.DataFrame:
    """Share of lumbar punctures (given doses) with pleocytosis / raised protein."""
    a = cohort.table("administrations")
    given = (a.drug == settings.drug) & (a.status == "given")
    if settings.censor_date is not None:
        given = given & (a.date <= settings.censor_date)
    doses = a.filter(given).select("patient_id", "date").distinct()
    starts = treatment_starts(cohort, settings.drug).select("patient_id", "start_date")
    doses = doses.join(starts, "patient_id")
    doses = doses.select("patient_id", "date", first_dose=doses.date == doses.start_date)
    labs = _nearest_labs(cohort, doses, settings.lab_match_days)
    doses = doses.left_join(labs, ["patient_id", "date"]).select(
        "first_dose", *CSF_KINDS)
    pairs: pd.DataFrame = doses.group_by(["first_dose", "csf_wbc", "csf_protein"]).aggregate(
        n=doses.count()).execute()
    limits = CsfThresholds(settings.csf_wbc_per_ul, settings.csf_protein_mg_dl)
    rows = []
    for label, first in (("first dose (pre-treatment)", True), ("later doses", False),
                         ("all doses", None)):
        part = pairs if first is None else pairs[pairs["first_dose"] == first]
        rows.append(_flag_row(label, part, limits))
    return pd.DataFrame(rows)


def _flag_row(label: str, pairs: pd.DataFrame, limits: CsfThresholds) -> dict[str, Any]:
    wbc_n = protein_n = pleo = raised = 0
    for wbc, protein, n in zip(pairs["csf_wbc"], pairs["csf_protein"], pairs["n"], strict=True):
        flags = csf_flags(None if pd.isna(wbc) else float(wbc),
                          None if pd.isna(protein) else float(protein), limits)
        if flags.pleocytosis is not None:
            wbc_n += int(n)
            pleo += int(n) * flags.pleocytosis
        if flags.raised_protein is not None:
            protein_n += int(n)
            raised += int(n) * flags.raised_protein
    return {"doses": label, "lumbar_punctures": int(pairs["n"].sum()),
            "with_wbc": wbc_n, "pleocytosis": pleo,
            "share_pleocytosis": pleo / wbc_n if wbc_n else math.nan,
            "with_protein": protein_n, "raised_protein": raised,
            "share_raised_protein": raised / protein_n if protein_n else math.nan}


@dataclass(frozen=True)
class SafetyResult(ResultFrames):
    """Incidence rates (``rates``), per-patient exposure and CSF flag shares."""

    settings: SafetySettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    rates: pd.DataFrame
    exposure: pd.DataFrame
    csf: pd.DataFrame

    @property
    def person_years(self) -> float:
        return float(self.exposure["days"].sum()) / DAYS_PER_YEAR

    def to_frame(self) -> pd.DataFrame:
        """The incidence rates in human words and column names (terms, grades, units)."""
        return rates_in_words(self.rates, self.settings)

    def csf_frame(self) -> pd.DataFrame:
        """The CSF flags at lumbar punctures, the limits in the column names."""
        return csf_in_words(self.csf, self.settings)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe({
            "settings": self.settings.model_dump(mode="json"),
            "attrition": self.attrition.to_dict(),
            "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
            "person_years": self.person_years, "patients": len(self.exposure),
            "rates": frame_records(self.rates), "csf": frame_records(self.csf),
        })
        return out


def rates_in_words(r: pd.DataFrame, settings: SafetySettings) -> pd.DataFrame:
    """A rate table (:func:`rate_table`) in human words and column names."""
    level = f"{settings.level:.0%}"
    return pd.DataFrame({
        "by": r["stratum"].map(lambda v: STRATUM_WORDS.get(v, v)),
        "category": [_category(a, b) for a, b in zip(r["stratum"], r["value"], strict=True)],
        "events": r["events"], "patients with the event": r["patients"],
        "patient-years": r["person_years"],
        "incidence per 100 patient-years": r["rate_per_100py"],
        f"{level} CI lower (exact Poisson)": r["lower"],
        f"{level} CI upper (exact Poisson)": r["upper"]})


def csf_in_words(c: pd.DataFrame, s: SafetySettings) -> pd.DataFrame:
    """CSF flag counts and shares (:func:`csf_flag_shares`), the limits in the column names."""
    pleo, prot = f"> {s.csf_wbc_per_ul:g} cells/µL", f"> {s.csf_protein_mg_dl:g} mg/dL"
    return pd.DataFrame({
        "doses": c["doses"], "lumbar punctures": c["lumbar_punctures"],
        "with a CSF white cell count": c["with_wbc"],
        f"pleocytosis ({pleo})": c["pleocytosis"],
        "pleocytosis (%)": 100.0 * c["share_pleocytosis"],
        "with a CSF protein": c["with_protein"],
        f"raised protein ({prot})": c["raised_protein"],
        "raised protein (%)": 100.0 * c["share_raised_protein"]})


def safety_incidence(cohort: Cohort, settings: SafetySettings | None = None) -> SafetyResult:
    """Adverse events per 100 patient-years of tofersen exposure, and CSF flags (module doc)."""
    settings = settings or SafetySettings()
    attrition = Attrition(start=int(cohort.table("patients").count().execute()))
    attrition.apply(f"treated with {settings.drug}",
                    int(treatment_starts(cohort, settings.drug).count().execute()))
    exposure = exposure_table(cohort, settings)
    frame: pd.DataFrame = exposure.execute()
    attrition.apply("first dose on or before the end of follow-up", len(frame))
    if frame.empty:
        raise AnalysisError("administrations", f"no patient exposed to {settings.drug}")
    person_years = float(frame["days"].sum()) / DAYS_PER_YEAR
    rates = _event_counts(cohort, exposure, settings, person_years)
    csf = csf_flag_shares(cohort, settings)
    zero_days = int((frame["days"] == 0).sum())
    diagnostics = [
        Diagnostic("exposure", DiagnosticStatus.PASS if person_years > 0
                   else DiagnosticStatus.FAIL,
                   f"{person_years:.1f} patient-years; {zero_days} patients with 0 days"),
        Diagnostic("CSF labs matched to doses", DiagnosticStatus.PASS
                   if int(csf.iloc[-1]["with_wbc"]) else DiagnosticStatus.NOT_EVALUATED,
                   f"± {settings.lab_match_days} days"),
    ]
    return SafetyResult(settings, attrition, diagnostics, rates, frame, csf)


__all__ = ["DAYS_PER_YEAR", "SafetyResult", "SafetySettings", "csf_flag_shares", "csf_in_words",
           "exposure_table", "incidence_rate", "poisson_ci", "rate_table", "rates_in_words",
           "safety_incidence", "term_label"]
