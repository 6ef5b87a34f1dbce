"""Figures of the cohort report (matplotlib, no browser script needed).

Every function takes plain frames and returns a :class:`ReportFigure`: its file stem, its
caption and the figure drawn as SVG (inline in the report, so it opens offline) and as PNG
(for journals that want raster files). Both are written without timestamps, so a re-run of
the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from alsrwe.analytics.drawing import Drawing, PlainLogTicks, draw  # noqa: E402

MAX_LINES = 400
"""Spaghetti plots draw at most this many patients (a seeded sample), to stay readable."""


MAX_RISK_COLUMNS = 13
"""A numbers-at-risk table shows at most this many times (every k-th of those given)."""


@dataclass(frozen=True, slots=True)
class ReportFigure:
    """A figure as the report numbers, captions and exports it (``key`` names its files)."""

    key: str
    caption: str
    drawing: Drawing

    @property
    def svg(self) -> str:
        return self.drawn()[0]

    @property
    def png(self) -> bytes:
        png = self.drawn()[1]
        if png is None:
            raise ValueError(f"figure {self.key} was drawn as SVG only (inside svg_only)")
        return png

    def drawn(self) -> Drawing:
        """The SVG and the PNG (``None`` when drawn as SVG only)."""
        return self.drawing


_SVG_ONLY: ContextVar[bool] = ContextVar("figures_svg_only", default=False)


@contextmanager
def svg_only() -> Iterator[None]:
    """Figures rendered inside the block are drawn as SVG only (a web page shows no PNG)."""
    token = _SVG_ONLY.set(True)
    try:
        yield
    finally:
        _SVG_ONLY.reset(token)


def render(figure: Figure, key: str, caption: str) -> ReportFigure:
    """Draw ``figure`` as SVG and PNG (:func:`~alsrwe.analytics.drawing.draw`); inside
    :func:`svg_only`, as SVG only."""
    return ReportFigure(key, caption, draw(figure, key, png=not _SVG_ONLY.get()))


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
                    xlabel: str, at_risk: pd.DataFrame | None = None) -> ReportFigure:
    """Kaplan–Meier step curves with CI bands (columns group, time, survival, lower, upper),
    and, given ``at_risk`` (group, time, at_risk), a numbers-at-risk table under the axes."""
    groups = list(dict.fromkeys(curves["group"]))
    rows_below = len(groups) + 1 if at_risk is not None else 0
    figure = plt.figure(figsize=(7, 4 + 0.28 * rows_below))
    grid = figure.add_gridspec(2, 1, height_ratios=[4, 0.28 * rows_below + 1e-9], hspace=0.35)
    axis = figure.add_subplot(grid[0])
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, group in enumerate(groups):
        rows = curves[curves["group"] == group].sort_values("time")
        colour = colours[index % len(colours)]
        # a curve starts at 1 at its origin (time 0), as in every Kaplan–Meier plot
        time = np.concatenate([[0.0], rows["time"].to_numpy(np.float64)])
        axis.step(time, np.concatenate([[1.0], rows["survival"].to_numpy(np.float64)]),
                  where="post", label=str(group), color=colour)
        if {"lower", "upper"} <= set(rows.columns):
            axis.fill_between(time, np.concatenate([[1.0], rows["lower"].to_numpy(np.float64)]),
                              np.concatenate([[1.0], rows["upper"].to_numpy(np.float64)]),
                              step="post", alpha=0.15, color=colour)
    axis.set(title=title, xlabel=xlabel, ylabel="event-free probability", ylim=(0, 1.02))
    axis.set_xlim(left=0)
    axis.legend(frameon=False)
    axis.grid(alpha=0.3)
    if at_risk is not None:
        ticks = sorted(set(at_risk["time"].astype(float)))
        ticks = ticks[::-(-len(ticks) // MAX_RISK_COLUMNS)]  # every k-th: ≤ 13 columns
        at_risk = at_risk[at_risk["time"].astype(float).isin(ticks)]
        axis.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=8)
        _risk_table(figure.add_subplot(grid[1], sharex=axis), at_risk, groups, colours)
    return render(figure, key, caption)


def _risk_table(table: Axes, at_risk: pd.DataFrame, groups: list[str],
                colours: list[str]) -> None:
    """Numbers at risk, one row per group, at the times of ``at_risk`` (under the curves)."""
    table.set_ylim(len(groups) - 0.5, -0.5)
    table.set_yticks(range(len(groups)), [str(g) for g in groups])
    for index, group in enumerate(groups):
        rows = at_risk[at_risk["group"] == group]
        for when, count in zip(rows["time"], rows["at_risk"], strict=True):
            table.text(float(when), index, str(int(count)), ha="center", va="center",
                       fontsize=8, color=colours[index % len(colours)])
    table.set_title("number at risk", fontsize=9, loc="left")
    table.tick_params(axis="x", labelbottom=False, length=0)
    table.tick_params(axis="y", length=0, labelsize=8, pad=12)
    for side in ("top", "right", "bottom", "left"):
        table.spines[side].set_visible(False)


def forest_plot(rows: pd.DataFrame, *, key: str, caption: str, title: str, xlabel: str,
                null: float = 0.0, null_label: str = "no effect") -> ReportFigure:
    """Estimates with CIs, one row per ``label`` (top to bottom), with n and a vertical null
    line; rows without an estimate show their ``note`` (e.g. "too few") instead."""
    count = len(rows)
    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.32 * count))
    y = np.arange(count)
    estimate = rows["estimate"].to_numpy(np.float64)
    lower, upper = rows["lower"].to_numpy(np.float64), rows["upper"].to_numpy(np.float64)
    shown = np.isfinite(estimate)
    bold = rows.get("overall", pd.Series(False, index=rows.index)).to_numpy(bool)
    axis.errorbar(estimate[shown], y[shown],
                  xerr=[np.nan_to_num(estimate - lower)[shown],
                        np.nan_to_num(upper - estimate)[shown]],
                  fmt="none", ecolor="#1f5f8b", elinewidth=1.2, capsize=2)
    axis.scatter(estimate[shown & ~bold], y[shown & ~bold], marker="s", color="#1f5f8b",
                 zorder=3)
    axis.scatter(estimate[shown & bold], y[shown & bold], marker="D", s=50, color="#b03a2e",
                 zorder=3)
    axis.axvline(null, color="grey", linestyle="--", linewidth=1, label=null_label)
    notes = rows.get("note", pd.Series("", index=rows.index)).fillna("").astype(str)
    for i in np.flatnonzero(~shown):
        axis.text(null, float(y[i]), f" {notes.iloc[i] or 'no estimate'}", va="center",
                  fontsize=8, color="grey")
    for i in np.flatnonzero(shown & ~(np.isfinite(lower) & np.isfinite(upper))):
        axis.text(float(estimate[i]), float(y[i]), f"  {notes.iloc[i] or 'no interval'}",
                  va="center", fontsize=8, color="grey")
    labels = [f"{label}  (n = {int(n)})" for label, n in zip(rows["label"], rows["n"],
                                                             strict=True)]
    axis.set_yticks(y, labels)
    axis.set_ylim(count - 0.5, -0.5)
    axis.set(title=title, xlabel=xlabel)
    axis.legend(frameon=False, loc="upper left", bbox_to_anchor=(0.0, -0.12), fontsize=8)
    axis.grid(alpha=0.3, axis="x")
    return render(figure, key, caption)


# --- responders, early vs delayed start, NfL windows, safety, carriers (issue 12) ------------


def change_waterfall(frame: pd.DataFrame, *, key: str, caption: str, change: str, group: str,
                     colours: dict[str, str], cuts: tuple[float, ...], title: str,
                     ylabel: str) -> ReportFigure:
    """One bar per patient (unnamed), sorted from the largest fall to the largest gain and
    coloured by ``group`` (legend with counts); dashed lines at the ``cuts`` between classes.
    A dot marks each bar's tip, so that a change of 0 is visible too."""
    from matplotlib.patches import Patch

    figure, axis = plt.subplots(figsize=(7, 4))
    data = frame.dropna(subset=[change]).sort_values(change, kind="stable")
    positions = np.arange(len(data))
    colour = [colours.get(str(g), "grey") for g in data[group]]
    axis.bar(positions, data[change], width=0.8, color=colour)
    axis.scatter(positions, data[change], s=10, color=colour, zorder=3)
    axis.axhline(0, color="black", linewidth=0.8)
    for cut in cuts:
        axis.axhline(cut, color="grey", linestyle="--", linewidth=0.9)
    axis.set_xticks([])
    counts = data[group].astype(str).value_counts()
    axis.legend(handles=[Patch(color=c, label=f"{name}: {int(counts.get(name, 0))}")
                         for name, c in colours.items()], frameon=False, loc="lower right")
    axis.set(title=title, xlabel=f"patients, sorted by change (n = {len(data)})", ylabel=ylabel)
    axis.grid(axis="y", alpha=0.3)
    return render(figure, key, caption)


