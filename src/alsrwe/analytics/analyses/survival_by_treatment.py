"""Survival of treated vs untreated patients without immortal time: Simon–Makuch and landmark.

Comparing "ever treated" with "never treated" from diagnosis credits the treated with the time
they had to survive to be treated (immortal time). Two standard remedies, both on the
per-patient rows of :mod:`alsrwe.analytics.analyses.survival` (times here in months):

* **Simon–Makuch** (Simon & Makuch, Stat Med 1984;3:35-44): a product-limit estimate over
  time-dependent risk sets. A patient is in the untreated risk set from entry until the first
  dose and in the treated risk set from then on, so the two curves are Kaplan–Meier estimates
  with delayed entry over the untreated intervals ``(entry, dose]`` and the treated intervals
  ``(dose, stop]`` (:func:`treatment_intervals`).
* **Landmark** (Anderson, Cain & Gelber, J Clin Oncol 1983;1:710-719): patients event-free and
  under observation at the landmark are grouped by whether they were treated by then and
  followed from the landmark (ordinary Kaplan–Meier and log-rank); later starters stay in the
  untreated group, and events before the landmark are not counted.

Numbers at risk are counted at regular times: at τ > 0 the patients with entry < τ ≤ stop (the
Kaplan–Meier risk set, as R's ``summary.survfit(times =)`` reports ``n.risk``); at τ = 0 those
under observation at the origin (entry ≤ 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from alsrwe.analytics.analyses.results import Attrition, frame_records, json_safe
from alsrwe.analytics.analyses.survival_estimators import KaplanMeier, kaplan_meier
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

UNTREATED, TREATED = "untreated", "treated"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def treatment_intervals(rows: pd.DataFrame, covariates: Sequence[str] = ()) -> pd.DataFrame:
    """Split each patient's (entry, stop] at the first dose: untreated before, treated after."""
    out = []
    for r in _records(rows):
        base = {c: r[c] for c in covariates}
        dose, entry, stop, event = r["first_dose"], r["entry"], r["stop"], r["event"]
        if dose is None or pd.isna(dose) or dose >= stop:
            out.append({"id": r["id"], "start": entry, "stop": stop, "event": event,
                        "treated": 0.0, **base})
            continue
        if dose > entry:
            out.append({"id": r["id"], "start": entry, "stop": dose, "event": 0,
                        "treated": 0.0, **base})
        out.append({"id": r["id"], "start": max(entry, dose), "stop": stop, "event": event,
                    "treated": 1.0, **base})
    return pd.DataFrame(out, columns=["id", "start", "stop", "event", "treated", *covariates])


