"""Coverage of the survival and safety intervals the cohort report shows (issue 12).

Every replication simulates patients whose truth is known, runs the project's estimator and
records whether the 95% interval covers the truth. Times are in months.

* Kaplan–Meier (``kaplan_meier``, R's log-transformed Greenwood limits): event times
  exponential or Weibull (shape 1.5), median 24 months, censoring uniform on (0, 72) months;
  S(12), S(24), S(36) and the median (its limits read off the limit curves).
* Simon–Makuch (``simon_makuch``): entry uniform on (0, 6) months after diagnosis (left
  truncated: only patients event-free at entry), Weibull event times (shape 1.5, median 30
  months), half the patients start treatment at entry + uniform (0, 24) months, censoring at
  entry + uniform (6, 60) months. Treatment has NO effect, so both curves estimate the same
  S(t).
* Time-varying Cox (``treatment_intervals`` + ``cox_time_varying``, as ``survival()`` fits
  it): time from onset, registry entry uniform on (0, 12) months (left truncated), exponential
  hazard (median 36 months), half the patients start at entry + uniform (0, 12) months and the
  hazard is then multiplied by the true HR (1.0 or 0.6); censoring at entry + uniform (12, 48).
  As in ``survival()``, no model is fitted with fewer than 5 events or without treated and
  untreated person-time.
* Safety rate (``incidence_rate``, exact Garwood limits): Poisson counts with 0.5, 2, 10 and
  30 expected events over 150 patient-years. The exact coverage Σ P(k)·[rate covered] is
  printed beside the simulated one.

"shown" is the share of replications in which the report shows the quantity (S(t) needs
follow-up to t; the median needs the curve to reach 0.5); coverage is over those. An upper
limit that never reaches 0.5 is an unbounded (NR) upper limit of the median.

    .venv/bin/python benchmarks/validate_survival_intervals.py --replications 1000 --seed 20240
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from alsrwe.analytics.analyses.safety import incidence_rate
from alsrwe.analytics.analyses.survival_by_treatment import simon_makuch, treatment_intervals
from alsrwe.analytics.analyses.survival_estimators import (
    KaplanMeier,
    cox_time_varying,
    kaplan_meier,
)

TIMES = (12.0, 24.0, 36.0)
Rng = np.random.Generator


@dataclass(frozen=True)
class Weibull:
    """Event times with S(t) = exp(−(t/scale)^shape), parameterised by the median."""

    shape: float
    median: float

    @property
    def scale(self) -> float:
        return self.median / math.log(2.0) ** (1.0 / self.shape)

    def survival(self, t: float) -> float:
        return math.exp(-((t / self.scale) ** self.shape))

    def draw(self, rng: Rng, size: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, size)

    def draw_after(self, rng: Rng, entry: np.ndarray) -> np.ndarray:
        """Event times conditional on T > entry (left truncation), by the inverse hazard."""
        cumulative = (entry / self.scale) ** self.shape + rng.exponential(1.0, entry.size)
        out: np.ndarray = self.scale * cumulative ** (1.0 / self.shape)
        return out


@dataclass
class Tally:
    """Coverage of one quantity in one scenario."""

    interval: str
    scenario: str
    n: int
    quantity: str
    truth: float
    runs: int = 0
    covered: int = 0
    low: int = 0  # the interval lies below the truth
    high: int = 0  # the interval lies above the truth
    widths: list[float] = field(default_factory=list)

    @property
    def shown(self) -> int:
        return self.covered + self.low + self.high

    @property
    def coverage(self) -> float:
        return self.covered / self.shown if self.shown else math.nan

    def add(self, lower: float, upper: float) -> None:
        """One shown interval; a NaN upper limit is unbounded, a NaN lower limit is zero."""
        lower = 0.0 if math.isnan(lower) else lower
        upper = math.inf if math.isnan(upper) else upper
        if upper < self.truth:
            self.low += 1
        elif lower > self.truth:
            self.high += 1
        else:
            self.covered += 1
        self.widths.append(upper - lower)

    def row(self) -> dict[str, object]:
        p, m = self.coverage, max(self.shown, 1)
        width = float(np.median(self.widths)) if self.widths else math.nan
        return {"interval": self.interval, "scenario": self.scenario, "n": self.n,
                "quantity": self.quantity, "truth": self.truth,
                "shown %": 100.0 * self.shown / max(self.runs, 1),
                "coverage %": 100.0 * p, "MC SE": 100.0 * math.sqrt(p * (1 - p) / m),
                "miss low %": 100.0 * self.low / m, "miss high %": 100.0 * self.high / m,
                "median width": width}


def _record_curve(km: KaplanMeier, tallies: dict[str, Tally], last_time: float) -> None:
    """S(t) where there is follow-up to t, and the median where the curve reaches 0.5."""
    shown = [t for t in TIMES if t <= last_time]
    for t, row in zip(shown, km.survival_at(shown).itertuples(index=False), strict=True):
        tallies[f"S({t:g})"].add(float(row.lower), float(row.upper))
    if math.isfinite(km.median):
        tallies["median"].add(km.median_lower, km.median_upper)


def _tallies(interval: str, scenario: str, n: int, truth: Weibull) -> dict[str, Tally]:
    out = {f"S({t:g})": Tally(interval, scenario, n, f"S({t:g})", truth.survival(t))
           for t in TIMES}
    out["median"] = Tally(interval, scenario, n, "median (months)", truth.median)
    return out


def kaplan_meier_coverage(rng: Rng, n: int, truth: Weibull, replications: int,
                          level: float = 0.95) -> list[Tally]:
    """Plain right-censored KM, uniform (0, 72) censoring."""
    name = "exponential" if truth.shape == 1.0 else f"Weibull {truth.shape:g}"
    tallies = _tallies("Kaplan–Meier", f"{name}, median {truth.median:g}", n, truth)
    for _ in range(replications):
        event, censor = truth.draw(rng, n), rng.uniform(0.0, 72.0, n)
        stop = np.minimum(event, censor)
        km = kaplan_meier(stop, event <= censor, level=level)
        for tally in tallies.values():
            tally.runs += 1
        _record_curve(km, tallies, float(stop.max()))
    return list(tallies.values())


def simon_makuch_rows(rng: Rng, n: int, truth: Weibull) -> pd.DataFrame:
    """Rows (months from diagnosis) with a treatment start that changes nothing."""
    entry = rng.uniform(0.0, 6.0, n)
    event = truth.draw_after(rng, entry)
    dose = np.where(rng.random(n) < 0.5, entry + rng.uniform(0.0, 24.0, n), np.nan)
    censor = entry + rng.uniform(6.0, 60.0, n)
    return pd.DataFrame({"id": np.arange(n).astype(str), "entry": entry,
                         "stop": np.minimum(event, censor),
                         "event": (event <= censor).astype(np.int64), "first_dose": dose})


def simon_makuch_coverage(rng: Rng, n: int, truth: Weibull, replications: int,
                          level: float = 0.95) -> list[Tally]:
    groups = {g: _tallies("Simon–Makuch", f"{g}, no effect", n, truth)
              for g in ("untreated", "treated")}
    for _ in range(replications):
        rows = simon_makuch_rows(rng, n, truth)
        comparison = simon_makuch(rows, "diagnosis", level=level)
        intervals = treatment_intervals(rows)
        for g, tallies in groups.items():
            for tally in tallies.values():
                tally.runs += 1
            if g in comparison.curves:
                spells = intervals[intervals["treated"] == (1.0 if g == "treated" else 0.0)]
                _record_curve(comparison.curves[g], tallies, float(spells["stop"].max()))
    return [t for tallies in groups.values() for t in tallies.values()]


def cox_rows(rng: Rng, n: int, hazard_ratio: float, median: float = 36.0) -> pd.DataFrame:
    """Rows (months from onset): delayed entry, a start at a random time, constant HR after."""
    rate = math.log(2.0) / median
    entry = rng.uniform(0.0, 12.0, n)
    treated = rng.random(n) < 0.5
    dose = np.where(treated, entry + rng.uniform(0.0, 12.0, n), np.inf)
    event = entry + rng.exponential(1.0 / rate, n)  # memoryless: T | T > entry
    switched = event > dose
    event = np.where(switched, dose + rng.exponential(1.0 / (rate * hazard_ratio), n), event)
    censor = entry + rng.uniform(12.0, 48.0, n)
    return pd.DataFrame({"id": np.arange(n).astype(str), "entry": entry,
                         "stop": np.minimum(event, censor),
                         "event": (event <= censor).astype(np.int64),
                         "first_dose": np.where(treated, dose, np.nan)})


def cox_coverage(rng: Rng, n: int, hazard_ratio: float, replications: int,
                 level: float = 0.95, min_events: int = 5) -> list[Tally]:
    tally = Tally("time-varying Cox", "exponential, median 36, switch at random", n,
                  "HR on treatment", hazard_ratio)
    for _ in range(replications):
        tally.runs += 1
        intervals = treatment_intervals(cox_rows(rng, n, hazard_ratio))
        if intervals["event"].sum() < min_events or intervals["treated"].nunique() < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = cox_time_varying(intervals, ["treated"], level)
            except (ValueError, np.linalg.LinAlgError):
                continue
        row = fit.summary.loc["treated"]
        tally.add(float(row["lower"]), float(row["upper"]))
    return [tally]


def poisson_coverage(rng: Rng, expected: float, replications: int, person_years: float = 150.0,
                     level: float = 0.95) -> tuple[Tally, float]:
    """Simulated coverage of the rate per 100 PY, and the exact coverage Σ P(k)·[covered]."""
    rate = 100.0 * expected / person_years
    tally = Tally("safety rate (exact Poisson)", f"{person_years:g} patient-years", 1,
                  f"rate/100 PY, {expected:g} expected", rate)
    limits: dict[int, tuple[float, float]] = {}

    def interval(k: int) -> tuple[float, float]:
        if k not in limits:
            _, lower, upper = incidence_rate(k, person_years, level)
            limits[k] = (lower, upper)
        return limits[k]

    for k in rng.poisson(expected, replications):
        tally.runs += 1
        tally.add(*interval(int(k)))
    top = int(stats.poisson.ppf(1.0 - 1e-12, expected)) + 1
    exact = sum(float(stats.poisson.pmf(k, expected)) for k in range(top + 1)
                if interval(k)[0] <= rate <= interval(k)[1])
    return tally, exact


def binomial_band(replications: int, level: float = 0.95, z: float = 3.0) -> float:
    """Half-width of a ±z MC SE band around the nominal coverage."""
    return z * math.sqrt(level * (1.0 - level) / replications)


def scenarios(rng: Rng, replications: int) -> Iterator[tuple[str, Callable[[], list[Tally]]]]:
    for n in (30, 150):
        for shape in (1.0, 1.5):
            yield (f"KM n={n} shape={shape:g}",
                   lambda n=n, shape=shape: kaplan_meier_coverage(
                       rng, n, Weibull(shape, 24.0), replications))
    for n in (40, 300):
        yield (f"Simon–Makuch n={n}",
               lambda n=n: simon_makuch_coverage(rng, n, Weibull(1.5, 30.0), replications))
    for n in (30, 300):
        for hr in (1.0, 0.6):
            yield (f"Cox n={n} HR={hr:g}",
                   lambda n=n, hr=hr: cox_coverage(rng, n, hr, replications))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20240)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    tallies: list[Tally] = []
    for label, run in scenarios(rng, args.replications):
        tallies += run()
        print(f"# {label} done at {time.perf_counter() - started:.0f} s", flush=True)
    exact: list[float] = []
    for expected in (0.5, 2.0, 10.0, 30.0):
        tally, value = poisson_coverage(rng, expected, args.replications)
        tallies.append(tally)
        exact.append(value)
    frame = pd.DataFrame([t.row() for t in tallies])
    frame["exact %"] = [math.nan] * (len(frame) - len(exact)) + [100.0 * e for e in exact]
    band = 100.0 * binomial_band(args.replications)
    print(f"# {args.replications} replications, seed {args.seed}; ±3 MC SE band at 95%: "
          f"±{band:.1f} points; {time.perf_counter() - started:.0f} s")
    print(markdown(frame))


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table: percentages to 0.1, other numbers to 3 significant digits."""
    def cell(column: str, value: object) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "–"
            return f"{value:.1f}" if "%" in column or column == "MC SE" else f"{value:.3g}"
        return str(value)
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, row, strict=True))
              + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
