"""Simon–Makuch and landmark curves: against lifelines and R on ``lung``, a hand-worked example,
numbers at risk counted by brute force, and the landmark's exclusions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test

from alsrwe.analytics.analyses.survival_by_treatment import (
    from_origin,
    landmark,
    logrank,
    numbers_at_risk,
    simon_makuch,
)
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

LUNG = pd.read_csv(Path(__file__).resolve().parents[2] / "data" / "lung.csv")

# R, survival::survdiff(Surv(time, status) ~ sex) on lung, as printed in Machine Learning with
# R Cookbook, 2nd ed. (Packt 2017), "Using the log-rank test": sex=1 N 138, Observed 112,
# Expected 91.5817; sex=2 N 90, Observed 53, Expected 73.4183; (O-E)^2/V 10.3267,
# p = 0.00131116.
R_SURVDIFF = {"chisq": 10.3267, "p": 0.00131116, "expected": {"1": 91.5817, "2": 73.4183},
              "observed": {"1": 112, "2": 53}}


def _rows(entry: list[float], stop: list[float], event: list[int],
          dose: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"P{i}" for i in range(len(stop))], "entry": entry,
                         "stop": stop, "event": event, "first_dose": dose})


def test_nobody_switching_gives_ordinary_km_per_group_as_lifelines() -> None:
    # women "treated" from time 0, men never: no one switches, so Simon–Makuch = KM per group
    treated = LUNG["sex"] == 2
    rows = _rows([0.0] * len(LUNG), LUNG["time"].astype(float).tolist(),
                 LUNG["status"].tolist(), [0.0 if t else None for t in treated])
    result = simon_makuch(rows, "start")
    for name, mask in (("treated", treated), ("untreated", ~treated)):
        fitter = KaplanMeierFitter().fit(LUNG.loc[mask, "time"], LUNG.loc[mask, "status"])
        table = result.curves[name].table.set_index("time")
        theirs = fitter.survival_function_["KM_estimate"]
        assert table["survival"].to_numpy() == pytest.approx(theirs.loc[table.index].to_numpy(),
                                                             rel=1e-12)
        events = fitter.event_table.loc[table.index]
        assert table["at_risk"].tolist() == events["at_risk"].astype(int).tolist()
        assert result.curves[name].n == int(mask.sum())


def test_logrank_equals_lifelines_and_r_survdiff() -> None:
    ours = logrank(LUNG["time"], LUNG["status"], LUNG["sex"])
    men, women = LUNG[LUNG["sex"] == 1], LUNG[LUNG["sex"] == 2]
    theirs = logrank_test(men["time"], women["time"], men["status"], women["status"])
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-9)
    assert ours.p == pytest.approx(theirs.p_value, rel=1e-9)
    assert ours.statistic == pytest.approx(R_SURVDIFF["chisq"], abs=5e-5)
    assert ours.p == pytest.approx(R_SURVDIFF["p"], rel=1e-5)
    assert ours.observed == R_SURVDIFF["observed"]
    for group, expected in R_SURVDIFF["expected"].items():
        assert ours.expected[group] == pytest.approx(expected, abs=5e-5)


def test_hand_worked_six_patients() -> None:
    # months from the origin, all observed from 0:
    #   A untreated, event at 2        D untreated, censored at 5
    #   B dose at 1, event at 4        E dose at 0, event at 5
    #   C dose at 3, censored at 6     F dose at 6, event at 8
    rows = _rows([0] * 6, [2, 4, 6, 5, 5, 8], [1, 1, 0, 0, 1, 1], [None, 1, 3, None, 0, 6])
    result = simon_makuch(rows, "start", every=2.0)
    # untreated risk sets: at 2, A, C, D and F are untreated and at risk (B treated since 1):
    #   S = 1 − 1/4 = 0.75, and no later untreated event
    untreated = result.curves["untreated"].table
    assert untreated.loc[untreated["events"] > 0, "time"].tolist() == [2]
    assert untreated.loc[untreated["time"] == 2, "at_risk"].item() == 4
    assert untreated["survival"].iloc[-1] == pytest.approx(0.75)
    assert math.isnan(result.curves["untreated"].median)
    # treated: at 4, B, C (since 3) and E → 2/3; at 5, C and E → 1/3; at 8, only F → 0
    treated = result.curves["treated"].table.set_index("time")
    assert treated.loc[[4, 5, 8], "at_risk"].tolist() == [3, 2, 1]
    assert treated.loc[[4, 5, 8], "survival"].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert result.curves["treated"].median == 5
    # numbers at risk at 0, 2, 4, 6, 8 (entry < τ ≤ stop; at 0, those observed from 0)
    at_risk = result.at_risk.pivot(index="months", columns="group", values="at_risk")
    assert at_risk["untreated"].tolist() == [5, 4, 2, 1, 0]
    assert at_risk["treated"].tolist() == [1, 2, 3, 1, 1]
    # the naive "ever treated" split would give the never-treated S(2) = 1/2, not 3/4
    naive = KaplanMeierFitter().fit([2, 5], [1, 0])
    assert naive.survival_function_at_times(2).item() == pytest.approx(0.5)


def test_numbers_at_risk_counted_by_brute_force() -> None:
    rng = np.random.default_rng(3)
    entry = rng.uniform(0, 10, 300).round(1) * (rng.random(300) < 0.6)
    stop = entry + rng.exponential(20, 300).round(1) + 0.1
    times = [0.0, 5.0, 10.0, 15.0, 30.0, 60.0]
    counted = []
    for tau in times:
        n = 0
        for start, end in zip(entry, stop, strict=True):
            if tau == 0:
                n += int(start <= 0 < end)
            else:
                n += int(start < tau <= end)
        counted.append(n)
    assert numbers_at_risk(entry, stop, times) == counted


def test_landmark_excludes_events_before_it_and_groups_by_treatment_by_then() -> None:
    # landmark at 12 months: P0 dies at 6 (before: excluded), P1 enters the registry at 14
    # (not observed at the landmark: excluded); P2 treated at 10 (treated), P3 at 20 (stays
    # untreated), P4 never, P5 treated at 11, censored at 30
    rows = _rows([0, 14, 0, 0, 0, 0], [6, 40, 30, 24, 18, 30], [1, 1, 1, 1, 1, 0],
                 [None, 1, 10, 20, None, 11])
    result = landmark(rows, "diagnosis", 12.0, every=6.0)
    assert [s.remaining for s in result.attrition.steps] == [5, 4]
    assert {g: km.n for g, km in result.curves.items()} == {"untreated": 2, "treated": 2}
    assert sum(km.events for km in result.curves.values()) == 3  # P0's event is not counted
    untreated = result.curves["untreated"].table
    assert untreated["time"].tolist() == pytest.approx([6.0, 12.0])  # P4 at 18, P3 at 24
    treated = result.curves["treated"].table
    # P2's event and P5's censoring both at 18 months from the landmark: 2 at risk, 1 event
    assert treated["time"].tolist() == pytest.approx([18.0])
    assert treated["survival"].tolist() == pytest.approx([0.5])
    assert result.logrank is not None and result.logrank.df == 1
    counts = result.at_risk.pivot(index="months", columns="group", values="at_risk")
    assert counts.loc[0.0].to_dict() == {"treated": 2, "untreated": 2}
    assert counts.loc[12.0].to_dict() == {"treated": 2, "untreated": 1}


def test_from_diagnosis_shifts_times_and_drops_events_before_diagnosis() -> None:
    days = pd.DataFrame({"id": ["a", "b", "c"], "entry": [100.0, 400.0, 0.0],
                         "stop": [1000.0, 300.0, 500.0], "event": [1, 1, 0],
                         "first_dose": [600.0, None, None], "diagnosis": [200.0, 350.0, math.nan]})
    timed = from_origin(days, "diagnosis")
    assert timed["id"].tolist() == ["a"]  # b's event came before diagnosis, c has none
    assert timed.loc[0, "entry"] == 0.0  # registry entry before diagnosis: at risk from it
    assert timed.loc[0, "stop"] == pytest.approx(800 / DAYS_PER_MONTH)
    assert timed.loc[0, "first_dose"] == pytest.approx(400 / DAYS_PER_MONTH)
    assert len(from_origin(days, "onset")) == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 40), st.booleans(),
                          st.one_of(st.none(), st.integers(0, 60))), min_size=1, max_size=25))
def test_every_patient_is_in_exactly_one_risk_set_at_a_time(
    patients: list[tuple[int, int, bool, int | None]],
) -> None:
    entry = [float(e) for e, _, _, _ in patients]
    stop = [float(e + d) for e, d, _, _ in patients]
    rows = _rows(entry, stop, [int(x) for _, _, x, _ in patients],
                 [None if dose is None else float(dose) for _, _, _, dose in patients])
    result = simon_makuch(rows, "start", every=3.0)
    by_group = result.at_risk.pivot(index="months", columns="group", values="at_risk")
    total = by_group.reindex(columns=["untreated", "treated"], fill_value=0).sum(axis=1)
    assert total.tolist() == numbers_at_risk(entry, stop, list(by_group.index))
