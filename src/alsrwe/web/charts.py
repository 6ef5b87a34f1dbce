"""Plotly figures of a patient's course, as plain figure dicts (Plotly's JSON schema).

The page draws them with Plotly.js served from the installed ``plotly`` package. Building the
dicts directly (not through ``plotly.graph_objects``, whose validation costs seconds for a
figure with many dose markers) keeps the patient page fast. Dose dates are dotted vertical
lines on every chart. Each chart comes with the table of the values it draws
(:func:`figure_table`, built from the figure itself, so the two cannot disagree), shown under
it: nothing is available only as a picture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from alsrwe.domain.alsfrs import MAX_ITEM_SCORE, MAX_TOTAL
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.store.reads.patient_file import PatientFile

Figure = dict[str, Any]

NFL_LABELS = {
    MeasurementKind.NFL_SERUM: "serum NfL",
    MeasurementKind.NFL_PLASMA: "plasma NfL",
    MeasurementKind.NFL_CSF: "CSF NfL",
}
VITAL_CAPACITY_LABELS = {
    MeasurementKind.SVC_PERCENT: "SVC % predicted",
    MeasurementKind.FVC_PERCENT: "FVC % predicted",
}
DOMAINS = ("bulbar", "fine_motor", "gross_motor", "respiratory")
DOMAIN_MAX = 3 * MAX_ITEM_SCORE
DOSE_LINE = {"color": "#6b7280", "width": 1, "dash": "dot"}


def _dates(days: Sequence[dt.date]) -> list[str]:
    return [day.isoformat() for day in days]


def _trace(name: str, days: Sequence[dt.date], values: Sequence[float], **style: Any) -> Figure:
    return {"type": "scatter", "mode": "lines+markers", "name": name, "x": _dates(days),
            "y": list(values), **style}


def _figure(title: str, y_axis: Figure, traces: list[Figure], doses: list[dt.date],
            **layout: Any) -> Figure:
    shapes = [
        {"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
         "line": DOSE_LINE, "layer": "below"}
        for day in _dates(doses)
    ]
    return {
        "data": traces,
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": "date"}, "type": "date"},
            "yaxis": y_axis,
            "shapes": shapes,
            "legend": {"orientation": "h", "y": -0.25},
            "margin": {"l": 60, "r": 60, "t": 50, "b": 60},
            "height": 360,
            **layout,
        },
    }


def alsfrs_figure(record: PatientFile) -> Figure | None:
    """Clinic-rated ALSFRS-R total (left axis, 0-48) and domains (right axis, 0-12); the
    patient's self-reports are separate points, never joined to the clinic line
    (docs/domain-rules.md §13), unreviewed ones marked as such."""
    if not record.assessments:
        return None
    rows = [r for r in record.assessments if not r.is_self_report]
    days = [r.date for r in rows]
    traces = []
    if rows:
        traces.append(_trace("total (clinic)", days, [r.total for r in rows], line={"width": 3}))
        traces += [
            _trace(name.replace("_", " "), days, [getattr(r, name) for r in rows], yaxis="y2",
                   line={"width": 1})
            for name in DOMAINS
        ]
    for label, chosen in (("self-report, reviewed", False), ("self-report, not reviewed", True)):
        points = [r for r in record.assessments if r.is_self_report and r.awaits_review is chosen]
        if points:
            traces.append(_trace(label, [r.date for r in points], [r.total for r in points],
                                 mode="markers",
                                 marker={"size": 9, "symbol": "circle-open" if chosen
                                         else "diamond-open"}))
    return _figure(
        "ALSFRS-R",
        {"title": {"text": f"total (0-{MAX_TOTAL})"}, "range": [0, MAX_TOTAL + 0.5]},
        traces,
        record.dose_dates,
        yaxis2={"title": {"text": f"domain (0-{DOMAIN_MAX})"}, "range": [0, DOMAIN_MAX + 0.5],
                "overlaying": "y", "side": "right"},
    )


def _measurement_figure(record: PatientFile, labels: dict[MeasurementKind, str], title: str,
                        y_axis: Figure) -> Figure | None:
    traces = []
    for kind, label in labels.items():
        values = [m for m in record.measurements if m.kind is kind]
        if values:
            traces.append(_trace(label, [m.date for m in values], [m.value for m in values]))
    return _figure(title, y_axis, traces, record.dose_dates) if traces else None


def nfl_figure(record: PatientFile) -> Figure | None:
    """Neurofilament light chain on a log axis (pg/mL), one line per matrix."""
    axis = {"title": {"text": "pg/mL (log scale)"}, "type": "log"}
    return _measurement_figure(record, NFL_LABELS, "Neurofilament light chain", axis)


def vital_capacity_figure(record: PatientFile) -> Figure | None:
    """Slow and forced vital capacity, % of predicted."""
    axis = {"title": {"text": "% predicted"}, "rangemode": "tozero"}
    return _measurement_figure(record, VITAL_CAPACITY_LABELS, "Vital capacity", axis)


@dataclass(frozen=True, slots=True)
class ChartTable:
    """The values a chart draws, one row per date (oldest first), formatted for a page."""

    caption: str
    columns: tuple[str, ...]
    """``Date``, then one column per line of the chart (its legend name)."""
    rows: tuple[tuple[str, ...], ...]
    """Cells as text; empty where a line has no value on that date."""


class Chart(NamedTuple):
    """One chart of the patient page: its element id, description, figure and values."""

    key: str
    description: str
    figure: Figure
    table: ChartTable


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _unit(axis: Figure) -> str:
    """An axis title as a unit for a table caption (a log scale changes nothing in a table)."""
    text: str = axis.get("title", {}).get("text", "")
    return text.replace(" (log scale)", "")


def figure_table(figure: Figure) -> ChartTable:
    """The table of the values behind ``figure``: its text alternative."""
    traces, layout = figure["data"], figure["layout"]
    by_trace: list[dict[str, list[str]]] = []
    for trace in traces:
        values: dict[str, list[str]] = {}
        for day, value in zip(trace["x"], trace["y"], strict=True):
            values.setdefault(day, []).append(_cell(value))  # two on one day: both shown
        by_trace.append(values)
    dates = sorted({day for values in by_trace for day in values})
    units = [_unit(layout[name]) for name in ("yaxis", "yaxis2") if name in layout]
    caption = f"{layout['title']['text']} by date: {'; '.join(u for u in units if u)}"
    return ChartTable(
        caption=caption,
        columns=("Date", *(t["name"] for t in traces)),
        rows=tuple((day, *(", ".join(values.get(day, [])) for values in by_trace))
                   for day in dates),
    )


def patient_figures(record: PatientFile) -> list[Chart]:
    """The charts that have data, each with its id, description, figure and table."""
    candidates = (
        ("chart-alsfrs", "ALSFRS-R total and domain scores over time", alsfrs_figure(record)),
        ("chart-nfl", "Neurofilament light chain over time, log scale", nfl_figure(record)),
        ("chart-vc", "Vital capacity over time", vital_capacity_figure(record)),
    )
    return [Chart(key, text, figure, figure_table(figure))
            for key, text, figure in candidates if figure is not None]


__all__ = ["Chart", "ChartTable", "alsfrs_figure", "figure_table", "nfl_figure",
           "patient_figures", "vital_capacity_figure"]
