"""Coverage of the O/E exact Poisson CI when the ENCALS model is the truth.

    .venv/bin/python benchmarks/validate_observed_expected.py --replicates 5000

The patients (their t0 = months from onset to the first dose, and their ENCALS linear
predictor) are those the analysis includes in synthetic cohorts (seed 7 with 60 patients, as
the tests; the default 300-patient cohort). Event times from the first dose are drawn from the
ENCALS model itself (conditional on being event-free at t0), censored at a uniform time, and
O/E is computed with its exact Poisson CI (E fixed); coverage = how often the CI holds the
true ratio 1. Rows with an odds multiplier ≠ 1 show how often the CI wrongly holds 1.
Seeds differ from those of the tests.
"""

from __future__ import annotations

import argparse
import warnings

from alsrwe.analytics.analyses.expected_events import simulate_oe_coverage
from alsrwe.analytics.analyses.observed_expected import observed_vs_expected
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.synth import CohortParams, generate_cohort

COHORTS = {"seed 7, 60 patients": CohortParams(seed=7, n_patients=60, n_carriers=6),
           "default, 300 patients": CohortParams()}
SCENARIOS = (((6.0, 48.0), 1.0), ((1.0, 12.0), 1.0), ((6.0, 48.0), 2.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replicates", type=int, default=5000)
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    print("| cohort | patients | censoring (months) | odds × | mean O | mean E | mean O/E "
          "| covers 1 | MC SE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seed, (name, params) in enumerate(COHORTS.items(), start=1000):
        rows = observed_vs_expected(Cohort.from_frames(generate_cohort(params).tables()))
        patients = rows.survival_patients
        for censor, ratio in SCENARIOS:
            c = simulate_oe_coverage(patients["t0_months"], patients["lp"],
                                     replicates=args.replicates, seed=seed,
                                     censor_months=censor, true_ratio=ratio)
            print(f"| {name} | {c.patients} | U({censor[0]:g}, {censor[1]:g}) | {ratio:g} | "
                  f"{c.mean_observed:.1f} | {c.mean_expected:.1f} | {c.mean_ratio:.3f} | "
                  f"{100 * c.coverage:.1f}% | {100 * c.monte_carlo_se:.1f}% |")


if __name__ == "__main__":
    main()
