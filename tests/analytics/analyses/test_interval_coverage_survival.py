"""Seeded short version of benchmarks/validate_survival_intervals.py (docs/validation.md,
"Coverage of the survival and safety intervals"): the report's Kaplan–Meier, Simon–Makuch, Cox
and exact Poisson 95% intervals cover a KNOWN simulated truth.

The bands are ±3 Monte Carlo SEs of a true 95% at the replication count (one-sided, ≥ 95% − 3 SE,
for the conservative exact Poisson interval), so a correct interval fails with probability
≈ 0.3% and an 80% interval passed off as 95% fails for sure (asserted, to keep the check's
power). The treated Simon–Makuch curve's known undercoverage early in follow-up is a strict
xfail: it documents the defect and turns red once it is fixed.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).parents[3] / "benchmarks" / "validate_survival_intervals.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_survival_intervals", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


sim = _load()


def _within_band(coverage: float, shown: int) -> bool:
    return abs(coverage - 0.95) <= sim.binomial_band(shown)


def test_kaplan_meier_covers_survival_and_median() -> None:
    # n = 150 (the demo's size): at n = 30 the log limits cover 93.7-95.5% (docs/validation.md),
    # too close to the band's edge for a 400-replication check
    tallies = sim.kaplan_meier_coverage(np.random.default_rng(11), 150, sim.Weibull(1.0, 24.0),
                                        400)
    for tally in tallies:
        assert tally.shown >= 380, tally.row()
        assert _within_band(tally.coverage, tally.shown), tally.row()


def test_an_80_percent_interval_fails_the_same_band() -> None:
    tallies = sim.kaplan_meier_coverage(np.random.default_rng(11), 150, sim.Weibull(1.0, 24.0),
                                        400, level=0.80)
    assert all(not _within_band(t.coverage, t.shown) for t in tallies[:3])


def test_simon_makuch_untreated_curve_covers_under_no_effect() -> None:
    tallies = sim.simon_makuch_coverage(np.random.default_rng(12), 300, sim.Weibull(1.5, 30.0),
                                        300)
    untreated = [t for t in tallies if t.scenario.startswith("untreated")]
    assert len(untreated) == 4
    for tally in untreated:
        assert _within_band(tally.coverage, tally.shown), tally.row()


@pytest.mark.xfail(strict=True, reason="known: the treated Simon–Makuch curve undercovers "
                   "S(12) (sparse early risk sets); docs/validation.md")
def test_simon_makuch_treated_curve_covers_under_no_effect() -> None:
    tallies = sim.simon_makuch_coverage(np.random.default_rng(12), 300, sim.Weibull(1.5, 30.0),
                                        300)
    treated = [t for t in tallies if t.scenario.startswith("treated")]
    for tally in treated:
        assert _within_band(tally.coverage, tally.shown), tally.row()


@pytest.mark.parametrize("hazard_ratio", [1.0, 0.6])
def test_time_varying_cox_hr_interval_covers(hazard_ratio: float) -> None:
    (tally,) = sim.cox_coverage(np.random.default_rng(13), 150, hazard_ratio, 200)
    assert tally.shown == 200
    assert _within_band(tally.coverage, tally.shown), tally.row()


@pytest.mark.parametrize("expected", [0.5, 2.0, 10.0, 30.0])
def test_exact_poisson_rate_is_at_least_nominal(expected: float) -> None:
    tally, exact = sim.poisson_coverage(np.random.default_rng(14), expected, 2000)
    assert tally.coverage >= 0.95 - sim.binomial_band(2000), tally.row()
    # the simulation agrees with the coverage summed over the Poisson distribution
    mc_se = math.sqrt(exact * (1.0 - exact) / 2000)
    assert abs(tally.coverage - exact) <= 3.0 * mc_se + 1e-12
    assert exact >= 0.95  # Garwood's interval never undercovers


def test_poisson_coverage_check_has_power() -> None:
    tally, exact = sim.poisson_coverage(np.random.default_rng(14), 10.0, 2000, level=0.80)
    assert exact < 0.9
    assert tally.coverage < 0.95 - sim.binomial_band(2000)
