"""Figures of the cohort report (matplotlib, no browser script needed).

Every function takes plain frames and returns a :class:`ReportFigure`: its file stem, its
caption and the figure drawn as SVG (inline in the report, so it opens offline) and as PNG
(for journals that want raster files). Both are written without timestamps, so a re-run of
the same data gives the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

MAX_LINES = 400
"""Spaghetti plots draw at most this many patients (a seeded sample), to stay readable."""


PNG_DPI = 200


@dataclass(frozen=True, slots=True)
class ReportFigure:
    """A figure as the report numbers, captions and exports it (``key`` names its files)."""

    key: str
    caption: str
    svg: str
    png: bytes


def render(figure: Figure, key: str, caption: str) -> ReportFigure:
    """Draw ``figure`` as SVG (ids seeded by ``key``, no date) and PNG, then close it."""
    with plt.rc_context({"svg.hashsalt": key}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    raster = io.BytesIO()
    figure.savefig(raster, format="png", dpi=PNG_DPI, bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return ReportFigure(key, caption, text[text.index("<svg"):], raster.getvalue())


def sampled_note(frame: pd.DataFrame, key: str = "patient_id") -> str:
    """A caption's note when a spaghetti plot shows a sample of the patients."""
    total = frame[key].nunique()
    return (f" A seeded random sample of {MAX_LINES} of the {total} patients is drawn."
            if total > MAX_LINES else "")


def _sample(frame: pd.DataFrame, key: str, seed: int = 1) -> pd.DataFrame:
    ids = frame[key].drop_duplicates()
    if len(ids) > MAX_LINES:
        ids = ids.sample(MAX_LINES, random_state=seed)
    return frame[frame[key].isin(set(ids))]


def spaghetti(frame: pd.DataFrame, *, key: str, caption: str, x: str, y: str, title: str,
              xlabel: str, ylabel: str, log_y: bool = False,
              mark_zero: str | None = None) -> ReportFigure:
    """One line per patient (``patient_id``), optionally a vertical line at x = 0; the
    caption says so when only a sample of the patients is drawn."""
    figure, axis = plt.subplots(figsize=(7, 4))
    shown = _sample(frame.dropna(subset=[x, y]), "patient_id")
    for _, rows in shown.sort_values(x).groupby("patient_id"):
        axis.plot(rows[x], rows[y], color="#1f5f8b", alpha=0.25, linewidth=0.8)
    if mark_zero:
        axis.axvline(0, color="#b03a2e", linestyle="--", linewidth=1.2, label=mark_zero)
        axis.legend(loc="best", frameon=False)
    if log_y:
        axis.set_yscale("log")
    axis.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axis.grid(alpha=0.3)
    return render(figure, key, caption + sampled_note(frame.dropna(subset=[x, y])))


def paired_rates(frame: pd.DataFrame, *, key: str, caption: str, before: str, after: str,
                 title: str) -> ReportFigure:
    """Each patient's rate of decline before vs on treatment, with the identity line."""
    figure, axis = plt.subplots(figsize=(4.8, 4.8))
    data = frame.dropna(subset=[before, after])
    axis.scatter(data[before], data[after], s=12, alpha=0.6, color="#1f5f8b")
    if not data.empty:
        top = float(np.nanmax(data[[before, after]].to_numpy()))
        low = float(np.nanmin(data[[before, after]].to_numpy()))
        axis.plot([low, top], [low, top], color="grey", linewidth=1, label="no change")
        axis.legend(frameon=False)
    axis.set(title=title, xlabel="points/month before treatment",
             ylabel="points/month on treatment")
    axis.grid(alpha=0.3)
    return render(figure, key, caption)


def survival_curves(curves: pd.DataFrame, *, key: str, caption: str, title: str,
                    xlabel: str) -> ReportFigure:
    """Kaplan–Meier step curves with CI bands: columns group, time, survival, lower, upper."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for group, rows in curves.groupby("group", sort=False):
        rows = rows.sort_values("time")
        axis.step(rows["time"], rows["survival"], where="post", label=str(group))
        if {"lower", "upper"} <= set(rows.columns):
            axis.fill_between(rows["time"], rows["lower"], rows["upper"], step="post",
                              alpha=0.15)
    axis.set(title=title, xlabel=xlabel, ylabel="event-free probability", ylim=(0, 1.02))
    axis.legend(frameon=False)
    axis.grid(alpha=0.3)
    return render(figure, key, caption)
