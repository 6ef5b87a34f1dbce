"""Presentations: one per analysis, in reading order; "–" for missing values; per-patient
tables marked (the report shows them, the cohort page does not)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from alsrwe.analytics import ProgressionSettings, progression
from alsrwe.analytics.cohort import Cohort
from alsrwe.analytics.report import ANALYSES, ReportSettings, evaluate
from alsrwe.analytics.report.formatting import MISSING, html_table, number
from alsrwe.analytics.report.presentations import present_progression
from alsrwe.domain.privacy import SUPPRESS_BELOW
from alsrwe.synth import CohortParams, SyntheticCohort, generate_cohort

READING_ORDER = ("progression", "responders", "nfl_response", "early_vs_delayed", "survival",
                 "safety", "carriers")


@pytest.fixture(scope="module")
def cohort(synthetic_cohort: SyntheticCohort) -> Cohort:
    return Cohort.from_frames(synthetic_cohort.tables())


def test_one_list_of_analyses_in_reading_order() -> None:
    assert tuple(a.name for a in ANALYSES) == READING_ORDER
    assert len({a.title for a in ANALYSES}) == len(ANALYSES)


@pytest.mark.parametrize(("value", "digits", "text"), [
    (None, 0, MISSING), (math.nan, 2, MISSING), (float("nan"), 0, "–"), (12.345, 0, "12"),
    (-0.456, 2, "-0.46"), (3, 1, "3.0"),
])
def test_numbers_and_missing_values(value: float | None, digits: int, text: str) -> None:
    assert number(value, digits) == text


def test_tables_show_missing_values_as_a_dash() -> None:
    frame = pd.DataFrame({"a": [1.0, math.nan], "b": ["x", None],
                          "c": pd.array([True, None], dtype="boolean"),
                          "d": pd.to_datetime(["2024-01-01", None])})
    html = html_table(frame)
    assert html.count(MISSING) == 4 and "2024-01-01<" in html
    for shown in ("nan", "none", "nat", "&lt;na&gt;"):
        assert shown not in html.lower(), shown


def test_undefined_confidence_limits_read_as_a_dash(cohort: Cohort) -> None:
    result = progression(cohort, ProgressionSettings(bootstrap=0, min_patients=3))
    assert math.isnan(result.percent_slower_ci[0])
    shown = present_progression(result, cohort)
    assert "95% bootstrap CI –% to –%" in shown.headline
    assert "nan" not in shown.headline.lower()


def test_every_analysis_presents_its_result_and_marks_per_patient_tables(
    cohort: Cohort,
) -> None:
    outcomes = {a.name: evaluate(a, cohort) for a in ANALYSES}
    for name, outcome in outcomes.items():
        assert outcome.refused == "" and outcome.presentation is not None, name
        shown = outcome.presentation
        assert shown.tables and list(shown.attrition.columns) == ["rule", "removed", "remaining"]
        assert list(shown.diagnostics.columns) == ["check", "status", "detail"]
        for table in shown.aggregate_tables:
            assert "patient_id" not in table.frame.columns, (name, table.caption)
        for table in shown.tables:
            if "patient_id" in table.frame.columns:
                assert table.per_patient, (name, table.caption)
    progression_shown = outcomes["progression"].presentation
    assert progression_shown is not None
    assert [t.caption for t in progression_shown.tables if t.per_patient] == ["per patient"]
    carriers_shown = outcomes["carriers"].presentation
    assert carriers_shown is not None and carriers_shown.aggregate_tables == ()
    survival_shown = outcomes["survival"].presentation
    assert survival_shown is not None and "median" in survival_shown.headline
    assert all(f.svg.startswith("<svg") and f.png.startswith(b"\x89PNG") and f.caption
               for f in survival_shown.figures)


def test_a_refusal_is_an_outcome_with_its_reason() -> None:
    untreated = generate_cohort(CohortParams(seed=4, n_patients=20, n_carriers=0,
                                             treatment_share=0.0))
    outcome = evaluate(ANALYSES[0], Cohort.from_frames(untreated.tables()))
    assert outcome.result is None and outcome.presentation is None
    assert "treated patients" in outcome.refused


def test_the_report_suppresses_small_cells_by_default() -> None:
    assert ReportSettings().suppress_below == SUPPRESS_BELOW