def from_origin(rows: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Rows (days from onset, with ``diagnosis``) re-timed in months from ``origin``.

    From diagnosis, patients without a diagnosis date or with the event before it are left
    out, and registry entry before diagnosis counts as entry at diagnosis.
    """
    zero = (rows["diagnosis"] if origin == "diagnosis"
            else pd.Series(0.0, index=rows.index)).astype(np.float64)
    kept = rows[zero.notna() & (rows["stop"] > zero)]
    zero = zero[kept.index]
    return pd.DataFrame({
        "id": kept["id"], "event": kept["event"].astype(np.int64),
        "entry": (kept["entry"] - zero).clip(lower=0) / DAYS_PER_MONTH,
        "stop": (kept["stop"] - zero) / DAYS_PER_MONTH,
        "first_dose": (kept["first_dose"].astype(np.float64) - zero) / DAYS_PER_MONTH,
    }).reset_index(drop=True)


def numbers_at_risk(entry: npt.ArrayLike, stop: npt.ArrayLike,
                    times: Sequence[float]) -> list[int]:
    """Patients at risk at each time: entry < τ ≤ stop, and entry ≤ 0 < stop at τ = 0."""
    start, end = np.asarray(entry, np.float64), np.asarray(stop, np.float64)
    counts = []
    for tau in times:
        entered = start <= 0 if tau == 0 else start < tau
        counts.append(int(np.sum(entered & (end >= tau) & (end > 0))))
    return counts


def risk_times(stop: npt.ArrayLike, every: float) -> list[float]:
    """0, every, 2·every, … up to the longest follow-up."""
    longest = float(np.max(np.asarray(stop, np.float64), initial=0.0))
    return [every * k for k in range(int(math.floor(longest / every)) + 1)]


@dataclass(frozen=True)
class LogRank:
    """The log-rank test (k groups, hypergeometric variance): χ², df, p, observed, expected."""

    statistic: float
    df: int
    p: float
    observed: dict[str, int]
    expected: dict[str, float]


def logrank(stop: npt.ArrayLike, event: npt.ArrayLike, group: npt.ArrayLike,
            entry: npt.ArrayLike | None = None) -> LogRank:
    """Log-rank test over the (entry, stop] risk sets; as lifelines' ``logrank_test`` and R's
    ``survdiff`` without delayed entry."""
    end = np.asarray(stop, np.float64)
    died = np.asarray(event, bool)
    labels = np.asarray(group).astype(str)
    start = np.full(end.shape, -np.inf) if entry is None else np.asarray(entry, np.float64)
    names = sorted(set(labels.tolist()))
    at_event = np.unique(end[died])
    risk = np.array([[np.sum((labels == g) & (start < t) & (end >= t)) for g in names]
                     for t in at_event], dtype=np.float64).reshape(-1, len(names))
    deaths = np.array([[np.sum((labels == g) & died & (end == t)) for g in names]
                       for t in at_event], dtype=np.float64).reshape(-1, len(names))
    n, d = risk.sum(axis=1), deaths.sum(axis=1)
    expected = (risk * (d / n)[:, None]).sum(axis=0)
    observed = deaths.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 1, d * (n - d) / (n * n * (n - 1)), 0.0)
    variance = (np.diag((risk * n[:, None] * scale[:, None]).sum(axis=0))
                - (risk * scale[:, None]).T @ risk)
    u = (observed - expected)[:-1]
    k = len(names) - 1
    statistic = math.nan if k < 1 else float(u @ np.linalg.pinv(variance[:-1, :-1]) @ u)
    p = math.nan if k < 1 else float(stats.chi2.sf(statistic, k))
    return LogRank(statistic, k, p, {g: int(o) for g, o in zip(names, observed, strict=True)},
                   {g: float(e) for g, e in zip(names, expected, strict=True)})


@dataclass(frozen=True)
class GroupComparison:
    """Kaplan–Meier curves per group (months from ``origin``) with numbers at risk.

    ``descriptive`` comparisons show curves and medians without confidence limits: the
    Simon–Makuch treated curve's pointwise limits covered S(12 months) in 42% (40 patients) to
    81% (300) of simulations, because its early risk sets hold a few patients and no event
    (docs/validation.md, "Coverage of the survival and safety intervals"); inference about
    treatment is the time-varying Cox model's."""

    method: str
    origin: str
    curves: dict[str, KaplanMeier]
    at_risk: pd.DataFrame  # group, months, at_risk
    logrank: LogRank | None
    attrition: Attrition
    descriptive: bool = False

    def medians(self) -> pd.DataFrame:
        shown = not self.descriptive
        return pd.DataFrame([{"group": g, "n": km.n, "events": km.events,
                              "median_months": km.median,
                              "lower_months": km.median_lower if shown else math.nan,
                              "upper_months": km.median_upper if shown else math.nan}
                             for g, km in self.curves.items()],
                            columns=["group", "n", "events", "median_months", "lower_months",
                                     "upper_months"])

    def curve_frame(self) -> pd.DataFrame:
        parts = [km.table.rename(columns={"time": "months"}).assign(group=g)
                 for g, km in self.curves.items()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe({
            "method": self.method, "origin": self.origin,
            "attrition": self.attrition.to_dict(), "medians": frame_records(self.medians()),
            "curves": frame_records(self.curve_frame()),
            "at_risk": frame_records(self.at_risk),
            "logrank": None if self.logrank is None else {
                "statistic": self.logrank.statistic, "df": self.logrank.df,
                "p": self.logrank.p, "observed": self.logrank.observed,
                "expected": self.logrank.expected},
        })
        return out


def _at_risk_frame(spells: dict[str, pd.DataFrame], times: list[float]) -> pd.DataFrame:
    rows = [{"group": g, "months": t, "at_risk": n}
            for g, s in spells.items()
            for t, n in zip(times, numbers_at_risk(s["start"], s["stop"], times), strict=True)]
    return pd.DataFrame(rows, columns=["group", "months", "at_risk"])


def _curves(spells: dict[str, pd.DataFrame], level: float) -> dict[str, KaplanMeier]:
    return {g: kaplan_meier(s["stop"], s["event"], s["start"], level)
            for g, s in spells.items() if not s.empty}


def simon_makuch(rows: pd.DataFrame, origin: str, every: float = 6.0,
                 level: float = 0.95) -> GroupComparison:
    """Untreated and treated curves over time-dependent risk sets (rows in months, module doc)."""
    attrition = Attrition(len(rows))
    intervals = treatment_intervals(rows)
    spells = {name: intervals[intervals["treated"] == flag]
              for name, flag in ((UNTREATED, 0.0), (TREATED, 1.0))}
    times = risk_times(rows["stop"], every)
    return GroupComparison("Simon–Makuch", origin, _curves(spells, level),
                           _at_risk_frame(spells, times), None, attrition, descriptive=True)


def landmark(rows: pd.DataFrame, origin: str, at_months: float, every: float = 6.0,
             level: float = 0.95) -> GroupComparison:
    """Patients event-free and observed at ``at_months``, by treatment by then (module doc)."""
    attrition = Attrition(len(rows))
    kept = rows[rows["stop"] > at_months]
    attrition.apply(f"event-free and followed beyond {at_months:g} months", len(kept))
    kept = kept[kept["entry"] <= at_months]
    attrition.apply(f"in the registry by {at_months:g} months", len(kept))
    treated = kept["first_dose"].notna() & (kept["first_dose"] <= at_months)
    since = pd.DataFrame({"start": 0.0, "stop": kept["stop"] - at_months,
                          "event": kept["event"], "group": np.where(treated, TREATED, UNTREATED)})
    spells = {g: since[since["group"] == g] for g in (UNTREATED, TREATED)}
    test = (logrank(since["stop"], since["event"], since["group"])
            if since["group"].nunique() == 2 and since["event"].sum() > 0 else None)
    times = risk_times(since["stop"], every)
    return GroupComparison("landmark", f"{at_months:g}-month landmark after {origin}",
                           _curves(spells, level), _at_risk_frame(spells, times), test, attrition)


__all__ = ["TREATED", "UNTREATED", "GroupComparison", "LogRank", "from_origin", "landmark",
           "logrank", "numbers_at_risk", "risk_times", "simon_makuch", "treatment_intervals"]
