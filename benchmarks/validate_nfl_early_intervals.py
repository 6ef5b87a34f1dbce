"""Measured coverage of the NfL and early-vs-delayed intervals (issue 12: "every interval shown
has measured coverage").

    .venv/bin/python benchmarks/validate_nfl_early_intervals.py --replications 1000 --seed 2026

Every replication simulates data with KNOWN truth and runs the analysis modules' own code:

* NfL (``alsrwe.analytics.analyses.nfl``): log NfL from the model the analysis fits,
  ``log y = a + bᵢ₀ + (β + bᵢ₁)·months + ε`` after the first dose and flat before it, with
  β = log(0.97)/month (the Padova CSF NfL mean ratio, docs/domain-rules.md §7), SD(bᵢ₀) = 0.6,
  SD(bᵢ₁) = 0.02/month, corr −0.3, SD(ε) = 0.15 (simulation assumptions of realistic size:
  far wider between patients than within, as blood NfL is). Each patient has a baseline 0–14
  days before dose 1 and 2–7 follow-up values (3–8 in all) on the tofersen dosing days up to
  day 392 (days 14, 28, then every 28 days; §3.1). 20 and 100 patients. Intervals:
  * the per-window geometric mean ratio (``_windows`` + ``_summaries`` →
    ``geometric_mean_ratio``; t interval). Its truth is exp(β · mean months of the values the
    window used): the analysis takes the value nearest to the window, and the truth is
    computed for the same design;
  * the mixed model's mean ratio per month (``_mixed_model``; Wald z interval); truth exp(β);
  * the same estimate and SE with a t quantile, df = patients − 2 fixed effects.
* Early vs delayed (``alsrwe.analytics.analyses.early_delayed``): ALSFRS-R totals at day 0 and
  day 364 (week 52) plus 1–6 visits in between, per-patient slopes with SD 0.8 points/month in
  the early group and 0.4 in the delayed group (unequal; the smaller group is the more
  variable one, the harder case), mean slope −0.79/month delayed (−9.5 points by week 52,
  VALOR delayed start, §4.1) and −0.79 + Δ/11.96 early for a true difference Δ = 0 or −3
  points; residual SD 1.5 points; 15 vs 30 and 60 vs 90 patients, and a control with equal
  SDs (0.6 and 0.6, 15 vs 30, Δ = −3) that isolates the effect of unequal variances. Intervals:
  * ``welch_difference`` on the per-patient changes;
  * the mixed model's β(t × early) × months to week 52 with the Wald z interval, computed as
    ``_lmm_difference`` does (same ``fit_lmm`` call and formula; that function needs a cohort);
  * the same with a t quantile, df = patients − 4 fixed effects.

Coverage is the share of replications whose interval holds the truth (MC SE √(p(1−p)/R)).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsrwe.analytics.analyses.early_delayed import welch_difference
from alsrwe.analytics.analyses.nfl import NflSettings, _mixed_model, _summaries, _windows
from alsrwe.analytics.lmm.fit import fit_lmm
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

LEVEL = 0.95
Z = float(stats.norm.ppf(0.5 + LEVEL / 2.0))
NFL_SLOPE = math.log(0.97)  # per month (§7, Padova CSF NfL MR 0.97)
DOSING_DAYS = np.array([14, 28, *range(56, 393, 28)])  # §3.1: loading, then every 28 days
WEEK52_MONTHS = 364 / DAYS_PER_MONTH
DELAYED_SLOPE = -9.5 / WEEK52_MONTHS  # VALOR delayed start −9.5 points by week 52 (§4.1)
# (early patients, delayed patients, slope SDs early/delayed in points/month, true Δ points);
# the last design has equal SDs: the control that isolates the effect of unequal variances.
EARLY_DESIGNS = ((15, 30, (0.8, 0.4), 0.0), (15, 30, (0.8, 0.4), -3.0),
                 (60, 90, (0.8, 0.4), 0.0), (60, 90, (0.8, 0.4), -3.0),
                 (15, 30, (0.6, 0.6), -3.0))


def simulate_nfl(rng: np.random.Generator, n_patients: int) -> tuple[pd.DataFrame, pd.Series]:
    """NfL values (patient_id, days, value) and each patient's baseline day."""
    cov = np.array([[0.6**2, -0.3 * 0.6 * 0.02], [-0.3 * 0.6 * 0.02, 0.02**2]])
    b = rng.multivariate_normal(np.zeros(2), cov, size=n_patients)
    rows = []
    for i in range(n_patients):
        k = int(rng.integers(2, 8))
        days = np.concatenate([[-int(rng.integers(0, 15))],
                               np.sort(rng.choice(DOSING_DAYS, size=k, replace=False))])
        months = np.clip(days, 0, None) / DAYS_PER_MONTH
        log_y = (math.log(70.0) + b[i, 0] + (NFL_SLOPE + b[i, 1]) * months
                 + rng.normal(0.0, 0.15, days.size))
        rows.append(pd.DataFrame({"patient_id": f"p{i:03d}", "days": days,
                                  "value": np.exp(log_y)}))
    values = pd.concat(rows, ignore_index=True)
    baseline_days = values[values["days"] <= 0].groupby("patient_id")["days"].max()
    return values, baseline_days


