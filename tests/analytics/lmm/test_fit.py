"""The random intercept and slope model against lme4, dense algebra and known-truth simulations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alsrwe.analytics import (
    LmmError,
    LmmResult,
    evaluate_lmm,
    fit_lmm,
    fit_lmm_stats,
    sufficient_stats,
)

# internal: the analytic gradient is checked directly
from alsrwe.analytics.lmm.estimate import _profile

DATA = Path(__file__).resolve().parents[2] / "data"

# lme4 1.1-31, R 4.2.2 Patched (2022-11-10 r83330), from tests/data/sleepstudy_lme4_reference.txt:
#   lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE)   -> LME4["reml"]
#   lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)  -> LME4["ml"]
# "criterion" is REMLcrit(fit) for REML and deviance(fit) for ML.
LME4 = {
    "reml": {
        "Intercept": 251.4051048, "se_Intercept": 6.824596695,
        "Days": 10.46728596, "se_Days": 1.545789644,
        "sd_intercept": 24.74065799, "sd_slope": 5.922137659, "corr": 0.06555123824,
        "sd_residual": 25.59179572, "criterion": 1743.628272,
    },
    "ml": {
        "Intercept": 251.4051048, "se_Intercept": 6.632122742,
        "Days": 10.46728596, "se_Days": 1.502230214,
        "sd_intercept": 23.77975959, "sd_slope": 5.716798514, "corr": 0.08132109343,
        "sd_residual": 25.59190704, "criterion": 1751.939344,
    },
}  # fmt: skip
# lme4 prints 10 significant digits: half a unit in the last place of the criterion.
PRINTED_CRITERION_ABS = 1e-6


def _summary(fit: LmmResult) -> dict[str, float]:
    return {
        "Intercept": fit.fixed["Intercept"], "se_Intercept": fit.se["Intercept"],
        "Days": fit.fixed["Days"], "se_Days": fit.se["Days"],
        "sd_intercept": fit.sd_intercept, "sd_slope": fit.sd_slope, "corr": fit.corr,
        "sd_residual": fit.sd_residual, "criterion": fit.criterion,
    }  # fmt: skip


def _lme4_theta(ref: dict[str, float]) -> list[float]:
    """lme4's θ = (Λ₁₁, Λ₂₁, Λ₂₂) recovered from its printed SDs, correlation and σ."""
    sigma, rho = ref["sd_residual"], ref["corr"]
    return [
        ref["sd_intercept"] / sigma,
        rho * ref["sd_slope"] / sigma,
        math.sqrt(1.0 - rho * rho) * ref["sd_slope"] / sigma,
    ]


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    data = pd.read_csv(DATA / "sleepstudy.csv")
    assert list(data.columns) == ["Reaction", "Days", "Subject"]  # no row-name column
    assert data.shape == (180, 3)
    return data


def _fit_sleep(data: pd.DataFrame, reml: bool) -> LmmResult:
    return fit_lmm(data, y="Reaction", fixed=["Days"], group="Subject", slope="Days", reml=reml)


# --- lme4 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_profiled_deviance_at_lme4_theta_reproduces_every_lme4_number(
    sleep: pd.DataFrame, method: str
) -> None:
    """The likelihood itself is exact: at lme4's θ every output matches lme4 to ~1e-9.

    1e-9 is the precision of lme4's printed 10 digits (θ is rebuilt from them).
    """
    ref = LME4[method]
    stats = sufficient_stats(sleep, "Reaction", ["Days"], "Subject", "Days")
    at = _summary(evaluate_lmm(stats, _lme4_theta(ref), reml=method == "reml"))
    for name, expected in ref.items():
        assert at[name] == pytest.approx(expected, rel=1e-9, abs=PRINTED_CRITERION_ABS), name


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_sleepstudy_fit_matches_lme4(sleep: pd.DataFrame, method: str) -> None:
    """Fixed effects and the criterion to 6 significant digits and far beyond.

    The variance parameters cannot match lme4 to 1e-6, because lme4's bobyqa stopped early:
    its θ has a criterion higher than ours by 1.5e-9 (REML) and 2.6e-8 (ML), computed by the
    test above's exact deviance. The REML criterion is so flat that a 1.5e-9 rise moves θ₁ by
    8e-6 relative, so SDs, correlation and SEs are checked to 1e-5 (REML) and 5e-5 (ML; θ₁
    is 3.7e-5 from the optimum there). Ours is the better optimum; MixedModels.jl's test
    suite (sleepstudy, ML) agrees: objective 1751.9393444647 > ours 1751.9393444632.
    """
    reml = method == "reml"
    ref = LME4[method]
    fit = _fit_sleep(sleep, reml)
    got = _summary(fit)
    assert fit.converged and not fit.singular
    assert fit.n_obs == 180 and fit.n_groups == 18 and fit.reml is reml
    for name in ("Intercept", "Days"):
        assert got[name] == pytest.approx(ref[name], rel=1e-9)
    assert abs(got["criterion"] - ref["criterion"]) <= PRINTED_CRITERION_ABS
    stats = sufficient_stats(sleep, "Reaction", ["Days"], "Subject", "Days")
    at_lme4 = evaluate_lmm(stats, _lme4_theta(ref), reml=reml).criterion
    assert got["criterion"] <= at_lme4
    rel = 1e-5 if reml else 5e-5
    for name in ("se_Intercept", "se_Days", "sd_intercept", "sd_slope", "corr", "sd_residual"):
        assert got[name] == pytest.approx(ref[name], rel=rel), name


