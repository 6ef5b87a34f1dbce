"""The report's Methods section, written from the saved settings — never by hand per run.

A reader (or a reviewer) must be able to tell from the report alone which data were analysed,
who was included, what was estimated, with which model and interval, what was suppressed and
which software computed it. Each sentence below is a template over a settings value, so a
changed setting changes the text, and the text cannot drift from what ran: the same
``report.settings.json`` re-runs the report exactly (``alsrwe analyze --settings``).
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from alsrwe.analytics.analyses.percent_slower import INTERVALS
from alsrwe.analytics.analyses.results import AnalysisResult, AnalysisSettings
from alsrwe.analytics.analyses.table1 import label

if TYPE_CHECKING:
    from alsrwe.analytics.report.presentations import Analysis


class ReportSettingsLike(Protocol):
    """What the Methods read of :class:`~alsrwe.analytics.report.builder.ReportSettings`
    (a protocol, so that this module does not import the builder that imports it)."""

    @property
    def site(self) -> str | None: ...

    @property
    def drug(self) -> str: ...

    @property
    def suppress_below(self) -> int: ...

    def of(self, analysis: Analysis[Any]) -> AnalysisSettings: ...

SOFTWARE = ("alsrwe", "numpy", "scipy", "pandas", "ibis-framework", "duckdb", "lifelines",
            "matplotlib")
"""Packages whose versions the Methods name (Python itself is named first)."""


@dataclass(frozen=True, slots=True)
class MethodsPart:
    """One heading of the Methods with its paragraphs and (optional) list items."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    collapsed: bool = False
    """Show the items folded under the last paragraph (an analysis' full settings)."""


