"""Pooled survival from summed site sums against outside references: hand-worked coarsening,
lifelines on the pooled patients, R's survival on ``lung``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import CoxTimeVaryingFitter

from alsrwe.analytics.analyses.survival_estimators import kaplan_meier
from alsrwe.federation.errors import FederationError
from alsrwe.federation.survival_sums import (
    CoxLayout,
    Grid,
    coarsen,
    cox_sums,
    efron_terms,
    fit_cox_pooled,
    kaplan_meier_pooled,
    km_counts,
    max_weight_share,
)

LUNG = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "lung.csv")
# R 4.2.2, survival 3.5-3 (tests/data/lung_survival_R_reference.txt):
#   summary(survfit(Surv(time, status) ~ 1, data = lung), times = c(180, 365, 730))
R_SURVIVAL = {180: (0.72167065, 0.029812419), 365: (0.40924162, 0.035823638),
              730: (0.1156931, 0.028298197)}
#   coxph(Surv(time, status) ~ age + sex, data = lung)         # ties = "efron" (default)
R_COX = {"age": (0.017045332, 0.0092232735), "sex": (-0.51321852, 0.16745796)}
R_COX_LOGLIK = -742.84825

COVARIATES = ["treated", "score"]
SITE_SIZES = [3, 7, 12, 15, 18, 20, 25, 30, 10, 60]  # 200 patients


def _spells(rows: list[tuple[str, float, float, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["patient_id", "entry", "stop", "event", "treated"])


# --- 1. coarsening by hand -----------------------------------------------------------------


def test_coarsen_floors_the_first_entry_and_ceils_every_other_time() -> None:
    spells = _spells([("a", 0.4, 2.2, 0, 0.0), ("a", 2.2, 5.0, 1, 1.0),
                      ("b", 3.0, 7.9, 0, 0.0)])
    out = coarsen(spells, Grid(1.0))
    assert out[["patient_id", "entry", "stop", "event", "treated"]].values.tolist() == [
        ["a", 0, 3, 0, 0.0], ["a", 3, 5, 1, 1.0], ["b", 3, 8, 0, 0.0]]
    assert out["entry"].dtype == np.int64 and out["stop"].dtype == np.int64


def test_coarsen_drops_an_empty_spell_and_moves_its_event_back() -> None:
    # treated from 4.3 months, event at 4.8: the change takes effect from the next month
    spells = _spells([("a", 1.5, 4.3, 0, 0.0), ("a", 4.3, 4.8, 1, 1.0)])
    out = coarsen(spells, Grid(1.0))
    assert out[["entry", "stop", "event", "treated"]].values.tolist() == [[1, 5, 1, 0.0]]
    # an empty spell in the middle disappears, the boundary stays where it was ceiled
    spells = _spells([("b", 0.0, 2.1, 0, 0.0), ("b", 2.1, 2.9, 0, 1.0),
                      ("b", 2.9, 6.0, 0, 0.0)])
    assert coarsen(spells, Grid(1.0))[["entry", "stop", "treated"]].values.tolist() == [
        [0, 3, 0.0], [3, 6, 0.0]]


def test_coarsen_grid_width_and_rounding_tolerance() -> None:
    # 3.0 / 1.0 is 3; 0.3 / 0.1 = 2.9999999999999996 floors to 3, 0.7 / 0.1 ceils to 7
    assert coarsen(_spells([("a", 0.0, 3.0, 1, 0.0)]), Grid(1.0))["stop"].tolist() == [3]
    out = coarsen(_spells([("a", 0.3, 0.7, 1, 0.0)]), Grid(0.1))
    assert (out["entry"].tolist(), out["stop"].tolist()) == ([3], [7])
    out = coarsen(_spells([("a", 5.0, 13.0, 0, 0.0)]), Grid(6.0))
    assert (out["entry"].tolist(), out["stop"].tolist()) == ([0], [3])


@pytest.mark.parametrize("rows", [
    [("a", 0.0, 2.0, 0, 0.0), ("a", 2.5, 4.0, 0, 1.0)],   # a gap
    [("a", 0.0, 2.0, 1, 0.0), ("a", 2.0, 4.0, 0, 1.0)],   # event before the last spell
    [("a", 2.0, 2.0, 0, 0.0)],                            # empty
    [("a", -1.0, 2.0, 0, 0.0)],                           # before onset
    [("a", 0.0, 2.0, 2, 0.0)],                            # not 0/1
])
def test_coarsen_refuses_broken_spells(rows: list[tuple[str, float, float, int, float]]) -> None:
    with pytest.raises(FederationError):
        coarsen(_spells(rows), Grid(1.0))


def test_grid_width_must_be_positive() -> None:
    for width in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(FederationError):
            Grid(width)


@st.composite
def _patients(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for i in range(draw(st.integers(1, 6))):
        t = draw(st.floats(0.0, 20.0))
        cuts = draw(st.lists(st.floats(0.01, 5.0), min_size=1, max_size=4))
        event = draw(st.integers(0, 1))
        for j, length in enumerate(cuts):
            rows.append((f"p{i}", t, t + length, event if j == len(cuts) - 1 else 0,
                         float(j % 2)))
            t += length
    return _spells(rows)


@settings(max_examples=200, deadline=None)
@given(_patients(), st.sampled_from([0.25, 1.0, 3.0]))
def test_coarsened_spells_keep_each_patients_span_and_event(spells: pd.DataFrame,
                                                            width: float) -> None:
    out = coarsen(spells, Grid(width))
    for pid, rows in spells.groupby("patient_id"):
        mine = out[out["patient_id"] == pid]
        assert mine["entry"].iloc[0] == math.floor(rows["entry"].min() / width + 1e-9)
        assert mine["stop"].iloc[-1] == math.ceil(rows["stop"].max() / width - 1e-9)
        assert (mine["entry"] < mine["stop"]).all()
        assert (mine["entry"].to_numpy()[1:] == mine["stop"].to_numpy()[:-1]).all()
        assert mine["event"].tolist() == [0] * (len(mine) - 1) + [rows["event"].max()]


# --- 2. pooled = centralised (lifelines) ---------------------------------------------------


def _cohort(seed: int = 20240611) -> pd.DataFrame:
    """200 patients: delayed entry, treatment from a random time, one continuous covariate."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    kept = 0
    while kept < sum(SITE_SIZES):
        score = rng.normal()
        entry = rng.uniform(0.0, 18.0)
        dose = entry + rng.exponential(8.0) if rng.random() < 0.6 else math.inf
        # hazard 0.03/month · exp(0.4·score), × 0.6 once treated (piecewise exponential)
        rate = 0.03 * math.exp(0.4 * score)
        untreated = rng.exponential(1.0 / rate)
        death = untreated if untreated < dose else dose + (untreated - dose) / 0.6
        censor = entry + rng.uniform(3.0, 48.0)
        if death <= entry:
            continue  # left truncation: never seen
        stop, event = min(death, censor), int(death <= censor)
        pid = f"p{kept:03d}"
        kept += 1
        if dose < stop:
            rows.append({"patient_id": pid, "entry": entry, "stop": dose, "event": 0,
                         "treated": 0.0, "score": score})
            rows.append({"patient_id": pid, "entry": dose, "stop": stop, "event": event,
                         "treated": 1.0, "score": score})
        else:
            rows.append({"patient_id": pid, "entry": entry, "stop": stop, "event": event,
                         "treated": 0.0, "score": score})
    return pd.DataFrame(rows)


