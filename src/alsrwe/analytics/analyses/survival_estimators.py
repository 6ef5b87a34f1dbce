"""Kaplan–Meier curves and Cox models, checked against R's survival package.

Confidence limits of the Kaplan–Meier curve are R survival's default ``conf.type = "log"``:
``S·exp(±z·σ)``, σ² the Greenwood sum Σ d/(n(n−d)); medians and their limits are read from the
curves as R's ``quantile.survfit`` does (a curve exactly at 0.5 takes the midpoint to the next
event time). Delayed entry puts a subject at risk on (entry, stop]. Cox models are lifelines'
(Efron ties, R's ``coxph`` default), with Wald limits for the hazard ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from lifelines import CoxPHFitter, CoxTimeVaryingFitter
from scipy import stats

from alsrwe.analytics.analyses.results import AnalysisError, json_safe

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan–Meier curve with Greenwood SEs and log-transformed limits (R's default)."""

    table: pd.DataFrame  # time, at_risk, events, survival, se, lower, upper
    median: float
    median_lower: float
    median_upper: float
    n: int
    events: int
    level: float

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """S(t), its SE and limits at ``times`` (the step function, right-continuous)."""
        t = self.table["time"].to_numpy()
        idx = np.searchsorted(t, np.asarray(times, dtype=np.float64), side="right") - 1
        rows = []
        for when, i in zip(times, idx, strict=True):
            row = self.table.iloc[i] if i >= 0 else None
            rows.append({"time": when,
                         "survival": 1.0 if row is None else row["survival"],
                         "se": 0.0 if row is None else row["se"],
                         "lower": 1.0 if row is None else row["lower"],
                         "upper": 1.0 if row is None else row["upper"]})
        return pd.DataFrame(rows)


def _quantile(times: FloatArray, curve: FloatArray, p: float = 0.5) -> float:
    """First time the curve is ≤ p (R's quantile.survfit, midpoint on an exact hit)."""
    tol = math.sqrt(np.finfo(np.float64).eps)
    ok = ~np.isnan(curve)
    hits = np.flatnonzero(ok & (curve <= p + tol))
    if hits.size == 0:
        return math.nan
    first = int(hits[0])
    if abs(curve[first] - p) < tol:
        lower = np.flatnonzero(ok & (curve < curve[first] - tol))
        if lower.size:
            return float((times[first] + times[lower[0]]) / 2.0)
    return float(times[first])


def kaplan_meier(durations: Sequence[float] | npt.ArrayLike, events: npt.ArrayLike,
                 entry: npt.ArrayLike | None = None, level: float = 0.95) -> KaplanMeier:
    """Kaplan–Meier estimate; ``entry`` (delayed entry) puts a subject at risk on (entry, stop].

    Matches R ``survfit(Surv(time, status) ~ 1)`` (or ``Surv(entry, time, status)``), with
    ``conf.type = "log"``, R's default.
    """
    stop = np.asarray(durations, dtype=np.float64)
    died = np.asarray(events, dtype=bool)
    start = np.full(stop.shape, -np.inf) if entry is None else np.asarray(entry, np.float64)
    if stop.size == 0 or stop.shape != died.shape or stop.shape != start.shape:
        raise AnalysisError("durations", "needs equally long, non-empty durations and events")
    if np.any(~np.isfinite(stop)) or np.any(start >= stop):
        raise AnalysisError("durations", "must be finite and after entry")
    times, index = np.unique(stop, return_inverse=True)
    ordered_stop, ordered_start = np.sort(stop), np.sort(start)
    # at risk at t: stop ≥ t minus start ≥ t (start < stop, so those are a subset)
    at_risk = ((stop.size - np.searchsorted(ordered_stop, times, side="left"))
               - (start.size - np.searchsorted(ordered_start, times, side="left"))
               ).astype(np.float64)
    deaths = np.bincount(index, weights=died.astype(np.float64), minlength=times.size)
    return kaplan_meier_from_counts(times, at_risk, deaths, n=int(stop.size), level=level)


