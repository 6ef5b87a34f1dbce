"""Presentations: one per analysis, in reading order; "–" for missing values; per-patient
tables marked (the report shows them, the cohort page does not)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from alsrwe.analytics import ProgressionSettings, progression
from alsrwe.analytics.analyses.subgroups import SubgroupSettings, subgroups
from alsrwe.analytics.analyses.survival import survival
from alsrwe.analytics.cohort import Cohort
from alsrwe.analytics.report import ANALYSES, Presentation, ReportSettings, evaluate
from alsrwe.analytics.report.figures import ratios_by_window
from alsrwe.analytics.report.formatting import MISSING, html_table, number
from alsrwe.analytics.report.presentations import (
    present_progression,
    present_subgroups,
    present_survival,
)
from alsrwe.domain.privacy import SUPPRESS_BELOW
from alsrwe.synth import CohortParams, SyntheticCohort, generate_cohort

READING_ORDER = ("progression", "subgroups", "responders", "nfl_response", "early_vs_delayed",
                 "observed_expected", "survival", "safety", "carriers")


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


def test_an_unbounded_ratio_says_so_instead_of_a_ci() -> None:
    """A cohort that barely declines: the mean expected rate does not exclude zero, so
    Fieller's interval is unbounded; the headline says why and shows no "nan"."""
    slow = generate_cohort(CohortParams(seed=7, n_patients=60, n_carriers=6,
                                        decline_mean_per_month=0.02))
    cohort = Cohort.from_frames(slow.tables())
    result = progression(cohort, ProgressionSettings(min_patients=3, lmm_sensitivity=False))
    assert all(math.isnan(limit) for limit in result.percent_slower_ci)
    shown = present_progression(result, cohort)
    assert "CI not reported: the mean expected rate does not exclude zero" in shown.headline
    assert "nan" not in shown.headline.lower()


def test_every_analysis_presents_its_result_and_marks_per_patient_tables(
    cohort: Cohort,
) -> None:
    outcomes = {a.name: evaluate(a, cohort) for a in ANALYSES}
    for name, outcome in outcomes.items():
        assert outcome.refused == "" and outcome.presentation is not None, name
        shown = outcome.presentation
        columns = list(shown.attrition.columns)  # a multi-part attrition leads with "part"
        assert shown.tables and columns[-3:] == ["rule", "removed", "remaining"]
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


def test_survival_presentation_in_months_with_the_hr_sign_convention(cohort: Cohort) -> None:
    result = survival(cohort)
    shown = present_survival(result, cohort)
    assert "HR < 1 favours treatment" in shown.headline
    assert "days" not in shown.headline and "nan" not in shown.headline.lower()
    assert result.cox is not None
    assert f"{result.cox.summary.loc['treated', 'hr']:.2f}" in shown.headline
    keys = [f.key for f in shown.figures]
    assert keys == ["survival-onset", "survival-treatment-start", "survival-simon-makuch",
                    "survival-landmark"]
    captions = {f.key: f.caption for f in shown.figures}
    assert "untreated time before their first dose" in captions["survival-simon-makuch"]
    assert all("months" in c and "numbers at risk" in c for c in captions.values())
    assert result.landmark is not None
    assert f"the {result.landmark.attrition.remaining} patients" in captions["survival-landmark"]


def test_subgroup_presentation_has_a_forest_plot_and_states_multiplicity(
    cohort: Cohort,
) -> None:
    fast = ProgressionSettings(lmm_sensitivity=False)
    result = subgroups(cohort, SubgroupSettings(progression=fast))
    shown = present_subgroups(result, cohort)
    (figure,) = shown.figures
    assert figure.key == "subgroups-forest" and figure.png.startswith(b"\x89PNG")
    assert "not adjusted for multiplicity" in figure.caption
    assert f"{result.overall.n} included" in figure.caption
    assert [t.per_patient for t in shown.tables] == [False, True]
    assert "patient_id" in shown.tables[1].frame.columns
    assert "subgroups" in ReportSettings.model_fields


def test_a_refusal_is_an_outcome_with_its_reason() -> None:
    untreated = generate_cohort(CohortParams(seed=4, n_patients=20, n_carriers=0,
                                             treatment_share=0.0))
    outcome = evaluate(ANALYSES[0], Cohort.from_frames(untreated.tables()))
    assert outcome.result is None and outcome.presentation is None
    assert "treated patients" in outcome.refused


def test_the_report_suppresses_small_cells_by_default() -> None:
    assert ReportSettings().suppress_below == SUPPRESS_BELOW


# --- responders, NfL, early vs delayed, safety, carriers: headlines, figures, words ----------

MINE = ("responders", "nfl_response", "early_vs_delayed", "safety", "carriers")
RAW_CODE = r"^[a-z]+(_[a-z0-9]+)+$"  # e.g. nfl_serum, csf_wbc_increased, slope_per_month


def _shown(name: str, cohort: Cohort) -> Presentation:
    analysis = next(a for a in ANALYSES if a.name == name)
    shown = evaluate(analysis, cohort).presentation
    assert shown is not None, name
    return shown


