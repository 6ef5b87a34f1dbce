"""Benchmark the random intercept and slope model: one contender, one size, one fresh process.

    .venv/bin/python benchmarks/bench_lmm.py data --groups 100000            # write /tmp data
    .venv/bin/python benchmarks/bench_lmm.py run alsrwe-sql --groups 100000  # one contender

Model ``y ~ t + t_post + (1 + t | g)`` on ~8 visits per group (t in months, every ~3 months;
t_post = max(0, t − t_start) after a per-group treatment start). ``data`` simulates each size
once from a seed and writes it to Parquet (Python contenders) and CSV with 17 significant
digits (R), so every contender reads the same numbers. ``run`` loads the data (not timed as
fitting), then times the contender and prints one JSON line with seconds, ``ru_maxrss`` of
the process and the estimates. ``benchmarks/bench_lmm_compare.py`` runs all contenders on all
sizes, lme4 included, and prints the tables for docs/benchmarks.md.

Contenders:

* ``duckdb-scan``: one ``GROUP BY g`` in DuckDB that computes the per-group sufficient
  statistics (10 sums) and fetches them: the floor, reading the data once.
* ``alsrwe-sql``: that same scan, then ``fit_lmm_stats``: the whole fit, scan included.
* ``alsrwe-engine``: ``alsrwe.analytics.lmm.engine_stats.lmm_stats`` on an Ibis DuckDB table, then
  ``fit_lmm_stats`` (only when that module exists).
* ``alsrwe-pandas``: ``sufficient_stats`` on a pandas frame, then ``fit_lmm_stats``.
* ``statsmodels``: ``MixedLM.from_formula(..., re_formula="~t").fit(reml=True)``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA_DIR = Path(os.environ.get("ALSRWE_BENCH_DIR", "/tmp/alsrwe_lmm_bench"))
FIXED = ["t", "t_post"]
CONTENDERS = ("duckdb-scan", "alsrwe-sql", "alsrwe-engine", "alsrwe-pandas", "statsmodels")

# One scan: per group n, Σt, Σt², Σt_post, Σy, Σt·t_post, Σt·y, and the three sums that
# only enter in total (Σt_post², Σt_post·y, Σy²).
SCAN_SQL = """
SELECT g, count(*) AS n, sum(t) AS st, sum(t * t) AS stt, sum(t_post) AS sp, sum(y) AS sy,
       sum(t * t_post) AS stp, sum(t * y) AS sty, sum(t_post * t_post) AS spp,
       sum(t_post * y) AS spy, sum(y * y) AS syy
FROM visits GROUP BY g
"""


def simulate(n_groups: int, visits: int = 8, seed: int = 1) -> pd.DataFrame:
    """The benchmark cohort: SDs 5 and 0.4/month, corr −0.3, residual SD 1.5."""
    rng = np.random.default_rng(seed)
    cov = np.array([[25.0, -0.6], [-0.6, 0.16]])
    b = rng.multivariate_normal(np.zeros(2), cov, size=n_groups)
    g = np.repeat(np.arange(n_groups), visits)
    t = np.tile(np.arange(visits) * 3.0, n_groups) + rng.uniform(-0.5, 0.5, g.size)
    t = np.clip(t, 0.0, None)
    t_post = np.maximum(0.0, t - rng.uniform(3.0, 12.0, n_groups)[g])
    y = 40.0 - 0.9 * t + 0.5 * t_post + b[g, 0] + b[g, 1] * t + rng.normal(0.0, 1.5, g.size)
    return pd.DataFrame({"g": g, "t": t, "t_post": t_post, "y": y})


def data_path(n_groups: int, suffix: str, seed: int = 1) -> Path:
    return DATA_DIR / f"lmm_g{n_groups}_s{seed}.{suffix}"


def write_data(n_groups: int, seed: int) -> None:
    parquet, csv = data_path(n_groups, "parquet", seed), data_path(n_groups, "csv", seed)
    if parquet.exists() and csv.exists():
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    frame = simulate(n_groups, seed=seed)
    frame.to_parquet(parquet, index=False)
    frame.to_csv(csv, index=False, float_format="%.17g")  # round-trips every float64 exactly


@contextmanager
def _timed(out: dict[str, Any], name: str) -> Iterator[None]:
    """Record ``<name>_seconds`` (wall) and ``<name>_cpu_seconds`` (all threads) in ``out``."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    out[f"{name}_seconds"] = time.perf_counter() - wall
    out[f"{name}_cpu_seconds"] = time.process_time() - cpu


