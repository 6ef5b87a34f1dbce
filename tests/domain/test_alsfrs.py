"""ALSFRS-R scores, staging and ΔFRS: worked examples from docs/domain-rules.md §1-2."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.alsfrs import (
    DAYS_PER_MONTH,
    ITEMS,
    KINGS_STAGES,
    PROGRESSION_BANDS,
    AlsfrsR,
    AssessmentSource,
    delta_frs,
    item_definitions,
    kings_stage,
    mitos_stage,
    progression_band,
)
from alsrwe.domain.errors import DomainError, ScoreError

NORMAL = (4,) * 12

item_scores = st.lists(st.integers(0, 4), min_size=12, max_size=12)
scores = st.builds(AlsfrsR.from_items, item_scores, st.booleans())


def score(*items: int, gastrostomy: bool = False) -> AlsfrsR:
    return AlsfrsR.from_items(items, gastrostomy=gastrostomy)


def lowered(s: AlsfrsR, index: int, by: int) -> AlsfrsR:
    items = list(s.items)
    items[index] = max(0, items[index] - by)
    return AlsfrsR.from_items(items, s.gastrostomy)


# --- the score ---------------------------------------------------------------------------------


def test_domains_follow_the_item_groups() -> None:
    s = score(4, 3, 2, 1, 0, 4, 3, 2, 1, 0, 4, 3)
    assert (s.bulbar, s.fine_motor, s.gross_motor, s.respiratory) == (9, 5, 6, 7)
    assert s.total == 27
    assert s.items == (4, 3, 2, 1, 0, 4, 3, 2, 1, 0, 4, 3)
    assert s.item(5) == 0
    assert s.gastrostomy is False


def test_extremes() -> None:
    assert score(*NORMAL).total == 48
    assert score(*(0,) * 12, gastrostomy=True).total == 0


def test_from_items_accepts_any_sequence_and_stores_a_tuple() -> None:
    s = AlsfrsR.from_items([4] * 12)
    assert s.items == NORMAL
    assert s == AlsfrsR.from_items(NORMAL)
    assert AlsfrsR.from_items([0, 1, 2, 3] * 3).items == (0, 1, 2, 3) * 3


def test_is_frozen() -> None:
    s = score(*NORMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.gastrostomy = True  # type: ignore[misc]


@pytest.mark.parametrize("count", [0, 11, 13])
def test_rejects_wrong_item_count(count: int) -> None:
    with pytest.raises(ScoreError) as err:
        AlsfrsR.from_items([4] * count)
    assert err.value.field == "items"
    assert "exactly 12 items" in err.value.rule
    assert f"got {count}" in err.value.rule


@pytest.mark.parametrize(
    ("index", "value", "gastrostomy", "field", "title"),
    [
        (0, 5, False, "q1", "item 1 (speech)"),
        (4, 5, True, "q5b", "item 5b (cutting food and handling utensils, with gastrostomy)"),
        (4, -1, False, "q5a", "item 5a (cutting food and handling utensils, without gastrostomy)"),
        (11, 7, False, "q12", "item 12 (respiratory insufficiency)"),
    ],
)
def test_out_of_range_item_names_the_item_and_the_range(
    index: int, value: int, gastrostomy: bool, field: str, title: str
) -> None:
    items = [4] * 12
    items[index] = value
    with pytest.raises(ScoreError) as err:
        AlsfrsR.from_items(items, gastrostomy)
    assert err.value.field == field
    assert err.value.rule.startswith(title)
    assert "from 0 to 4" in err.value.rule
    assert str(value) in err.value.rule


@pytest.mark.parametrize("bad", [True, False, 3.0, "4", None])
def test_non_integer_items_are_rejected(bad: object) -> None:
    items: list[object] = [4] * 12
    items[2] = bad
    with pytest.raises(ScoreError) as err:
        AlsfrsR.from_items(items)  # type: ignore[arg-type]
    assert err.value.field == "q3"
    assert repr(bad) in err.value.rule


def test_a_string_is_not_a_sequence_of_items() -> None:
    with pytest.raises(ScoreError) as err:
        AlsfrsR.from_items("444444444444")  # type: ignore[arg-type]
    assert err.value.field == "items"


def test_gastrostomy_must_be_a_bool() -> None:
    with pytest.raises(ScoreError) as err:
        AlsfrsR.from_items(NORMAL, gastrostomy=1)  # type: ignore[arg-type]
    assert err.value.field == "gastrostomy"


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ScoreError):
        AlsfrsR((4,) * 11)
    with pytest.raises(ScoreError):
        AlsfrsR([4] * 12)  # type: ignore[arg-type]


def test_item_accessor_is_one_based() -> None:
    s = score(0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1)
    assert [s.item(n) for n in range(1, 13)] == list(s.items)
    with pytest.raises(ScoreError):
        s.item(13)
    with pytest.raises(ScoreError):
        s.item(0)


def test_score_errors_are_value_errors_for_the_edges() -> None:
    with pytest.raises(ValueError, match="q4"):
        AlsfrsR.from_items([4, 4, 4, 9] + [4] * 8)
    assert issubclass(ScoreError, DomainError)


def test_assessment_source_values_are_stable() -> None:
    assert [s.value for s in AssessmentSource] == ["clinic", "self"]


# --- item texts --------------------------------------------------------------------------------


def test_items_cover_the_13_questions_with_five_anchors_each() -> None:
    assert [i.code for i in ITEMS] == [
        "q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12"
    ]
    assert all(len(i.anchors) == 5 and all(i.anchors) for i in ITEMS)
    assert all(i.anchors[4] in ("Normal", "Normal speech", "Normal eating", "None") for i in ITEMS)


def test_anchor_texts_come_from_the_table() -> None:
    by_code = {i.code: i for i in ITEMS}
    # domain-rules §1.1: "| 8 | Walking | normal | early ambulation difficulties | walks with
    # assistance | non-ambulatory functional movement only | no purposeful leg movement |"
    assert by_code["q8"].anchors == (
        "No purposeful leg movement",
        "Non-ambulatory functional movement only",
        "Walks with assistance",
        "Early ambulation difficulties",
        "Normal",
    )
    assert by_code["q5b"].anchors[1] == "Provides minimal assistance to caregiver"
    assert by_code["q12"].anchors[0].startswith("Invasive")


def test_item_definitions_pick_5a_or_5b() -> None:
    assert [i.code for i in item_definitions()][4] == "q5a"
    assert [i.code for i in item_definitions(gastrostomy=True)][4] == "q5b"
    assert [i.number for i in item_definitions(True)] == list(range(1, 13))


# --- King's stage (Balendra et al. 2014; domain-rules §2.1, convention 3) -------------------------


def test_kings_worked_example_upper_limb_only_is_stage_1() -> None:
    # "Items 1–12 = 4,4,4 | 3,4,4 | 4,4,4 | 4,4,4 (5a used) → only upper limb → stage 1."
    assert kings_stage(score(4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4, 4)) == "1"


def test_kings_worked_example_three_regions_is_stage_3() -> None:
    # "3,4,4 | 4,3,4 | 4,3,4 | 4,4,4 (5a) → bulbar + upper + lower → stage 3."
    assert kings_stage(score(3, 4, 4, 4, 3, 4, 4, 3, 4, 4, 4, 4)) == "3"


def test_kings_worked_example_gastrostomy_is_4a() -> None:
    # "2,3,1 | 3,(5b)2,3 | 3,3,2 | 3,4,4 → gastrostomy → 4A."
    assert kings_stage(score(2, 3, 1, 3, 2, 3, 3, 3, 2, 3, 4, 4, gastrostomy=True)) == "4A"


def test_kings_worked_example_niv_takes_precedence_as_4b() -> None:
    # "same but item 12 = 3 (intermittent BiPAP) → 4B (if 4B-first precedence)."
    assert kings_stage(score(2, 3, 1, 3, 2, 3, 3, 3, 2, 3, 4, 3, gastrostomy=True)) == "4B"


def test_kings_normal_items_are_stage_0() -> None:
    assert kings_stage(score(*NORMAL)) == "0"


def test_kings_dyspnea_zero_is_4b_but_dyspnea_one_is_not() -> None:
    base = [4] * 12
    base[9] = 0
    assert kings_stage(AlsfrsR.from_items(base)) == "4B"
    base[9] = 1
    assert kings_stage(AlsfrsR.from_items(base)) == "0"


def test_kings_only_5a_counts_for_upper_limb() -> None:
    items = [4, 4, 4, 4, 2, 4, 4, 4, 4, 4, 4, 4]
    assert kings_stage(AlsfrsR.from_items(items)) == "1"
    assert kings_stage(AlsfrsR.from_items(items, gastrostomy=True)) == "4A"


def test_kings_ignores_items_6_7_9_and_11() -> None:
    assert kings_stage(score(4, 4, 4, 4, 4, 0, 0, 4, 0, 4, 0, 4)) == "0"


def test_kings_one_region_each() -> None:
    assert kings_stage(score(4, 3, 4, *(4,) * 9)) == "1"
    assert kings_stage(score(*(4,) * 7, 3, 4, 4, 4, 4)) == "1"
    assert kings_stage(score(3, 4, 4, 4, 4, 4, 4, 3, 4, 4, 4, 4)) == "2"


# --- MiToS (Chiò et al., JNNP 2015; domain-rules §2.2, convention 4) ------------------------------


def test_mitos_worked_example() -> None:
    # "items 1=1, 4=2, 3=2, 6=2, 8=1, 10=3, 12=3 → movement lost (item 8 ≤1), communication not
    # lost (item 4 = 2), swallowing not lost, breathing not lost → MiToS 1."
    assert mitos_stage(score(1, 4, 2, 2, 4, 2, 4, 1, 4, 3, 4, 3)) == 1


def test_mitos_normal_is_0_and_all_domains_lost_is_4() -> None:
    assert mitos_stage(score(*NORMAL)) == 0
    assert mitos_stage(score(*(0,) * 12)) == 4


@pytest.mark.parametrize(
    ("changes", "stage"),
    [
        ({8: 1}, 1),
        ({8: 2}, 0),
        ({6: 1}, 1),
        ({3: 1}, 1),
        ({3: 2}, 0),
        ({1: 1}, 0),  # communication needs item 1 ≤ 1 AND item 4 ≤ 1 (JNNP table)
        ({4: 1}, 0),
        ({1: 1, 4: 1}, 1),
        ({10: 1}, 1),
        ({10: 2}, 0),
        ({12: 2}, 1),
        ({12: 3}, 0),
    ],
)
def test_mitos_domain_boundaries(changes: dict[int, int], stage: int) -> None:
    items = [4] * 12
    for number, value in changes.items():
        items[number - 1] = value
    assert mitos_stage(AlsfrsR.from_items(items)) == stage


# --- ΔFRS (Kimura 2006; domain-rules §1.2, conventions 1-2) ---------------------------------------


def test_month_is_365_25_over_12_days() -> None:
    assert DAYS_PER_MONTH == 30.4375  # exact in binary floating point


def test_delta_frs_worked_example() -> None:
    # (48 − total) / months, months = days / (365.25 / 12): 4 years = 1461 days = 48 months.
    onset = date(2020, 1, 1)
    four_years_later = onset + timedelta(days=1461)
    assert delta_frs(0, onset, four_years_later) == pytest.approx(1.0)
    assert delta_frs(24, onset, four_years_later) == pytest.approx(0.5)
    assert delta_frs(48, onset, four_years_later) == 0.0
    # 2020-01-01 → 2021-01-01 is 366 days: 12 points lost → 12 × 30.4375 / 366 ≈ 0.998 / month.
    assert delta_frs(36, onset, date(2021, 1, 1)) == pytest.approx(0.99795, abs=1e-5)


@pytest.mark.parametrize("assessed", [date(2020, 1, 1), date(2019, 12, 31)])
def test_delta_frs_needs_an_assessment_after_onset(assessed: date) -> None:
    with pytest.raises(ScoreError) as err:
        delta_frs(40, date(2020, 1, 1), assessed)
    assert err.value.field == "assessed"
    assert "after symptom onset" in err.value.rule


@pytest.mark.parametrize("total", [-1, 49, True])
def test_delta_frs_rejects_totals_outside_0_48(total: int) -> None:
    with pytest.raises(ScoreError) as err:
        delta_frs(total, date(2020, 1, 1), date(2021, 1, 1))
    assert err.value.field == "total"
    assert "0 to 48" in err.value.rule


# --- properties --------------------------------------------------------------------------------


@given(scores)
def test_total_is_the_sum_of_domains_and_in_range(s: AlsfrsR) -> None:
    assert s.total == s.bulbar + s.fine_motor + s.gross_motor + s.respiratory == sum(s.items)
    assert 0 <= s.total <= 48
    assert all(0 <= d <= 12 for d in (s.bulbar, s.fine_motor, s.gross_motor, s.respiratory))


@given(scores)
def test_stages_are_in_their_sets(s: AlsfrsR) -> None:
    assert kings_stage(s) in KINGS_STAGES
    assert 0 <= mitos_stage(s) <= 4


@given(st.booleans())
def test_all_normal_items_are_stage_0(gastrostomy: bool) -> None:
    s = AlsfrsR.from_items(NORMAL, gastrostomy)
    assert mitos_stage(s) == 0
    assert kings_stage(s) == ("4A" if gastrostomy else "0")


@given(scores, st.integers(0, 11), st.integers(1, 4))
def test_lowering_an_item_never_lowers_mitos(s: AlsfrsR, index: int, by: int) -> None:
    assert mitos_stage(lowered(s, index, by)) >= mitos_stage(s)


@given(scores, st.integers(0, 11), st.integers(1, 4))
def test_lowering_an_item_never_lowers_a_numeric_kings_stage(
    s: AlsfrsR, index: int, by: int
) -> None:
    before, after = kings_stage(s), kings_stage(lowered(s, index, by))
    if before.isdigit() and after.isdigit():
        assert int(after) >= int(before)


@given(scores, st.integers(0, 11), st.integers(1, 4))
def test_kings_4a_4b_are_never_left_by_lowering_an_item(s: AlsfrsR, index: int, by: int) -> None:
    before, after = kings_stage(s), kings_stage(lowered(s, index, by))
    if before == "4B":
        assert after == "4B"
    if before == "4A":
        assert after in ("4A", "4B")


@given(
    st.integers(0, 48),
    st.dates(min_value=date(1950, 1, 1), max_value=date(2050, 1, 1)),
    st.integers(1, 40 * 365),
)
def test_delta_frs_is_non_negative_and_decreasing_in_total(
    total: int, onset: date, days: int
) -> None:
    assessed = onset + timedelta(days=days)
    rate = delta_frs(total, onset, assessed)
    assert rate >= 0
    assert rate == pytest.approx((48 - total) / (days / DAYS_PER_MONTH))
    if total < 48:
        assert delta_frs(total + 1, onset, assessed) < rate


def test_integer_types_from_data_frames_are_accepted() -> None:
    """numpy integers (as pandas hands them over) are whole numbers, booleans are not."""
    np = pytest.importorskip("numpy")
    score = AlsfrsR.from_items([np.int64(4)] * 11 + [np.int8(3)])
    assert score.total == 47 and all(type(v) is int for v in score.items)
    assert delta_frs(np.int64(0), date(2020, 1, 1), date(2024, 1, 1)) == pytest.approx(1.0)
    with pytest.raises(ScoreError):
        AlsfrsR.from_items([True] * 12)


def test_progression_bands_are_the_ambulanzpartner_cut_points() -> None:
    """docs/domain-rules.md §9.6: slower < 0.5, intermediate 0.5-1.0, faster > 1.0."""
    slower, intermediate, faster = PROGRESSION_BANDS
    assert [progression_band(r) for r in (0.0, 0.49, 0.5, 1.0, 1.01, 3.0)] == [
        slower, slower, intermediate, intermediate, faster, faster]
    with pytest.raises(ScoreError):
        progression_band(float("nan"))