def _sites(coarse: pd.DataFrame) -> list[pd.DataFrame]:
    ids = coarse["patient_id"].drop_duplicates().tolist()
    bounds = np.cumsum([0, *SITE_SIZES])
    return [coarse[coarse["patient_id"].isin(ids[a:b])] for a, b in zip(bounds, bounds[1:],
                                                                          strict=False)]


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return coarsen(_cohort(), Grid(1.0))


def _lifelines(coarse: pd.DataFrame) -> CoxTimeVaryingFitter:
    fitter = CoxTimeVaryingFitter()
    frame = coarse.rename(columns={"patient_id": "id", "entry": "start"})
    fitter.fit(frame[["id", "start", "stop", "event", *COVARIATES]], id_col="id",
               event_col="event", start_col="start", stop_col="stop",
               fit_options={"precision": 1e-14, "r_precision": 1e-15, "max_steps": 500})
    return fitter


def test_cohort_has_ties_delayed_entry_and_a_time_varying_covariate(
        cohort: pd.DataFrame) -> None:
    assert cohort["patient_id"].nunique() == 200 and len(cohort) > 230
    assert cohort.groupby("patient_id")["treated"].nunique().max() == 2
    assert (cohort.groupby("patient_id")["entry"].min() > 0).sum() > 150
    ties = cohort[cohort["event"] == 1]["stop"].value_counts()
    assert ties.max() >= 3 and cohort["event"].sum() > 50
    assert sorted(len(s["patient_id"].unique()) for s in _sites(cohort)) == sorted(SITE_SIZES)