def group_strips(frame: pd.DataFrame, summary: pd.DataFrame, *, key: str, caption: str,
                 group: str, value: str, title: str, ylabel: str) -> ReportFigure:
    """Each patient's ``value`` as a dot per group (seeded horizontal jitter), beside the group
    mean and its confidence interval from ``summary`` (columns group, label, mean, lower,
    upper; one row per group, in the order drawn)."""
    figure, axis = plt.subplots(figsize=(5.6, 4.4))
    rng = np.random.default_rng(1)
    colours = ("#1f5f8b", "#c0392b", "#7d8c2e", "#8e44ad")
    means = summary["mean"].to_numpy(np.float64)
    lows, highs = summary["lower"].to_numpy(np.float64), summary["upper"].to_numpy(np.float64)
    for i, name in enumerate(summary["group"]):
        values = frame.loc[frame[group] == name, value].dropna().to_numpy(np.float64)
        axis.scatter(i - 0.12 + rng.uniform(-0.1, 0.1, values.size), values, s=16, alpha=0.55,
                     color=colours[i % len(colours)])
        errors = np.nan_to_num([[means[i] - lows[i]], [highs[i] - means[i]]])
        axis.errorbar([i + 0.18], [means[i]], yerr=errors, fmt="D", color="black",
                      capsize=5, markersize=5)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set_xticks(range(len(summary)), [str(label) for label in summary["label"]])
    axis.set_xlim(-0.6, len(summary) - 0.4)
    axis.set(title=title, ylabel=ylabel)
    axis.grid(axis="y", alpha=0.3)
    return render(figure, key, caption)


