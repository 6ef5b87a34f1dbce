"""Plotly figures of a patient's course, as plain figure dicts (Plotly's JSON schema).

The page draws them with Plotly.js served from the installed ``plotly`` package. Building the
dicts directly (not through ``plotly.graph_objects``, whose validation costs seconds for a
figure with many dose markers) keeps the patient page fast. Dose dates are dotted vertical
lines on every chart; the same numbers are in the tables below each chart, so nothing is
available only as a picture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

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
    """ALSFRS-R total (left axis, 0-48) and the four domains (right axis, 0-12)."""
    rows = record.assessments
    if not rows:
        return None
    days = [r.date for r in rows]
    traces = [_trace("total", days, [r.total for r in rows], line={"width": 3})]
    traces += [
        _trace(name.replace("_", " "), days, [getattr(r, name) for r in rows], yaxis="y2",
               line={"width": 1})
        for name in DOMAINS
    ]
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


def patient_figures(record: PatientFile) -> list[tuple[str, str, Figure]]:
    """(element id, accessible description, figure) for each chart that has data."""
    candidates = (
        ("chart-alsfrs", "ALSFRS-R total and domain scores over time", alsfrs_figure(record)),
        ("chart-nfl", "Neurofilament light chain over time, log scale", nfl_figure(record)),
        ("chart-vc", "Vital capacity over time", vital_capacity_figure(record)),
    )
    return [(key, text, figure) for key, text, figure in candidates if figure is not None]


__all__ = ["alsfrs_figure", "nfl_figure", "patient_figures", "vital_capacity_figure"]