def kaplan_meier_from_counts(times: npt.ArrayLike, at_risk: npt.ArrayLike,
                             events: npt.ArrayLike, *, n: int,
                             level: float = 0.95) -> KaplanMeier:
    """Kaplan–Meier curve from numbers at risk and events at increasing ``times``.

    The estimator of :func:`kaplan_meier` once the risk sets are counted, so that a curve from
    counts summed over sites is computed as a local one; ``n`` is the number of subjects.
    """
    grid: FloatArray = np.asarray(times, dtype=np.float64)
    risk: FloatArray = np.asarray(at_risk, dtype=np.float64)
    deaths: FloatArray = np.asarray(events, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or risk.shape != grid.shape or deaths.shape != grid.shape:
        raise AnalysisError("times", "needs equally long, non-empty times, at_risk and events")
    if (np.any(~np.isfinite(grid)) or np.any(np.diff(grid) <= 0) or np.any(deaths < 0)
            or np.any(deaths > risk)):
        raise AnalysisError("times", "must increase, with 0 ≤ events ≤ at_risk")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(risk > 0, 1.0 - deaths / risk, 1.0)
        surv: FloatArray = np.cumprod(factor).astype(np.float64)
        green = np.cumsum(np.where(deaths > 0, deaths / (risk * (risk - deaths)), 0.0))
        sigma = np.sqrt(green)
        z = float(stats.norm.ppf(0.5 + level / 2.0))
        dead = surv <= 0
        lower: FloatArray = np.where(dead, np.nan, surv * np.exp(-z * sigma))
        upper: FloatArray = np.where(dead, np.nan, np.minimum(1.0, surv * np.exp(z * sigma)))
        se = np.where(np.isfinite(sigma), surv * sigma, np.nan)
    table = pd.DataFrame({"time": grid, "at_risk": risk.astype(np.int64),
                          "events": deaths.astype(np.int64), "survival": surv, "se": se,
                          "lower": lower, "upper": upper})
    return KaplanMeier(table, _quantile(grid, surv), _quantile(grid, lower),
                       _quantile(grid, upper), int(n), int(deaths.sum()), level)


@dataclass(frozen=True)
class CoxFit:
    """A Cox model: coefficients, SEs, hazard ratios with Wald limits, log-likelihood."""

    summary: pd.DataFrame  # index term; coef, se, hr, lower, upper, p
    log_likelihood: float
    n: int
    events: int

    def to_dict(self) -> dict[str, Any]:
        terms = {str(t): json_safe(dict(row)) for t, row in self.summary.iterrows()}
        return {"terms": terms, "log_likelihood": json_safe(self.log_likelihood),
                "n": self.n, "events": self.events}


def _summary(fitter: Any, level: float) -> pd.DataFrame:
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    coef = fitter.params_.astype(np.float64)
    se = fitter.standard_errors_.astype(np.float64)
    return pd.DataFrame({
        "coef": coef, "se": se, "hr": np.exp(coef),
        "lower": np.exp(coef - z * se), "upper": np.exp(coef + z * se),
        "p": 2.0 * stats.norm.sf(np.abs(coef / se)),
    })


def cox(df: pd.DataFrame, duration: str, event: str, covariates: Sequence[str],
        ties: str = "efron", entry: str | None = None, level: float = 0.95) -> CoxFit:
    """Cox proportional hazards by lifelines' CoxPHFitter (Efron ties, as R's coxph default)."""
    if ties != "efron":
        raise AnalysisError("ties", "only Efron's method is available (lifelines, R's default)")
    columns = [duration, event, *covariates, *([entry] if entry else [])]
    fitter = CoxPHFitter(alpha=1.0 - level)
    fitter.fit(df[columns], duration_col=duration, event_col=event, entry_col=entry,
               fit_options={"precision": 1e-12, "max_steps": 200})
    return CoxFit(_summary(fitter, level), float(fitter.log_likelihood_), len(df),
                  int(df[event].sum()))


def cox_time_varying(intervals: pd.DataFrame, covariates: Sequence[str],
                     level: float = 0.95) -> CoxFit:
    """Cox model on counting-process rows (id, start, stop, event, covariates…)."""
    fitter = CoxTimeVaryingFitter(alpha=1.0 - level)
    fitter.fit(intervals[["id", "start", "stop", "event", *covariates]], event_col="event",
               start_col="start", stop_col="stop", id_col="id",
               fit_options={"precision": 1e-12, "max_steps": 200})
    return CoxFit(_summary(fitter, level), float(fitter.log_likelihood_),
                  int(intervals["id"].nunique()), int(intervals["event"].sum()))


__all__ = ["CoxFit", "KaplanMeier", "cox", "cox_time_varying", "kaplan_meier",
           "kaplan_meier_from_counts"]