def nfl_replication(rng: np.random.Generator, n_patients: int) -> dict[str, Any]:
    values, baseline_days = simulate_nfl(rng, n_patients)
    settings = NflSettings()
    pre = values[values["days"] <= 0].set_index("patient_id")["value"]
    per_patient = _windows(values, pre, settings)
    windows = _summaries(per_patient, settings)
    out: dict[str, Any] = {}
    for row in windows.itertuples():
        used = per_patient[per_patient["week"] == row.week]
        truth = math.exp(NFL_SLOPE * float(used["days"].mean()) / DAYS_PER_MONTH)
        out[f"gmr_{row.week}"] = bool(row.lower <= truth <= row.upper) if row.n >= 2 else None
        out[f"gmr_{row.week}_n"] = int(row.n)
    model, _ = _mixed_model(values, baseline_days, LEVEL)
    if model is None:
        return out | {"mm_z": None, "mm_t": None, "mm_singular": None}
    b = math.log(model.ratio_per_month)
    se = (math.log(model.upper) - math.log(model.lower)) / (2.0 * Z)
    t = float(stats.t.ppf(0.5 + LEVEL / 2.0, model.n_patients - 2))
    truth = NFL_SLOPE
    return out | {"mm_z": bool(model.lower <= math.exp(truth) <= model.upper),
                  "mm_t": bool(abs(b - truth) <= t * se), "mm_singular": model.singular,
                  "mm_bias": b - truth}


def simulate_alsfrs(rng: np.random.Generator, n_early: int, n_delayed: int,
                    difference: float, sds: tuple[float, float] = (0.8, 0.4)) -> pd.DataFrame:
    """ALSFRS-R totals (patient_id, t months, total, early) from day 0 to day 364."""
    rows = []
    for i in range(n_early + n_delayed):
        early = i < n_early
        mean_slope = DELAYED_SLOPE + (difference / WEEK52_MONTHS if early else 0.0)
        slope = mean_slope + rng.normal(0.0, sds[0] if early else sds[1])
        middle = np.sort(rng.uniform(0.5, WEEK52_MONTHS - 0.5, int(rng.integers(1, 7))))
        t = np.concatenate([[0.0], middle, [WEEK52_MONTHS]])
        total = 38.0 + rng.normal(0.0, 5.0) + slope * t + rng.normal(0.0, 1.5, t.size)
        rows.append(pd.DataFrame({"patient_id": f"p{i:03d}", "t": t, "total": total,
                                  "early": float(early)}))
    return pd.concat(rows, ignore_index=True)


