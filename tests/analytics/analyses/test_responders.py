"""responders(): classes at their boundaries on a hand-made cohort, attrition, refusals."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pydantic
import pytest

from alsrwe.analytics.analyses.responders import (
    RespondersSettings,
    class_labels,
    classify_change,
    responders,
)
from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.cohort import Cohort

START = date(2024, 1, 1)


def _items(total: int) -> dict[str, int]:
    """Twelve item scores (0-4) that sum to ``total``."""
    scores = [min(4, max(0, total - 4 * i)) for i in range(12)]
    return {f"q{i + 1}": s for i, s in enumerate(scores)}


def hand_cohort(visits: dict[str, list[tuple[date, int]]], starts: dict[str, date],
                diagnosis: dict[str, date] | None = None) -> Cohort:
    """A tidy cohort from (date, total) visits per patient and first-dose dates."""
    ids = sorted(visits)
    diagnosis = diagnosis or {}
    patients = pd.DataFrame({"patient_id": ids, "status": "patient",
                             "onset_date": date(2022, 1, 1),
                             "diagnosis_date": [diagnosis.get(p, date(2023, 6, 1)) for p in ids]})
    alsfrs = pd.DataFrame([{"patient_id": p, "date": d, **_items(t), "source": "clinic"}
                           for p in ids for d, t in visits[p]])
    frames = {"patients": patients, "alsfrs": alsfrs}
    if starts:
        frames["administrations"] = pd.DataFrame(
            [{"patient_id": p, "date": d, "drug": "tofersen", "dose_mg": 100.0, "status": "given"}
             for p, d in starts.items()])
    return Cohort.from_frames(frames)


def test_classes_at_the_boundaries() -> None:
    six = START + timedelta(days=183)  # 6.01 months after the first dose
    changes = {"imp2": 2, "stab1": 1, "stab0": 0, "stab-1": -1, "prog-2": -2, "prog-5": -5}
    visits = {p: [(START, 40), (six, 40 + c)] for p, c in changes.items()}
    visits["no_followup"] = [(START, 40), (START + timedelta(days=90), 39)]
    visits["late_baseline"] = [(START + timedelta(days=46), 40), (six, 40)]
    visits["untreated"] = [(START, 40), (six, 30)]
    starts = {p: START for p in visits if p != "untreated"}
    r = responders(hand_cohort(visits, starts))
    got = dict(zip(r.patients["patient_id"], r.patients["class"], strict=True))
    assert got == {"imp2": "improved", "stab1": "stabilized", "stab0": "stabilized",
                   "stab-1": "stabilized", "prog-2": "progressed", "prog-5": "progressed"}
    assert r.counts == {"improved": 1, "stabilized": 3, "progressed": 2}
    assert r.stabilized_or_improved == 4 and r.shares["stabilized"] == pytest.approx(0.5)
    assert list(r.attrition.to_frame()["remaining"]) == [8, 7, 6]
    json.dumps(r.to_dict())


def test_thresholds_are_settings() -> None:
    assert classify_change(3, 3, 1) == "improved"
    assert classify_change(2, 3, 1) == "stabilized"
    assert classify_change(-1, 3, 1) == "progressed"
    assert classify_change(0, 3, 1) == "stabilized"


def test_tolerance_edges_and_nearest_follow_up() -> None:
    six = START + timedelta(days=183)
    visits = {"a": [(START - timedelta(days=45), 40), (six - timedelta(days=20), 38),
                    (six + timedelta(days=10), 43)],
              "b": [(START, 40), (six + timedelta(days=46), 40)],
              "c": [(START, 40), (six, 41)]}
    r = responders(hand_cohort(visits, dict.fromkeys(visits, START)))
    got = dict(zip(r.patients["patient_id"], r.patients["change"], strict=True))
    assert got == {"a": 3, "c": 1}  # a: baseline 45 days before counts, nearest follow-up wins


def test_refusals() -> None:
    visits = {"a": [(START, 40), (START + timedelta(days=183), 40)]}
    with pytest.raises(AnalysisError) as caught:
        responders(hand_cohort(visits, {}))
    assert caught.value.field == "administrations"
    with pytest.raises(AnalysisError) as caught:
        responders(hand_cohort({"a": [(START, 40)]}, {"a": START}))
    assert caught.value.field == "alsfrs"


def test_settings() -> None:
    s = RespondersSettings(window_months=12, tolerance_days=30)
    assert RespondersSettings.model_validate_json(s.model_dump_json()) == s
    with pytest.raises(pydantic.ValidationError):
        RespondersSettings(window_months=2, tolerance_days=45)
    with pytest.raises(pydantic.ValidationError):
        RespondersSettings(window=6)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        s.improved_points = 3  # type: ignore[misc]


def test_class_definitions_in_words() -> None:
    assert class_labels(RespondersSettings()) == {
        "improved": "improved (≥ +2 points)", "stabilized": "stabilized (−1 to +1 points)",
        "progressed": "progressed (≤ −2 points)"}
    # improved ≥ +3, progressed ≤ −1: stable is 0 to +2
    labels = class_labels(RespondersSettings(improved_points=3, stable_points=1))
    assert labels["stabilized"] == "stabilized (0 to +2 points)"
    assert class_labels(RespondersSettings(improved_points=1, stable_points=1))[
        "stabilized"] == "stabilized (0 points)"


def test_tables_in_human_words() -> None:
    six = START + timedelta(days=183)
    visits = {"a": [(START, 40), (six, 42)], "b": [(START, 40), (six, 40)],
              "c": [(START, 40), (six, 35)]}
    r = responders(hand_cohort(visits, dict.fromkeys(visits, START)))
    frame = r.to_frame()
    assert list(frame.columns) == ["ALSFRS-R change over 6 months (points)", "patients",
                                   "share (%)"]
    assert frame["patients"].tolist() == [1, 1, 1]
    assert frame["share (%)"].tolist() == pytest.approx([100 / 3] * 3)
    per = r.patients_frame().set_index("patient")
    assert per.loc["c", "ALSFRS-R change over 6 months (points)"] == -5
    assert per.loc["a", "ALSFRS-R at month 6"] == 42 and per.loc["a", "class"] == "improved"
