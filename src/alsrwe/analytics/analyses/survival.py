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
(the time a patient had to survive to be treated) is credited to treatment. The estimators
themselves (checked against R's survival) are in
:mod:`alsrwe.analytics.analyses.survival_estimators`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    diagnostics_frame,
    frame_records,
    json_safe,
)
from alsrwe.analytics.analyses.survival_estimators import (
    CoxFit,
    KaplanMeier,
    cox_time_varying,
    kaplan_meier,
)
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import registry_dates, treatment_starts
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


# --- registry data -------------------------------------------------------------------------


def _patient_frame(cohort: Cohort, drug: str) -> pd.DataFrame:
    p = cohort.table("patients")
    p = p.filter((p.status == "patient") & p.onset_date.notnull())
    starts = treatment_starts(cohort, drug).select("patient_id", "start_date")
    joined = (p.select("patient_id", "onset_date", "onset_region", "birth_year")
              .left_join(registry_dates(cohort), "patient_id")
              .select(~ibis.selectors.endswith("_right"))
              .left_join(starts, "patient_id").select(~ibis.selectors.endswith("_right")))
    frame: pd.DataFrame = joined.execute()
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
    """One row per patient: entry, stop and first dose in days from onset, event, covariates."""
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
        dose = r["start_date"]
        birth = r["birth_year"]
        rows.append({"id": str(r["patient_id"]), "entry": (_as_date(r["entry_date"]) - onset).days,
                     "stop": outcome.days_since(onset), "event": int(outcome.event),
                     "first_dose": None if pd.isna(dose) else (_as_date(dose) - onset).days,
                     "onset_region": r["onset_region"],
                     "age_at_onset": math.nan if pd.isna(birth) else onset.year - int(birth)})
    attrition.apply("milestones consistent with onset (domain rules)", len(rows))
    frame = pd.DataFrame(rows, columns=["id", "entry", "stop", "event", "first_dose",
                                        "onset_region", "age_at_onset"])
    frame = frame[frame["entry"] < frame["stop"]]
    attrition.apply("event-free at registry entry (delayed entry)", len(frame))
    frame["entry"] = frame["entry"].clip(lower=0)
    frame["bulbar_onset"] = (frame["onset_region"] == "bulbar").astype(np.float64)
    frame["age_at_onset"] = frame["age_at_onset"].astype(np.float64)
    return frame.reset_index(drop=True)


def treatment_intervals(rows: pd.DataFrame, covariates: Sequence[str] = ()) -> pd.DataFrame:
    """Split each patient's (entry, stop] at the first dose: untreated before, treated after."""
    out = []
    for r in _records(rows):
        base = {c: r[c] for c in covariates}
        dose, entry, stop, event = r["first_dose"], r["entry"], r["stop"], r["event"]
        if dose is None or pd.isna(dose) or dose >= stop:
            out.append({"id": r["id"], "start": entry, "stop": stop, "event": event,
                        "treated": 0.0, **base})
            continue
        if dose > entry:
            out.append({"id": r["id"], "start": entry, "stop": dose, "event": 0,
                        "treated": 0.0, **base})
        out.append({"id": r["id"], "start": max(entry, dose), "stop": stop, "event": event,
                    "treated": 1.0, **base})
    return pd.DataFrame(out, columns=["id", "start", "stop", "event", "treated", *covariates])


# --- the analysis --------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalResult:
    """Kaplan–Meier from onset and from treatment start, and the time-varying Cox model."""

    settings: SurvivalSettings
    attrition: Attrition
    diagnostics: list[Diagnostic]
    curves: dict[str, KaplanMeier]
    cox: CoxFit | None

    def medians(self) -> pd.DataFrame:
        return pd.DataFrame([{"origin": name, "n": km.n, "events": km.events,
                              "median_days": km.median, "lower_days": km.median_lower,
                              "upper_days": km.median_upper}
                             for name, km in self.curves.items()])

    def curve_frame(self) -> pd.DataFrame:
        parts = [km.table.assign(origin=name) for name, km in self.curves.items()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_frame(self) -> pd.DataFrame:
        rows = [{"quantity": f"median from {r.origin} (days)", "estimate": r.median_days,
                 "lower": r.lower_days, "upper": r.upper_days, "n": r.n, "events": r.events}
                for r in self.medians().itertuples(index=False)]
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
            "cox": None if self.cox is None else self.cox.to_dict(),
        })
        return out


def survival(cohort: Cohort, settings: SurvivalSettings | None = None) -> SurvivalResult:
    """Time to the endpoint from onset (all) and from first dose (treated), and the Cox HR of
    tofersen as a time-varying covariate with delayed entry at registry entry (module doc)."""
    settings = settings or SurvivalSettings()
    attrition = Attrition(start=int(cohort.table("patients").count().execute()))
    rows = _event_rows(cohort, settings, attrition)
    if rows.empty:
        raise AnalysisError("patients", "no patient with an onset date and registry follow-up")
    curves = {"onset": kaplan_meier(rows["stop"], rows["event"], rows["entry"], settings.level)}
    treated = rows[rows["first_dose"].notna() & (rows["first_dose"] < rows["stop"])]
    if not treated.empty:
        since = treated["stop"] - treated["first_dose"].astype(np.float64)
        curves["treatment start"] = kaplan_meier(since, treated["event"], level=settings.level)
    diagnostics = [Diagnostic("treated patients", DiagnosticStatus.PASS
                              if len(treated) else DiagnosticStatus.FAIL,
                              f"{len(treated)} treated patients with follow-up")]
    fit, diagnostic = _time_varying_model(rows, settings)
    return SurvivalResult(settings, attrition, [*diagnostics, diagnostic], curves, fit)


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


__all__ = ["ENDPOINTS", "SurvivalResult", "SurvivalSettings", "survival", "treatment_intervals"]
