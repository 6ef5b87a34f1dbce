"""Time to the composite endpoint: Kaplan–Meier curves and a time-varying Cox model.

The event is the composite of convention 7 (death, tracheostomy or permanent ventilation;
docs/domain-rules.md §6.3, :data:`alsrwe.domain.events.DEFAULT_COMPOSITE`), its ENCALS variant
(NIV > 23 h/day, tracheostomy or death; Westeneng et al., Lancet Neurol 2018) or death alone,
dated by :func:`alsrwe.domain.events.time_to_event`.

Registry data are **left truncated**: a patient is seen only from registry entry (the first
clinical encounter), months or years after onset, and only if still event-free then. Time is
measured from symptom onset, and every patient enters the risk set at registry entry (delayed
entry, counting-process intervals ``(entry, stop]``); patients whose event came before entry
never enter. Patients are censored at their last contact (the latest dated record) or at
``censor_date`` when earlier.

Tofersen enters the Cox model as a **time-varying** covariate: a patient contributes untreated
person-time until the first given dose and treated person-time after it, so no immortal time
(the time a patient had to survive to be treated) is credited to treatment. Curves of treated
vs untreated patients (Simon–Makuch and landmark, from diagnosis by default) are in
:mod:`alsrwe.analytics.analyses.survival_by_treatment`; the estimators themselves (checked
against R's survival) in :mod:`alsrwe.analytics.analyses.survival_estimators`. Every time in
the result is in months (30.4375 days, :data:`alsrwe.domain.alsfrs.DAYS_PER_MONTH`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
from pydantic import Field

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
from alsrwe.analytics.analyses.survival_by_treatment import (
    TREATED,
    UNTREATED,
    GroupComparison,
    from_origin,
    landmark,
    numbers_at_risk,
    risk_times,
    simon_makuch,
    treatment_intervals,
)
from alsrwe.analytics.analyses.survival_estimators import (
    CoxFit,
    KaplanMeier,
    cox_time_varying,
    kaplan_meier,
)
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import registry_dates, treatment_starts
from alsrwe.domain.alsfrs import DAYS_PER_MONTH
from alsrwe.domain.errors import EventError
from alsrwe.domain.events import (
    DEFAULT_COMPOSITE,
    ENCALS_COMPOSITE,
    CompositeDefinition,
    MilestoneKind,
    milestone,
    time_to_event,
)

ENDPOINTS: dict[str, CompositeDefinition] = {
    "composite": DEFAULT_COMPOSITE,
    "encals": ENCALS_COMPOSITE,
    "death": CompositeDefinition("death", frozenset({MilestoneKind.DEATH})),
}
"""The endpoints a survival analysis can use (convention 7; ENCALS §6.1; death alone)."""


class SurvivalSettings(AnalysisSettings):
    """Settings of :func:`survival`; defaults follow convention 7 (docs/domain-rules.md §6.3)."""

    endpoint: Literal["composite", "encals", "death"] = Field(
        default="composite", description="death/tracheostomy/PV (convention 7), ENCALS, death")
    censor_date: date | None = Field(default=None, description="data cut-off; default none")
    covariates: tuple[Literal["age_at_onset", "bulbar_onset"], ...] = Field(
        default=(), description="baseline covariates of the Cox model")
    drug: str = "tofersen"
    level: float = Field(default=0.95, gt=0, lt=1)
    min_events: int = Field(default=5, ge=1, description="fewer events: no Cox model")
    origin: Literal["diagnosis", "onset"] = Field(
        default="diagnosis", description="time zero of the treated vs untreated curves")
    landmark_months: float = Field(default=12.0, gt=0, description="landmark after the origin")
    at_risk_every_months: float = Field(default=6.0, gt=0, description="numbers-at-risk grid")
    min_group_patients: int = Field(
        default=10, ge=1, description="WARN when a treated/untreated group is smaller")


# --- registry data -------------------------------------------------------------------------


def _patient_frame(cohort: Cohort, drug: str) -> pd.DataFrame:
    p = cohort.table("patients")
    p = p.filter((p.status == "patient") & p.onset_date.notnull())
    starts = treatment_starts(cohort, drug).select("patient_id", "start_date")
    joined = (p.select("patient_id", "onset_date", "diagnosis_date", "onset_region",
                       "birth_year")
              .left_join(registry_dates(cohort), "patient_id")
              .select(~ibis.selectors.endswith("_right"))
              .left_join(starts, "patient_id").select(~ibis.selectors.endswith("_right")))
    frame: pd.DataFrame = joined.order_by("patient_id").execute()  # same rows, same sums
    return frame


def _milestones(cohort: Cohort) -> dict[str, list[Any]]:
    m = cohort.table("milestones")
    frame: pd.DataFrame = m.select("patient_id", "date", "kind").execute()
    out: dict[str, list[Any]] = {}
    for pid, when, kind in frame.itertuples(index=False):
        out.setdefault(str(pid), []).append(milestone(str(kind), _as_date(when)))
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _as_date(value: Any) -> date:
    return pd.Timestamp(value).date()


def _event_rows(cohort: Cohort, settings: SurvivalSettings,
                attrition: Attrition) -> pd.DataFrame:
    """One row per patient: entry, stop, first dose and diagnosis in days from onset, event,
    covariates."""
    patients = _patient_frame(cohort, settings.drug)
    attrition.apply("symptomatic patients with an onset date", len(patients))
    patients = patients[patients["entry_date"].notna()]
    attrition.apply("at least one clinical encounter (registry entry)", len(patients))
    if settings.censor_date is not None:
        patients = patients[patients["entry_date"].map(_as_date) <= settings.censor_date]
        attrition.apply("entered by the censor date", len(patients))
    definition = ENDPOINTS[settings.endpoint]
    milestones = _milestones(cohort)
    rows = []
    for r in _records(patients):
        onset = _as_date(r["onset_date"])
        censor = _as_date(r["last_contact"])
        if settings.censor_date is not None:
            censor = min(censor, settings.censor_date)
        try:
            outcome = time_to_event(milestones.get(str(r["patient_id"]), []), censor,
                                    definition, onset)
        except EventError:
            continue
        dose, birth, diagnosis = r["start_date"], r["birth_year"], r["diagnosis_date"]
        rows.append({"id": str(r["patient_id"]), "entry": (_as_date(r["entry_date"]) - onset).days,
                     "stop": outcome.days_since(onset), "event": int(outcome.event),
                     "first_dose": None if pd.isna(dose) else (_as_date(dose) - onset).days,
                     "diagnosis": math.nan if pd.isna(diagnosis)
                     else float((_as_date(diagnosis) - onset).days),
                     "onset_region": r["onset_region"],
                     "age_at_onset": math.nan if pd.isna(birth) else onset.year - int(birth)})
    attrition.apply("milestones consistent with onset (domain rules)", len(rows))
    frame = pd.DataFrame(rows, columns=["id", "entry", "stop", "event", "first_dose",
                                        "diagnosis", "onset_region", "age_at_onset"])
    frame = frame[frame["entry"] < frame["stop"]]
    attrition.apply("event-free at registry entry (delayed entry)", len(frame))
    frame["entry"] = frame["entry"].clip(lower=0)
    frame["bulbar_onset"] = (frame["onset_region"] == "bulbar").astype(np.float64)
    frame["age_at_onset"] = frame["age_at_onset"].astype(np.float64)
    return frame.reset_index(drop=True)


def time_varying_spells(cohort: Cohort, settings: SurvivalSettings) -> pd.DataFrame:
    """The data of the time-varying Cox model: each patient's (entry, stop] in months from
    onset, split at the first dose (``treated`` 0 before, 1 after), with the event at the end
    of the last spell and the covariates (patients missing one are left out)."""
    attrition = Attrition(start=int(cohort.table("patients").count().execute()))
    rows = _event_rows(cohort, settings, attrition).dropna(subset=list(settings.covariates))
    spells = treatment_intervals(rows, list(settings.covariates))
    spells["start"] = spells["start"] / DAYS_PER_MONTH
    spells["stop"] = spells["stop"] / DAYS_PER_MONTH
    return spells.rename(columns={"id": "patient_id", "start": "entry"})


# --- the analysis --------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalResult(ResultFrames):
    """Kaplan–Meier from onset and from treatment start, treated vs untreated curves
    (Simon–Makuch, landmark) and the time-varying Cox model; all times in months."""

    settings: SurvivalSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    curves: dict[str, KaplanMeier]
    cox: CoxFit | None
    at_risk: pd.DataFrame  # origin, months, at_risk (of ``curves``)
    simon_makuch: GroupComparison | None = None
    landmark: GroupComparison | None = None

    @property
    def comparisons(self) -> list[GroupComparison]:
        return [c for c in (self.simon_makuch, self.landmark) if c is not None]

    def medians(self) -> pd.DataFrame:
        return pd.DataFrame([{"origin": name, "n": km.n, "events": km.events,
                              "median_months": km.median, "lower_months": km.median_lower,
                              "upper_months": km.median_upper}
                             for name, km in self.curves.items()])

    def curve_frame(self) -> pd.DataFrame:
        parts = [km.table.rename(columns={"time": "months"}).assign(origin=name)
                 for name, km in self.curves.items()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_frame(self) -> pd.DataFrame:
        rows = [{"quantity": f"median from {r.origin} (months)", "estimate": r.median_months,
                 "lower": r.lower_months, "upper": r.upper_months, "n": r.n, "events": r.events}
                for r in self.medians().itertuples(index=False)]
        for c in self.comparisons:
            rows += [{"quantity": f"median from {c.origin}, {r.group} ({c.method}) (months)",
                      "estimate": r.median_months, "lower": r.lower_months,
                      "upper": r.upper_months, "n": r.n, "events": r.events}
                     for r in c.medians().itertuples(index=False)]
            if c.logrank is not None:
                rows.append({"quantity": f"log-rank p, {c.origin} (χ² {c.logrank.statistic:.2f},"
                                         f" {c.logrank.df} df)", "estimate": c.logrank.p,
                             "lower": math.nan, "upper": math.nan,
                             "n": c.attrition.remaining,
                             "events": sum(c.logrank.observed.values())})
        if self.cox is not None:
            rows += [{"quantity": f"hazard ratio: {term}", "estimate": row["hr"],
                      "lower": row["lower"], "upper": row["upper"], "n": self.cox.n,
                      "events": self.cox.events} for term, row in self.cox.summary.iterrows()]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe({
            "settings": self.settings.model_dump(mode="json"),
            "attrition": self.attrition.to_dict(),
            "diagnostics": frame_records(diagnostics_frame(self.diagnostics)),
            "medians": frame_records(self.medians()),
            "curves": frame_records(self.curve_frame()),
            "at_risk": frame_records(self.at_risk),
            "simon_makuch": None if self.simon_makuch is None else self.simon_makuch.to_dict(),
            "landmark": None if self.landmark is None else self.landmark.to_dict(),
            "cox": None if self.cox is None else self.cox.to_dict(),
        })
        return out


def survival(cohort: Cohort, settings: SurvivalSettings | None = None) -> SurvivalResult:
    """Time to the endpoint from onset (all) and from first dose (treated), treated vs untreated
    from diagnosis (Simon–Makuch, landmark), and the Cox HR of tofersen as a time-varying
    covariate with delayed entry at registry entry (module doc)."""
    settings = settings or SurvivalSettings()
    attrition = Attrition(start=int(cohort.table("patients").count().execute()))
    rows = _event_rows(cohort, settings, attrition)
    if rows.empty:
        raise AnalysisError("patients", "no patient with an onset date and registry follow-up")
    month = DAYS_PER_MONTH
    spells = {"onset": pd.DataFrame({"start": rows["entry"] / month,
                                     "stop": rows["stop"] / month, "event": rows["event"]})}
    treated = rows[rows["first_dose"].notna() & (rows["first_dose"] < rows["stop"])]
    if not treated.empty:
        spells["treatment start"] = pd.DataFrame({
            "start": 0.0, "event": treated["event"],
            "stop": (treated["stop"] - treated["first_dose"].astype(np.float64)) / month})
    curves = {name: kaplan_meier(s["stop"], s["event"], s["start"], settings.level)
              for name, s in spells.items()}
    every = settings.at_risk_every_months
    at_risk = pd.DataFrame(
        [{"origin": name, "months": t, "at_risk": n} for name, s in spells.items()
         for t, n in zip(risk_times(s["stop"], every),
                         numbers_at_risk(s["start"], s["stop"], risk_times(s["stop"], every)),
                         strict=True)], columns=["origin", "months", "at_risk"])
    diagnostics = [Diagnostic("treated patients", DiagnosticStatus.PASS
                              if len(treated) else DiagnosticStatus.FAIL,
                              f"{len(treated)} treated patients with follow-up")]
    timed = from_origin(rows, settings.origin)
    by_treatment, landmarked = None, None
    if not timed.empty:
        by_treatment = simon_makuch(timed, settings.origin, every, settings.level)
        landmarked = landmark(timed, settings.origin, settings.landmark_months, every,
                              settings.level)
    diagnostics += _group_sizes(by_treatment, landmarked, settings, len(rows) - len(timed))
    fit, diagnostic = _time_varying_model(rows, settings)
    return SurvivalResult(settings, attrition, [*diagnostics, diagnostic], curves, fit, at_risk,
                          by_treatment, landmarked)


def _group_sizes(by_treatment: GroupComparison | None, landmarked: GroupComparison | None,
                 settings: SurvivalSettings, left_out: int) -> list[Diagnostic]:
    """Enough patients per group? FAIL when a group is empty, WARN below min_group_patients."""
    out = []
    for name, comparison in (("Simon–Makuch groups", by_treatment),
                             ("landmark groups", landmarked)):
        sizes = {} if comparison is None else {g: km.n for g, km in comparison.curves.items()}
        counts = ", ".join(f"{g} {sizes.get(g, 0)}" for g in (UNTREATED, TREATED))
        detail = f"{counts} patients"
        if name.startswith("Simon") and left_out:
            detail += f"; {left_out} without follow-up after the {settings.origin} left out"
        if comparison is not None and name.startswith("landmark"):
            detail += f" event-free at the {settings.landmark_months:g}-month landmark"
        smallest = min((sizes.get(g, 0) for g in (UNTREATED, TREATED)), default=0)
        status = (DiagnosticStatus.FAIL if smallest == 0 else DiagnosticStatus.WARN
                  if smallest < settings.min_group_patients else DiagnosticStatus.PASS)
        if status is not DiagnosticStatus.PASS:
            detail += f" (fewer than {settings.min_group_patients} in a group)"
        out.append(Diagnostic(name, status, detail))
    return out


def _time_varying_model(rows: pd.DataFrame,
                        settings: SurvivalSettings) -> tuple[CoxFit | None, Diagnostic]:
    covariates = list(settings.covariates)
    usable = rows.dropna(subset=covariates)
    events = int(usable["event"].sum())
    name = "time-varying Cox model"
    if events < settings.min_events:
        return None, Diagnostic(name, DiagnosticStatus.NOT_EVALUATED,
                                f"{events} events < {settings.min_events}")
    intervals = treatment_intervals(usable, covariates)
    if intervals["treated"].nunique() < 2:
        return None, Diagnostic(name, DiagnosticStatus.NOT_EVALUATED,
                                "no contrast between treated and untreated person-time")
    try:
        fit = cox_time_varying(intervals, ["treated", *covariates], settings.level)
    except (ValueError, np.linalg.LinAlgError) as error:
        return None, Diagnostic(name, DiagnosticStatus.FAIL, f"did not fit: {error}")
    hr = fit.summary.loc["treated"]
    return fit, Diagnostic(name, DiagnosticStatus.PASS,
                           f"HR {hr['hr']:.2f} ({hr['lower']:.2f}-{hr['upper']:.2f}); "
                           f"{fit.n} patients, {fit.events} events, delayed entry")


__all__ = ["ENDPOINTS", "SurvivalResult", "SurvivalSettings", "survival", "time_varying_spells",
           "treatment_intervals"]
