"""Observed vs expected: ΔFRS, PRO-ACT and ENCALS (docs/domain-rules.md §16).

Checked against outside references (R's exact Poisson limits), simulations with KNOWN truth
(event times drawn from the ENCALS model itself; the synthetic cohort's latent slopes), and a
hand-built cohort whose predictors are worked out here by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from alsrwe.analytics.analyses.expected_events import poisson_ratio_ci, simulate_oe_coverage
from alsrwe.analytics.analyses.observed_expected import (
    CAVEAT,
    ObservedExpectedResult,
    ObservedExpectedSettings,
    observed_vs_expected,
)
from alsrwe.analytics.analyses.results import AnalysisError, DiagnosticStatus
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.report.builder import ReportSettings
from alsrwe.analytics.report.present_expected import present_observed_expected
from alsrwe.analytics.report.presentations import ANALYSES
from alsrwe.domain.encals import TRICALS_RISK_PROFILE, cumulative_hazard, encals_predictors
from alsrwe.domain.encals import linear_predictor as lp_of
from alsrwe.synth import SyntheticCohort

MONTH = 365.25 / 12


@pytest.fixture(scope="module")
def result(synthetic_cohort: SyntheticCohort) -> ObservedExpectedResult:
    return observed_vs_expected(Cohort.from_frames(synthetic_cohort.tables()))


# --- the exact Poisson CI and its coverage -------------------------------------------------


@pytest.mark.parametrize(("observed", "lower", "upper"), [
    # R 4.x: poisson.test(x)$conf.int (exact, Garwood)
    (0, 0.0, 3.688879), (5, 1.623486, 11.668332), (10, 4.795389, 18.390356)])
def test_exact_poisson_limits_match_r(observed: int, lower: float, upper: float) -> None:
    ci = poisson_ratio_ci(observed, 2.0)
    assert ci.ratio == observed / 2.0
    assert ci.lower == pytest.approx(lower / 2.0, abs=5e-7)
    assert ci.upper == pytest.approx(upper / 2.0, abs=5e-7)


def test_coverage_when_encals_is_the_truth(result: ObservedExpectedResult) -> None:
    # Short seeded run (the long run is in docs/validation.md): 400 cohorts like the
    # synthetic one, events drawn from the ENCALS model, censored uniformly on 6-48 months.
    patients = result.survival_patients
    c = simulate_oe_coverage(patients["t0_months"], patients["lp"], replicates=400, seed=11)
    assert 0.92 <= c.coverage <= 0.99  # nominal 95%; Monte Carlo SE ≈ 1.1%
    assert c.mean_observed == pytest.approx(c.mean_expected, rel=0.1)


def test_a_wrong_model_is_detected(result: ObservedExpectedResult) -> None:
    # Truth: odds of an event 3 × the model's. The CI must then often exclude 1.
    patients = result.survival_patients
    c = simulate_oe_coverage(patients["t0_months"], patients["lp"], replicates=200, seed=12,
                             true_ratio=3.0)
    assert c.mean_ratio > 1.4
    assert c.coverage < 0.8


# --- the synthetic cohort (known latent slopes) --------------------------------------------


def test_rates_recover_the_latent_on_treatment_slopes(
        result: ObservedExpectedResult, synthetic_cohort: SyntheticCohort) -> None:
    truth = synthetic_cohort.truth.set_index("patient_id")["slope_on_per_month"]
    rates = result.rates
    true_rate = -rates["patient_id"].map(truth)
    assert len(rates) >= 20
    assert rates["observed_rate_per_month"].mean() == pytest.approx(true_rate.mean(), abs=0.1)
    pro_act = next(c for c in result.comparisons if c.reference == "PRO-ACT")
    # 100·(1 − Σobs/Σexp) with Σexp = n × 0.99, by hand from the per-patient table
    by_hand = 100 * (1 - rates["observed_rate_per_month"].sum() / (0.99 * len(rates)))
    assert pro_act.percent_slower == pytest.approx(by_hand, abs=1e-9)
    assert pro_act.percent_slower == pytest.approx(100 * (1 - true_rate.mean() / 0.99), abs=12)
    dfrs = next(c for c in result.comparisons if c.reference == "ΔFRS at first dose")
    by_hand = 100 * (1 - rates["observed_rate_per_month"].sum() / rates["delta_frs"].sum())
    assert dfrs.percent_slower == pytest.approx(by_hand, abs=1e-9)


def test_events_and_expected_events(result: ObservedExpectedResult,
                                    synthetic_cohort: SyntheticCohort) -> None:
    rows = result.survival_patients
    tables = synthetic_cohort.tables()
    doses = tables["administrations"]
    doses = doses[(doses["status"] == "given") & (doses["drug"] == "tofersen")]
    starts = doses.groupby("patient_id", observed=True)["date"]
    first = pd.to_datetime(starts.min())
    m = tables["milestones"]
    events = m[m["kind"].isin(["death", "tracheostomy"])]
    deaths = events.groupby("patient_id", observed=True)["date"].min()
    ids = rows["patient_id"]
    after = pd.to_datetime(ids.map(deaths)) > ids.map(first)
    assert result.events is not None
    assert result.events.observed == int(after.sum()) == int(rows["event"].sum())
    assert result.events.expected == pytest.approx(rows["expected_events"].sum())
    assert result.events.lower < result.events.ratio < result.events.upper
    # Ederer I starts at 1 and only falls; the KM is a proper curve
    curve = result.expected_curve["expected_survival"].to_numpy()
    assert curve[0] == 1.0 and np.all(np.diff(curve) <= 0) and curve[-1] > 0


def test_unrecorded_predictors_are_a_setting_and_a_warning(
        synthetic_cohort: SyntheticCohort, result: ObservedExpectedResult) -> None:
    cohort = Cohort.from_frames(synthetic_cohort.tables())
    present = observed_vs_expected(cohort, ObservedExpectedSettings(unrecorded_definite_als=1))
    shift = present.survival_patients["lp"] - result.survival_patients["lp"]
    assert np.allclose(shift, TRICALS_RISK_PROFILE.definite_als)  # +0.238 each
    warning = next(d for d in result.diagnostics if d.name == "unrecorded ENCALS predictors")
    assert warning.status is DiagnosticStatus.WARN
    assert f"any of the {len(result.survival_patients)} patients" in warning.detail
    assert "TRICALS" in warning.detail and "= 0" in warning.detail
    full = observed_vs_expected(cohort, ObservedExpectedSettings(model="full",
                                                                 unrecorded_c9orf72=1))
    assert "C9orf72 = 1" in next(d.detail for d in full.diagnostics
                                 if d.name == "unrecorded ENCALS predictors")


def test_result_shapes(result: ObservedExpectedResult) -> None:
    assert result.caveat == CAVEAT and "not cross-checked" in CAVEAT
    frame = result.to_frame()
    assert frame["lower"].notna().sum() == 1  # only O/E has a CI
    out = json.loads(json.dumps(result.to_dict()))
    assert out["caveat"] == CAVEAT and out["estimates"][-1]["estimate"].startswith("O/E")
    steps = result.survival_attrition.to_frame()["rule"].tolist()
    for word in ("ΔFRS", "diagnostic delay", "age at onset", "vital capacity"):
        assert any(word in step for step in steps)


def test_presentation_and_registration(result: ObservedExpectedResult,
                                       synthetic_cohort: SyntheticCohort) -> None:
    shown = present_observed_expected(result, Cohort.from_frames(synthetic_cohort.tables()))
    assert CAVEAT in shown.headline and "points/month" in shown.headline
    assert f"{len(result.rates)} patients" in shown.headline and "O/E" in shown.headline
    assert [f.key for f in shown.figures] == ["observed-expected-survival",
                                              "observed-expected-rates"]
    assert all("months" in f.caption or "points/month" in f.caption for f in shown.figures)
    assert [t.per_patient for t in shown.tables] == [False, False, True, True]
    names = [a.name for a in ANALYSES]
    assert names[names.index("early_vs_delayed") + 1] == "observed_expected"
    assert isinstance(ReportSettings().observed_expected, ObservedExpectedSettings)


# --- a hand-built cohort -------------------------------------------------------------------


def _items(total: int) -> dict[str, int]:
    scores = [4] * 12
    for i in range(48 - total):
        scores[i % 12] -= 1
    return {f"q{i + 1}": s for i, s in enumerate(scores)}


def _cohort() -> Cohort:
    patients = pd.DataFrame([
        # P1: bulbar, 60 at onset, delay 305 days; P2: diagnosed on the day of onset;
        # P3: tracheostomy before the first dose.
        ("P1", "2020-01-01", "bulbar", "2020-11-01"),
        ("P2", "2019-06-01", "lower_limb", "2019-06-01"),
        ("P3", "2019-01-01", "lower_limb", "2019-09-01")],
        columns=["patient_id", "onset_date", "onset_region", "diagnosis_date"]).assign(
        site="S1", sex="F", birth_year=1960, status="patient", sod1_variant="A4V",
        zygosity="heterozygous")
    visits = [("P1", "2021-12-01", 36), ("P1", "2022-01-01", 35), ("P1", "2022-04-01", 34),
              ("P1", "2022-07-01", 33), ("P1", "2022-10-01", 31),
              ("P2", "2021-05-01", 40), ("P2", "2021-09-01", 38), ("P2", "2021-12-01", 37),
              ("P2", "2022-03-01", 36), ("P3", "2021-02-01", 30)]
    alsfrs = pd.DataFrame([{"patient_id": p, "date": d, **_items(t), "gastrostomy": 0,
                            "source": "clinic"} for p, d, t in visits])
    doses = pd.DataFrame([(p, d) for p in ("P1", "P2", "P3") for d in
                          {"P1": ["2022-01-01"], "P2": ["2021-06-01"],
                           "P3": ["2021-03-01"]}[p]],
                         columns=["patient_id", "date"]).assign(
        drug="tofersen", dose_mg=100.0, status="given", lot="L1", csf_removed_ml=10.0)
    measurements = pd.DataFrame([
        ("P1", "2021-06-01", 80.0),  # 214 days before the first dose: outside the window
        ("P1", "2021-12-15", 70.0), ("P2", "2021-05-01", 90.0), ("P3", "2021-02-01", 60.0)],
        columns=["patient_id", "date", "value"]).assign(kind="svc_percent", unit="%")
    milestones = pd.DataFrame([("P1", "2022-06-01", "niv"), ("P1", "2023-01-01", "death"),
                               ("P3", "2021-01-01", "tracheostomy")],
                              columns=["patient_id", "date", "kind"])
    return Cohort.from_frames({"patients": patients, "alsfrs": alsfrs, "administrations": doses,
                               "measurements": measurements, "milestones": milestones})


def test_hand_built_cohort() -> None:
    r = observed_vs_expected(_cohort(), ObservedExpectedSettings(min_patients=1))
    # P2 is dropped (no delay), P3 (event before the first dose): only P1 remains.
    assert r.survival_attrition.to_frame()["removed"].tolist() == [0, 0, 1, 0, 0, 0, 1]
    p1 = r.survival_patients.set_index("patient_id").loc["P1"]
    months_to_assessment = 731 / MONTH  # 2020-01-01 → 2022-01-01 (total 35, same day)
    assert p1["delta_frs"] == pytest.approx((48 - 35) / months_to_assessment)
    assert p1["delay_months"] == pytest.approx(305 / MONTH)
    assert p1["age_at_onset"] == 60 and p1["bulbar_onset"] == 1.0
    assert p1["vc_percent"] == 70.0  # the older 80% is outside the 183-day window
    assert p1["t0_months"] == pytest.approx(731 / MONTH)
    assert p1["follow_up_months"] == pytest.approx(365 / MONTH) and p1["event"] == 1
    lp = lp_of(encals_predictors((48 - 35) / months_to_assessment, 305 / MONTH, 60.0, 70.0, 1))
    assert p1["lp"] == pytest.approx(lp)
    assert r.events is not None and r.events.observed == 1
    assert r.events.expected == pytest.approx(cumulative_hazard(731 / MONTH, 1096 / MONTH, lp))
    warning = next(d for d in r.diagnostics if d.name.startswith("ENCALS composite"))
    assert warning.status is DiagnosticStatus.WARN and "1 NIV" in warning.detail
    # ALSFRS-R: P1 and P2 have ≥ 3 on-treatment totals over ≥ 6 months.
    rates = r.rates.set_index("patient_id")
    days = np.array([0, 90, 181, 273]) / MONTH
    slope = np.polyfit(days, [35, 34, 33, 31], 1)[0]
    assert rates.loc["P1", "observed_rate_per_month"] == pytest.approx(-slope)
    assert rates.loc["P2", "delta_frs"] == pytest.approx((48 - 40) / (700 / MONTH))
    assert math.isclose(rates.loc["P1", "pro_act_rate_per_month"], 0.99)


def test_refuses_without_treated_patients(synthetic_cohort: SyntheticCohort) -> None:
    frames = dict(synthetic_cohort.tables())
    frames["administrations"] = frames["administrations"].iloc[0:0]
    with pytest.raises(AnalysisError) as info:
        observed_vs_expected(Cohort.from_frames(frames))
    assert info.value.field == "administrations"


def test_censor_date_cuts_follow_up(synthetic_cohort: SyntheticCohort,
                                    result: ObservedExpectedResult) -> None:
    cut = dt.date(2025, 1, 1)
    cohort = Cohort.from_frames(synthetic_cohort.tables())
    early = observed_vs_expected(cohort, ObservedExpectedSettings(censor_date=cut))
    assert early.events is not None and result.events is not None
    assert early.events.expected < result.events.expected
    assert early.events.observed <= result.events.observed
