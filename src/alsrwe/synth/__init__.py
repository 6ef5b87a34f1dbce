"""Seeded synthetic SOD1-ALS cohorts for the demo, tests and benchmarks.

    from alsrwe.synth import CohortParams, generate_cohort
    cohort = generate_cohort(CohortParams(seed=1, n_patients=500))
    cohort.tables()   # the tidy CSV tables of docs/data-format.md
    cohort.truth      # the latent slopes, treatment start, NfL baseline … per person

Parameters cite docs/domain-rules.md or are marked as alsrwe assumptions (see ``parameters``).
"""

from alsrwe.synth.cohort import TABLES, SyntheticCohort, generate_cohort
from alsrwe.synth.parameters import (
    DEFAULT_SITES,
    DEFAULT_VARIANTS,
    MONTH_DAYS,
    CohortParams,
    SiteSpec,
    VariantSpec,
    legacy_to_hgvs,
)

__all__ = [
    "DEFAULT_SITES",
    "DEFAULT_VARIANTS",
    "MONTH_DAYS",
    "TABLES",
    "CohortParams",
    "SiteSpec",
    "SyntheticCohort",
    "VariantSpec",
    "generate_cohort",
    "legacy_to_hgvs",
]