@pytest.mark.parametrize("reml", [True, False])
def test_criterion_ses_and_blups_equal_dense_algebra(sleep: pd.DataFrame, reml: bool) -> None:
    """Independent check with n×n matrices: V = σ²(I + ZΛΛᵀZᵀ), per group."""
    fit = _fit_sleep(sleep, reml)
    sigma2 = fit.sd_residual**2
    cov_b = np.array(
        [
            [fit.sd_intercept**2, fit.corr * fit.sd_intercept * fit.sd_slope],
            [fit.corr * fit.sd_intercept * fit.sd_slope, fit.sd_slope**2],
        ]
    )
    beta = np.array([fit.fixed["Intercept"], fit.fixed["Days"]])
    logdet_v, quad, xtvx = 0.0, 0.0, np.zeros((2, 2))
    blups = {}
    for subject, rows in sleep.groupby("Subject"):
        days = rows["Days"].to_numpy(dtype=float)
        z = np.column_stack([np.ones_like(days), days])
        v = z @ cov_b @ z.T + sigma2 * np.eye(len(days))
        resid = rows["Reaction"].to_numpy() - z @ beta
        logdet_v += np.linalg.slogdet(v)[1]
        quad += resid @ np.linalg.solve(v, resid)
        xtvx += z.T @ np.linalg.solve(v, z)  # X = Z here
        blups[subject] = cov_b @ z.T @ np.linalg.solve(v, resid)
    n, p = 180, 2
    dense = logdet_v + quad + (n - p if reml else n) * math.log(2 * math.pi)
    if reml:
        dense += np.linalg.slogdet(xtvx)[1]
    assert fit.criterion == pytest.approx(dense, rel=1e-11)
    se = np.sqrt(np.diag(np.linalg.inv(xtvx)))
    assert [fit.se["Intercept"], fit.se["Days"]] == pytest.approx(se, rel=1e-9)
    got = fit.blups.set_index("group")
    for subject, b in blups.items():
        assert got.loc[subject, ["intercept", "slope"]].to_numpy() == pytest.approx(b, abs=1e-8)


@pytest.mark.parametrize("reml", [True, False])
def test_analytic_gradient_equals_finite_differences(reml: bool) -> None:
    data = _simulate(np.random.default_rng(3), n_groups=25, n_visits=5)
    data["x"] = np.random.default_rng(4).normal(size=len(data))
    profile = _profile(sufficient_stats(data, "y", ["t", "x"], "g", "t"), reml)
    for theta in ([1.0, 0.0, 1.0], [0.7, -0.4, 0.2], [2.5, 0.9, 0.05]):
        th = np.array(theta)
        grad = profile.gradient(th, profile.solve(th))
        h = 1e-6
        numeric = [
            (profile.solve(th + h * e).deviance - profile.solve(th - h * e).deviance) / (2 * h)
            for e in np.eye(3)
        ]
        assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("reml", [True, False])
