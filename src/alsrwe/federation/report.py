"""The pooled report: which sites took part, then each pooled analysis with its method.

Written as one self-contained HTML page (``report.html``, figures inline as SVG) with a
CSV of every table beside it. A site's patient count is shown when it took part; a site
that declined for too few patients shows "< threshold", never its count.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from alsrwe.analytics.report.figures import survival_curves
from alsrwe.federation.coordinator import Coordinator, Enrolment
from alsrwe.federation.errors import FederationError
from alsrwe.federation.pooled import (
    pooled_cox,
    pooled_km,
    pooled_lmm,
    pooled_progression,
    site_table,
)

KINDS = ("lmm", "progression", "km", "cox")
_TITLES = {"lmm": "ALSFRS-R before and on tofersen: pooled piecewise mixed model",
           "progression": "\u201c% slower than expected\u201d, pooled",
           "km": "Time from onset to death, tracheostomy or permanent ventilation (pooled "
                 "Kaplan\u2013Meier)",
           "cox": "Tofersen as a time-varying covariate: pooled Cox model"}


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
          "padding:0 1rem;line-height:1.45}table{border-collapse:collapse;margin:.5rem 0}"
          "td,th{padding:.2rem .6rem;border-bottom:1px solid #ccc;text-align:right}"
          "td:first-child,th:first-child{text-align:left}.error{color:#8a1c1c}"
          "figure{margin:1rem 0}svg{max-width:100%;height:auto}")


@dataclass
class Section:
    kind: str
    title: str
    summary: str
    method: str
    tables: dict[str, pd.DataFrame]
    figure_svg: str = ""
    enrolment: Enrolment | None = None
    error: str = ""
    shown: dict[str, pd.DataFrame] | None = None  # what the page shows, if not every row


def _fmt(x: float, digits: int = 2) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def _lmm(coordinator: Coordinator) -> Section:
    r = pooled_lmm(coordinator)
    f = r.fit
    table = f.to_frame()
    summary = (f"Pre-treatment slope {_fmt(r.pre_slope)} and on-treatment slope "
               f"{_fmt(r.on_slope)} points/month ({_fmt(r.percent_slower, 0)}% slower; a "
               f"sensitivity analysis), {f.n_groups} patients, {f.n_obs} assessments.")
    method = (f"total ~ t + t_post + (1 + t | patient), {'REML' if f.reml else 'ML'}, fitted "
              f"from sums over patients added up across {len(r.enrolment.roster)} sites in "
              f"{r.enrolment.rounds} rounds; identical to fitting the pooled rows in one place "
              f"(converged: {f.converged}, singular: {f.singular}). No BLUPs: they are per "
              "patient and stay at the sites.")
    return Section("lmm", _TITLES["lmm"], summary, method, {"estimates": table},
                   enrolment=r.enrolment)


def _progression(coordinator: Coordinator) -> Section:
    r = pooled_progression(coordinator)
    p = r.result
    summary = (f"{_fmt(p.estimate, 0)}% slower than expected (95% CI {_fmt(p.lower, 0)} to "
               f"{_fmt(p.upper, 0)}), {p.n} patients; mean observed {_fmt(r.observed_rate)} "
               f"vs expected {_fmt(r.expected_rate)} points/month.")
    method = ("1 − Σ observed / Σ expected on-treatment rate of decline (expected: the "
              "patient's own pre-treatment slope), Fieller's interval, from n, Σo, Σe, Σo², "
              "Σe², Σoe added up across the sites in one round.")
    table = pd.DataFrame([{"estimate": p.estimate, "lower": p.lower, "upper": p.upper,
                           "patients": p.n, "method": p.method}])
    return Section("progression", _TITLES["progression"], summary, method,
                   {"percent_slower": table}, enrolment=r.enrolment)


def _km(coordinator: Coordinator) -> Section:
    r = pooled_km(coordinator)
    km = r.curve
    summary = (f"Median {_fmt(km.median, 0)} months from onset (95% CI "
               f"{_fmt(km.median_lower, 0)} to {_fmt(km.median_upper, 0)}), {km.n} patients, "
               f"{km.events} events.")
    method = ("Kaplan–Meier with delayed entry at registry entry, on a grid of 1-month "
              "intervals (first entry floored, later times ceiled), from numbers at risk and "
              "events per interval added up across the sites in one round.")
    curve = km.table.assign(group="all patients")
    every = curve[curve["time"] % 12 == 0][["group", "time", "at_risk"]]
    figure = survival_curves(curve, key="pooled-km", caption=summary, title="",
                             xlabel="months from onset", at_risk=every)
    return Section("km", _TITLES["km"], summary, method, {"curve": km.table},
                   figure_svg=figure.svg, enrolment=r.enrolment,
                   shown={"curve": km.table[km.table["time"] % 12 == 0].reset_index(drop=True)})


def _cox(coordinator: Coordinator) -> Section:
    r = pooled_cox(coordinator)
    frame = r.cox.to_frame()
    hr, lower, upper = (float(frame[c].iloc[0]) for c in ("hr", "lower", "upper"))
    summary = (f"Hazard ratio of tofersen {_fmt(hr)} (95% CI {_fmt(lower)} to {_fmt(upper)}), "
               f"{r.cox.events} events.")
    method = ("Cox model with tofersen as a time-varying covariate (no immortal time), "
              "delayed entry, Efron ties on the 1-month grid, by Newton–Raphson: each "
              f"iteration one round of risk-set sums ({r.enrolment.rounds} rounds in all).")
    return Section("cox", _TITLES["cox"], summary, method, {"hazard_ratios": frame},
                   enrolment=r.enrolment)


_RUNNERS: dict[str, Callable[[Coordinator], Section]] = {
    "lmm": _lmm, "progression": _progression, "km": _km, "cox": _cox}


def run_sections(coordinator: Coordinator, kinds: Sequence[str]) -> list[Section]:
    """Run each pooled analysis; one that cannot run is reported with the reason."""
    unknown = [k for k in kinds if k not in _RUNNERS]
    if unknown:
        raise FederationError("analysis", f"unknown analyses {unknown}; choose from {KINDS}",
                              code="federation.report.kind")
    sections = []
    for kind in kinds:
        try:
            sections.append(_RUNNERS[kind](coordinator))
        except FederationError as error:
            sections.append(Section(kind, _TITLES[kind], "", "", {}, error=str(error)))
    return sections


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