def _plain_log_ticks(axes: Axes, which: str) -> None:
    """Log-axis ticks as plain numbers (0.3, 1, 10), not powers of ten; minor ticks at 2, 3
    and 5 × 10^k are labelled too when the axis spans under two decades, else at 2 and 5."""
    axis = axes.xaxis if which == "x" else axes.yaxis
    axis.set_major_formatter(PlainLogTicks(minor=False))
    axis.set_minor_formatter(PlainLogTicks(minor=True))


def ratios_by_window(per_patient: pd.DataFrame, summary: pd.DataFrame, *, key: str,
                     caption: str, title: str, ylabel: str) -> ReportFigure:
    """Each patient's ratio to baseline at the follow-up windows (grey lines; columns
    patient_id, week, ratio) and the geometric mean ratio with its CI per window (black;
    columns week, gmr, lower, upper), on a log axis with a line at 1 (no change)."""
    figure, axis = plt.subplots(figsize=(7, 4))
    shown = _sample(per_patient.dropna(subset=["ratio"]), "patient_id")
    for _, rows in shown.sort_values("week").groupby("patient_id"):
        axis.plot(rows["week"], rows["ratio"], color="#1f5f8b", alpha=0.3, linewidth=0.8,
                  marker="o", markersize=2.5)
    data = summary.dropna(subset=["gmr"])
    gmr = data["gmr"].to_numpy(float)
    errors = np.vstack([np.nan_to_num(gmr - data["lower"].to_numpy(float)),
                        np.nan_to_num(data["upper"].to_numpy(float) - gmr)])
    axis.errorbar(data["week"].to_numpy(float), gmr, yerr=errors, fmt="D-", color="black",
                  capsize=5,
                  markersize=5, linewidth=1.4, label="geometric mean ratio (95% CI)")
    axis.axhline(1, color="grey", linestyle="--", linewidth=0.9, label="no change")
    axis.set_yscale("log")
    _plain_log_ticks(axis, "y")
    axis.set_xticks(list(summary["week"]))
    axis.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axis.set(title=title, xlabel="weeks from the first dose", ylabel=ylabel)
    axis.grid(alpha=0.3)
    note = sampled_note(per_patient.dropna(subset=["ratio"]))
    return render(figure, key, caption + note)


