"""The pooled report: which sites took part, then each pooled analysis with its method.

Written as one self-contained HTML page (``report.html``, figures inline as SVG) with a
CSV of every table beside it. A site's patient count is shown when it took part; a site
that declined for too few patients shows "< threshold", never its count.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from alsrwe.federation.coordinator import Coordinator
from alsrwe.federation.pooled import site_table
from alsrwe.federation.sections import KINDS, Section, run_sections

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
          "padding:0 1rem;line-height:1.45}table{border-collapse:collapse;margin:.5rem 0}"
          "td,th{padding:.2rem .6rem;border-bottom:1px solid #ccc;text-align:right}"
          "td:first-child,th:first-child{text-align:left}.error{color:#8a1c1c}"
          "figure{margin:1rem 0}svg{max-width:100%;height:auto}")


def _html_table(table: pd.DataFrame) -> str:
    """A table as HTML: no row numbers, missing values as a dash, four significant digits."""
    plain = isinstance(table.index, pd.RangeIndex)
    return table.to_html(index=not plain, border=0, na_rep="—",
                         float_format=lambda v: f"{v:.4g}")


def write_report(coordinator: Coordinator, kinds: Sequence[str], out: Path,
                 threshold: int = 5) -> tuple[Path, list[Section]]:
    """Run the analyses, write ``out/report.html`` and a CSV per table; the HTML path and the
    sections (a section that could not run holds its ``error``)."""
    sections = run_sections(coordinator, kinds)
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"<h1>Pooled tofersen evidence: network {html.escape(coordinator.manifest.network)}"
             f"</h1><p>{len(coordinator.sites)} sites in the network; written "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Every number below is computed from sums "
             "added up across the sites; no site's patient data or single-site sum reached "
             "the coordinator.</p>"]
    for s in sections:
        parts.append(f"<section><h2>{html.escape(s.title)}</h2>")
        if s.error:
            parts.append(f"<p class='error'>Not computed: {html.escape(s.error)}</p></section>")
            continue
        parts.append(f"<p><strong>{html.escape(s.summary)}</strong></p>")
        parts.append(f"<p>{html.escape(s.method)}</p>")
        if s.enrolment is not None:
            sites = site_table(s.enrolment, threshold)
            sites.to_csv(out / f"{s.kind}_sites.csv", index=False)
            parts.append("<h3>Sites</h3>" + _html_table(sites))
        if s.figure_svg:
            parts.append(f"<figure>{s.figure_svg}<figcaption>{html.escape(s.summary)}"
                         "</figcaption></figure>")
        for name, table in s.tables.items():
            csv = f"{s.kind}_{name}.csv"
            table.to_csv(out / csv)
            shown = (s.shown or {}).get(name, table)
            note = "" if shown is table else (f" <small>(every 12 months; every interval in "
                                              f"{html.escape(csv)})</small>")
            parts.append(f"<h3>{html.escape(name.replace('_', ' '))}{note}</h3>"
                         + _html_table(shown))
        parts.append("</section>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Pooled "
            f"tofersen evidence</title><style>{_STYLE}</style></head><body><main>"
            + "".join(parts) + "</main></body></html>")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path, sections


__all__ = ["KINDS", "Section", "run_sections", "write_report"]
