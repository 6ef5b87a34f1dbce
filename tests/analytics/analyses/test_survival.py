"""The survival analysis: immortal-time handling on hand-made data, the synthetic registry."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from alsrwe.analytics.analyses.results import AnalysisError, DiagnosticStatus
from alsrwe.analytics.analyses.survival import (
    SurvivalSettings,
    survival,
    treatment_intervals,
)
from alsrwe.analytics.analyses.survival_estimators import cox
from alsrwe.analytics.cohort import Cohort
from alsrwe.domain.alsfrs import DAYS_PER_MONTH
from alsrwe.synth import generate_cohort
from alsrwe.synth.parameters import CohortParams

# DuckDB 2.0 warns about its own API when Ibis reads a schema; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning")

def test_treatment_intervals_split_at_first_dose() -> None:
    rows = pd.DataFrame({"id": ["a", "b", "c"], "entry": [0, 10, 5], "stop": [100, 50, 30],
                         "event": [1, 0, 1], "first_dose": [40, None, 2]})
    iv = treatment_intervals(rows)
    assert iv[["id", "start", "stop", "event", "treated"]].values.tolist() == [
        ["a", 0, 40, 0, 0.0], ["a", 40, 100, 1, 1.0], ["b", 10, 50, 0, 0.0],
        ["c", 5, 30, 1, 1.0]]


def _immortal_time_cohort(n: int = 500, seed: int = 11) -> tuple[Cohort, pd.DataFrame]:
    """Treatment has no effect, but only patients alive at their treatment date are treated."""
    rng = np.random.default_rng(seed)
    onset = date(2015, 1, 1)
    death = np.maximum(1, rng.exponential(700.0, n).astype(int))
    censor = 1500
    planned = rng.uniform(0, 1200, n).astype(int)
    treated = planned < np.minimum(death, censor)
    ids = [f"P{i:04d}" for i in range(n)]
    day = [onset + timedelta(days=int(d)) for d in range(0, 1)]
    patients = pd.DataFrame({"patient_id": ids, "status": "patient", "onset_date": day * n,
                             "onset_region": "lower_limb", "birth_year": 1960})
    last = np.minimum(death, censor)
    alsfrs = pd.DataFrame({
        "patient_id": ids * 2, "source": "clinic",
        "date": [onset] * n + [onset + timedelta(days=int(d)) for d in last],
        **{f"q{i}": 4 for i in range(1, 13)}})
    doses = pd.DataFrame({"patient_id": [p for p, t in zip(ids, treated, strict=True) if t],
                          "date": [onset + timedelta(days=int(d)) for d in planned[treated]],
                          "drug": "tofersen", "status": "given", "dose_mg": 100.0})
    died = death <= censor
    milestones = pd.DataFrame({"patient_id": np.array(ids)[died], "kind": "death",
                               "date": [onset + timedelta(days=int(d)) for d in death[died]]})
    naive = pd.DataFrame({"time": last, "event": died.astype(int),
                          "ever_treated": treated.astype(float)})
    frames = {"patients": patients, "alsfrs": alsfrs, "administrations": doses,
              "milestones": milestones}
    return Cohort.from_frames(frames), naive


def test_simon_makuch_and_landmark_recover_no_effect_where_ever_treated_is_biased() -> None:
    # known truth: death ~ exponential(mean 700 days) whether treated or not, so both
    # Simon–Makuch curves estimate S(t) = exp(−t/700); "ever treated" looks protective
    cohort, naive = _immortal_time_cohort()
    result = survival(cohort, SurvivalSettings(endpoint="death", origin="onset"))
    assert result.simon_makuch is not None and result.landmark is not None
    at = 12 * DAYS_PER_MONTH
    truth = math.exp(-at / 700.0)
    for group in ("untreated", "treated"):
        s = result.simon_makuch.curves[group].survival_at([12.0]).iloc[0]
        assert s["lower"] < truth < s["upper"], group
    ever = naive[naive["ever_treated"] == 1]
    biased = KaplanMeierFitter().fit(ever["time"], ever["event"]).survival_function_at_times(at)
    treated = result.simon_makuch.curves["treated"].survival_at([12.0]).iloc[0]
    assert biased.item() > treated["upper"]
    median = result.medians().set_index("origin").loc["onset"]
    assert median["lower_months"] < 700 * math.log(2) / DAYS_PER_MONTH < median["upper_months"]
    assert result.landmark.logrank is not None and result.landmark.logrank.p > 0.01


def test_too_few_patients_per_group_warn_or_fail() -> None:
    untreated = generate_cohort(CohortParams(seed=4, n_patients=20, n_carriers=0,
                                             treatment_share=0.0))
    result = survival(Cohort.from_frames(untreated.tables()))
    checks = {d.name: d.status for d in result.diagnostics}
    assert checks["Simon–Makuch groups"] == DiagnosticStatus.FAIL  # nobody treated
    assert checks["landmark groups"] == DiagnosticStatus.FAIL


def test_small_groups_warn(synthetic: Cohort) -> None:
    result = survival(synthetic, SurvivalSettings(min_group_patients=1000))
    checks = {d.name: d.status for d in result.diagnostics}
    assert checks["Simon–Makuch groups"] == DiagnosticStatus.WARN
    default = {d.name: d.status for d in survival(synthetic).diagnostics}
    assert default["Simon–Makuch groups"] == DiagnosticStatus.PASS


def test_time_varying_treatment_avoids_immortal_time_bias() -> None:
    cohort, naive = _immortal_time_cohort()
    biased = cox(naive, "time", "event", ["ever_treated"]).summary.loc["ever_treated"]
    assert biased["upper"] < 1.0  # the naive model credits survival-to-treatment to the drug
    result = survival(cohort, SurvivalSettings(endpoint="death"))
    assert result.cox is not None
    hr = result.cox.summary.loc["treated"]
    assert hr["lower"] < 1.0 < hr["upper"]
    assert result.cox.events == int(naive["event"].sum())


@pytest.fixture(scope="module")
def synthetic() -> Cohort:
    sc = generate_cohort(CohortParams(n_patients=200, n_carriers=10, seed=5))
    return Cohort.from_frames(sc.tables())


def test_survival_on_synthetic_registry(synthetic: Cohort) -> None:
    settings = SurvivalSettings(covariates=("age_at_onset", "bulbar_onset"))
    result = survival(synthetic, settings)
    medians = result.medians().set_index("origin")
    assert set(medians.index) == {"onset", "treatment start"}
    assert medians.loc["onset", "events"] > 20
    assert result.cox is not None
    assert set(result.cox.summary.index) == {"treated", "age_at_onset", "bulbar_onset"}
    assert result.attrition.remaining == medians.loc["onset", "n"]
    curve = result.curve_frame()
    assert curve["survival"].between(0, 1).all()
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["settings"]["covariates"] == ["age_at_onset", "bulbar_onset"]
    assert payload["simon_makuch"]["at_risk"] and payload["landmark"]["logrank"] is not None
    frame = result.to_frame()
    medians = frame[frame["quantity"].str.startswith("median")]
    assert len(medians) == 2 + 2 + 2  # onset, first dose; Simon–Makuch, landmark per group
    assert medians["quantity"].str.endswith("(months)").all()
    assert "median from treatment start (months)" in set(medians["quantity"])
    assert frame["quantity"].str.startswith("hazard ratio").sum() == 3
    assert not frame["quantity"].str.contains("days").any()


def test_endpoint_choice_and_censor_date(synthetic: Cohort) -> None:
    composite = survival(synthetic).curves["onset"]
    death = survival(synthetic, SurvivalSettings(endpoint="death")).curves["onset"]
    assert death.events <= composite.events
    cut = survival(synthetic, SurvivalSettings(censor_date=date(2023, 1, 1)))
    assert cut.curves["onset"].events < composite.events
    assert any(s.rule == "entered by the censor date" for s in cut.attrition.steps)


def test_no_patients_is_refused() -> None:
    empty = Cohort.from_frames({"patients": pd.DataFrame({"patient_id": ["C1"],
                                                          "status": ["carrier"]})})
    with pytest.raises(AnalysisError):
        survival(empty)
