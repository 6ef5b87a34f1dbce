"""early_vs_delayed(): hand-computed Welch difference and NfL ratio, synthetic run, refusals."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pydantic
import pytest

from alsrwe.analytics.analyses.early_delayed import (
    EarlyDelayedSettings,
    early_vs_delayed,
    mean_interval,
)
from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.cohort import Cohort
from alsrwe.synth import generate_cohort
from alsrwe.synth.parameters import CohortParams
from tests.analytics.analyses.test_responders import hand_cohort

START = date(2024, 1, 1)
WEEK52 = START + timedelta(days=364)
EARLY = {"e1": -4, "e2": -6, "e3": -5, "e4": -7}  # diagnosed 7 months before the first dose
DELAYED = {"d1": -10, "d2": -8, "d3": -9, "d4": -11}  # diagnosed 36 months before


def _cohort(with_nfl: bool = True) -> Cohort:
    changes = EARLY | DELAYED
    visits = {p: [(START, 40), (WEEK52, 40 + c)] for p, c in changes.items()}
    diagnosis = {p: date(2023, 6, 1) if p in EARLY else date(2021, 1, 1) for p in changes}
    cohort = hand_cohort(visits, dict.fromkeys(changes, START), diagnosis)
    if not with_nfl:
        return cohort
    frames = {name: cohort.frame(name) for name in cohort.tables}
    frames["measurements"] = pd.DataFrame(
        [{"patient_id": p, "date": d, "kind": "nfl_serum", "value": v, "unit": "pg/mL"}
         for p in changes
         for d, v in ((START, 100.0), (WEEK52, 40.0 if p in EARLY else 50.0))])
    return Cohort.from_frames(frames)


def test_hand_computed_welch_difference() -> None:
    r = early_vs_delayed(_cohort(), EarlyDelayedSettings(lmm=False))
    # early mean −5.5, delayed −9.5, both SD² = 5/3: SE = √(2·(5/3)/4) = 0.912871, Welch df = 6,
    # t(0.975, 6) = 2.446912 → 4.0 ± 2.233711
    assert r.mean_change == {"early": -5.5, "delayed": -9.5}
    d = r.difference
    assert d.estimate == pytest.approx(4.0)
    assert (d.lower, d.upper) == pytest.approx((4.0 - 2.233711, 4.0 + 2.233711), abs=1e-5)
    assert (d.n_early, d.n_delayed) == (4, 4)
    assert r.nfl_ratio is not None and r.nfl_ratio.estimate == pytest.approx(0.8)
    json.dumps(r.to_dict())


def test_reference_date_moves_patients_between_groups() -> None:
    # from onset (2022-01-01) every start is 24 months later: no early group
    with pytest.raises(AnalysisError) as caught:
        early_vs_delayed(_cohort(False), EarlyDelayedSettings(reference="onset", lmm=False))
    assert caught.value.field == "delay_months_cutoff" and "early 0, delayed 8" in caught.value.rule
    with pytest.raises(AnalysisError) as caught:
        early_vs_delayed(_cohort(False), EarlyDelayedSettings(
            reference="onset", delay_months_cutoff=30, lmm=False))
    assert "early 8, delayed 0" in caught.value.rule


def test_synthetic_cohort_runs() -> None:
    synth = generate_cohort(CohortParams(seed=3, n_patients=300, n_carriers=0))
    r = early_vs_delayed(Cohort.from_frames(synth.tables()))
    assert r.difference.n_early + r.difference.n_delayed == r.attrition.remaining
    assert r.lmm_difference is not None and math.isfinite(r.lmm_difference.estimate)
    assert r.nfl_ratio is not None and r.nfl_ratio.lower < r.nfl_ratio.estimate
    assert r.to_frame()["estimate"].str.startswith("difference in ALSFRS-R change").any()
    json.dumps(r.to_dict())


def test_refuses_without_treated_patients() -> None:
    visits = {"a": [(START, 40), (WEEK52, 35)]}
    with pytest.raises(AnalysisError) as caught:
        early_vs_delayed(hand_cohort(visits, {}))
    assert caught.value.field == "administrations"


def test_settings() -> None:
    s = EarlyDelayedSettings(reference="onset", week=28)
    assert EarlyDelayedSettings.model_validate_json(s.model_dump_json()) == s
    with pytest.raises(pydantic.ValidationError):
        EarlyDelayedSettings(reference="birth")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        EarlyDelayedSettings(weeks=52)  # type: ignore[call-arg]


def test_group_means_with_t_intervals_and_the_sign_convention() -> None:
    r = early_vs_delayed(_cohort(), EarlyDelayedSettings(lmm=False))
    groups = r.group_summary().set_index("group")
    # early −4, −6, −5, −7: mean −5.5, SD √(5/3); t(0.975, 3) = 3.182446 (published table)
    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert groups.loc["early", "n"] == 4 and groups.loc["early", "mean"] == -5.5
    assert (groups.loc["early", "lower"], groups.loc["early", "upper"]) == pytest.approx(
        (-5.5 - half, -5.5 + half), abs=1e-5)
    assert groups.loc["delayed", "mean"] == -9.5
    assert "≤ 12 months after diagnosis" in groups.loc["early", "label"]
    # early lost fewer points (−5.5 vs −9.5): the difference is positive, as its label says
    frame = r.to_frame().set_index("unit")
    welch = frame.loc["points"]
    assert welch["value"] == pytest.approx(4.0)
    assert "early − delayed (positive = early declined less)" in welch["estimate"]
    assert "week 52" in welch["estimate"] and "95% CI lower" in frame.columns
    nfl = frame.loc["ratio"]
    assert nfl["value"] == pytest.approx(0.8) and "early / delayed" in nfl["estimate"]
    assert "serum NfL" in nfl["method"] and "nfl_serum" not in nfl["method"]


def test_mean_interval_edges() -> None:
    assert all(math.isnan(v) for v in mean_interval(np.array([]), 0.95))
    mean, lower, upper = mean_interval(np.array([2.0]), 0.95)
    assert mean == 2.0 and math.isnan(lower) and math.isnan(upper)