def interval_dots(frame: pd.DataFrame, *, key: str, caption: str, label: str, estimate: str,
                  lower: str, upper: str, title: str, xlabel: str,
                  log_x: bool = False) -> ReportFigure:
    """Dot-and-whisker rows, the first row of ``frame`` on top. On a log axis a zero (an
    estimate or lower limit of 0 events) cannot be drawn: it is placed at the axis' left edge
    and marked with an open dot (estimate) or a left arrow (whisker)."""
    data = frame.reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.34 * max(len(data), 1)))
    y = np.arange(len(data))[::-1]
    est = data[estimate].to_numpy(float)
    low, high = data[lower].to_numpy(float), data[upper].to_numpy(float)
    if log_x:
        positive = np.concatenate([est[est > 0], low[low > 0], high[high > 0]])
        edge = float(positive.min()) / 2.0 if positive.size else 0.1
        zero_low, zero_est = low <= 0, est <= 0
        low, est = np.where(zero_low, edge, low), np.where(zero_est, edge, est)
        axis.set_xscale("log")
        _plain_log_ticks(axis, "x")
        axis.scatter(low[zero_low], y[zero_low], marker="<", color="#1f5f8b", s=22)
        axis.scatter(est[zero_est], y[zero_est], facecolors="white", edgecolors="#1f5f8b",
                     s=30, zorder=3)
        est_shown = ~zero_est
    else:
        est_shown = np.ones(len(data), dtype=bool)
    axis.hlines(y, low, high, color="#1f5f8b", linewidth=1.6)
    axis.scatter(est[est_shown], y[est_shown], color="#1f5f8b", s=30, zorder=3)
    axis.set_yticks(y, [str(v) for v in data[label]])
    axis.set_ylim(-0.7, len(data) - 0.3)
    axis.set(title=title, xlabel=xlabel)
    axis.grid(axis="x", alpha=0.3, which="both")
    return render(figure, key, caption)


def carrier_courses(values: pd.DataFrame, triggers: pd.DataFrame, *, key: str, caption: str,
                    level: float, title: str, xlabel: str, ylabel: str) -> ReportFigure:
    """One line per carrier (unnamed; columns patient_id, years, value), the trigger level as
    a dashed line and each carrier's first triggering value as a red cross (same columns)."""
    figure, axis = plt.subplots(figsize=(7, 4))
    shown = _sample(values.dropna(subset=["years", "value"]), "patient_id")
    alpha = 0.45 if shown["patient_id"].nunique() <= 50 else 0.2
    for _, rows in shown.sort_values("years").groupby("patient_id"):
        axis.plot(rows["years"], rows["value"], color="#1f5f8b", alpha=alpha, linewidth=0.9,
                  marker="o", markersize=2.5)
    axis.axhline(level, color="#b03a2e", linestyle="--", linewidth=1.1,
                 label=f"trigger level {level:g} pg/mL")
    if not triggers.empty:
        axis.scatter(triggers["years"], triggers["value"], marker="x", s=40, color="#b03a2e",
                     zorder=3, label=f"first trigger ({len(triggers)})")
    top = float(values["value"].max()) if not values.empty else level
    axis.set_ylim(0, 1.2 * max(level, top))
    axis.legend(frameon=False, loc="upper left")
    axis.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axis.grid(alpha=0.3)
    return render(figure, key, caption + sampled_note(values.dropna(subset=["years", "value"])))