def test_pooled_cox_equals_lifelines_on_the_union(cohort: pd.DataFrame) -> None:
    horizon = int(cohort["stop"].max())
    layout = CoxLayout(len(COVARIATES), horizon)
    sites = _sites(cohort)
    calls: list[np.ndarray] = []

    def evaluate(beta: np.ndarray) -> np.ndarray:
        calls.append(beta)
        vectors = [cox_sums(site, COVARIATES, beta, horizon) for site in sites]
        assert all(v.shape == (layout.size,) for v in vectors)
        return np.sum(vectors, axis=0)

    fit = fit_cox_pooled(evaluate, layout, COVARIATES)
    reference = _lifelines(cohort)
    assert fit.converged and fit.evaluations == len(calls) and fit.evaluations <= 8
    np.testing.assert_allclose(fit.coef, reference.params_[COVARIATES].to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(fit.se, reference.standard_errors_[COVARIATES].to_numpy(),
                               rtol=1e-8)
    assert fit.loglik == pytest.approx(reference.log_likelihood_, rel=1e-8)
    assert fit.loglik_null == pytest.approx(reference._log_likelihood_null, rel=1e-10)
    assert fit.events == int(cohort["event"].sum())
    frame = fit.to_frame()
    summary = reference.summary.loc[COVARIATES]
    np.testing.assert_allclose(frame["hr"], summary["exp(coef)"], rtol=1e-8)
    np.testing.assert_allclose(frame["lower"], summary["exp(coef) lower 95%"], rtol=1e-7)
    np.testing.assert_allclose(frame["upper"], summary["exp(coef) upper 95%"], rtol=1e-7)
    np.testing.assert_allclose(frame["z"], summary["z"], rtol=1e-7)
    np.testing.assert_allclose(frame["p"], summary["p"], rtol=1e-6)


def test_efron_gradient_and_hessian_are_the_derivatives_of_the_loglik(
        cohort: pd.DataFrame) -> None:
    horizon = int(cohort["stop"].max())
    layout = CoxLayout(2, horizon)

    def loglik(beta: np.ndarray) -> float:
        return efron_terms(cox_sums(cohort, COVARIATES, beta, horizon), layout, beta)[0]

    beta, h = np.array([-0.3, 0.5]), 1e-5
    _, gradient, hessian = efron_terms(cox_sums(cohort, COVARIATES, beta, horizon), layout, beta)
    for i in range(2):
        e = np.eye(2)[i] * h
        assert gradient[i] == pytest.approx((loglik(beta + e) - loglik(beta - e)) / (2 * h),
                                            rel=1e-6)
        for j in range(2):
            f = np.eye(2)[j] * h
            second = (loglik(beta + e + f) - loglik(beta + e - f) - loglik(beta - e + f)
                      + loglik(beta - e - f)) / (4 * h * h)
            assert hessian[i, j] == pytest.approx(second, rel=1e-4)


@pytest.mark.parametrize("width", [1.0, 0.5, 3.0])
def test_pooled_km_equals_km_of_the_union(width: float) -> None:
    cohort = coarsen(_cohort(), Grid(width))
    horizon = int(cohort["stop"].max())
    counts = np.sum([km_counts(site, horizon) for site in _sites(cohort)], axis=0)
    assert counts.shape == (2, horizon)
    pooled = kaplan_meier_pooled(counts, Grid(width), n=200)
    per_patient = cohort.groupby("patient_id").agg(entry=("entry", "min"), stop=("stop", "max"),
                                                   event=("event", "max"))
    local = kaplan_meier(per_patient["stop"] * width, per_patient["event"],
                         per_patient["entry"] * width)
    merged = local.table.merge(pooled.table, on="time", suffixes=("", "_pooled"))
    assert len(merged) == len(local.table)  # every local time is a pooled time
    assert (merged["at_risk"] == merged["at_risk_pooled"]).all()
    assert (merged["events"] == merged["events_pooled"]).all()
    for column in ("survival", "se", "lower", "upper"):
        np.testing.assert_allclose(merged[f"{column}_pooled"], merged[column], rtol=1e-12)
    # the rows only the pooled table has are censoring-free gaps: no events there
    extra = pooled.table[~pooled.table["time"].isin(local.table["time"])]
    assert (extra["events"] == 0).all()
    at = np.arange(1, horizon + 1, dtype=float) * width
    np.testing.assert_allclose(pooled.survival_at(at)["survival"],
                               local.survival_at(at)["survival"], rtol=1e-12)
    assert (pooled.median, pooled.median_lower, pooled.median_upper) == (
        local.median, local.median_lower, local.median_upper)
    assert (pooled.n, pooled.events) == (local.n, local.events)


def test_km_counts_by_hand() -> None:
    coarse = pd.DataFrame({"entry": [0, 2, 1], "stop": [3, 4, 2], "event": [1, 0, 1]})
    assert km_counts(coarse, 5).tolist() == [[1, 2, 2, 1, 0], [0, 1, 1, 0, 0]]
    assert km_counts(coarse, 2).tolist() == [[1, 2], [0, 1]]  # later intervals not reported
    curve = kaplan_meier_pooled(km_counts(coarse, 5), Grid(2.0))
    assert curve.table["time"].tolist() == [2.0, 4.0, 6.0, 8.0]
    assert curve.table["survival"].tolist() == pytest.approx([1.0, 0.5, 0.25, 0.25])
    assert (curve.n, curve.events) == (2, 2)  # n not given: the largest risk set, a lower bound


def test_pooled_km_refuses_counts_that_are_not_counts() -> None:
    with pytest.raises(FederationError):
        kaplan_meier_pooled(np.array([[2.0, 1.5], [0.0, 1.0]]), Grid())
    with pytest.raises(FederationError):
        kaplan_meier_pooled(np.array([[1.0, 1.0], [2.0, 0.0]]), Grid())


# --- 3. R on lung --------------------------------------------------------------------------


def _lung_sites() -> list[pd.DataFrame]:
    spells = pd.DataFrame({"patient_id": np.arange(len(LUNG)), "entry": 0.0,
                           "stop": LUNG["time"].astype(float), "event": LUNG["status"],
                           "age": LUNG["age"].astype(float), "sex": LUNG["sex"].astype(float)})
    coarse = coarsen(spells, Grid(1.0))  # days; integer times are unchanged
    assert (coarse["stop"].to_numpy() == LUNG["time"].to_numpy()).all()
    return [coarse[coarse["patient_id"] % 5 == s] for s in range(5)]


def test_pooled_cox_over_five_sites_equals_r_coxph_on_lung() -> None:
    sites = _lung_sites()
    horizon = int(LUNG["time"].max())
    layout = CoxLayout(2, horizon)
    fit = fit_cox_pooled(
        lambda beta: np.sum([cox_sums(s, ["age", "sex"], beta, horizon) for s in sites], 0),
        layout, ["age", "sex"])
    assert fit.converged
    for i, (coef, se) in enumerate(R_COX.values()):
        assert fit.coef[i] == pytest.approx(coef, rel=1e-7)
        assert fit.se[i] == pytest.approx(se, rel=1e-7)
    assert fit.loglik == pytest.approx(R_COX_LOGLIK, abs=5e-6)
    assert fit.events == int(LUNG["status"].sum())


def test_pooled_km_over_five_sites_equals_r_survfit_on_lung() -> None:
    sites = _lung_sites()
    horizon = int(LUNG["time"].max())
    counts = np.sum([km_counts(s, horizon) for s in sites], axis=0)
    at = kaplan_meier_pooled(counts, Grid(1.0), n=len(LUNG)).survival_at(list(R_SURVIVAL))
    for row, (s, se) in zip(at.itertuples(), R_SURVIVAL.values(), strict=True):
        assert row.survival == pytest.approx(s, rel=1e-7)
        assert row.se == pytest.approx(se, rel=1e-7)


# --- 4. the disclosure guard's weight share ------------------------------------------------


def test_max_weight_share_is_one_over_the_smallest_shown_risk_set_at_beta_zero() -> None:
    coarse = pd.DataFrame({"entry": [0, 0, 0, 0, 2], "stop": [1, 2, 5, 6, 6],
                           "event": [1, 0, 1, 0, 1], "x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    # at risk per interval 1..6: 4, 3, 3, 3, 3, 2; shown (≥ 3): 1..5, smallest 3
    assert max_weight_share(coarse, ["x"], np.zeros(1), 6) == pytest.approx(1 / 3, rel=1e-15)
    assert max_weight_share(coarse, ["x"], np.zeros(1), 1) == pytest.approx(1 / 4, rel=1e-15)
    assert max_weight_share(coarse, ["x"], np.zeros(1), 6, min_at_risk=5) == 0.0


def test_max_weight_share_tends_to_one_when_beta_singles_out_a_patient() -> None:
    coarse = pd.DataFrame({"entry": [0] * 6, "stop": [4, 5, 6, 6, 6, 6],
                           "event": [0] * 6, "x": [1.0, 0, 0, 0, 0, 0]})
    shares = [max_weight_share(coarse, ["x"], np.array([b]), 6) for b in (0.0, 2.0, 10.0)]
    assert shares[0] == pytest.approx(1 / 4)  # interval 6: four at risk
    assert shares[1] == pytest.approx(math.exp(2) / (math.exp(2) + 5))  # intervals 1..4
    assert shares[2] > 1 - 1e-3
    assert max_weight_share(coarse, ["x"], np.array([1000.0]), 6) == pytest.approx(1.0)


def test_layout_splits_a_vector_into_its_named_blocks() -> None:
    layout = CoxLayout(2, 3)
    assert layout.size == 3 * (1 + 2 + 1 + 2 + 3 + 1 + 2 + 3)
    parts = layout.split(np.arange(layout.size, dtype=float))
    assert parts["d"].tolist() == [0.0, 1.0, 2.0]
    assert parts["xe"].shape == (3, 2) and parts["xe"][0].tolist() == [3.0, 4.0]
    assert parts["s2"].shape == (3, 3) and parts["d2"].shape == (3, 3)
    with pytest.raises(FederationError):
        layout.split(np.zeros(layout.size + 1))


def test_cox_sums_by_hand() -> None:
    # two spells, x = 0 and 1, β = log 2: weights 1 and 2; both at risk in interval 1
    coarse = pd.DataFrame({"entry": [0, 0], "stop": [1, 2], "event": [1, 1], "x": [0.0, 1.0]})
    parts = CoxLayout(1, 2).split(cox_sums(coarse, ["x"], np.array([math.log(2)]), 2))
    assert parts["d"].tolist() == [1, 1]
    assert parts["xe"][:, 0].tolist() == [0.0, 1.0]
    np.testing.assert_allclose(parts["s0"], [3.0, 2.0])
    np.testing.assert_allclose(parts["s1"][:, 0], [2.0, 2.0])
    np.testing.assert_allclose(parts["s2"][:, 0], [2.0, 2.0])
    np.testing.assert_allclose(parts["d0"], [1.0, 2.0])
    np.testing.assert_allclose(parts["d1"][:, 0], [0.0, 2.0])
