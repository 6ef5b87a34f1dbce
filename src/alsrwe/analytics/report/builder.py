"""The cohort report: one self-contained ``report.html`` plus JSON and CSV of every table.

Each section runs one analysis of :data:`~alsrwe.analytics.report.presentations.ANALYSES` with
its settings from :class:`ReportSettings` (saved as JSON beside the report, so that
``alsrwe analyze --settings report.settings.json`` re-runs it exactly), shows its presentation,
attrition and diagnostics, and — when the data cannot support the analysis — says so in the
section instead of failing the report. The Methods are written from the same settings
(:mod:`~alsrwe.analytics.report.methods`). Figures and tables are numbered across the report
(Figure 1, 2, …; Table 1 is the cohort); every figure is also written as
``figures/figure-NN-<key>.svg`` and ``.png`` and every shown table as a CSV in ``tables/``.
Per-patient tables (pseudonyms) go to a supplement at the end (Table S1, S2, …), linked from
their sections. Everything but the "generated" time is the same bytes on a re-run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from alsrwe import __version__
from alsrwe.analytics.analyses.carriers import CarrierSettings
from alsrwe.analytics.analyses.early_delayed import EarlyDelayedSettings
from alsrwe.analytics.analyses.nfl import NflSettings
from alsrwe.analytics.analyses.observed_expected import ObservedExpectedSettings
from alsrwe.analytics.analyses.progression import ProgressionSettings
from alsrwe.analytics.analyses.responders import RespondersSettings
from alsrwe.analytics.analyses.results import AnalysisResult, AnalysisSettings, save_result
from alsrwe.analytics.analyses.safety import SafetySettings
from alsrwe.analytics.analyses.subgroups import SubgroupSettings
from alsrwe.analytics.analyses.survival import SurvivalSettings
from alsrwe.analytics.analyses.table1 import as_of, table1
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.sites import restrict_to_sites
from alsrwe.analytics.report.figures import ReportFigure
from alsrwe.analytics.report.formatting import html_table, mark_statuses, slug
from alsrwe.analytics.report.methods import MethodsPart, methods
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
    subgroups: SubgroupSettings = SubgroupSettings()
    responders: RespondersSettings = RespondersSettings()
    nfl_response: NflSettings = NflSettings()
    early_vs_delayed: EarlyDelayedSettings = EarlyDelayedSettings()
    observed_expected: ObservedExpectedSettings = ObservedExpectedSettings()
    survival: SurvivalSettings = SurvivalSettings()
    safety: SafetySettings = SafetySettings()
    carriers: CarrierSettings = CarrierSettings()

    def of(self, analysis: Analysis[Any]) -> AnalysisSettings:
        """The settings the report runs ``analysis`` with."""
        settings: AnalysisSettings = getattr(self, analysis.name)
        return settings


@dataclass(frozen=True, slots=True)
class NumberedFigure:
    """A figure as placed in the report: its number and the files it was exported to."""

    number: int
    figure: ReportFigure
    svg_file: str
    png_file: str


@dataclass(frozen=True, slots=True)
class NumberedTable:
    """A table as placed in the report: "Table 3" or "Table S1", its caption, HTML and CSV."""

    label: str
    caption: str
    html: str
    csv_file: str
    section: str = ""
    anchor: str = ""


@dataclass(slots=True)
class Section:
    """One analysis as the report's template shows it (tables as HTML)."""

    name: str
    title: str
    headline: str = ""
    figures: list[NumberedFigure] = field(default_factory=list)
    tables: list[NumberedTable] = field(default_factory=list)
    supplement: list[NumberedTable] = field(default_factory=list)
    attrition: str = ""
    diagnostics: str = ""
    refused: str = ""


