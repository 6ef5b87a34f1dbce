"""progression(): recovery of known synthetic truth, OLS/ΔFRS arithmetic, refusals, settings.

The synthetic cohorts (alsrwe.synth) have a latent course that is linear from onset with a
known per-patient pre-treatment slope and an on-treatment slope of (1 − treatment_effect)
times it, so "% slower than expected" has a known answer (100·treatment_effect).
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pydantic
import pytest

from alsrwe.analytics.analyses.percent_slower import ESTIMAND, FIELLER
from alsrwe.analytics.analyses.progression import (
    LMM_DEFINITION,
    ProgressionResult,
    ProgressionSettings,
    progression,
)
from alsrwe.analytics.analyses.results import AnalysisError, DiagnosticStatus
from alsrwe.analytics.cohort import Cohort
from alsrwe.analytics.cohort.design import progression_table
from alsrwe.domain.alsfrs import delta_frs
from alsrwe.synth import generate_cohort
from alsrwe.synth.parameters import CohortParams

FAST = ProgressionSettings()


def _synthetic(effect: float) -> tuple[Cohort, pd.DataFrame]:
    cohort = generate_cohort(CohortParams(seed=1, n_patients=600, n_carriers=0,
                                          treatment_effect=effect))
    truth = cohort.truth.assign(patient_id=cohort.truth["patient_id"].astype(str))
    return Cohort.from_frames(cohort.tables()), truth.set_index("patient_id")


@pytest.fixture(scope="module")
def half() -> tuple[Cohort, pd.DataFrame]:
    return _synthetic(0.5)


@pytest.fixture(scope="module")
def null() -> tuple[Cohort, pd.DataFrame]:
    return _synthetic(0.0)


@pytest.fixture(scope="module")
def half_result(half: tuple[Cohort, pd.DataFrame]) -> ProgressionResult:
    return progression(half[0], FAST)


def test_recovers_fifty_percent_slower(half_result: ProgressionResult) -> None:
    # ~70 included patients; the SE is ~2 points, so ±12 is ~6 SE: a failure means a bias,
    # not bad luck (seeds 1-4 gave 49.1-51.4).
    r = half_result
    assert r.n_included >= 50
    assert abs(r.percent_slower - 50.0) < 12.0
    lower, upper = r.percent_slower_ci
    assert lower < 50.0 < upper
    assert r.ci_method == FIELLER and r.estimand == ESTIMAND


def test_lmm_sensitivity_can_be_left_out(half: tuple[Cohort, pd.DataFrame],
                                         half_result: ProgressionResult) -> None:
    r = progression(half[0], ProgressionSettings(lmm_sensitivity=False))
    assert r.lmm is None and r.percent_slower == half_result.percent_slower
    assert r.percent_slower_ci == half_result.percent_slower_ci
    assert "sensitivity" not in set(r.to_frame()["role"])


@pytest.mark.parametrize("expected", ["delta_frs", "lmm"])
def test_other_expected_rates_run(half: tuple[Cohort, pd.DataFrame], expected: str) -> None:
    r = progression(half[0], ProgressionSettings(expected=expected))  # type: ignore[arg-type]
    # ΔFRS is unbiased here because the synthetic course is linear from onset; the LMM BLUP is
    # shrunk and its single random slope assumes an additive effect, so it runs ~5-10 low.
    tolerance = 12.0 if expected == "delta_frs" else 20.0
    assert abs(r.percent_slower - 50.0) < tolerance


def test_no_effect_ci_covers_zero(null: tuple[Cohort, pd.DataFrame]) -> None:
    r = progression(null[0], FAST)
    lower, upper = r.percent_slower_ci
    assert lower < 0.0 < upper


def test_lmm_pre_slope_matches_truth_without_effect(null: tuple[Cohort, pd.DataFrame]) -> None:
    cohort, truth = null
    r = progression(cohort, FAST)
    assert r.lmm is not None and r.lmm.converged
    in_model = r.patients.loc[r.patients["enough_visits"], "patient_id"]
    true = truth.loc[in_model, "slope_pre_per_month"]
    # The LMM's β_t is a weighted mean of the patients' slopes: within 4 SE of their mean.
    se = float(true.std(ddof=1)) / np.sqrt(len(true))
    assert abs(r.lmm.pre_slope_per_month - float(true.mean())) < 4 * se
    assert abs(r.lmm.percent_slower) < 10.0
    assert r.lmm.definition == LMM_DEFINITION


def test_ols_slopes_equal_polyfit(half: tuple[Cohort, pd.DataFrame],
                                  half_result: ProgressionResult) -> None:
    rows = progression_table(half[0]).execute()
    rows["patient_id"] = rows["patient_id"].astype(str)
    patients = half_result.patients[half_result.patients["enough_visits"]].head(15)
    for _, p in patients.iterrows():
        mine = rows[rows["patient_id"] == p["patient_id"]]
        for period, part in (("pre", mine[mine["t"] < 0]), ("on", mine[mine["t"] >= 0])):
            slope = np.polyfit(part["t"].to_numpy(float), part["total"].to_numpy(float), 1)[0]
            assert p[f"{period}_slope_per_month"] == pytest.approx(slope, rel=1e-9, abs=1e-12)


def test_delta_frs_equals_domain_rule(half: tuple[Cohort, pd.DataFrame],
                                      half_result: ProgressionResult) -> None:
    rows = progression_table(half[0]).execute()
    rows["patient_id"] = rows["patient_id"].astype(str)
    checked = 0
    for _, p in half_result.patients[half_result.patients["n_pre"] > 0].head(30).iterrows():
        pre = rows[(rows["patient_id"] == p["patient_id"]) & (rows["t"] < 0)]
        last = pre.loc[pre["date"].idxmax()]
        if last["date"] > last["onset_date"]:
            expected = delta_frs(int(last["total"]), last["onset_date"], last["date"])
            assert p["delta_frs"] == pytest.approx(expected, rel=1e-12)
            checked += 1
    assert checked >= 20


def test_small_expected_rates_are_kept(half_result: ProgressionResult) -> None:
    # No rule on the size of the denominator: every patient with enough visits counts.
    r = half_result
    included = r.patients["included"]
    assert included.sum() == r.n_included == r.attrition.remaining
    assert (included == r.patients["enough_visits"]).all()
    small = int((r.patients.loc[included, "expected_rate_per_month"] <= 0.1).sum())
    assert small > 0
    check = {d.name: d for d in r.diagnostics}["mean expected rate above zero"]
    assert check.status is DiagnosticStatus.PASS and f"{small} of {r.n_included}" in check.detail


def test_denominator_not_above_zero_fails_and_has_no_ci() -> None:
    # Almost no decline: the mean expected rate's CI includes zero, the ratio is unbounded.
    synthetic = generate_cohort(CohortParams(seed=3, n_patients=170, n_carriers=0,
                                             decline_mean_per_month=0.02))
    r = progression(Cohort.from_frames(synthetic.tables()),
                    ProgressionSettings(min_patients=2, lmm_sensitivity=False))
    check = {d.name: d for d in r.diagnostics}["mean expected rate above zero"]
    assert check.status is DiagnosticStatus.FAIL and "unbounded" in check.detail
    assert all(np.isnan(r.percent_slower_ci)) and np.isfinite(r.percent_slower)


def test_covariates_enter_the_lmm(half: tuple[Cohort, pd.DataFrame]) -> None:
    s = ProgressionSettings(covariates=("age_at_onset", "bulbar_onset", "delta_frs", "riluzole"))
    r = progression(half[0], s)
    assert r.lmm is not None and r.lmm.on_slope_per_month > r.lmm.pre_slope_per_month


def test_result_serialises(half_result: ProgressionResult) -> None:
    text = json.dumps(half_result.to_dict())
    assert "percent_slower" in text and ESTIMAND in json.loads(text)["estimand"]
    assert half_result.attrition.to_frame()["remaining"].is_monotonic_decreasing


def test_estimates_frame_has_one_sign_roles_and_n(half_result: ProgressionResult) -> None:
    r = half_result
    frame = r.to_frame().set_index("role", append=True)
    assert {"estimate", "value", "lower", "upper", "n_patients"} <= set(frame.columns)
    roles = frame.index.get_level_values("role")
    assert list(roles).count("primary") == 1 and "sensitivity" in roles
    rates = frame[frame["estimate"].str.contains("rate of decline")]
    assert len(rates) == 4 and (rates["value"] > 0).all()  # declines, all positive
    sensitivity = frame.xs("sensitivity", level="role")
    assert sensitivity["lower"].isna().all() and sensitivity["upper"].isna().all()
    assert r.lmm is not None
    assert sensitivity["value"].iloc[-1] == pytest.approx(r.lmm.percent_slower)
    for _, row in frame.iterrows():  # n is the attrition's end, or the label says why not
        assert row["n_patients"] == r.attrition.remaining or "enough visits" in row["estimate"]


def test_refuses_without_treated_patients() -> None:
    frames = {
        "patients": pd.DataFrame({"patient_id": ["A"], "status": ["patient"],
                                  "onset_date": [date(2020, 1, 1)]}),
        "alsfrs": pd.DataFrame({"patient_id": ["A"], "date": [date(2021, 1, 1)],
                                **{f"q{i}": [4] for i in range(1, 13)}, "source": ["clinic"]}),
    }
    with pytest.raises(AnalysisError) as caught:
        progression(Cohort.from_frames(frames))
    assert caught.value.field == "administrations" and "treated" in caught.value.rule


def test_settings_frozen_strict_and_round_trip() -> None:
    s = ProgressionSettings(expected="delta_frs", covariates=("riluzole",))
    with pytest.raises(pydantic.ValidationError):
        s.level = 0.9  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        ProgressionSettings(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        ProgressionSettings(expected="guess")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        ProgressionSettings(interval="bootstrap_t")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):  # the exclusion on the denominator is gone
        ProgressionSettings(min_expected_rate=0.1)  # type: ignore[call-arg]
    assert ProgressionSettings.model_validate_json(s.model_dump_json()) == s


