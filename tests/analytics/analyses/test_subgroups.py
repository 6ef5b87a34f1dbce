"""Subgroups of "% slower than expected": n's add up, estimates equal percent_slower on the same
patients selected independently here, small subgroups shown without an estimate."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from alsrwe.analytics.analyses.percent_slower import percent_slower
from alsrwe.analytics.analyses.progression import ProgressionSettings, progression
from alsrwe.analytics.analyses.subgroups import VARIABLES, SubgroupSettings, subgroups
from alsrwe.analytics.cohort import Cohort
from alsrwe.domain.sod1 import parse_sod1_variant
from alsrwe.synth import SyntheticCohort

FAST = ProgressionSettings(lmm_sensitivity=False)  # the subgroups need no mixed model


@pytest.fixture(scope="module")
def cohort(synthetic_cohort: SyntheticCohort) -> Cohort:
    return Cohort.from_frames(synthetic_cohort.tables())


@pytest.fixture(scope="module")
def included(cohort: Cohort, synthetic_cohort: SyntheticCohort) -> pd.DataFrame:
    """Included patients of the progression analysis with the raw registry rows (not the
    engine's columns): the variant as entered, onset region, birth year."""
    per = progression(cohort, FAST).patients
    raw = synthetic_cohort.tables()["patients"]
    return per[per["included"]].merge(raw, on="patient_id")


def _estimate(rows: pd.DataFrame) -> float:
    return percent_slower(rows["observed_rate_per_month"].to_numpy(float),
                          rows["expected_rate_per_month"].to_numpy(float)).estimate


def test_subgroup_ns_add_up_to_the_overall_n(cohort: Cohort) -> None:
    result = subgroups(cohort, SubgroupSettings(progression=FAST))
    assert result.overall.n == int(progression(cohort, FAST).patients["included"].sum())
    for variable in VARIABLES:
        rows = result.rows[result.rows["variable"] == variable]
        assert rows["n"].sum() == result.overall.n, variable
    assert json.loads(json.dumps(result.to_dict()))["subgroups"][0]["n"] == result.overall.n


def test_estimates_equal_percent_slower_on_independently_selected_patients(
    cohort: Cohort, included: pd.DataFrame,
) -> None:
    result = subgroups(cohort, SubgroupSettings(progression=FAST, min_patients=2))
    shown = result.to_frame().set_index(["variable", "subgroup"])
    a4v = parse_sod1_variant("p.Ala5Val")
    is_a4v = included["sod1_variant"].map(lambda v: parse_sod1_variant(v) == a4v)
    spinal = included["onset_region"].isin(["upper_limb", "lower_limb"])
    dfrs = included["delta_frs"]
    chosen = {("SOD1 variant", "other variant"): included[~is_a4v],
              ("onset region", "spinal"): included[spinal],
              ("ΔFRS at first dose", "< 0.5"): included[dfrs < 0.5],
              ("all", "all included patients"): included}
    for key, rows in chosen.items():
        assert shown.loc[key, "n"] == len(rows), key
        assert shown.loc[key, "estimate"] == pytest.approx(_estimate(rows), rel=1e-12), key
    overall = percent_slower(included["observed_rate_per_month"].to_numpy(float),
                             included["expected_rate_per_month"].to_numpy(float))
    assert (result.overall.lower, result.overall.upper) == pytest.approx(
        (overall.lower, overall.upper))


def test_fixed_age_cut_at_first_dose(cohort: Cohort, included: pd.DataFrame,
                                     synthetic_cohort: SyntheticCohort) -> None:
    result = subgroups(cohort, SubgroupSettings(progression=FAST, age_cut_years=50.0,
                                                min_patients=2))
    doses = synthetic_cohort.tables()["administrations"]
    first = doses[doses["status"] == "given"].groupby("patient_id", observed=True)["date"].min()
    age = pd.to_datetime(included["patient_id"].map(first)).dt.year - included["birth_year"]
    rows = result.rows[result.rows["variable"] == "age at first dose"].set_index("subgroup")
    assert rows.loc["< 50 years", "n"] == int((age < 50).sum())
    assert rows.loc["≥ 50 years", "n"] == int((age >= 50).sum())
    if (age >= 50).sum() >= 2:
        assert rows.loc["≥ 50 years", "estimate"] == pytest.approx(
            _estimate(included[age.to_numpy() >= 50]), rel=1e-12)


def test_small_subgroups_are_shown_without_an_estimate(cohort: Cohort) -> None:
    result = subgroups(cohort, SubgroupSettings(progression=FAST, min_patients=8))
    few = result.rows[result.rows["n"] < 8]
    assert len(few) > 0 and (few["note"] == "too few").all()
    assert few[["estimate", "lower", "upper"]].isna().all().all()
    enough = result.rows[result.rows["n"] >= 8]
    assert np.isfinite(enough["estimate"]).all()
    sizes = next(d for d in result.diagnostics if d.name == "subgroup sizes")
    assert sizes.status.value == "WARN"
    assert not math.isnan(result.overall.estimate)
