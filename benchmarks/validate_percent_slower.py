"""Bias and coverage of the cohort "% slower than expected", before and after (issue 12).

Each replication is a full synthetic registry (alsrwe.synth: visit noise, rounding to integer
items, the 0-48 range, deaths and the end of follow-up as dropouts, staggered treatment
starts) run through ``progression()`` with the LMM sensitivity analysis off. The truth is
known: every treated patient's on-treatment slope is (1 − effect) × the pre-treatment slope,
so θ = 1 − Σ true on-rate / Σ true pre-rate = effect over any set of patients.

Rows per effect:

* ``before``: the old estimator (patients with expected rate ≤ 0.1 points/month excluded) and
  its 95% percentile bootstrap (2000 resamples);
* ``percentile, no exclusion``: the new estimand with the old interval (separates the two fixes);
* ``after: Fieller``: the new estimand and Fieller's interval (the one kept);
* ``bootstrap-t, no exclusion``: the new estimand and a studentised bootstrap (2000
  resamples), a candidate measured and rejected.

    .venv/bin/python benchmarks/validate_percent_slower.py --replications 400
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from alsrwe.analytics.analyses.percent_slower import percent_slower
from alsrwe.analytics.analyses.progression import ProgressionSettings, progression
from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.cohort import Cohort
from alsrwe.synth import CohortParams, generate_cohort

OLD_MIN_EXPECTED = 0.1  # the removed ProgressionSettings.min_expected_rate default
SETTINGS = ProgressionSettings(lmm_sensitivity=False, min_patients=2)


def percentile_bootstrap(o: np.ndarray, e: np.ndarray, resamples: int, seed: int,
                         level: float = 0.95) -> tuple[float, float]:
    """The old interval: percentiles of 100·(1 − mean o*/mean e*) over patient resamples."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, o.size, (resamples, o.size))
    values = 100.0 * (1.0 - o[idx].mean(axis=1) / e[idx].mean(axis=1))
    lower, upper = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lower), float(upper)


def bootstrap_t(o: np.ndarray, e: np.ndarray, resamples: int, seed: int,
                level: float = 0.95) -> tuple[float, float]:
    """Studentised bootstrap of ρ = mean o / mean e: T* = (ρ* − ρ̂)/se*, with the
    delta-method se = sd(o − ρe)/(√n · mean e); limits in % slower (θ = 1 − ρ)."""
    n = o.size
    rho = o.mean() / e.mean()
    se = np.std(o - rho * e, ddof=1) / (math.sqrt(n) * e.mean())
    idx = np.random.default_rng(seed).integers(0, n, (resamples, n))
    ob, eb = o[idx], e[idx]
    mb = eb.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rb = ob.mean(axis=1) / mb
        seb = (ob - rb[:, None] * eb).std(axis=1, ddof=1) / (math.sqrt(n) * mb)
        tb = (rb - rho) / seb
    tb = tb[np.isfinite(tb) & (mb > 0)]
    q_lo, q_hi = np.quantile(tb, [(1 - level) / 2, (1 + level) / 2])
    return 100.0 * (1 - (rho - q_lo * se)), 100.0 * (1 - (rho - q_hi * se))


def replicate(effect: float, patients: int, seed: int) -> list[dict[str, float | str]]:
    """One registry; one row per method: estimate, limits, n, true θ over its patients."""
    synthetic = generate_cohort(CohortParams(seed=seed, n_patients=patients, n_carriers=0,
                                             treatment_effect=effect))
    try:
        result = progression(Cohort.from_frames(synthetic.tables()), SETTINGS)
    except AnalysisError:
        return []
    truth = synthetic.truth.assign(patient_id=synthetic.truth["patient_id"].astype(str))
    truth = truth.set_index("patient_id")
    inc = result.patients[result.patients["included"]]
    o = inc["observed_rate_per_month"].to_numpy(float)
    e = inc["expected_rate_per_month"].to_numpy(float)
    old = e > OLD_MIN_EXPECTED

    def true_theta(ids: pd.Series) -> float:
        rows = truth.loc[ids]
        return 100.0 * (1.0 - rows["slope_on_per_month"].sum() / rows["slope_pre_per_month"].sum())

    rows: list[dict[str, float | str]] = []

    def add(method: str, estimate: float, ci: tuple[float, float], n: int, ids: pd.Series) -> None:
        rows.append({"method": method, "estimate": estimate, "lower": ci[0], "upper": ci[1],
                     "n": n, "truth": true_theta(ids)})

    if old.sum() >= 2:
        add("before: exclusion + percentile", 100.0 * (1 - o[old].mean() / e[old].mean()),
            percentile_bootstrap(o[old], e[old], 2000, seed), int(old.sum()),
            inc.loc[old, "patient_id"])
    new = 100.0 * (1 - o.mean() / e.mean())
    add("percentile, no exclusion", new, percentile_bootstrap(o, e, 2000, seed), o.size,
        inc["patient_id"])
    fieller = percent_slower(o, e)
    add("after: Fieller", fieller.estimate, (fieller.lower, fieller.upper), fieller.n,
        inc["patient_id"])
    add("bootstrap-t, no exclusion", new, bootstrap_t(o, e, 2000, seed), o.size,
        inc["patient_id"])
    return rows


def summarise(frame: pd.DataFrame, effect: float) -> pd.DataFrame:
    """Per method: true θ, mean estimate, bias ± MC SE, coverage ± MC SE, median width, n."""
    out = []
    for method, g in frame.groupby("method", sort=False):
        r = len(g)
        bounded = g["lower"].notna() & g["upper"].notna()
        covered = bounded & (g["lower"] <= g["truth"]) & (g["truth"] <= g["upper"])
        p = float(covered.mean())
        err = g["estimate"] - g["truth"]
        out.append({
            "effect": effect, "method": method, "replications": r,
            "true θ (%)": float(g["truth"].mean()),
            "mean estimate (%)": float(g["estimate"].mean()),
            "bias": float(err.mean()), "bias MC SE": float(err.std(ddof=1) / math.sqrt(r)),
            "coverage (%)": 100 * p, "coverage MC SE": 100 * math.sqrt(p * (1 - p) / r),
            "median width": float((g["upper"] - g["lower"])[bounded].median()),
            "unbounded": int((~bounded).sum()), "mean n": float(g["n"].mean())})
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame) -> str:
    lines = ["| effect | method | true θ | mean estimate | bias (MC SE) | coverage (MC SE) "
             "| median width | unbounded | mean n |", "|" + "---|" * 9]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['effect']:g} | {r['method']} | {r['true θ (%)']:.1f}% "
            f"| {r['mean estimate (%)']:.2f}% | {r['bias']:+.2f} ({r['bias MC SE']:.2f}) "
            f"| {r['coverage (%)']:.1f}% ({r['coverage MC SE']:.1f}) "
            f"| {r['median width']:.1f} | {r['unbounded']} | {r['mean n']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--patients", type=int, default=170,
                        help="symptomatic patients per registry (170: ~20 included treated)")
    parser.add_argument("--effects", default="0,0.3,0.5")
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    tables, skipped = [], 0
    for effect in (float(x) for x in args.effects.split(",")):
        rows = []
        for r in range(args.replications):
            got = replicate(effect, args.patients, args.seed + r)
            skipped += not got
            rows += got
        tables.append(summarise(pd.DataFrame(rows), effect))
    print(markdown(pd.concat(tables, ignore_index=True)))
    print(f"\n{args.replications} replications per effect, {args.patients} patients, seeds "
          f"{args.seed}…{args.seed + args.replications - 1} (same seeds for every effect); "
          f"{skipped} registries refused (< 2 included); "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
