"""Benchmark the random intercept and slope model: sufficient statistics, optimisation, peak RSS.

    .venv/bin/python benchmarks/bench_lmm.py --groups 1000 10000 100000 1000000

Model ``y ~ t + t_post + (1 + t | g)`` on ~8 visits per group (t in months, every ~3 months;
t_post = max(0, t − t_start) after a per-group treatment start). Each size runs in a fresh
process so that peak RSS belongs to that size alone. Times: the one pass over the rows
(``sufficient_stats``), the optimisation from those statistics (``fit_lmm_stats``), and one
evaluation of the profiled deviance with its gradient.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd


def _simulate(n_groups: int, visits: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = np.array([[25.0, -0.6], [-0.6, 0.16]])  # SDs 5 and 0.4/month, corr −0.3
    b = rng.multivariate_normal(np.zeros(2), cov, size=n_groups)
    g = np.repeat(np.arange(n_groups), visits)
    t = np.tile(np.arange(visits) * 3.0, n_groups) + rng.uniform(-0.5, 0.5, g.size)
    t = np.clip(t, 0.0, None)
    t_post = np.maximum(0.0, t - rng.uniform(3.0, 12.0, n_groups)[g])
    y = 40.0 - 0.9 * t + 0.5 * t_post + b[g, 0] + b[g, 1] * t + rng.normal(0.0, 1.5, g.size)
    return pd.DataFrame({"g": g, "t": t, "t_post": t_post, "y": y})


def _measure(n_groups: int, visits: int, seed: int) -> dict[str, object]:
    from alsrwe.analytics import fit_lmm_stats, sufficient_stats
    from alsrwe.analytics.lmm import _profile

    data = _simulate(n_groups, visits, seed)
    rss_data_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    stats = sufficient_stats(data, "y", ["t", "t_post"], "g", "t")
    stats_s = time.perf_counter() - start
    start = time.perf_counter()
    fit = fit_lmm_stats(stats, reml=True)
    fit_s = time.perf_counter() - start
    profile = _profile(stats, reml=True)
    theta = np.array([1.0, 0.0, 1.0])
    start = time.perf_counter()
    for _ in range(5):
        profile.value_and_gradient(theta)
    eval_s = (time.perf_counter() - start) / 5
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "groups": n_groups,
        "rows": len(data),
        "stats_seconds": round(stats_s, 3),
        "fit_seconds": round(fit_s, 3),
        "eval_ms": round(eval_s * 1e3, 2),
        "iterations": fit.iterations,
        "converged": fit.converged,
        "beta": {k: round(v, 4) for k, v in fit.fixed.items()},
        "sds": [round(fit.sd_intercept, 3), round(fit.sd_slope, 4), round(fit.corr, 3)],
        "rss_after_data_mib": round(rss_data_kib / 1024),
        "peak_rss_mib": round(peak_kib / 1024),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--groups", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--visits", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.groups[0], args.visits, args.seed)))
        return
    for n in args.groups:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--groups", str(n),
             "--visits", str(args.visits), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        r = json.loads(out.stdout)
        print(
            f"groups={n:>9,} rows={r['rows']:>10,} stats={r['stats_seconds']:>7.3f}s "
            f"fit={r['fit_seconds']:>7.3f}s eval={r['eval_ms']:>8.2f}ms "
            f"iter={r['iterations']:>3} converged={r['converged']} "
            f"rss(data)={r['rss_after_data_mib']:>5} MiB peak={r['peak_rss_mib']:>5} MiB "
            f"beta={r['beta']} sd/corr={r['sds']}"
        )


if __name__ == "__main__":
    main()
