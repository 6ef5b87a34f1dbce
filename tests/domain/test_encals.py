"""The ENCALS survival model (Westeneng et al., Lancet Neurol 2018; docs/domain-rules.md §6.1).

Worked examples are computed here by hand from the §6.1 table, with the arithmetic written
out, never by calling the module's own helpers.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.encals import (
    FULL_MODEL,
    TRICALS_RISK_PROFILE,
    baseline_spline,
    conditional_survival,
    cumulative_hazard,
    encals_predictors,
    linear_predictor,
    spline_basis,
    spline_lambda,
    survival,
    time_at_conditional_survival,
)
from alsrwe.domain.errors import DomainError
from alsrwe.domain.reference_rates import PRO_ACT_RATE_OF_DECLINE, PRO_ACT_SLOPE_PER_MONTH

# §6.1: knots kmin = 0.081, k1 = 3.108, k2 = 3.638, kmax = 5.917; γ0..γ3.
KMIN, K1, K2, KMAX = 0.081, 3.108, 3.638, 5.917
G0, G1, G2, G3 = -6.409, 2.643, -0.546, 0.585


def test_lambdas_match_the_table_to_six_decimals() -> None:
    # §6.1 lists λ1 = 0.481323, λ2 = 0.390507.
    assert round(spline_lambda(K1), 6) == 0.481323
    assert round(spline_lambda(K2), 6) == 0.390507
    by_hand = (5.917 - 3.108) / (5.917 - 0.081)
    assert abs(by_hand - 0.481323) < 5e-7


def test_linear_predictor_worked_example_tricals() -> None:
    # ΔFRS 0.9 → (0.9+0.1)^−0.5 = 1; delay 10 months → (10/10)^−0.5 + ln(1) = 1;
    # age 50 → (50/100)^−2 = 4; VC 100% → (1)^−1 + (1)^−0.5 = 2; bulbar onset 1.
    p = encals_predictors(0.9, 10.0, 50.0, 100.0, bulbar_onset=1)
    by_hand = -1.839 * 1 + -2.376 * 1 + -0.264 * 4 + 0.474 * 2 + 0.271 * 1  # = −4.052
    assert by_hand == pytest.approx(-4.052, abs=1e-12)
    assert linear_predictor(p, TRICALS_RISK_PROFILE) == pytest.approx(by_hand, abs=1e-12)


def test_linear_predictor_worked_example_full_model() -> None:
    # ΔFRS 0.3 → 0.4^−0.5 = 1.5811388; delay 40 → 4^−0.5 + ln 4 = 0.5 + 1.3862944;
    # age 62.5 → 0.625^−2 = 2.56; VC 64% → 1/0.64 + 0.64^−0.5 = 1.5625 + 1.25;
    # spinal onset, definite ALS, no FTD, C9orf72 expansion.
    p = encals_predictors(0.3, 40.0, 62.5, 64.0, bulbar_onset=0, definite_als=1, c9orf72=1)
    by_hand = (-1.837 * 1.5811388300841898 - 2.373 * (0.5 + 1.3862943611198906)
               - 0.267 * 2.56 + 0.477 * (1.5625 + 1.25) + 0.233 + 0.256)
    assert linear_predictor(p, FULL_MODEL) == pytest.approx(by_hand, abs=1e-12)
    # The TRICALS profile has no C9orf72 term: the expansion changes nothing there.
    no_c9 = encals_predictors(0.3, 40.0, 62.5, 64.0, bulbar_onset=0, definite_als=1)
    assert linear_predictor(p, TRICALS_RISK_PROFILE) == linear_predictor(no_c9,
                                                                         TRICALS_RISK_PROFILE)


def test_survival_worked_example_between_kmin_and_k1() -> None:
    # t = e³ ≈ 20.1 months: x = 3 is below k1 and k2, so v1 = −λ1(3 − 0.081)³,
    # v2 = −λ2(3 − 0.081)³ with (2.919)³ = 24.871517559.
    cube = 2.919**3
    s = G0 + G1 * 3 + G2 * (-0.481323 * cube) + G3 * (-0.390507 * cube)
    lp = -4.052
    by_hand = 1 / (1 + math.exp(s + lp))
    assert survival(math.exp(3.0), lp) == pytest.approx(by_hand, abs=1e-6)


def test_survival_worked_example_beyond_k2() -> None:
    # t = e⁴ ≈ 54.6 months: x = 4 is past both interior knots (but below kmax).
    v1 = (4 - K1) ** 3 - 0.481323 * (4 - KMIN) ** 3
    v2 = (4 - K2) ** 3 - 0.390507 * (4 - KMIN) ** 3
    s = G0 + G1 * 4 + G2 * v1 + G3 * v2
    # λ rounded to 6 decimals times (4 − 0.081)³ ≈ 60 moves s by ~1e-5.
    assert baseline_spline(4.0) == pytest.approx(s, abs=1e-4)
    lp = -3.0
    assert survival(math.exp(4.0), lp) == pytest.approx(1 / (1 + math.exp(s + lp)), abs=1e-5)
    # Conditional on being event-free at e³ months: S(e⁴)/S(e³).
    s3 = G0 + G1 * 3 + (G2 * -0.481323 + G3 * -0.390507) * 2.919**3
    ratio = (1 + math.exp(s3 + lp)) / (1 + math.exp(s + lp))
    assert conditional_survival(math.exp(4.0), math.exp(3.0), lp) == pytest.approx(ratio, 1e-4)
    assert cumulative_hazard(math.exp(3.0), math.exp(4.0), lp) == pytest.approx(
        -math.log(ratio), rel=1e-4)


def test_the_cube_beyond_kmax() -> None:
    # With the cube, each vj is linear beyond kmax (the restricted spline): second
    # differences vanish; without it (the public code's bug) they do not.
    xs = (6.2, 6.6, 7.0)
    with_cube = [baseline_spline(x) for x in xs]
    bug = [baseline_spline(x, cube_last=False) for x in xs]
    assert with_cube[0] - 2 * with_cube[1] + with_cube[2] == pytest.approx(0.0, abs=1e-9)
    assert abs(bug[0] - 2 * bug[1] + bug[2]) > 0.01
    # The bug leaves a cubic term, so it drifts away: by 0.5 on the logit scale at x = 8.
    assert baseline_spline(8.0, cube_last=False) - baseline_spline(8.0) > 0.5
    # At x = 6.5 by hand: (x−kmax)+³ = 0.583³.
    x, over = 6.5, (6.5 - KMAX) ** 3
    v1 = (x - K1) ** 3 - 0.481323 * (x - KMIN) ** 3 - (1 - 0.481323) * over
    assert spline_basis(x)[0] == pytest.approx(v1, abs=1e-3)
    # Below kmax both agree.
    assert baseline_spline(5.0) == baseline_spline(5.0, cube_last=False)


def test_inverse_gives_back_the_probability() -> None:
    lp = linear_predictor(encals_predictors(0.6, 12.0, 55.0, 85.0, 0))
    t = time_at_conditional_survival(0.4, 20.0, lp)
    assert t > 20.0
    assert conditional_survival(t, 20.0, lp) == pytest.approx(0.4, abs=1e-9)
    assert time_at_conditional_survival(1.0, 20.0, lp) == 20.0


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"delta_frs": -0.1}, "delta_frs"),
    ({"diagnostic_delay_months": 0.0}, "diagnostic_delay_months"),
    ({"age_at_onset_years": -3.0}, "age_at_onset_years"),
    ({"vital_capacity_percent": 0.0}, "vital_capacity_percent"),
    ({"vital_capacity_percent": math.nan}, "vital_capacity_percent"),
    ({"bulbar_onset": 2.0}, "bulbar_onset"),
])
def test_predictors_are_validated(kwargs: dict[str, float], field: str) -> None:
    base = {"delta_frs": 0.5, "diagnostic_delay_months": 10.0, "age_at_onset_years": 55.0,
            "vital_capacity_percent": 90.0, "bulbar_onset": 0.0}
    with pytest.raises(DomainError) as info:
        encals_predictors(**{**base, **kwargs})
    assert info.value.field == field


def test_times_are_validated() -> None:
    with pytest.raises(DomainError) as info:
        survival(0.0, -4.0)
    assert info.value.field == "t_months"
    with pytest.raises(DomainError) as info:
        cumulative_hazard(30.0, 20.0, -4.0)
    assert info.value.field == "t1_months"


def test_pro_act_reference() -> None:
    # Muscle Nerve 2018;57:937-945 (PMID 29244213): −0.99 points/month.
    assert PRO_ACT_SLOPE_PER_MONTH == -0.99 and PRO_ACT_RATE_OF_DECLINE == 0.99


# --- properties ----------------------------------------------------------------------------

lps = st.floats(-9.0, 1.0)
months = st.floats(0.5, 400.0)


@given(months, months, lps)
def test_survival_decreases_in_time_and_stays_in_0_1(a: float, b: float, lp: float) -> None:
    early, late = sorted((a, b))
    s_early, s_late = survival(early, lp), survival(late, lp)
    assert 0.0 < s_late <= s_early < 1.0
    assert cumulative_hazard(early, late, lp) >= 0.0
    assert conditional_survival(late, early, lp) <= 1.0


def _lp(dfrs: float = 0.6, delay: float = 12.0, age: float = 55.0, vc: float = 90.0,
        bulbar: float = 0.0) -> float:
    return linear_predictor(encals_predictors(dfrs, delay, age, vc, bulbar))


@given(st.floats(0.0, 4.0), st.floats(0.01, 2.0))
def test_faster_decline_is_worse(dfrs: float, more: float) -> None:
    assert _lp(dfrs=dfrs + more) > _lp(dfrs=dfrs)


@given(st.floats(2.5, 200.0), st.floats(0.5, 50.0))
def test_shorter_delay_is_worse_from_2_5_months(delay: float, more: float) -> None:
    # (d/10)^−0.5 + ln(d/10) is smallest at d = 2.5 months: below it the published
    # fractional polynomial is not monotone, so the property holds from there on.
    assert _lp(delay=delay) > _lp(delay=delay + more)


@given(st.floats(15.0, 90.0), st.floats(0.5, 10.0))
def test_older_age_is_worse(age: float, more: float) -> None:
    assert _lp(age=age + more) > _lp(age=age)


@given(st.floats(10.0, 150.0), st.floats(1.0, 30.0))
def test_lower_vital_capacity_is_worse(vc: float, more: float) -> None:
    assert _lp(vc=vc) > _lp(vc=vc + more)


@given(months, lps)
def test_bulbar_onset_is_worse(t: float, lp: float) -> None:
    assert _lp(bulbar=1.0) > _lp(bulbar=0.0)
    assert survival(t, lp + TRICALS_RISK_PROFILE.bulbar_onset) <= survival(t, lp)