@dataclass(slots=True)
class _Numbering:
    """Running numbers of figures, tables and supplementary tables across the report."""

    out: Path
    figures: list[NumberedFigure] = field(default_factory=list)
    tables: int = 1  # Table 1 is the cohort
    supplement: list[NumberedTable] = field(default_factory=list)

    def figure(self, figure: ReportFigure) -> NumberedFigure:
        """The figure numbered; its files are written by :meth:`write_figures`."""
        stem = f"figures/figure-{len(self.figures) + 1:02d}-{slug(figure.key)}"
        numbered = NumberedFigure(len(self.figures) + 1, figure, f"{stem}.svg", f"{stem}.png")
        self.figures.append(numbered)
        return numbered

    def write_figures(self) -> None:
        """Each figure's SVG and PNG file."""
        if self.figures:
            (self.out / "figures").mkdir(parents=True, exist_ok=True)
        for numbered in self.figures:
            (self.out / numbered.svg_file).write_text(numbered.figure.svg, encoding="utf-8")
            (self.out / numbered.png_file).write_bytes(numbered.figure.png)

    def table(self, section: str, caption: str, frame: pd.DataFrame,
              per_patient: bool) -> NumberedTable:
        if per_patient:
            label = f"S{len(self.supplement) + 1}"
        else:
            self.tables += 1
            label = str(self.tables)
        csv_file = f"tables/table-{label.zfill(2)}-{slug(section)}-{slug(caption)}.csv"
        (self.out / "tables").mkdir(parents=True, exist_ok=True)
        frame.to_csv(self.out / csv_file, index=False)
        table = NumberedTable(label, caption, html_table(frame, csv=csv_file), csv_file,
                              section, f"table-{label.lower()}")
        if per_patient:
            self.supplement.append(table)
        return table


def _section(outcome: Outcome, numbering: _Numbering) -> Section:
    """The section of one outcome; its result's files are written to the report's folder."""
    analysis, shown = outcome.analysis, outcome.presentation
    if outcome.result is None or shown is None:
        return Section(analysis.name, analysis.title, refused=outcome.refused)
    save_result(outcome.result, numbering.out, analysis.name)
    section = Section(analysis.name, analysis.title, shown.headline,
                      [numbering.figure(figure) for figure in shown.figures],
                      attrition=html_table(shown.attrition),
                      diagnostics=mark_statuses(html_table(shown.diagnostics)))
    for table in shown.tables:
        numbered = numbering.table(analysis.title, table.caption, table.frame,
                                   table.per_patient)
        (section.supplement if table.per_patient else section.tables).append(numbered)
    return section


def build_report(cohort: Cohort, out: Path, settings: ReportSettings | None = None,
                 analyses: Sequence[Analysis[Any]] = ANALYSES,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Run every analysis and write ``out``/report.html with its JSON, CSV and figure files."""
    settings = settings or ReportSettings()
    if settings.site:
        cohort = restrict_to_sites(cohort, [settings.site])
    out.mkdir(parents=True, exist_ok=True)
    settings.save(out / "report.settings.json")
    first = table1(cohort, drug=settings.drug, suppress_below=settings.suppress_below)
    first.to_csv(out / "table1.csv", index=False)
    numbering = _Numbering(out)
    sections: list[Section] = []
    results: dict[str, AnalysisResult | None] = {}
    refusals: dict[str, str] = {}
    for analysis in analyses:
        if progress:
            progress(analysis.title)
        outcome = evaluate(analysis, cohort, settings.of(analysis))
        results[analysis.name], refusals[analysis.name] = outcome.result, outcome.refused
        sections.append(_section(outcome, numbering))
    if progress:
        progress("the figures")
    numbering.write_figures()
    data_as_of = as_of(cohort)
    written: list[MethodsPart] = methods(settings, analyses, results, refusals,
                                         source=cohort.source, backend=cohort.backend,
                                         as_of=data_as_of)
    environment = Environment(loader=PackageLoader("alsrwe.analytics.report", "templates"),
                              autoescape=select_autoescape(["html", "j2"]))
    html = environment.get_template("report.html.j2").render(
        title=settings.title + (f" — site {settings.site}" if settings.site else ""),
        source=cohort.source, engine=cohort.backend, as_of=data_as_of,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        settings_file="report.settings.json",
        table1=html_table(first, max_rows=200, csv="table1.csv"), methods=written,
        sections=sections, supplement=numbering.supplement,
    )
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


__all__ = ["NumberedFigure", "NumberedTable", "ReportSettings",
           "Section", "build_report"]
