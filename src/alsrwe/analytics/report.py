"""The cohort report: one self-contained ``report.html`` plus JSON and CSV of every table.

Each section runs one analysis with its default settings (the report's settings are saved as
JSON beside it), shows its headline, figures, tables, attrition and diagnostics, and — when
the data cannot support the analysis — says so in the section instead of failing the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from alsrwe import __version__
from alsrwe.analytics.common import (
    AnalysisError,
    AnalysisResult,
    AnalysisSettings,
    diagnostics_frame,
    save_result,
)
from alsrwe.analytics.data import SCHEMAS, Cohort, CohortError
from alsrwe.analytics.table1 import as_of, table1


class ReportSettings(AnalysisSettings):
    """What the report covers; every analysis inside runs with its documented defaults."""

    title: str = "alsrwe cohort report"
    site: str | None = None
    drug: str = "tofersen"
    suppress_below: int = 0


@dataclass(slots=True)
class Section:
    """One analysis as shown in the report."""

    name: str
    title: str
    headline: str = ""
    figures: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    attrition: str = ""
    diagnostics: str = ""
    refused: str = ""


Renderer = Callable[[Any, Section, Cohort], None]
"""Adds an analysis' headline, figures and tables to its section."""


@dataclass(frozen=True, slots=True)
class SectionSpec:
    name: str
    title: str
    run: Callable[[Cohort], AnalysisResult]
    render: Renderer


def html_table(frame: pd.DataFrame, max_rows: int = 60) -> str:
    """A frame as an HTML table (escaped), numbers right-aligned, long tables cut."""
    shown = frame.head(max_rows)
    text = shown.to_html(index=False, na_rep="–", float_format=lambda v: f"{v:.3g}",
                         border=0, escape=True)
    if len(frame) > max_rows:
        text += f"<p class='meta'>first {max_rows} of {len(frame)} rows; all in the CSV</p>"
    return f"<div class='wide'>{text}</div>"


def site_cohort(cohort: Cohort, site: str) -> Cohort:
    """The same cohort restricted to one site's patients (filtered in the engine)."""
    patients = cohort.table("patients")
    if patients.filter(patients.site == site).count().execute() == 0:
        raise CohortError("site", f"no patient of site '{site}' in the cohort")
    ids = patients.filter(patients.site == site).select("patient_id")
    tables: dict[str, ibis.Table] = {}
    for name in SCHEMAS:
        table = cohort.table(name)
        tables[name] = table.filter(table.patient_id.isin(ids.patient_id))
    return Cohort(cohort.con, tables, source=f"{cohort.source} (site {site})")


def _run_section(spec: SectionSpec, cohort: Cohort, out: Path) -> Section:
    section = Section(spec.name, spec.title)
    try:
        result = spec.run(cohort)
    except AnalysisError as error:
        section.refused = str(error)
        return section
    save_result(result, out, spec.name)
    spec.render(result, section, cohort)
    section.attrition = html_table(result.attrition.to_frame())
    section.diagnostics = html_table(diagnostics_frame(result.diagnostics))
    return section


def build_report(cohort: Cohort, out: Path, settings: ReportSettings | None = None,
                 sections: list[SectionSpec] | None = None,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Run every section and write ``out``/report.html with its JSON and CSV files."""
    from alsrwe.analytics.report_sections import default_sections

    settings = settings or ReportSettings()
    if settings.site:
        cohort = site_cohort(cohort, settings.site)
    out.mkdir(parents=True, exist_ok=True)
    settings.save(out / "report.settings.json")
    first = table1(cohort, drug=settings.drug, suppress_below=settings.suppress_below)
    first.to_csv(out / "table1.csv", index=False)
    rendered = []
    for spec in sections if sections is not None else default_sections(settings):
        if progress:
            progress(spec.title)
        rendered.append(_run_section(spec, cohort, out))
    environment = Environment(loader=PackageLoader("alsrwe.analytics", "templates"),
                              autoescape=select_autoescape(["html", "j2"]))
    html = environment.get_template("report.html.j2").render(
        title=settings.title + (f" — site {settings.site}" if settings.site else ""),
        source=cohort.source, engine=cohort.backend, as_of=as_of(cohort),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        settings_file="report.settings.json", table1=html_table(first, max_rows=200),
        sections=rendered,
    )
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
