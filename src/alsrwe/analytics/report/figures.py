"""Figures of the cohort report as inline SVG (matplotlib, no browser script needed).

Every function takes plain frames and returns an SVG string, so the report opens offline
and a figure can be re-drawn from the CSV written beside it.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

MAX_LINES = 400
"""Spaghetti plots draw at most this many patients (a seeded sample), to stay readable."""


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _sample(frame: pd.DataFrame, key: str, seed: int = 1) -> pd.DataFrame:
    ids = frame[key].drop_duplicates()
    if len(ids) > MAX_LINES:
        ids = ids.sample(MAX_LINES, random_state=seed)
    return frame[frame[key].isin(set(ids))]


def spaghetti(frame: pd.DataFrame, *, x: str, y: str, title: str, xlabel: str, ylabel: str,
              log_y: bool = False, mark_zero: str | None = None) -> str:
    """One line per patient (``patient_id``), optionally a vertical line at x = 0."""
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
    return _svg(figure)


def paired_rates(frame: pd.DataFrame, *, before: str, after: str, title: str) -> str:
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
    return _svg(figure)


def survival_curves(curves: pd.DataFrame, *, title: str, xlabel: str) -> str:
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
    return _svg(figure)