def early_replication(rng: np.random.Generator, n_early: int, n_delayed: int,
                      difference: float, sds: tuple[float, float] = (0.8, 0.4)
                      ) -> dict[str, Any]:
    data = simulate_alsfrs(rng, n_early, n_delayed, difference, sds)
    ends = data.groupby("patient_id").agg(first=("total", "first"), last=("total", "last"),
                                          early=("early", "first"))
    change = ends["last"] - ends["first"]
    early = ends["early"].to_numpy(bool)
    _, lower, upper = welch_difference(change[early].to_numpy(), change[~early].to_numpy(), LEVEL)
    data["t_early"] = data["t"] * data["early"]
    fit = fit_lmm(data, "total", ["t", "early", "t_early"], "patient_id", "t")
    est, se = fit.fixed["t_early"] * WEEK52_MONTHS, fit.se["t_early"] * WEEK52_MONTHS
    t = float(stats.t.ppf(0.5 + LEVEL / 2.0, fit.n_groups - 4))
    return {"welch": bool(lower <= difference <= upper),
            "lmm_z": bool(abs(est - difference) <= Z * se),
            "lmm_t": bool(abs(est - difference) <= t * se),
            "lmm_singular": fit.singular, "lmm_bias": est - difference}


def coverage(flags: pd.Series) -> tuple[str, int]:
    kept = flags.dropna().astype(bool)
    p, n = float(kept.mean()), int(kept.size)
    return f"{100 * p:.1f}% ({100 * math.sqrt(p * (1 - p) / n):.1f})", n


def run(replications: int, seed: int,
        progress: Callable[[str], None] = print) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for n in (20, 100):
        rng = np.random.default_rng([seed, n])
        started = time.perf_counter()
        reps = pd.DataFrame([nfl_replication(rng, n) for _ in range(replications)])
        progress(f"NfL {n} patients: {time.perf_counter() - started:.0f} s")
        design = f"NfL, {n} patients, 3–8 values"
        for week in NflSettings().weeks:
            cov, r = coverage(reps[f"gmr_{week}"])
            rows.append({"design": design, "interval": f"GMR week {week} (t, df n−1)",
                         "truth": "exp(β·mean months)", "coverage (MC SE)": cov,
                         "replications": r,
                         "mean n": f"{reps[f'gmr_{week}_n'].mean():.1f}", "singular": ""})
        singular = f"{100 * reps['mm_singular'].dropna().astype(bool).mean():.1f}%"
        for key, label in (("mm_z", "MR/month, Wald z (as shipped)"),
                           ("mm_t", "MR/month, t df = patients − 2")):
            cov, r = coverage(reps[key])
            rows.append({"design": design, "interval": label, "truth": "0.97",
                         "coverage (MC SE)": cov, "replications": r, "mean n": str(n),
                         "singular": singular})
    for n_early, n_delayed, sds, difference in EARLY_DESIGNS:
        rng = np.random.default_rng([seed, n_early, n_delayed, int(-difference),
                                     int(10 * sds[0])])
        started = time.perf_counter()
        reps = pd.DataFrame([early_replication(rng, n_early, n_delayed, difference, sds)
                             for _ in range(replications)])
        design = (f"early {n_early} (SD {sds[0]:g}) vs delayed {n_delayed} "
                  f"(SD {sds[1]:g})")
        progress(f"{design}, Δ = {difference:g}: {time.perf_counter() - started:.0f} s")
        singular = f"{100 * reps['lmm_singular'].astype(bool).mean():.1f}%"
        for key, label in (("welch", "Welch t (as shipped)"),
                           ("lmm_z", "mixed model, Wald z (as shipped)"),
                           ("lmm_t", "mixed model, t df = patients − 4")):
            cov, r = coverage(reps[key])
            rows.append({"design": design, "interval": label,
                         "truth": f"{difference:g} points", "coverage (MC SE)": cov,
                         "replications": r, "mean n": str(n_early + n_delayed),
                         "singular": singular if key != "welch" else ""})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    table = run(args.replications, args.seed)
    print(markdown(table))
    print(f"\n{args.replications} replications, seed {args.seed}, "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
