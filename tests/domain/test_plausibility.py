"""The rulebook (docs/domain-rules.md §11): worked examples of each rule, and its invariants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.errors import DomainError, Problem
from alsrwe.domain.events import Milestone, MilestoneKind
from alsrwe.domain.plausibility import (
    DEFAULT_SETTINGS,
    RULES,
    SOFT_CODES,
    Batch,
    PatientHistory,
    PlausibilitySettings,
    Row,
    check_batch,
    check_patient,
    check_record,
    merged_history,
    settle,
)
from alsrwe.domain.records import (
    PatientEntry,
    administration_entry,
    alsfrs_entry,
    measurement_entry,
    milestone_entry,
    patient_entry,
)
from alsrwe.domain.regimens import TOFERSEN_US, planned_calendar
from alsrwe.domain.sod1 import parse_sod1_variant

D = dt.date
TODAY = D(2025, 3, 20)
LOADING = (D(2024, 12, 30), D(2025, 1, 13), D(2025, 1, 27))
HISTORY = PatientHistory("BER-001", birth_year=1968, onset=D(2022, 3, 1), site="BER",
                         sex=None, given_doses={"tofersen": LOADING},
                         ratings={AssessmentSource.CLINIC: ((D(2025, 1, 13), 42),)})


def codes(problems: list[Problem]) -> set[str]:
    return {p.code for p in problems}


def dose(day: D, mg: float | None = 100, csf: float | None = 10, drug: str = "tofersen",
         status: str = "given") -> list[Problem]:
    entry = administration_entry(date=day, drug=drug, status=status, dose_mg=mg,
                                 csf_removed_ml=csf)
    return check_record(entry, HISTORY, today=TODAY)


# --- doses (US PI 2023 §2.1-2.2; convention 5) -------------------------------------------------


def test_the_label_dose_on_schedule_passes() -> None:
    # Dose 4 (first maintenance) is due 28 days after dose 3 (2025-01-27): 2025-02-24.
    assert dose(D(2025, 2, 24)) == []


@pytest.mark.parametrize(("mg", "code", "soft"), [
    (250, "dose.not_label_dose", True),     # a dose other than the label's 100 mg
    (500, "dose.not_label_dose", True),     # five vials: the most alsrwe accepts
    (501, "dose.above_maximum", False),     # above 5 × 100 mg: refused
    (1e308, "dose.above_maximum", False),
])
def test_doses_other_than_the_label(mg: float, code: str, soft: bool) -> None:
    (problem,) = dose(D(2025, 2, 24), mg=mg)
    assert (problem.field, problem.code, problem.soft) == ("dose_mg", code, soft)


def test_a_maintenance_dose_9_days_after_the_last_is_too_soon() -> None:
    # Dose 4 due 2025-02-24; a quarter of the 28-day interval (7 days) early still passes.
    assert dose(D(2025, 2, 17)) == []
    (problem,) = dose(D(2025, 2, 5))
    assert (problem.field, problem.code, problem.soft) == ("date", "dose.too_soon", True)
    assert "9 days after the previous dose (2025-01-27)" in problem.rule


def test_a_loading_dose_allows_a_quarter_of_14_days() -> None:
    history = PatientHistory("X", given_doses={"tofersen": (D(2025, 1, 1),)})
    on_time = administration_entry(date=D(2025, 1, 12), drug="tofersen", status="given",
                                   dose_mg=100)
    early = administration_entry(date=D(2025, 1, 11), drug="tofersen", status="given",
                                 dose_mg=100)
    assert check_record(on_time, history, today=TODAY) == []  # due 01-15, 3 days early
    assert codes(check_record(early, history, today=TODAY)) == {"dose.too_soon"}


def test_a_dose_entered_between_two_others_checks_the_next_one() -> None:
    history = PatientHistory("X", given_doses={"tofersen": (D(2025, 1, 1), D(2025, 1, 29))})
    entry = administration_entry(date=D(2025, 1, 20), drug="tofersen", status="given",
                                 dose_mg=100)
    (problem,) = check_record(entry, history, today=TODAY)
    assert problem.code == "dose.too_soon" and "next recorded dose (2025-01-29)" in problem.rule


def test_missed_doses_are_not_held_to_the_schedule() -> None:
    assert dose(D(2025, 2, 5), mg=None, csf=None, status="missed") == []


def test_every_dose_of_the_ideal_calendar_passes() -> None:
    calendar = planned_calendar(TOFERSEN_US, D(2024, 1, 1), D(2025, 1, 1))
    history = PatientHistory("X")
    for day in calendar:
        entry = administration_entry(date=day, drug="tofersen", status="given", dose_mg=100,
                                     csf_removed_ml=10)
        assert check_record(entry, history, today=TODAY) == []
        history = merged_history("X", history, None, [entry])


@pytest.mark.parametrize(("csf", "code"), [
    (10, None), (5, None), (20, None),              # label: about 10 mL
    (4, "csf_removed.outside_range"), (40, "csf_removed.outside_range"),
    (151, "csf_removed.above_csf_volume"),           # more than an adult's CSF (~150 mL)
])
def test_csf_removed(csf: float, code: str | None) -> None:
    problems = dose(D(2025, 2, 24), csf=csf)
    assert codes(problems) == ({code} if code else set())


def test_csf_removed_is_only_for_intrathecal_drugs() -> None:
    problems = dose(D(2025, 2, 24), mg=60, drug="Radicava")
    assert codes(problems) == {"csf_removed.not_intrathecal"}


def test_a_brand_name_is_the_coded_drug() -> None:
    entry = administration_entry(date=D(2025, 2, 24), drug="QALSODY®", status="given",
                                 dose_mg=100)
    assert entry.drug.value == "tofersen"
    assert check_record(entry, HISTORY, today=TODAY) == []  # and counts for the schedule


# --- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "code"), [
    (D(1899, 12, 31), "date.before_1900"),
    (D(1, 1, 1), "date.before_1900"),
    (D(1926, 5, 1), "date.before_birth_year"),
    (D(1967, 12, 31), "date.before_birth_year"),
    (D(2025, 3, 21), "date.in_future"),
])
def test_dates_outside_the_patients_life(day: D, code: str) -> None:
    entry = measurement_entry(date=day, kind="nfl_serum", value=40, unit="pg/mL")
    assert code in codes(check_record(entry, HISTORY, today=TODAY))


def test_the_birth_year_itself_is_allowed() -> None:
    entry = measurement_entry(date=D(1968, 1, 1), kind="weight_kg", value=3.5 * 10, unit="kg")
    assert check_record(entry, HISTORY, today=TODAY) == []


def test_nothing_after_death_and_no_death_before_a_record() -> None:
    dead = PatientHistory("X", birth_year=1960, onset=D(2020, 1, 1),
                          milestones=(Milestone(MilestoneKind.DEATH, D(2024, 6, 1)),),
                          latest_record=(D(2024, 6, 1), "alsfrs"))
    after = alsfrs_entry(date=D(2024, 6, 2), items=[4] * 12, gastrostomy=False, source="clinic")
    assert codes(check_record(after, dead, today=TODAY)) == {"date.after_death"}
    alive = PatientHistory("Y", onset=D(2020, 1, 1), latest_record=(D(2024, 6, 1), "alsfrs"))
    death = milestone_entry(kind="death", date=D(2024, 5, 1))
    (problem,) = check_record(death, alive, today=TODAY)
    assert problem.code == "date.after_death" and "already dated 2024-06-01" in problem.rule
    assert check_record(milestone_entry(kind="death", date=D(2024, 6, 1)), alive,
                        today=TODAY) == []


# --- values (soft ranges) ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "value", "unit", "warned"), [
    ("nfl_serum", 78, "pg/mL", False),          # tofersen cohort median (Wiesenfarth 2024)
    ("nfl_serum", 1000, "pg/mL", False),
    ("nfl_serum", 118_600, "pg/mL", True),
    ("nfl_csf", 35_945, "pg/mL", False),        # the top of the ALS range (J Neurol 2018)
    ("pnfh_csf", 2226, "ng/L", False),
    ("csf_wbc", 40, "/uL", False),              # pleocytosis on tofersen: a flag, not a typo
    ("csf_wbc", 5000, "/uL", True),
    ("csf_protein", 0.5, "g/L", False),
    ("csf_protein", 5, "g/L", True),            # 500 mg/dL
    ("svc_percent", 5, "%", True),
    ("hhd_megascore", -1.5, "score", False),
])
def test_measurement_ranges(kind: str, value: float, unit: str, warned: bool) -> None:
    entry = measurement_entry(date=D(2025, 3, 1), kind=kind, value=value, unit=unit)
    expected = {"value.outside_range"} if warned else set()
    problems = check_record(entry, HISTORY, today=TODAY)
    assert codes(problems) == expected
    assert all(p.soft and p.field == "value" for p in problems)


def test_ranges_are_settings() -> None:
    site = PlausibilitySettings.from_mapping({"value_ranges": {"nfl_serum": [None, 100]}})
    entry = measurement_entry(date=D(2025, 3, 1), kind="nfl_serum", value=150, unit="pg/mL")
    assert codes(check_record(entry, HISTORY, today=TODAY, settings=site)) == {
        "value.outside_range"}
    with pytest.raises(DomainError, match="is not a plausibility setting"):
        PlausibilitySettings.from_mapping({"nfl_max": 3})
    with pytest.raises(DomainError):
        PlausibilitySettings(csf_removed_ml=(20, 5))


# --- ALSFRS-R change --------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "total", "warned"), [
    (D(2025, 1, 27), 36, False),   # 6 points in half a month: within 6 + 4 × 0.46
    (D(2025, 1, 27), 30, True),    # 12 points in two weeks
    (D(2025, 4, 13), 30, False),   # 12 points in three months: fast, but plausible (A4V)
    (D(2025, 1, 20), 48, False),   # +6: within the rater allowance
])
def test_a_total_far_from_the_previous_rating(day: D, total: int, warned: bool) -> None:
    items = [4] * 12
    for i in range(48 - total):
        items[i % 12] -= 1
    entry = alsfrs_entry(date=day, items=items, gastrostomy=False, source="clinic")
    problems = check_record(entry, HISTORY, today=D(2025, 5, 1))
    assert codes(problems) == ({"alsfrs.large_change"} if warned else set())


def test_self_reports_are_compared_with_self_reports() -> None:
    entry = alsfrs_entry(date=D(2025, 1, 14), items=[2] * 12, gastrostomy=False, source="self")
    assert check_record(entry, HISTORY, today=TODAY) == []


# --- patients ---------------------------------------------------------------------------------


def _patient(**changes: Any) -> PatientEntry:
    values: dict[str, Any] = {
        "patient_id": "BER-001", "site": "BER", "sex": "F", "birth_year": 1968,
        "status": "patient", "sod1_variant": "A4V", "zygosity": "heterozygous",
        "current_year": 2025, "onset_date": D(2022, 3, 1), "onset_region": "lower_limb"}
    return patient_entry(**(values | changes))


def test_identity_changes_of_a_registered_patient_need_confirmation() -> None:
    registered = PatientHistory("BER-001", birth_year=1968, site="BER",
                                sex=_patient().identity.sex)
    changed = _patient(site="MUC", sex="M", birth_year=1970)
    problems = check_patient(changed, registered, today=TODAY)
    assert codes(problems) == {"patient.site_changed", "patient.sex_changed",
                               "patient.birth_year_changed"}
    assert all(p.soft for p in problems)
    assert check_patient(_patient(), registered, today=TODAY) == []


def test_the_entered_variant_is_kept_with_its_reading() -> None:
    entry = _patient(sod1_variant="c.14C>T")
    assert entry.variant_text == "c.14C>T"
    reading = entry.variant
    assert (reading.hgvs, reading.legacy) == (parse_sod1_variant("A4V").hgvs, "A4V")


# --- an import as a whole -----------------------------------------------------------------------


def test_a_batch_checks_rows_against_each_other_and_the_registry() -> None:
    patient = _patient(patient_id="BER-002")
    death = milestone_entry(kind="death", date=D(2024, 1, 1))
    late = measurement_entry(date=D(2024, 2, 1), kind="nfl_serum", value=40, unit="pg/mL")
    batch = Batch(
        patients=[Row(patient, "BER-002", "patients.csv", 2)],
        records={"milestones": [Row(death, "BER-002", "milestones.csv", 2)],
                 "measurements": [Row(late, "BER-002", "measurements.csv", 2),
                                  Row(late, "BER-002", "measurements.csv", 3),
                                  Row(late, "NOBODY", "measurements.csv", 4)]},
        listed={"BER-002"})
    check = check_batch(batch, {}, {"ber-002": "Ber-002"}, today=TODAY)
    found = {(p.file, p.row, p.code) for p in check.problems}
    assert ("patients.csv", 2, "patient.pseudonym_case") in found
    assert ("measurements.csv", 2, "date.after_death") in found
    assert ("measurements.csv", 3, "row.duplicate") in found
    assert ("measurements.csv", 4, "patient_id.unknown") in found


def test_a_row_confirms_its_own_warnings() -> None:
    entry = measurement_entry(date=D(2025, 3, 1), kind="nfl_serum", value=5000, unit="pg/mL")
    unconfirmed = Batch(records={"measurements": [Row(entry, "BER-001", "m.csv", 2)]})
    registered = {"BER-001": HISTORY}
    assert codes(check_batch(unconfirmed, registered, {}, today=TODAY).problems) == {
        "value.outside_range"}
    confirmed = Batch(records={"measurements": [
        Row(entry, "BER-001", "m.csv", 2, frozenset({"value.outside_range"}))]})
    check = check_batch(confirmed, registered, {}, today=TODAY)
    assert check.problems == []
    assert codes(list(check.confirmed[("measurements", 0)])) == {"value.outside_range"}
    accepted = check_batch(unconfirmed, registered, {}, today=TODAY, accept_warnings=True)
    assert accepted.problems == [] and accepted.confirmed


# --- invariants ---------------------------------------------------------------------------------


problems = st.lists(st.builds(Problem, field=st.sampled_from(["date", "value", None]),
                              rule=st.text(min_size=1, max_size=5),
                              code=st.sampled_from(sorted(RULES)), soft=st.booleans()))


@given(problems, st.sets(st.sampled_from(sorted(SOFT_CODES))), st.booleans())
def test_settling_never_lets_a_hard_problem_through(found: list[Problem], confirmed: set[str],
                                                    accept_all: bool) -> None:
    stopping, accepted = settle(found, confirmed, accept_all=accept_all)
    assert sorted(stopping + accepted, key=repr) == sorted(found, key=repr)
    assert all(p.soft for p in accepted)
    assert [p for p in found if not p.soft] == [p for p in stopping if not p.soft]


def test_every_rule_is_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "domain-rules.md").read_text(encoding="utf-8")
    missing = [code for code in RULES if f"`{code}`" not in doc]
    assert not missing
    assert DEFAULT_SETTINGS.csf_volume_ml == 150  # the adult CSF volume (StatPearls)