def test_blocked_evaluation_equals_one_block(
    sleep: pd.DataFrame, reml: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Groups are processed in blocks; 18 subjects in blocks of 5 give the same fit."""
    whole = _fit_sleep(sleep, reml)
    monkeypatch.setattr("alsrwe.analytics.lmm.estimate._BLOCK", 5)
    blocked = _fit_sleep(sleep, reml)
    assert _summary(blocked) == pytest.approx(_summary(whole), rel=1e-9)
    assert blocked.blups["slope"].to_numpy() == pytest.approx(whole.blups["slope"].to_numpy())


def test_evaluate_rejects_a_bad_theta(sleep: pd.DataFrame) -> None:
    stats = sufficient_stats(sleep, "Reaction", ["Days"], "Subject", "Days")
    with pytest.raises(LmmError, match="theta"):
        evaluate_lmm(stats, [-1.0, 0.0, 1.0])


def test_sufficient_statistics_equal_a_per_group_loop(sleep: pd.DataFrame) -> None:
    stats = sufficient_stats(sleep, "Reaction", ["Days"], "Subject", "Days")
    assert stats.terms == ("Intercept", "Days")
    for i, (subject, rows) in enumerate(sleep.groupby("Subject")):
        assert stats.groups[i] == subject
        z = np.column_stack([np.ones(len(rows)), rows["Days"].to_numpy(dtype=float)])
        assert stats.ztz[i] == pytest.approx(z.T @ z)
        assert stats.ztx[i] == pytest.approx(z.T @ z)
        assert stats.zty[i] == pytest.approx(z.T @ rows["Reaction"].to_numpy())
    assert stats.yty == pytest.approx(float((sleep["Reaction"] ** 2).sum()))


# --- simulations with known truth ------------------------------------------------------------

TRUTH = {"beta0": 40.0, "beta_t": -0.9, "sd_int": 5.0, "sd_slope": 0.4, "corr": -0.3, "sigma": 1.5}


def _simulate(
    rng: np.random.Generator, n_groups: int, n_visits: int, truth: dict[str, float] = TRUTH
) -> pd.DataFrame:
    """ALSFRS-R-like: y = β₀ + β_t·t + b₀ + b₁·t + ε, visits every ~3 months (t in months)."""
    sd0, sd1, rho = truth["sd_int"], truth["sd_slope"], truth["corr"]
    cov = np.array([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    b = rng.multivariate_normal(np.zeros(2), cov, size=n_groups)
    g = np.repeat(np.arange(n_groups), n_visits)
    t = np.tile(np.arange(n_visits) * 3.0, n_groups) + rng.uniform(-0.5, 0.5, g.size)
    t = np.clip(t, 0.0, None)
    eps = rng.normal(0.0, truth["sigma"], g.size)
    y = truth["beta0"] + truth["beta_t"] * t + b[g, 0] + b[g, 1] * t + eps
    return pd.DataFrame({"g": g, "t": t, "y": y})


def test_estimates_recover_the_truth() -> None:
    data = _simulate(np.random.default_rng(20261125), n_groups=200, n_visits=8)
    fit = fit_lmm(data, "y", ["t"], "g", "t")
    assert fit.converged and not fit.singular
    for term, key in (("Intercept", "beta0"), ("t", "beta_t")):
        assert abs(fit.fixed[term] - TRUTH[key]) < 3.5 * fit.se[term], term
    assert fit.sd_intercept == pytest.approx(TRUTH["sd_int"], rel=0.15)
    assert fit.sd_slope == pytest.approx(TRUTH["sd_slope"], rel=0.15)
    assert fit.corr == pytest.approx(TRUTH["corr"], abs=0.2)
    assert fit.sd_residual == pytest.approx(TRUTH["sigma"], rel=0.06)
    assert len(fit.blups) == 200


def test_wald_interval_for_the_slope_covers_the_truth_95_percent() -> None:
    """400 seeded replications of 100 groups × 6 visits (at 60 groups the seeded run covered
    92.5%: the Wald interval ignores the uncertainty in θ, so it needs enough groups).

    Under exact 95% coverage the hit count is Binomial(400, 0.95): SD 1.09 percentage
    points, so the 93-97% band is ±1.8 SD (passes with probability 0.93 for a correct
    interval; the seed is fixed, so the outcome is reproducible).
    """
    rng = np.random.default_rng(7)
    reps = 400
    hits = 0
    for _ in range(reps):
        fit = fit_lmm(_simulate(rng, n_groups=100, n_visits=6), "y", ["t"], "g", "t")
        lower, upper = fit.ci(0.95).loc["t"].to_numpy(dtype=float)
        hits += int(lower <= TRUTH["beta_t"] <= upper)
    assert 0.93 <= hits / reps <= 0.97


def test_piecewise_slope_and_baseline_covariate() -> None:
    """y ~ t + t_post + age0 + (1 + t | g), t_post = max(0, t − t_start) (treatment start)."""
    rng = np.random.default_rng(11)
    data = _simulate(rng, n_groups=300, n_visits=8)
    t_start = rng.uniform(3.0, 12.0, 300)
    age0 = rng.normal(55.0, 10.0, 300)
    data["t_post"] = np.maximum(0.0, data["t"] - t_start[data["g"]])
    data["age0"] = age0[data["g"]]
    data["y"] += 0.6 * data["t_post"] - 0.05 * (data["age0"] - 55.0)
    fit = fit_lmm(data, "y", ["t", "t_post", "age0"], "g", "t")
    assert fit.converged
    assert list(fit.fixed) == ["Intercept", "t", "t_post", "age0"]
    truth = {"t": TRUTH["beta_t"], "t_post": 0.6, "age0": -0.05}
    for term, value in truth.items():
        assert abs(fit.fixed[term] - value) < 3.5 * fit.se[term], term
    assert fit.sd_slope == pytest.approx(TRUTH["sd_slope"], rel=0.2)


def test_singular_fit_is_reported_not_refused() -> None:
    """Every group carries the same residual pattern, so the between-group variance is 0."""
    rng = np.random.default_rng(5)
    t = np.arange(6, dtype=float)
    noise = rng.normal(0.0, 1.0, t.size)
    data = pd.DataFrame(
        {"g": np.repeat(np.arange(10), 6), "t": np.tile(t, 10), "y": np.tile(2.0 + t + noise, 10)}
    )
    fit = fit_lmm(data, "y", ["t"], "g", "t")
    assert fit.singular and fit.converged
    assert fit.sd_intercept == pytest.approx(0.0, abs=1e-3)
    assert fit.sd_slope == pytest.approx(0.0, abs=1e-3)
    json.dumps(fit.to_dict())


# --- invariances -----------------------------------------------------------------------------


@pytest.mark.parametrize("reml", [True, False])
def test_row_order_and_group_label_type_do_not_matter(sleep: pd.DataFrame, reml: bool) -> None:
    base = _fit_sleep(sleep, reml)
    shuffled = sleep.sample(frac=1.0, random_state=1).reset_index(drop=True)
    shuffled["Subject"] = "S" + shuffled["Subject"].astype(str)
    other = _fit_sleep(shuffled, reml)
    assert _summary(other) == pytest.approx(_summary(base), rel=1e-7)
    assert other.blups["intercept"].to_numpy() == pytest.approx(
        base.blups["intercept"].to_numpy(), rel=1e-6, abs=1e-7
    )


@pytest.mark.parametrize("reml", [True, False])
def test_scaling_y_scales_effects_and_sds(sleep: pd.DataFrame, reml: bool) -> None:
    c = 0.01
    base = _fit_sleep(sleep, reml)
    scaled = _fit_sleep(sleep.assign(Reaction=sleep["Reaction"] * c), reml)
    for name in ("Intercept", "Days"):
        assert scaled.fixed[name] == pytest.approx(c * base.fixed[name], rel=1e-7)
        assert scaled.se[name] == pytest.approx(c * base.se[name], rel=1e-5)
    for name in ("sd_intercept", "sd_slope", "sd_residual"):
        assert getattr(scaled, name) == pytest.approx(c * getattr(base, name), rel=1e-5)
    assert scaled.corr == pytest.approx(base.corr, rel=1e-4)
    # −2 log L of y·c is that of y plus 2·(n or n − p)·log c (the Jacobian).
    n_eff = 180 - 2 if reml else 180
    assert scaled.criterion == pytest.approx(base.criterion + 2 * n_eff * math.log(c), abs=1e-7)


# --- result API ------------------------------------------------------------------------------


def test_result_ci_frame_and_json(sleep: pd.DataFrame) -> None:
    fit = _fit_sleep(sleep, True)
    ci = fit.ci(0.95)
    assert list(ci.index) == ["Intercept", "Days"]
    half = 1.959963984540054 * fit.se["Days"]
    assert ci.loc["Days", "lower"] == pytest.approx(fit.fixed["Days"] - half, rel=1e-12)
    assert ci.loc["Days", "upper"] == pytest.approx(fit.fixed["Days"] + half, rel=1e-12)
    frame = fit.to_frame()
    assert list(frame["term"]) == [
        "Intercept", "Days", "sd_intercept", "sd_slope", "corr", "sd_residual",
    ]  # fmt: skip
    out = json.loads(json.dumps(fit.to_dict()))
    assert out["fixed"]["Days"] == pytest.approx(fit.fixed["Days"])
    assert out["criterion"] == pytest.approx(fit.criterion)
    assert len(out["blups"]) == 18 and out["blups"][0]["group"] == 308
    assert "blups" not in fit.to_dict(include_blups=False)
    with pytest.raises(LmmError, match="level"):
        fit.ci(1.5)


def test_fit_from_stats_equals_fit_from_rows(sleep: pd.DataFrame) -> None:
    stats = sufficient_stats(sleep, "Reaction", ["Days"], "Subject", "Days")
    assert _summary(fit_lmm_stats(stats)) == pytest.approx(_summary(_fit_sleep(sleep, True)))


# --- refused inputs --------------------------------------------------------------------------


def _small() -> pd.DataFrame:
    return _simulate(np.random.default_rng(1), n_groups=10, n_visits=4)


def test_missing_column_is_named() -> None:
    with pytest.raises(LmmError, match="nope: column not found") as err:
        fit_lmm(_small(), "y", ["nope"], "g", "t")
    assert err.value.field == "nope"
    assert isinstance(err.value, ValueError)


def test_infinite_values_are_refused_with_their_count() -> None:
    """±inf is not missing (lme4 refuses it too); missing values are dropped instead, see
    test_boundary_and_missing.py."""
    data = _small()
    data.loc[2, "y"] = np.inf
    data.loc[4, "y"] = -np.inf
    with pytest.raises(LmmError, match="y: 2 missing or non-finite"):
        fit_lmm(data, "y", ["t"], "g", "t")


def test_too_few_groups() -> None:
    data = _small()
    with pytest.raises(LmmError, match="g: needs at least 3 groups"):
        fit_lmm(data[data["g"] < 2], "y", ["t"], "g", "t")


def test_collinear_fixed_effect_is_named() -> None:
    data = _small().assign(months=lambda d: d["t"], weeks=lambda d: 2.0 + d["t"] * 4.345)
    with pytest.raises(LmmError, match=r"weeks: is collinear with .*\(Intercept, t\)"):
        fit_lmm(data, "y", ["t", "weeks"], "g", "t")
    with pytest.raises(LmmError, match="zero: is zero in every row"):
        fit_lmm(data.assign(zero=0.0), "y", ["t", "zero"], "g", "t")


def test_slope_without_within_group_variation() -> None:
    data = _small()
    data["age0"] = 50.0 + data["g"]
    with pytest.raises(LmmError, match="age0: does not vary within any group"):
        fit_lmm(data, "y", ["t", "age0"], "g", "age0")


@pytest.mark.parametrize(
    ("fixed", "match"),
    [
        (["t", "t"], "t: listed more than once"),
        (["Intercept"], "Intercept: the intercept is always added"),
        (["y"], "y: cannot be a fixed effect"),
        ("t", "fixed: must be a sequence"),
        (["site"], "site: must be numeric"),
    ],
)
def test_bad_fixed_effect_lists(fixed: list[str] | str, match: str) -> None:
    data = _small().assign(site="A", Intercept=1.0)
    with pytest.raises(LmmError, match=match):
        fit_lmm(data, "y", fixed, "g", "t")


def test_warm_start_from_a_subsample_reaches_the_same_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Large cohorts start θ from a fit to every k-th group; the optimum must not move."""
    import alsrwe.analytics.lmm.estimate as lmm

    data = _simulate(np.random.default_rng(7), n_groups=3000, n_visits=8)
    cold = fit_lmm(data, "y", ["t"], "g", "t")
    monkeypatch.setattr(lmm, "_WARM_MIN_GROUPS", 1000)
    monkeypatch.setattr(lmm, "_WARM_START_GROUPS", 300)
    warm = fit_lmm(data, "y", ["t"], "g", "t")
    assert warm.converged and cold.converged
    assert warm.criterion == pytest.approx(cold.criterion, rel=1e-9)
    for name in ("sd_intercept", "sd_slope", "corr", "sd_residual"):
        assert getattr(warm, name) == pytest.approx(getattr(cold, name), rel=1e-5), name
    assert warm.fixed["t"] == pytest.approx(cold.fixed["t"], rel=1e-7)