def _value(value: Any) -> str:
    """A setting's value in words: tuples as lists, None as "none", booleans as yes/no."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ", ".join(_value(v) for v in value) if value else "none"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def setting_lines(settings: BaseModel) -> tuple[str, ...]:
    """Every field of ``settings`` as "name = value (its Field description)"."""
    lines = []
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            continue
        described = f" ({info.description})" if info.description else ""
        lines.append(f"{name.replace('_', ' ')} = {_value(value)}{described}")
    return tuple(lines)


def _sources(sources: Sequence[str]) -> str:
    if tuple(sources) == ("clinic",):
        return "clinic-rated"
    return "/".join(sources) + "-rated"


def _percent(level: float) -> str:
    return f"{100 * level:g}%"


# --- inclusion rules and models of each known analysis, in words ---------------------------


def _progression(s: Any, result: AnalysisResult | None) -> tuple[list[str], list[str]]:
    rules = [
        f"≥ {s.min_pre_assessments} {_sources(s.sources)} ALSFRS-R assessments before the "
        f"first dose of {s.drug}",
        f"≥ {s.min_on_assessments} {_sources(s.sources)} ALSFRS-R assessments on treatment, "
        f"spanning ≥ {_value(s.min_on_months)} months",
    ]
    covariates = " + " + " + ".join(s.covariates) if s.covariates else ""
    estimand = getattr(result, "estimand", None) or (
        "the cohort's relative slowing of ALSFRS-R decline on treatment: percent slower than "
        f"expected, with expected = {s.expected.replace('_', ' ')}")
    interval = getattr(result, "ci_method", None) or INTERVALS[s.interval]
    model = [
        f"Estimand: {estimand}.",
        f"Expected decline: {s.expected.replace('_', ' ')}; {_percent(s.level)} interval: "
        f"{interval}.",
    ]
    if s.lmm_sensitivity or s.expected == "lmm":
        model.append(
            f"Piecewise linear mixed model total ~ t + t_post{covariates} + (1 + t | patient), "
            f"fitted by {'REML' if s.reml else 'ML'} (t = months from the first dose, t_post "
            "= months on treatment).")
    return rules, model


def _responders(s: Any, result: AnalysisResult | None) -> tuple[list[str], list[str]]:
    rules = [f"a {_sources(s.sources)} ALSFRS-R assessment near the first dose of {s.drug} and "
             f"one {_value(s.window_months)} months later, each within ± {s.tolerance_days} "
             "days"]
    model = [f"Change in ALSFRS-R total over the window: improved ≥ +{s.improved_points}, "
             f"progressed ≤ −{s.stable_points}, stabilised otherwise; at least "
             f"{s.min_patients} patients for the size check."]
    return rules, model


def _nfl(s: Any, result: AnalysisResult | None) -> tuple[list[str], list[str]]:
    assay = s.assay or "the most common platform"
    rules = [f"a {label(s.kind)} value ({assay}) within {s.baseline_window_days} "
             f"days before or on the first dose of {s.drug}",
             f"follow-up values at weeks {_value(s.weeks)} (± {s.tolerance_days} days)"]
    model = [f"Geometric mean ratio to baseline per window with a {_percent(s.level)} t interval "
             "on the log scale; over time, log(NfL) ~ 1 + months + (1 + months | patient) by "
             "REML, exp(slope) = mean ratio per month.",
             f"Threshold reported: {_value(s.threshold_pg_ml)} pg/mL."]
    return rules, model


def _early_delayed(s: Any, result: AnalysisResult | None) -> tuple[list[str], list[str]]:
    rules = [f"treated with {s.drug}; early = first dose ≤ {_value(s.delay_months_cutoff)} "
             f"months after {s.reference}",
             f"a {_sources(s.sources)} ALSFRS-R assessment at week {_value(s.week)} "
             f"(± {s.tolerance_days} days) after the first dose"]
    model = [f"Difference in ALSFRS-R change (early − delayed) with a {_percent(s.level)} "
             "interval" + ("; mixed model total ~ t × early + (1 + t | patient)." if s.lmm
                           else "."),
             f"NfL matrix: {s.nfl_kind} (never pooled across matrices)."]
    return rules, model


def _survival(s: Any, result: AnalysisResult | None) -> tuple[list[str], list[str]]:
    endpoint = {"composite": "composite of death, tracheostomy or permanent ventilation",
                "encals": "ENCALS composite (NIV > 23 h/day, tracheostomy or death)",
                "death": "death"}.get(s.endpoint, s.endpoint)
    rules = ["patients with ALS event-free at registry entry (delayed entry: left truncation)",
             f"censored at last contact or at the data cut-off ({_value(s.censor_date)})"]
    covariates = f" adjusted for {_value(s.covariates)}" if s.covariates else ""
    model = [f"Endpoint: {endpoint}. Kaplan–Meier estimates with {_percent(s.level)} "
             "confidence bands; Cox proportional-hazards model with time-varying treatment "
             f"({s.drug} from the first dose on){covariates}, fitted only with ≥ "
             f"{s.min_events} events."]
    return rules, model


def _safety(s: Any, result: AnalysisResult | None) -> tuple[list[str], list[str]]:
    rules = [f"patients given ≥ 1 dose of {s.drug}; exposure to the last dose + "
             f"{s.exposure_tail_days} days, death or last contact",
             "events " + ("up to the end of exposure" if s.on_treatment_only
                          else "from the first dose on")]
    model = [f"Incidence per 100 patient-years with exact Poisson {_percent(s.level)} limits; "
             f"CSF flags: white cells > {_value(s.csf_wbc_per_ul)}/µL, protein > "
             f"{_value(s.csf_protein_mg_dl)} mg/dL, labs within ± {s.lab_match_days} days of "
             "a dose."]
    return rules, model


def _carriers(s: Any, result: AnalysisResult | None) -> tuple[list[str], list[str]]:
    rules = ["presymptomatic SOD1 carriers with plasma NfL values"
             f" ({s.assay or 'the most common platform'})"]
    model = [f"Trigger: a rise ≥ {_value(s.rise_pg_ml)} pg/mL from the carrier's first value "
             f"to a level ≥ {_value(s.level_pg_ml)} pg/mL."]
    return rules, model


Describe = Callable[[Any, AnalysisResult | None], tuple[list[str], list[str]]]
DESCRIBED: dict[str, Describe] = {
    "progression": _progression, "responders": _responders, "nfl_response": _nfl,
    "early_vs_delayed": _early_delayed, "survival": _survival, "safety": _safety,
    "carriers": _carriers,
}
"""Analyses described in words; any other analysis is described by its settings alone."""


def software_versions() -> tuple[str, ...]:
    """"name version" of Python and of :data:`SOFTWARE` (installed distributions)."""
    versions = [f"Python {platform.python_version()}"]
    for name in SOFTWARE:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return tuple(versions)


def _analysis_part(analysis: Analysis[Any], settings: AnalysisSettings,
                   result: AnalysisResult | None, refused: str) -> MethodsPart:
    describe = DESCRIBED.get(analysis.name)
    try:
        rules, model = describe(settings, result) if describe else ([], [])
    except AttributeError:  # settings changed shape: describe it by its fields alone
        rules, model = [], []
    estimand = getattr(result, "estimand", None)
    if estimand and not any(line.startswith("Estimand") for line in model):
        model.insert(0, f"Estimand: {estimand}.")
    paragraphs = []
    if rules:
        paragraphs.append("Inclusion: " + "; ".join(rules) + ".")
    paragraphs += model
    if refused:
        paragraphs.append(f"Not evaluated on these data: {refused}")
    paragraphs.append(f"All settings ({analysis.name}.settings.json)")
    return MethodsPart(analysis.title, tuple(paragraphs), setting_lines(settings),
                       collapsed=True)


def methods(settings: ReportSettingsLike, analyses: Sequence[Analysis[Any]],
            results: Mapping[str, AnalysisResult | None], refusals: Mapping[str, str], *,
            source: str, backend: str, as_of: date | None) -> list[MethodsPart]:
    """The Methods of a report run with ``settings`` on ``source`` (results give estimands)."""
    site = f", site {settings.site} only" if settings.site else ", all sites"
    parts = [MethodsPart("Data", (
        f"Source: {source} (engine {backend}){site}; data as of {_value(as_of)}. Drug "
        f"studied: {settings.drug}. Time in months of 30.4375 days; slopes in points/month "
        "(negative = decline), rates of decline positive.",
        "Table 1: treated = patients with ALS with ≥ 1 given dose (baseline at the first "
        "dose); untreated = patients with ALS never dosed (baseline at the first ALSFRS-R); "
        "presymptomatic carriers (baseline at registry entry). Baseline values are the last "
        "within 90 days before the baseline date; percentages are of each column's n."))]
    for analysis in analyses:
        parts.append(_analysis_part(analysis, settings.of(analysis),
                                    results.get(analysis.name), refusals.get(analysis.name, "")))
    below = settings.suppress_below
    disclosure = (f"Counts from 1 to {below - 1} are shown as \"<{below}\" in Table 1 "
                  "(small-cell suppression, alsrwe default 5; docs/domain-rules.md §9.6)."
                  if below > 1 else "No small-cell suppression (suppress below = "
                  f"{below}): every count is shown; for use inside the clinic only.")
    parts.append(MethodsPart("Disclosure", (
        disclosure, "Per-patient listings (pseudonyms) are in the supplement only.")))
    parts.append(MethodsPart("Software", ("Computed with:",), software_versions()))
    return parts


__all__ = ["DESCRIBED", "MethodsPart", "ReportSettingsLike", "methods", "setting_lines",
           "software_versions"]
