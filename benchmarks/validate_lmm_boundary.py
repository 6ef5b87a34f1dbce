"""How often the mixed model wrongly reports a boundary fit, before and after the boundary check.

    .venv/bin/python benchmarks/validate_lmm_boundary.py --designs 200      # accuracy
    .venv/bin/python benchmarks/validate_lmm_boundary.py --timing-only       # 10,000 groups

Each design is simulated with a small between-patient slope SD (uniform on 0–0.08/month
beside an intercept SD of 3 and a residual SD of 1.5; 20–80 patients × 4–8 visits; REML and
ML alternately; seeds not used by the tests). Every design is fitted three ways:

* ``before``: L-BFGS-B + Newton polish from (1, 0, 1), as ``fit_lmm`` did until issue 12
  (``alsrwe.analytics.lmm.optimise.optimise``: the same code, without the boundary check);
* ``after``: ``fit_lmm``;
* ``reference``: the dense likelihood of ``tests/analytics/lmm/dense_reference.py`` maximised
  by Nelder–Mead from 8 starts (no code shared with the engine).

A fit is *above the reference* when its criterion exceeds the reference's by more than 1e-6,
and *wrongly singular* when it is reported singular and above the reference. The timing part
fits 10,000-group designs (slope SD 0.4, 0.02 and 0: an interior optimum, a wrong
boundary stop, a true boundary), best of 7 runs each.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.analytics.lmm.dense_reference import dense_fit  # noqa: E402

from alsrwe.analytics import LmmResult, fit_lmm, fit_lmm_stats, sufficient_stats  # noqa: E402
from alsrwe.analytics.lmm.estimate import _profile  # noqa: E402
from alsrwe.analytics.lmm.optimise import START, optimise  # noqa: E402
from alsrwe.analytics.lmm.result import build_result  # noqa: E402

ABOVE = 1e-6
SEED_BASE = 12_000  # the tests use seeds below 100


def simulate(rng: np.random.Generator, n_groups: int, n_visits: int, sd_slope: float,
             corr: float, sd_int: float = 3.0, sigma: float = 1.5) -> pd.DataFrame:
    cov = np.array([[sd_int**2, corr * sd_int * sd_slope], [corr * sd_int * sd_slope, sd_slope**2]])
    b = rng.multivariate_normal(np.zeros(2), cov, size=n_groups)
    g = np.repeat(np.arange(n_groups), n_visits)
    t = np.clip(np.tile(np.arange(n_visits) * 3.0, n_groups) + rng.uniform(-0.5, 0.5, g.size),
                0.0, None)
    y = 40.0 - 0.9 * t + b[g, 0] + b[g, 1] * t + rng.normal(0.0, sigma, g.size)
    return pd.DataFrame({"g": g, "t": t, "y": y})


def before(data: pd.DataFrame, reml: bool) -> LmmResult:
    """The fit as it was: optimiser stop taken as the optimum, singular read off θ."""
    stats = sufficient_stats(data, "y", ["t"], "g", "t")
    profile = _profile(stats, reml)
    theta, iterations, message, success = optimise(profile, np.array(START))
    return build_result(stats, profile, theta, profile.solve(theta), converged=success,
                        iterations=iterations, message=message, optimum_check="")


def one_design(k: int) -> dict[str, Any]:
    rng = np.random.default_rng(SEED_BASE + k)
    n_groups, n_visits = int(rng.integers(20, 81)), int(rng.integers(4, 9))
    sd_slope, corr, reml = float(rng.uniform(0.0, 0.08)), float(rng.uniform(-0.5, 0.5)), k % 2 == 0
    data = simulate(rng, n_groups, n_visits, sd_slope, corr)
    ref = dense_fit(data, "y", ["t"], "g", "t", reml=reml)
    row: dict[str, Any] = {"design": k, "groups": n_groups, "visits": n_visits, "reml": reml}
    for name, fit in (("before", before(data, reml)), ("after", fit_lmm(data, "y", ["t"], "g", "t",
                                                                        reml=reml))):
        gap = fit.criterion - ref.criterion
        row[f"{name}_gap"] = gap
        row[f"{name}_singular"] = fit.singular
        row[f"{name}_beta_se"] = abs(fit.fixed["t"] - float(ref.beta[1])) / fit.se["t"]
        row[f"{name}_sd_slope_rel"] = (abs(fit.sd_slope - ref.sd_slope) / ref.sd_slope
                                       if ref.sd_slope > 1e-8 else math.nan)
        if name == "after":
            row["check"] = fit.optimum_check.split(":")[0]
    return row


def accuracy(n_designs: int) -> pd.DataFrame:
    rows = []
    for k in range(n_designs):
        rows.append(one_design(k))
        if (k + 1) % 20 == 0:
            print(f"  {k + 1}/{n_designs} designs", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def report(frame: pd.DataFrame) -> str:
    n = len(frame)
    lines = [f"{n} designs; gap = criterion − dense reference's (> {ABOVE:g} counts as above)", "",
             "| | before | after |", "|---|---|---|"]
    for label, key in (("above the reference", "above"), ("reported singular", "singular"),
                       ("wrongly singular (singular and above)", "wrong")):
        cells = []
        for name in ("before", "after"):
            above = frame[f"{name}_gap"] > ABOVE
            count = {"above": above, "singular": frame[f"{name}_singular"],
                     "wrong": above & frame[f"{name}_singular"]}[key]
            cells.append(f"{int(count.sum())} ({100.0 * count.mean():.1f}%)")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    for label, key, fmt in (("largest criterion gap", "gap", "{:.3g}"),
                            ("largest abs(Δβ_t) / SE", "beta_se", "{:.3g}"),
                            ("largest relative error of the slope SD", "sd_slope_rel", "{:.1%}")):
        cells = [fmt.format(float(frame[f"{name}_{key}"].max())) for name in ("before", "after")]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    lines.append(f"| most negative gap (after better than reference) | "
                 f"{frame['before_gap'].min():.2g} | {frame['after_gap'].min():.2g} |")
    lines += ["", "after, by check: " + ", ".join(
        f"{name} {count}" for name, count in frame["check"].value_counts().items())]
    return "\n".join(lines)


def timing() -> str:
    lines = ["| 10,000 groups × 8 visits | optimum | before (s) | after (s) | check |",
             "|---|---|---|---|---|"]
    for sd_slope, seed in ((0.4, 1), (0.02, 1), (0.0, 2)):
        data = simulate(np.random.default_rng(seed), 10_000, 8, sd_slope, -0.3, sd_int=5.0)
        stats = sufficient_stats(data, "y", ["t"], "g", "t")
        profile = _profile(stats, True)
        times: dict[str, float] = {}
        fits: dict[str, LmmResult] = {}
        for name in ("before", "after"):
            best = math.inf
            for _ in range(7):
                start = time.perf_counter()
                if name == "before":
                    theta, its, msg, ok = optimise(profile, np.array(START))
                    fit = build_result(stats, profile, theta, profile.solve(theta),
                                       converged=ok, iterations=its, message=msg,
                                       optimum_check="")
                else:
                    fit = fit_lmm_stats(stats)
                best = min(best, time.perf_counter() - start)
            times[name], fits[name] = best, fit
        kind = "boundary stop" if fits["before"].singular else "interior"
        lines.append(f"| slope SD {sd_slope} | {kind} (before) | {times['before']:.4f} | "
                     f"{times['after']:.4f} | {fits['after'].optimum_check} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=200)
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--csv", type=Path, help="write the per-design numbers here")
    args = parser.parse_args()
    if not args.timing_only:
        frame = accuracy(args.designs)
        if args.csv:
            frame.to_csv(args.csv, index=False)
        print(report(frame), "\n")
    print(timing())


if __name__ == "__main__":
    main()
