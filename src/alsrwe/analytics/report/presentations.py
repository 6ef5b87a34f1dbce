"""One presentation per analysis result, shared by the report and the web cohort page.

A presentation is what a reader sees of a result: a headline, figures (inline SVG) and tables,
each table marked whether it shows per-patient rows (pseudonyms), plus the attrition and the
diagnostics every result carries. The report shows all of it; the cohort page, which is
aggregate only, leaves the per-patient tables out. :data:`ANALYSES` lists the analyses in
reading order, so that both show the same analyses, in the same order, with the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd

from alsrwe.analytics.analyses.carriers import CarrierResult, carrier_surveillance
from alsrwe.analytics.analyses.early_delayed import EarlyDelayedResult, early_vs_delayed
from alsrwe.analytics.analyses.nfl import NflResult, nfl_response
from alsrwe.analytics.analyses.progression import ProgressionResult, progression
from alsrwe.analytics.analyses.responders import RespondersResult, responders
from alsrwe.analytics.analyses.results import AnalysisError, AnalysisResult, diagnostics_frame
from alsrwe.analytics.analyses.safety import SafetyResult, safety_incidence
from alsrwe.analytics.analyses.survival import SurvivalResult, survival
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import months_between, progression_table, treatment_starts
from alsrwe.analytics.cohort.schema import CohortError
from alsrwe.analytics.report.figures import (
    ReportFigure,
    paired_rates,
    spaghetti,
    survival_curves,
)
from alsrwe.analytics.report.formatting import number
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

R = TypeVar("R", bound=AnalysisResult)


@dataclass(frozen=True, slots=True)
class ResultTable:
    """A table of a presentation; ``per_patient`` tables name patients and stay in the report."""

    caption: str
    frame: pd.DataFrame
    per_patient: bool = False


@dataclass(frozen=True, slots=True)
class Presentation:
    """A result as readers see it: headline, figures, tables, attrition and diagnostics."""

    headline: str
    figures: tuple[ReportFigure, ...]
    tables: tuple[ResultTable, ...]
    attrition: pd.DataFrame
    diagnostics: pd.DataFrame

    @property
    def aggregate_tables(self) -> tuple[ResultTable, ...]:
        """The tables without per-patient rows (what an aggregate-only view may show)."""
        return tuple(table for table in self.tables if not table.per_patient)


@dataclass(frozen=True, slots=True)
class Analysis(Generic[R]):
    """An analysis as shown: ``name`` names its files, its anchor and its field of the report's
    settings; ``run(cohort, settings)`` uses the analysis' defaults when settings is None."""

    name: str
    title: str
    run: Callable[[Cohort, Any], R]
    present: Callable[[R, Cohort], Presentation]


@dataclass(frozen=True, slots=True)
class Outcome:
    """An analysis run on a cohort: its result and presentation, or why it was refused."""

    analysis: Analysis[Any]
    result: AnalysisResult | None = None
    presentation: Presentation | None = None
    refused: str = ""


def evaluate(analysis: Analysis[R], cohort: Cohort, settings: Any = None) -> Outcome:
    """Run and present ``analysis``; a refusal (the data cannot support it) is an outcome too."""
    try:
        result = analysis.run(cohort, settings)
    except (AnalysisError, CohortError) as error:
        return Outcome(analysis, refused=str(error))
    return Outcome(analysis, result, analysis.present(result, cohort))


def _presentation(result: AnalysisResult, headline: str = "",
                  figures: Iterable[ReportFigure] = (),
                  tables: Iterable[ResultTable] = ()) -> Presentation:
    return Presentation(headline, tuple(figures), tuple(tables), result.attrition.to_frame(),
                        diagnostics_frame(result.diagnostics))


# --- figures drawn from the cohort ---------------------------------------------------------


def alsfrs_spaghetti(cohort: Cohort, drug: str) -> ReportFigure:
    """ALSFRS-R totals of treated patients against months from their first dose."""
    table = progression_table(cohort, drug=drug)
    frame = table.filter(table.start_date.notnull()).select("patient_id", "t", "total").execute()
    n = frame["patient_id"].nunique()
    return spaghetti(frame, key="progression-alsfrs", caption=(
        f"ALSFRS-R total (0–48, higher is better) of the {n} treated patients with a rating, "
        f"one line per patient, against months from the first dose of {drug} (dashed line)."),
        x="t", y="total", title="ALSFRS-R of treated patients",
                     xlabel="months from first dose", ylabel="ALSFRS-R total (0-48)",
                     mark_zero="first dose")


def nfl_spaghetti(cohort: Cohort, drug: str, kind: str) -> ReportFigure:
    """Values of one NfL kind of treated patients against months from their first dose."""
    values = cohort.table("measurements")
    values = values.filter(values.kind == kind)
    starts = treatment_starts(cohort, drug)
    joined = values.join(starts, "patient_id")
    frame = joined.select("patient_id", "value",
                          t=months_between(joined.date, joined.start_date)).execute()
    n = frame["patient_id"].nunique()
    return spaghetti(frame, key="nfl-course", caption=(
        f"{kind} (pg/mL, log scale) of the {n} treated patients with a value, one line per "
        f"patient, against months from the first dose of {drug} (dashed line)."),
        x="t", y="value", title=f"{kind} of treated patients",
                     xlabel="months from first dose", ylabel="pg/mL (log scale)",
                     log_y=True, mark_zero="first dose")


