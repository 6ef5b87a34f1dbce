"""Seeded short coverage checks of the NfL and early-vs-delayed intervals (issue 12).

Data are simulated with KNOWN truth (the full validation, its designs and the measured table
are in benchmarks/validate_nfl_early_intervals.py and docs/validation.md). A check passes when
the coverage of the nominal 95% interval lies within 3 binomial SEs of 95% for its replication
count, so an interval that is too narrow (or too wide) by a clinically relevant amount fails.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alsrwe.analytics.analyses.early_delayed import welch_difference
from alsrwe.analytics.analyses.nfl import NflSettings, _mixed_model, _summaries, _windows
from alsrwe.analytics.lmm.fit import fit_lmm
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

NFL_SLOPE = math.log(0.97)  # per month: the Padova CSF NfL mean ratio (docs/domain-rules.md §7)
DOSING_DAYS = np.array([14, 28, *range(56, 393, 28)])  # tofersen dosing days (§3.1)
WEEK52 = 364 / DAYS_PER_MONTH


def band(replications: int, level: float = 0.95) -> tuple[float, float]:
    """95% ± 3 binomial SEs: a correct interval falls outside with probability ≈ 0.3%."""
    half = 3.0 * math.sqrt(level * (1.0 - level) / replications)
    return level - half, level + half


def simulate_nfl(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.Series]:
    """log NfL = log 70 + b₀ + (β + b₁)·months + ε after dose 1 (flat before), 3–8 values."""
    cov = np.array([[0.36, -0.0036], [-0.0036, 0.0004]])  # SDs 0.6 and 0.02/month, corr −0.3
    b = rng.multivariate_normal(np.zeros(2), cov, size=n)
    frames = []
    for i in range(n):
        post = np.sort(rng.choice(DOSING_DAYS, size=int(rng.integers(2, 8)), replace=False))
        days = np.concatenate([[-int(rng.integers(0, 15))], post])
        months = np.clip(days, 0, None) / DAYS_PER_MONTH
        log_y = math.log(70.0) + b[i, 0] + (NFL_SLOPE + b[i, 1]) * months
        frames.append(pd.DataFrame({"patient_id": f"p{i:02d}", "days": days,
                                    "value": np.exp(log_y + rng.normal(0, 0.15, days.size))}))
    values = pd.concat(frames, ignore_index=True)
    return values, values[values["days"] <= 0].groupby("patient_id")["days"].max()


def test_nfl_geometric_mean_ratio_and_mixed_model_cover_at_20_patients() -> None:
    rng = np.random.default_rng(4101)
    settings = NflSettings()
    replications, gmr_hits, gmr_reps, model_hits = 250, 0, 0, 0
    for _ in range(replications):
        values, baseline_days = simulate_nfl(rng, 20)
        baseline = values[values["days"] <= 0].set_index("patient_id")["value"]
        per_patient = _windows(values, baseline, settings)
        row = _summaries(per_patient, settings).set_index("week").loc[52]
        used = per_patient[per_patient["week"] == 52]
        if row["n"] >= 2:
            truth = math.exp(NFL_SLOPE * float(used["days"].mean()) / DAYS_PER_MONTH)
            gmr_hits += bool(row["lower"] <= truth <= row["upper"])
            gmr_reps += 1
        model, _ = _mixed_model(values, baseline_days, 0.95)
        assert model is not None
        model_hits += bool(model.lower <= 0.97 <= model.upper)
    low, high = band(gmr_reps)
    assert low <= gmr_hits / gmr_reps <= high
    low, high = band(replications)
    assert low <= model_hits / replications <= high


def test_welch_difference_covers_with_unequal_variances_and_sizes() -> None:
    """15 vs 30 patients, the smaller group twice as variable: the case a pooled t misses."""
    rng = np.random.default_rng(4102)
    replications, hits, pooled_hits = 3000, 0, 0
    for _ in range(replications):
        a, b = rng.normal(-12.5, 9.6, 15), rng.normal(-9.5, 4.8, 30)
        _, lower, upper = welch_difference(a, b, 0.95)
        hits += bool(lower <= -3.0 <= upper)
        sp = math.sqrt((14 * a.var(ddof=1) + 29 * b.var(ddof=1)) / 43 * (1 / 15 + 1 / 30))
        pooled_hits += bool(abs(a.mean() - b.mean() + 3.0) <= stats.t.ppf(0.975, 43) * sp)
    low, high = band(replications)
    assert low <= hits / replications <= high
    assert pooled_hits / replications < low  # the check has the power to see a wrong interval


def simulate_alsfrs(rng: np.random.Generator, n_early: int, n_delayed: int, difference: float,
                    sd_early: float, sd_delayed: float) -> pd.DataFrame:
    """ALSFRS-R at day 0, day 364 and 1–6 visits between; group mean slopes differ by Δ/12."""
    frames = []
    for i in range(n_early + n_delayed):
        early = i < n_early
        slope = -9.5 / WEEK52 + (difference / WEEK52 if early else 0.0)
        slope += rng.normal(0.0, sd_early if early else sd_delayed)
        t = np.concatenate([[0.0], np.sort(rng.uniform(0.5, WEEK52 - 0.5,
                                                       int(rng.integers(1, 7)))), [WEEK52]])
        total = 38.0 + rng.normal(0.0, 5.0) + slope * t + rng.normal(0.0, 1.5, t.size)
        frames.append(pd.DataFrame({"patient_id": f"p{i:03d}", "t": t, "total": total,
                                    "early": float(early)}))
    data = pd.concat(frames, ignore_index=True)
    data["t_early"] = data["t"] * data["early"]
    return data


def lmm_difference_covers(data: pd.DataFrame, difference: float) -> bool:
    """The Wald interval of early_delayed._lmm_difference: β(t × early)·months ± z·SE."""
    fit = fit_lmm(data, "total", ["t", "early", "t_early"], "patient_id", "t")
    est, se = fit.fixed["t_early"] * WEEK52, fit.se["t_early"] * WEEK52
    return abs(est - difference) <= float(stats.norm.ppf(0.975)) * se


def test_mixed_model_difference_covers_with_equal_variances() -> None:
    rng = np.random.default_rng(4103)
    replications = 250
    hits = sum(lmm_difference_covers(simulate_alsfrs(rng, 15, 30, -3.0, 0.6, 0.6), -3.0)
               for _ in range(replications))
    low, high = band(replications)
    assert low <= hits / replications <= high


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known: the mixed model assumes one between-patient slope variance for both groups; with "
    "SDs 0.8 vs 0.4 and 15 vs 30 patients its Wald interval covers ~88% (docs/validation.md). "
    "Remove the mark when the interval is fixed."))
def test_mixed_model_difference_covers_with_unequal_variances() -> None:
    rng = np.random.default_rng(4104)
    replications = 400
    hits = sum(lmm_difference_covers(simulate_alsfrs(rng, 15, 30, -3.0, 0.8, 0.4), -3.0)
               for _ in range(replications))
    low, high = band(replications)
    assert low <= hits / replications <= high
