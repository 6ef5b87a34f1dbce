"""The cohort report: one self-contained ``report.html`` plus JSON and CSV of every table.

Each section runs one analysis of :data:`~alsrwe.analytics.report.presentations.ANALYSES` with
its settings from :class:`ReportSettings` (saved as JSON beside the report, so that
``alsrwe analyze --settings report.settings.json`` re-runs it exactly), shows its whole
presentation (per-patient tables included), attrition and diagnostics, and — when the data
cannot support the analysis — says so in the section instead of failing the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from alsrwe import __version__
from alsrwe.analytics.analyses.carriers import CarrierSettings
from alsrwe.analytics.analyses.early_delayed import EarlyDelayedSettings
from alsrwe.analytics.analyses.nfl import NflSettings
from alsrwe.analytics.analyses.progression import ProgressionSettings
from alsrwe.analytics.analyses.responders import RespondersSettings
from alsrwe.analytics.analyses.results import AnalysisSettings, save_result
from alsrwe.analytics.analyses.safety import SafetySettings
from alsrwe.analytics.analyses.survival import SurvivalSettings
from alsrwe.analytics.analyses.table1 import as_of, table1
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.sites import restrict_to_sites
from alsrwe.analytics.report.figures import ReportFigure
from alsrwe.analytics.report.formatting import html_table
from alsrwe.analytics.report.presentations import ANALYSES, Analysis, Outcome, evaluate
from alsrwe.domain.privacy import SUPPRESS_BELOW


class ReportSettings(AnalysisSettings):
    """What the report covers and the settings of every analysis in it (one field per
    analysis, named as :attr:`Analysis.name`; each defaults to the analysis' documented
    defaults). Table 1 suppresses counts below ``suppress_below`` (:mod:`alsrwe.domain.privacy`).
    """

    title: str = "alsrwe cohort report"
    site: str | None = None
    drug: str = "tofersen"
    suppress_below: int = SUPPRESS_BELOW
    progression: ProgressionSettings = ProgressionSettings()
    responders: RespondersSettings = RespondersSettings()
    nfl_response: NflSettings = NflSettings()
    early_vs_delayed: EarlyDelayedSettings = EarlyDelayedSettings()
    survival: SurvivalSettings = SurvivalSettings()
    safety: SafetySettings = SafetySettings()
    carriers: CarrierSettings = CarrierSettings()

    def of(self, analysis: Analysis[Any]) -> AnalysisSettings:
        """The settings the report runs ``analysis`` with."""
        settings: AnalysisSettings = getattr(self, analysis.name)
        return settings


@dataclass(slots=True)
class Section:
    """One analysis as the report's template shows it (tables as HTML)."""

    name: str
    title: str
    headline: str = ""
    figures: list[ReportFigure] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    attrition: str = ""
    diagnostics: str = ""
    refused: str = ""


def _section(outcome: Outcome, out: Path) -> Section:
    """The section of one outcome; its result's files are written to ``out``."""
    analysis, shown = outcome.analysis, outcome.presentation
    if outcome.result is None or shown is None:
        return Section(analysis.name, analysis.title, refused=outcome.refused)
    save_result(outcome.result, out, analysis.name)
    return Section(analysis.name, analysis.title, shown.headline, list(shown.figures),
                   [(table.caption, html_table(table.frame)) for table in shown.tables],
                   html_table(shown.attrition), html_table(shown.diagnostics))


def build_report(cohort: Cohort, out: Path, settings: ReportSettings | None = None,
                 analyses: Sequence[Analysis[Any]] = ANALYSES,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Run every analysis and write ``out``/report.html with its JSON and CSV files."""
    settings = settings or ReportSettings()
    if settings.site:
        cohort = restrict_to_sites(cohort, [settings.site])
    out.mkdir(parents=True, exist_ok=True)
    settings.save(out / "report.settings.json")
    first = table1(cohort, drug=settings.drug, suppress_below=settings.suppress_below)
    first.to_csv(out / "table1.csv", index=False)
    sections = []
    for analysis in analyses:
        if progress:
            progress(analysis.title)
        sections.append(_section(evaluate(analysis, cohort, settings.of(analysis)), out))
    environment = Environment(loader=PackageLoader("alsrwe.analytics.report", "templates"),
                              autoescape=select_autoescape(["html", "j2"]))
    html = environment.get_template("report.html.j2").render(
        title=settings.title + (f" — site {settings.site}" if settings.site else ""),
        source=cohort.source, engine=cohort.backend, as_of=as_of(cohort),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        settings_file="report.settings.json", table1=html_table(first, max_rows=200),
        sections=sections,
    )
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


__all__ = ["ReportSettings", "Section", "build_report"]