def _totals(out: dict[str, Any], parts: Sequence[str]) -> None:
    out["total_seconds"] = sum(out[f"{p}_seconds"] for p in parts)
    out["total_cpu_seconds"] = sum(out[f"{p}_cpu_seconds"] for p in parts)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _stats_from_scan(scan: dict[str, np.ndarray]) -> Any:
    """SufficientStats from the scan's columns, groups in sorted order like sufficient_stats."""
    from alsrwe.analytics import SufficientStats
    from alsrwe.analytics.lmm.sufficient import check_collinearity

    order = np.argsort(scan["g"], kind="stable")
    c = {k: np.asarray(v, dtype=np.float64)[order] for k, v in scan.items() if k != "g"}
    n_groups = len(order)
    ztz = np.empty((n_groups, 2, 2))
    ztz[:, 0, 0], ztz[:, 0, 1], ztz[:, 1, 0], ztz[:, 1, 1] = c["n"], c["st"], c["st"], c["stt"]
    ztx = np.empty((n_groups, 2, 3))
    ztx[:, 0, 0], ztx[:, 0, 1], ztx[:, 0, 2] = c["n"], c["st"], c["sp"]
    ztx[:, 1, 0], ztx[:, 1, 1], ztx[:, 1, 2] = c["st"], c["stt"], c["stp"]
    zty = np.column_stack([c["sy"], c["sty"]])
    tot = {k: float(v.sum()) for k, v in c.items()}
    xtx = np.array(
        [
            [tot["n"], tot["st"], tot["sp"]],
            [tot["st"], tot["stt"], tot["stp"]],
            [tot["sp"], tot["stp"], tot["spp"]],
        ]
    )
    stats = SufficientStats(
        terms=("Intercept", *FIXED),
        groups=pd.Index(np.asarray(scan["g"])[order], name="g"),
        ztz=ztz,
        ztx=ztx,
        zty=zty,
        xtx=xtx,
        xty=np.array([tot["sy"], tot["sty"], tot["spy"]]),
        yty=tot["syy"],
    )
    check_collinearity(stats)
    return stats


def _estimates(fit: Any) -> dict[str, Any]:
    return {
        "fixed": fit.fixed,
        "sd_intercept": fit.sd_intercept,
        "sd_slope": fit.sd_slope,
        "corr": fit.corr,
        "sigma": fit.sd_residual,
        "criterion": fit.criterion,
        "theta": list(fit.theta),
        "iterations": fit.iterations,
        "converged": fit.converged,
    }


def _duckdb_table(n_groups: int, seed: int) -> Any:
    import duckdb

    con = duckdb.connect()
    path = data_path(n_groups, "parquet", seed)
    con.execute(f"CREATE TABLE visits AS SELECT * FROM read_parquet('{path}')")
    return con


