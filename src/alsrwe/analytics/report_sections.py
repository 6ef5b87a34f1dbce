"""The sections of the cohort report: which analysis, and how its result is shown."""

from __future__ import annotations

from typing import Any

from alsrwe.analytics import figures
from alsrwe.analytics.carriers import carrier_surveillance
from alsrwe.analytics.data import Cohort
from alsrwe.analytics.design import months_between, progression_table, treatment_starts
from alsrwe.analytics.early_delayed import early_vs_delayed
from alsrwe.analytics.nfl import nfl_response
from alsrwe.analytics.progression import progression
from alsrwe.analytics.report import ReportSettings, Section, SectionSpec, html_table
from alsrwe.analytics.responders import responders
from alsrwe.analytics.safety import safety_incidence
from alsrwe.analytics.survival import survival
from alsrwe.domain.alsfrs import DAYS_PER_MONTH


def alsfrs_spaghetti(cohort: Cohort, drug: str) -> str:
    table = progression_table(cohort, drug=drug)
    frame = table.filter(table.start_date.notnull()).select("patient_id", "t", "total").execute()
    return figures.spaghetti(frame, x="t", y="total", title="ALSFRS-R of treated patients",
                             xlabel="months from first dose", ylabel="ALSFRS-R total (0-48)",
                             mark_zero="first dose")


def nfl_spaghetti(cohort: Cohort, drug: str, kind: str) -> str:
    values = cohort.table("measurements")
    values = values.filter(values.kind == kind)
    starts = treatment_starts(cohort, drug)
    joined = values.join(starts, "patient_id")
    frame = joined.select("patient_id", "value",
                          t=months_between(joined.date, joined.start_date)).execute()
    return figures.spaghetti(frame, x="t", y="value", title=f"{kind} of treated patients",
                             xlabel="months from first dose", ylabel="pg/mL (log scale)",
                             log_y=True, mark_zero="first dose")


def _render_progression(result: Any, section: Section, cohort: Cohort) -> None:
    low, high = result.percent_slower_ci
    section.headline = (
        f"ALSFRS-R declined {result.percent_slower:.0f}% slower than expected "
        f"(95% bootstrap CI {low:.0f}% to {high:.0f}%) in {result.n_included} patients; "
        f"expected = {result.settings.expected.replace('_', ' ')}: "
        f"{result.expected_rate_per_month:.2f} vs observed "
        f"{result.observed_rate_per_month:.2f} points/month")
    section.figures.append(alsfrs_spaghetti(cohort, result.settings.drug))
    patients = result.patients
    included = patients[patients["included"]]
    section.figures.append(figures.paired_rates(
        included, before="expected_rate_per_month", after="observed_rate_per_month",
        title="rate of decline: expected vs on treatment"))
    section.tables.append(("cohort estimates", html_table(result.to_frame())))
    section.tables.append(("per patient", html_table(patients)))


def _render_frame(result: Any, section: Section, cohort: Cohort) -> None:
    section.tables.append(("results", html_table(result.to_frame())))


def _render_nfl(result: Any, section: Section, cohort: Cohort) -> None:
    model = result.mixed_model
    if model is not None:
        section.headline = (
            f"{result.settings.kind} ({result.assay}): mean ratio per month on treatment "
            f"{model.ratio_per_month:.3f} (95% CI {model.lower:.3f}–{model.upper:.3f}), "
            f"{model.n_patients} patients")
    section.figures.append(nfl_spaghetti(cohort, "tofersen", result.settings.kind))
    section.tables.append(("geometric mean ratio to baseline by window",
                           html_table(result.windows)))


def _render_survival(result: Any, section: Section, cohort: Cohort) -> None:
    curves = result.curve_frame()
    for origin in curves["origin"].unique() if not curves.empty else []:
        rows = curves[curves["origin"] == origin].assign(
            group=f"from {origin}", time=lambda f: f["time"] / DAYS_PER_MONTH)
        section.figures.append(figures.survival_curves(
            rows, title=f"composite endpoint from {origin}", xlabel="months"))
    section.tables.append(("medians and hazard ratios", html_table(result.to_frame())))


def _render_safety(result: Any, section: Section, cohort: Cohort) -> None:
    section.headline = (f"{result.person_years:.1f} patient-years of exposure; "
                        "incidence per 100 patient-years with exact Poisson 95% CIs")
    section.tables.append(("incidence", html_table(result.rates)))
    section.tables.append(("CSF findings at lumbar punctures", html_table(result.csf)))


def _render_carriers(result: Any, section: Section, cohort: Cohort) -> None:
    carriers = result.carriers
    flagged = int(carriers["triggered"].sum()) if "triggered" in carriers else 0
    section.headline = f"{flagged} of {len(carriers)} carriers crossed the NfL trigger"
    section.tables.append(("carriers", html_table(carriers)))


def default_sections(settings: ReportSettings) -> list[SectionSpec]:
    """The analyses of the report, in reading order."""
    return [
        SectionSpec("progression", "Progression before and on treatment",
                    lambda c: progression(c), _render_progression),
        SectionSpec("responders", "Responders", lambda c: responders(c), _render_frame),
        SectionSpec("nfl_response", "Neurofilament light chain response",
                    lambda c: nfl_response(c), _render_nfl),
        SectionSpec("early_vs_delayed", "Early vs delayed start",
                    lambda c: early_vs_delayed(c), _render_frame),
        SectionSpec("survival", "Survival without death, tracheostomy or permanent ventilation",
                    lambda c: survival(c), _render_survival),
        SectionSpec("safety", "Safety", lambda c: safety_incidence(c), _render_safety),
        SectionSpec("carriers", "Presymptomatic carriers: NfL surveillance",
                    lambda c: carrier_surveillance(c), _render_carriers),
    ]