@pytest.mark.parametrize("name", MINE)
def test_headline_figures_with_captions_and_words_not_codes(cohort: Cohort, name: str) -> None:
    shown = _shown(name, cohort)
    assert shown.headline and "nan" not in shown.headline.lower()
    assert shown.figures
    for figure in shown.figures:
        assert figure.svg.startswith("<svg") and figure.png.startswith(b"\x89PNG")
        assert "patients" in figure.caption or "carriers" in figure.caption
        assert any(unit in figure.caption for unit in ("points", "pg/mL", "ratio", "per 100"))
    for table in shown.tables:
        assert not any("_" in str(column) for column in table.frame.columns), table.caption
        for column in table.frame.columns:
            cells = table.frame[column]
            if cells.dtype == object:
                assert not cells.astype(str).str.match(RAW_CODE).any(), (table.caption, column)


def test_responders_headline_counts_the_attrition_end(cohort: Cohort) -> None:
    shown = _shown("responders", cohort)
    n = int(shown.attrition["remaining"].iloc[-1])
    classes = shown.tables[0].frame.set_index("ALSFRS-R change over 6 months (points)")
    k = int(classes.loc[["improved (≥ +2 points)", "stabilized (−1 to +1 points)"],
                        "patients"].sum())
    assert shown.headline.startswith(f"{k} of {n} treated patients ({100 * k / n:.0f}%) "
                                     "improved or were stable over the 6 months")
    assert f"of the {n} classified patients" in shown.figures[0].caption


def test_nfl_headline_counts_the_attrition_end_and_names_the_model_step(cohort: Cohort) -> None:
    shown = _shown("nfl_response", cohort)
    steps = shown.attrition.set_index("rule")["remaining"]
    model_step = next(rule for rule in steps.index if rule.endswith("(mixed model)"))
    assert shown.headline.startswith(f"serum NfL (Simoa): {int(steps.iloc[-1])} treated patients")
    assert (f"mixed model on the {int(steps[model_step])} patients with a baseline and a value "
            "after dose 1 up to week 52 + 28 days") in shown.headline
    assert f"all {int(steps.iloc[-1])} patients" in shown.figures[0].caption


def test_early_vs_delayed_headline_gives_the_sign_convention() -> None:
    from alsrwe.analytics.analyses.early_delayed import EarlyDelayedSettings, early_vs_delayed
    from alsrwe.analytics.report.presentations import present_early_delayed
    from tests.analytics.analyses.test_early_delayed import _cohort as early_delayed_cohort

    hand = early_delayed_cohort()
    shown = present_early_delayed(early_vs_delayed(hand, EarlyDelayedSettings(lmm=False)), hand)
    # early −5.5, delayed −9.5 points: the early group declined less, so the difference is +4
    assert "changed by -5.5 points in 4 early starters (first dose ≤ 12 months after " \
           "diagnosis) and by -9.5 points in 4 delayed starters" in shown.headline
    assert ("difference early minus delayed 4.00 points (95% Welch CI 1.77 to 6.23; positive = "
            "the early group declined less)") in shown.headline
    assert "early minus delayed" in shown.figures[0].caption


def test_safety_headline_and_figure_count_the_exposed_patients(cohort: Cohort) -> None:
    shown = _shown("safety", cohort)
    n = int(shown.attrition["remaining"].iloc[-1])
    rates = shown.tables[0].frame.set_index(["by", "category"])
    events = int(rates.loc[("all adverse events", "any adverse event"), "events"])
    assert shown.headline.startswith(f"{events} adverse events in ")
    assert f" of {n} treated patients over " in shown.headline
    assert f"in {n} treated patients" in shown.figures[0].caption
    assert "exact Poisson 95%" in shown.figures[0].caption


def test_carriers_headline_states_the_trigger() -> None:
    from alsrwe.analytics.analyses.carriers import carrier_surveillance
    from alsrwe.analytics.report.presentations import present_carriers
    from tests.analytics.analyses.test_carriers import _cohort as carriers_cohort

    hand = carriers_cohort()
    shown = present_carriers(carrier_surveillance(hand), hand)
    assert shown.headline.startswith(
        "2 of 6 presymptomatic carriers with plasma NfL (Simoa) met the trigger, a rise of "
        "≥ 10 pg/mL from the carrier's first value to a level ≥ 44 pg/mL")
    assert "1 had a single value" in shown.headline
    assert "of the 6 carriers" in shown.figures[0].caption


def test_the_nfl_ratio_figure_draws_a_single_window() -> None:
    """A small registry may have one follow-up window only: the figure still draws (pandas
    warned, as an error here, when the error bars were one-element Series)."""
    per_patient = pd.DataFrame({"patient_id": ["A", "B"], "week": [12, 12], "ratio": [0.6, 0.8]})
    summary = pd.DataFrame({"week": [12], "gmr": [0.69], "lower": [0.5], "upper": [0.95]})
    figure = ratios_by_window(per_patient, summary, key="nfl-ratios", caption="c", title="t",
                              ylabel="ratio")
    assert figure.svg.startswith("<svg") and figure.png.startswith(b"\x89PNG")