def _run_scan(n_groups: int, seed: int, fit: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with _timed(out, "load"):
        con = _duckdb_table(n_groups, seed)
    out["rss_after_load_mib"] = _peak_mib()
    with _timed(out, "scan"):
        scan = con.execute(SCAN_SQL).fetchnumpy()
    if not fit:
        _totals(out, ["scan"])
        return out
    from alsrwe.analytics import fit_lmm_stats

    with _timed(out, "assemble"):
        stats = _stats_from_scan(scan)
    with _timed(out, "fit"):
        result = fit_lmm_stats(stats, reml=True)
    _totals(out, ["scan", "assemble", "fit"])
    out["estimates"] = _estimates(result)
    return out


def _run_engine(n_groups: int, seed: int) -> dict[str, Any]:
    import ibis

    from alsrwe.analytics import fit_lmm_stats
    from alsrwe.analytics.lmm.engine_stats import lmm_stats

    out: dict[str, Any] = {}
    with _timed(out, "load"):
        con = ibis.duckdb.connect()
        path = data_path(n_groups, "parquet", seed)
        con.raw_sql(f"CREATE TABLE visits AS SELECT * FROM read_parquet('{path}')")
        table = con.table("visits")
    out["rss_after_load_mib"] = _peak_mib()
    with _timed(out, "scan"):
        stats = lmm_stats(table, "y", FIXED, "g", "t")
    with _timed(out, "fit"):
        result = fit_lmm_stats(stats, reml=True)
    _totals(out, ["scan", "fit"])
    out["estimates"] = _estimates(result)
    return out


def _run_pandas(n_groups: int, seed: int) -> dict[str, Any]:
    from alsrwe.analytics import fit_lmm_stats, sufficient_stats

    out: dict[str, Any] = {}
    with _timed(out, "load"):
        frame = pd.read_parquet(data_path(n_groups, "parquet", seed))
    out["rss_after_load_mib"] = _peak_mib()
    with _timed(out, "scan"):
        stats = sufficient_stats(frame, "y", FIXED, "g", "t")
    with _timed(out, "fit"):
        result = fit_lmm_stats(stats, reml=True)
    _totals(out, ["scan", "fit"])
    out["estimates"] = _estimates(result)
    return out


def _run_statsmodels(n_groups: int, seed: int) -> dict[str, Any]:
    import warnings

    from statsmodels.regression.mixed_linear_model import MixedLM

    out: dict[str, Any] = {}
    with _timed(out, "load"):
        frame = pd.read_parquet(data_path(n_groups, "parquet", seed))
    out["rss_after_load_mib"] = _peak_mib()
    with _timed(out, "fit"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MixedLM.from_formula("y ~ t + t_post", data=frame, groups="g", re_formula="~t")
        result = model.fit(reml=True)
    _totals(out, ["fit"])
    cov = np.asarray(result.cov_re)
    sd0, sd1 = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
    out["estimates"] = {
        "fixed": {str(k): float(v) for k, v in result.fe_params.items()},
        "sd_intercept": sd0,
        "sd_slope": sd1,
        "corr": float(cov[0, 1] / (sd0 * sd1)),
        "sigma": float(np.sqrt(result.scale)),
        "criterion": float(-2.0 * result.llf),
        "converged": bool(result.converged),
    }
    return out


def run(contender: str, n_groups: int, seed: int) -> dict[str, Any]:
    if contender in ("duckdb-scan", "alsrwe-sql"):
        out = _run_scan(n_groups, seed, fit=contender == "alsrwe-sql")
    elif contender == "alsrwe-engine":
        out = _run_engine(n_groups, seed)
    elif contender == "alsrwe-pandas":
        out = _run_pandas(n_groups, seed)
    else:
        out = _run_statsmodels(n_groups, seed)
    out.update(contender=contender, groups=n_groups, peak_rss_mib=_peak_mib())
    return out


def criterion_at(n_groups: int, seed: int, theta: Sequence[float]) -> float:
    """alsrwe's REML criterion at a given θ (lme4's, in data units): the same likelihood?"""
    from alsrwe.analytics import evaluate_lmm, sufficient_stats

    frame = pd.read_parquet(data_path(n_groups, "parquet", seed))
    stats = sufficient_stats(frame, "y", FIXED, "g", "t")
    return evaluate_lmm(stats, theta, reml=True).criterion


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("command", choices=["data", "run", "criterion"])
    parser.add_argument("contender", nargs="?", choices=CONTENDERS, default="alsrwe-sql")
    parser.add_argument("--groups", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--theta", type=float, nargs=3, help="for criterion: lme4's θ")
    args = parser.parse_args(argv)
    if args.command == "data":
        for n in args.groups:
            write_data(n, args.seed)
            print(data_path(n, "parquet", args.seed), data_path(n, "csv", args.seed))
        return
    if len(args.groups) != 1:
        parser.error("run takes one size (each size in its own process, for its peak RSS)")
    if args.command == "criterion":
        print(json.dumps({"criterion": criterion_at(args.groups[0], args.seed, args.theta)}))
        return
    print(json.dumps(run(args.contender, args.groups[0], args.seed)))


if __name__ == "__main__":
    main()