# --- one presentation per result -----------------------------------------------------------


def present_progression(result: ProgressionResult, cohort: Cohort) -> Presentation:
    low, high = result.percent_slower_ci
    headline = (
        f"ALSFRS-R declined {number(result.percent_slower)}% slower than expected "
        f"(95% bootstrap CI {number(low)}% to {number(high)}%) in {result.n_included} "
        f"patients; expected = {result.settings.expected.replace('_', ' ')}: "
        f"{number(result.expected_rate_per_month, 2)} vs observed "
        f"{number(result.observed_rate_per_month, 2)} points/month")
    included = result.patients[result.patients["included"]]
    figures = [alsfrs_spaghetti(cohort, result.settings.drug),
               paired_rates(included, key="progression-rates", caption=(
                   f"Rate of ALSFRS-R decline (points/month, positive = decline) of the "
                   f"{len(included)} included patients: expected "
                   f"({result.settings.expected.replace('_', ' ')}) against observed on "
                   "treatment; points below the grey identity line declined slower than "
                   "expected."),
                            before="expected_rate_per_month", after="observed_rate_per_month",
                            title="rate of decline: expected vs on treatment")]
    tables = [ResultTable("cohort estimates", result.to_frame()),
              ResultTable("per patient", result.patients, per_patient=True)]
    return _presentation(result, headline, figures, tables)


def present_responders(result: RespondersResult, cohort: Cohort) -> Presentation:
    return _presentation(result, tables=[ResultTable("results", result.to_frame())])


def present_nfl(result: NflResult, cohort: Cohort) -> Presentation:
    model = result.mixed_model
    headline = "" if model is None else (
        f"{result.settings.kind} ({result.assay}): mean ratio per month on treatment "
        f"{number(model.ratio_per_month, 3)} (95% CI {number(model.lower, 3)}–"
        f"{number(model.upper, 3)}), {model.n_patients} patients")
    figure = nfl_spaghetti(cohort, result.settings.drug, result.settings.kind)
    table = ResultTable("geometric mean ratio to baseline by window", result.windows)
    return _presentation(result, headline, [figure], [table])


def present_early_delayed(result: EarlyDelayedResult, cohort: Cohort) -> Presentation:
    return _presentation(result, tables=[ResultTable("results", result.to_frame())])


def _months(days: float) -> str:
    return number(days / DAYS_PER_MONTH, 1)


def present_survival(result: SurvivalResult, cohort: Cohort) -> Presentation:
    medians = [f"from {origin}: {_months(km.median)} months (95% CI {_months(km.median_lower)}"
               f"–{_months(km.median_upper)}; {km.events} events in {km.n})"
               for origin, km in result.curves.items()]
    curves = result.curve_frame()
    figures = []
    for origin in curves["origin"].unique() if not curves.empty else []:
        rows = curves[curves["origin"] == origin].assign(
            group=f"from {origin}", time=lambda f: f["time"] / DAYS_PER_MONTH)
        figures.append(survival_curves(
            rows, key=f"survival-{origin}".replace(" ", "-"), caption=(
                f"Kaplan–Meier estimate of survival without death, tracheostomy or permanent "
                f"ventilation from {origin}, with its 95% confidence band, in months."),
            title=f"composite endpoint from {origin}", xlabel="months"))
    table = ResultTable("medians and hazard ratios", result.to_frame())
    return _presentation(result, "Kaplan–Meier median event-free time " + "; ".join(medians),
                         figures, [table])


def present_safety(result: SafetyResult, cohort: Cohort) -> Presentation:
    headline = (f"{number(result.person_years, 1)} patient-years of exposure; incidence per "
                "100 patient-years with exact Poisson 95% CIs")
    tables = [ResultTable("incidence", result.rates),
              ResultTable("CSF findings at lumbar punctures", result.csf)]
    return _presentation(result, headline, tables=tables)


def present_carriers(result: CarrierResult, cohort: Cohort) -> Presentation:
    carriers = result.carriers
    flagged = int(carriers["triggered"].sum()) if "triggered" in carriers else 0
    headline = f"{flagged} of {len(carriers)} carriers crossed the NfL trigger"
    return _presentation(result, headline,
                         tables=[ResultTable("carriers", carriers, per_patient=True)])


ANALYSES: tuple[Analysis[Any], ...] = (
    Analysis("progression", "Progression before and on treatment", progression,
             present_progression),
    Analysis("responders", "Responders", responders, present_responders),
    Analysis("nfl_response", "Neurofilament light chain response", nfl_response, present_nfl),
    Analysis("early_vs_delayed", "Early vs delayed start", early_vs_delayed,
             present_early_delayed),
    Analysis("survival", "Survival without death, tracheostomy or permanent ventilation",
             survival, present_survival),
    Analysis("safety", "Safety", safety_incidence, present_safety),
    Analysis("carriers", "Presymptomatic carriers: NfL surveillance", carrier_surveillance,
             present_carriers),
)
"""Every analysis of the report and the cohort page, in reading order, with default settings."""


__all__ = ["ANALYSES", "Analysis", "Outcome", "Presentation", "ResultTable", "alsfrs_spaghetti",
           "evaluate", "nfl_spaghetti"]
