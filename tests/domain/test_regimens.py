"""Regimens and the schedule engine: worked examples from the labels (domain-rules §3.1,
conventions 5 and 6) and hypothesis properties of the engine."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsrwe.domain.errors import ScheduleError
from alsrwe.domain.regimens import (
    EDARAVONE_IV,
    LATE_AFTER_DAYS,
    REGIMENS,
    TOFERSEN_EU,
    TOFERSEN_US,
    AdministrationStatus,
    Authority,
    CyclePhase,
    Due,
    IntervalPhase,
    Regimen,
    Route,
    adherence,
    get_regimen,
    interval_into,
    next_due,
    planned_calendar,
    regimens_for_drug,
    schedule,
)

D = dt.date
JAN1 = D(2024, 1, 1)


def day(n: int) -> dt.date:
    """Day n of treatment, day 1 = 2024-01-01."""
    return JAN1 + dt.timedelta(days=n - 1)


# --- Regimen data ---------------------------------------------------------------------------------


def test_administration_status_kept() -> None:
    assert [s.value for s in AdministrationStatus] == ["given", "missed", "deferred"]


def test_tofersen_label_data() -> None:
    for regimen in (TOFERSEN_US, TOFERSEN_EU):
        assert (regimen.drug, regimen.dose, regimen.unit) == ("tofersen", 100, "mg")
        assert regimen.route is Route.INTRATHECAL
        assert regimen.volume_ml == 15
        assert regimen.phases == (
            IntervalPhase("loading", interval_days=14, doses=3),
            IntervalPhase("maintenance", interval_days=28),
        )
        assert not regimen.cyclic
        assert regimen.min_interval_days == 14


def test_us_and_eu_differ_in_metadata_only() -> None:
    assert (TOFERSEN_US.authority, TOFERSEN_EU.authority) == (Authority.FDA, Authority.EMA)
    assert TOFERSEN_US.prescriber_requirement is not None
    assert TOFERSEN_EU.prescriber_requirement is not None
    assert "experienced in the management of ALS" in TOFERSEN_EU.prescriber_requirement
    assert "ALS" not in TOFERSEN_US.prescriber_requirement
    assert TOFERSEN_US.label != TOFERSEN_EU.label
    assert TOFERSEN_US.missed_dose_rules != TOFERSEN_EU.missed_dose_rules
    assert all("delayed or missed" in r.situation for r in TOFERSEN_EU.missed_dose_rules)
    assert len(TOFERSEN_EU.missed_dose_rules) == 3
    assert len(TOFERSEN_US.missed_dose_rules) == 2


@pytest.mark.parametrize("today", [day(1), day(20), day(100)])
def test_us_and_eu_same_arithmetic(today: dt.date) -> None:
    given = [d for d in (day(1), day(20), day(40)) if d <= today]
    assert next_due(TOFERSEN_US, given, today) == next_due(TOFERSEN_EU, given, today)
    assert planned_calendar(TOFERSEN_US, JAN1, today) == planned_calendar(TOFERSEN_EU, JAN1, today)


def test_edaravone_label_data() -> None:
    assert (EDARAVONE_IV.dose, EDARAVONE_IV.unit, EDARAVONE_IV.route) == (60, "mg", "intravenous")
    assert EDARAVONE_IV.cyclic
    assert EDARAVONE_IV.min_interval_days == 1
    assert "convention" in EDARAVONE_IV.missed_dose_rules[0].source


def test_lookup_by_id_and_drug() -> None:
    assert set(REGIMENS) == {"tofersen_us", "tofersen_eu", "edaravone_iv"}
    assert get_regimen("tofersen_eu") is TOFERSEN_EU
    assert regimens_for_drug(" Tofersen ") == (TOFERSEN_US, TOFERSEN_EU)
    assert regimens_for_drug("edaravone_iv") == (EDARAVONE_IV,)


def test_lookup_unknown_names_the_field() -> None:
    with pytest.raises(ScheduleError) as err:
        get_regimen("nusinersen")
    assert err.value.field == "regimen"
    with pytest.raises(ScheduleError) as err:
        regimens_for_drug("riluzole")
    assert err.value.field == "drug"
    assert "tofersen" in err.value.rule


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        REGIMENS["x"] = TOFERSEN_US  # type: ignore[index]


@pytest.mark.parametrize(
    "phases",
    [
        (),
        (IntervalPhase("a", 14, doses=None), IntervalPhase("b", 28)),
        (IntervalPhase("a", 14, doses=3),),
        (IntervalPhase("a", 14, doses=0), IntervalPhase("b", 28)),
        (IntervalPhase("a", 0),),
        (IntervalPhase("a", 14, doses=3), CyclePhase(10, 14, 14)),
        (CyclePhase(doses=15, window_days=14, off_days=14),),
    ],
)
def test_bad_phases_rejected(phases: tuple[IntervalPhase | CyclePhase, ...]) -> None:
    with pytest.raises(ScheduleError) as err:
        Regimen("x", "x", 1, "mg", Route.INTRAVENOUS, phases, Authority.FDA, "", "", "")
    assert err.value.field == "phases"


def test_single_open_ended_phase_accepted() -> None:
    weekly = Regimen(
        "x", "x", 1, "mg", Route.INTRAVENOUS, (IntervalPhase("a", 7),), Authority.FDA, "", "", ""
    )
    assert planned_calendar(weekly, JAN1, day(15)) == [day(1), day(8), day(15)]


# --- Tofersen: worked examples from the label rules (§3.1, convention 5) ----------------------


def test_tofersen_ideal_calendar() -> None:
    assert planned_calendar(TOFERSEN_US, JAN1, D(2024, 3, 25)) == [
        D(2024, 1, 1),
        D(2024, 1, 15),
        D(2024, 1, 29),
        D(2024, 2, 26),
        D(2024, 3, 25),
    ]
    assert planned_calendar(TOFERSEN_US, JAN1, D(2023, 12, 31)) == []


def test_first_dose_due_on_start_or_today() -> None:
    due = next_due(TOFERSEN_US, [], today=D(2024, 1, 10), start=JAN1)
    assert due == Due(JAN1, number=1, phase="loading", phase_dose=1, overdue_days=9)
    assert next_due(TOFERSEN_US, [], today=D(2024, 1, 10)).date == D(2024, 1, 10)
    future = next_due(TOFERSEN_US, [], today=JAN1, start=D(2024, 2, 1))
    assert (future.date, future.overdue_days) == (D(2024, 2, 1), 0)


def test_on_time_loading_and_maintenance() -> None:
    due = next_due(TOFERSEN_US, [JAN1], today=D(2024, 1, 10))
    assert due == Due(D(2024, 1, 15), number=2, phase="loading", phase_dose=2, overdue_days=0)
    due = next_due(TOFERSEN_US, [JAN1, D(2024, 1, 15), D(2024, 1, 29)], today=D(2024, 2, 1))
    assert due == Due(D(2024, 2, 26), 4, "maintenance", phase_dose=1, overdue_days=0)


def test_missed_second_loading_dose() -> None:
    # Label: give as soon as possible; third loading dose 14 days later.
    overdue = next_due(TOFERSEN_US, [JAN1], today=D(2024, 1, 20))
    assert (overdue.date, overdue.overdue_days) == (D(2024, 1, 15), 5)
    due = next_due(TOFERSEN_US, [JAN1, D(2024, 1, 20)], today=D(2024, 1, 20))
    assert (due.date, due.number, due.phase, due.overdue_days) == (D(2024, 2, 3), 3, "loading", 0)


def test_missed_third_loading_dose() -> None:
    # Label: give as soon as possible; next (first maintenance) dose 28 days later.
    given = [JAN1, D(2024, 1, 15), D(2024, 2, 5)]
    due = next_due(TOFERSEN_EU, given, today=D(2024, 2, 5))
    assert (due.date, due.number, due.phase) == (D(2024, 3, 4), 4, "maintenance")


def test_missed_maintenance_dose() -> None:
    # Label: give as soon as possible; next dose (and every one after) 28 days from the last.
    given = [JAN1, D(2024, 1, 15), D(2024, 1, 29), D(2024, 2, 26)]
    overdue = next_due(TOFERSEN_US, given, today=D(2024, 3, 30))
    assert (overdue.date, overdue.overdue_days, overdue.phase_dose) == (D(2024, 3, 25), 5, 2)
    due = next_due(TOFERSEN_US, [*given, D(2024, 3, 30)], today=D(2024, 4, 1))
    assert (due.date, due.number, due.overdue_days) == (D(2024, 4, 27), 6, 0)


def test_unsorted_given_is_sorted() -> None:
    given = [D(2024, 1, 29), JAN1, D(2024, 1, 15)]
    assert next_due(TOFERSEN_US, given, today=D(2024, 2, 1)).date == D(2024, 2, 26)


def test_duplicate_given_rejected() -> None:
    with pytest.raises(ScheduleError) as err:
        next_due(TOFERSEN_US, [JAN1, D(2024, 1, 15), JAN1], today=D(2024, 2, 1))
    assert err.value.field == "given"
    assert "2024-01-01" in err.value.rule


def test_given_after_today_rejected() -> None:
    with pytest.raises(ScheduleError) as err:
        next_due(TOFERSEN_US, [JAN1, D(2024, 2, 2)], today=D(2024, 2, 1))
    assert err.value.field == "given"
    assert "after today" in err.value.rule


# --- Interruptions: resume or reload, the clinician's explicit choice -------------------------

HISTORY = [JAN1, D(2024, 1, 15), D(2024, 1, 29), D(2024, 2, 26)]


def test_resume_after_interruption_continues_maintenance() -> None:
    due = next_due(TOFERSEN_US, HISTORY, today=D(2024, 9, 1))
    assert (due.date, due.phase, due.number) == (D(2024, 3, 25), "maintenance", 5)
    assert due.overdue_days == (D(2024, 9, 1) - D(2024, 3, 25)).days


def test_reload_restarts_loading_phase() -> None:
    reload = D(2024, 9, 1)
    due = next_due(TOFERSEN_US, HISTORY, today=reload, reload_from=reload)
    assert due == Due(reload, number=5, phase="loading", phase_dose=1, overdue_days=0)
    given = [*HISTORY, reload, D(2024, 9, 15)]
    due = next_due(TOFERSEN_US, given, today=D(2024, 9, 20), reload_from=reload)
    assert (due.date, due.phase, due.phase_dose, due.number) == (D(2024, 9, 29), "loading", 3, 7)
    given.append(D(2024, 9, 29))
    due = next_due(TOFERSEN_US, given, today=D(2024, 10, 1), reload_from=reload)
    assert (due.date, due.phase) == (D(2024, 10, 27), "maintenance")


def test_planned_reload_in_the_future_is_not_overdue() -> None:
    due = next_due(TOFERSEN_US, HISTORY, today=D(2024, 8, 1), reload_from=D(2024, 9, 1))
    assert (due.date, due.overdue_days, due.phase) == (D(2024, 9, 1), 0, "loading")


# --- IV edaravone: cycles (convention 6) --------------------------------------------------------


def test_edaravone_ideal_calendar() -> None:
    calendar = planned_calendar(EDARAVONE_IV, JAN1, day(84))
    assert calendar[:14] == [day(n) for n in range(1, 15)]
    assert calendar[14:24] == [day(n) for n in range(29, 39)]
    assert calendar[24:] == [day(n) for n in range(57, 67)]
    per_cycle = [sum(day(s) <= d < day(s + 28) for d in calendar) for s in (1, 29, 57)]
    assert per_cycle == [14, 10, 10]


def test_edaravone_phase_names_cycles() -> None:
    calendar = planned_calendar(EDARAVONE_IV, JAN1, day(38))
    due = next_due(EDARAVONE_IV, calendar, today=day(40))
    assert (due.date, due.phase, due.phase_dose, due.number) == (day(57), "cycle 3", 1, 25)
    due = next_due(EDARAVONE_IV, calendar[:14], today=day(14))
    assert (due.date, due.phase, due.phase_dose) == (day(29), "cycle 2", 1)


def test_edaravone_missed_day_made_up_within_window() -> None:
    given = [*planned_calendar(EDARAVONE_IV, JAN1, day(14)), *[day(n) for n in range(29, 34)]]
    due = next_due(EDARAVONE_IV, given, today=day(36))
    assert (due.date, due.phase, due.phase_dose, due.overdue_days) == (day(34), "cycle 2", 6, 2)
    made_up = [*given, *[day(n) for n in range(36, 41)]]
    due = next_due(EDARAVONE_IV, made_up, today=day(41))
    assert (due.date, due.phase, due.phase_dose) == (day(57), "cycle 3", 1)


def test_edaravone_closed_window_moves_to_next_cycle() -> None:
    given = [*planned_calendar(EDARAVONE_IV, JAN1, day(14)), *[day(n) for n in range(29, 34)]]
    due = next_due(EDARAVONE_IV, given, today=day(43))
    assert (due.date, due.phase, due.overdue_days) == (day(57), "cycle 3", 0)
    # On the last day of the period a remaining dose is still due (overdue since day 34).
    assert next_due(EDARAVONE_IV, given, today=day(42)).date == day(34)


def test_edaravone_late_cycle_start_shifts_next_cycle() -> None:
    given = [*planned_calendar(EDARAVONE_IV, JAN1, day(14)), day(35)]
    rows = schedule(EDARAVONE_IV, given, today=day(35), horizon_days=0)
    assert (rows[14].due, rows[14].given, rows[14].delay_days) == (day(29), day(35), 6)
    assert next_due(EDARAVONE_IV, given, today=day(35)).date == day(36)
    full = [*given, *[day(n) for n in range(36, 45)]]
    assert next_due(EDARAVONE_IV, full, today=day(45)).date == day(63)


# --- Adherence -----------------------------------------------------------------------------------


def test_adherence_on_time() -> None:
    given = planned_calendar(TOFERSEN_US, JAN1, D(2024, 3, 25))
    result = adherence(TOFERSEN_US, given, today=D(2024, 4, 1))
    assert (result.doses_given, result.expected_by_schedule, result.expected_by_plan) == (5, 5, 5)
    assert result.proportion == 1.0
    assert (result.longest_gap_days, result.days_since_last_dose) == (28, 7)
    assert (result.late_doses, result.late_after_days, result.overdue_days) == (0, 7, 0)


def test_adherence_late_and_overdue() -> None:
    given = [JAN1, D(2024, 1, 25), D(2024, 2, 8)]  # dose 2 ten days late
    result = adherence(TOFERSEN_US, given, today=D(2024, 3, 20))
    assert result.late_doses == 1
    assert result.late_after_days == LATE_AFTER_DAYS == 7
    assert result.overdue_days == (D(2024, 3, 20) - D(2024, 3, 7)).days
    assert (result.expected_by_schedule, result.expected_by_plan) == (4, 4)
    assert result.proportion == 0.75
    assert result.longest_gap_days == (D(2024, 3, 20) - D(2024, 2, 8)).days
    assert adherence(TOFERSEN_US, given, D(2024, 3, 20), late_after_days=14).late_doses == 0


def test_adherence_nothing_given_or_expected() -> None:
    none_yet = adherence(TOFERSEN_US, [], today=JAN1, start=D(2024, 2, 1))
    assert none_yet.expected_by_plan == 0
    assert none_yet.proportion is None
    assert none_yet.longest_gap_days is None
    missed = adherence(TOFERSEN_US, [], today=D(2024, 1, 10), start=JAN1)
    assert (missed.proportion, missed.overdue_days, missed.days_since_last_dose) == (0.0, 9, None)


def test_adherence_with_reload_counts_both_courses() -> None:
    reload = D(2024, 9, 1)
    given = [*HISTORY, reload]
    result = adherence(TOFERSEN_US, given, today=D(2024, 9, 2), reload_from=reload)
    planned_before = planned_calendar(TOFERSEN_US, JAN1, D(2024, 8, 31))
    assert result.expected_by_plan == len(planned_before) + 1
    assert result.expected_by_schedule == 5
    assert result.longest_gap_days == (reload - D(2024, 2, 26)).days


# --- Schedule view -------------------------------------------------------------------------------


def test_schedule_view() -> None:
    given = [JAN1, D(2024, 1, 20)]
    rows = schedule(TOFERSEN_US, given, today=D(2024, 1, 25), horizon_days=60)
    past = [(r.number, r.due, r.given, r.delay_days, r.phase) for r in rows if r.is_given]
    assert past == [
        (1, JAN1, JAN1, 0, "loading"),
        (2, D(2024, 1, 15), D(2024, 1, 20), 5, "loading"),
    ]
    ahead = [(r.number, r.due, r.phase) for r in rows if not r.is_given]
    assert ahead == [(3, D(2024, 2, 3), "loading"), (4, D(2024, 3, 2), "maintenance")]


def test_schedule_overdue_next_dose_projected_today() -> None:
    rows = schedule(TOFERSEN_US, [JAN1], today=D(2024, 2, 1), horizon_days=20)
    assert [(r.number, r.due) for r in rows[1:]] == [(2, D(2024, 1, 15)), (3, D(2024, 2, 15))]


def test_schedule_always_lists_next_dose() -> None:
    rows = schedule(TOFERSEN_US, HISTORY, today=D(2024, 2, 27), horizon_days=0)
    assert [(r.number, r.due, r.is_given) for r in rows[-1:]] == [(5, D(2024, 3, 25), False)]
    with pytest.raises(ScheduleError) as err:
        schedule(TOFERSEN_US, HISTORY, today=D(2024, 2, 27), horizon_days=-1)
    assert err.value.field == "horizon_days"


# --- Properties ----------------------------------------------------------------------------------

History = tuple[list[dt.date], dt.date]
regimens = st.sampled_from([TOFERSEN_US, TOFERSEN_EU, EDARAVONE_IV])
dates = st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 1, 1))


@st.composite
def histories(draw: st.DrawFn) -> History:
    """Sorted distinct dose dates with arbitrary gaps, and a 'today' on or after the last."""
    first = draw(dates)
    gaps = draw(st.lists(st.integers(min_value=1, max_value=60), max_size=25))
    given = [first]
    for gap in gaps:
        given.append(given[-1] + dt.timedelta(days=gap))
    today = given[-1] + dt.timedelta(days=draw(st.integers(min_value=0, max_value=90)))
    return given, today


@given(regimens, histories())
def test_next_due_respects_minimum_interval(regimen: Regimen, history: History) -> None:
    given, today = history
    due = next_due(regimen, given, today)
    assert due.date >= given[-1] + dt.timedelta(days=regimen.min_interval_days)
    assert due.number == len(given) + 1
    assert due.overdue_days == max(0, (today - due.date).days)


@given(regimens, dates, st.integers(min_value=0, max_value=730))
def test_planned_calendar_increasing_within_bounds(
    regimen: Regimen, start: dt.date, span: int
) -> None:
    until = start + dt.timedelta(days=span)
    calendar = planned_calendar(regimen, start, until)
    assert calendar[0] == start
    assert all(a < b for a, b in zip(calendar, calendar[1:], strict=False))
    assert all(start <= d <= until for d in calendar)


@settings(max_examples=50)
@given(regimens, dates, st.integers(min_value=0, max_value=400))
def test_on_time_history_is_never_overdue(regimen: Regimen, start: dt.date, span: int) -> None:
    calendar = planned_calendar(regimen, start, start + dt.timedelta(days=span))
    due = next_due(regimen, calendar, today=calendar[-1])
    assert due.overdue_days == 0
    on_the_day = next_due(regimen, calendar, today=due.date)
    assert (on_the_day.date, on_the_day.overdue_days) == (due.date, 0)
    assert planned_calendar(regimen, start, due.date)[-1] == due.date
    result = adherence(regimen, calendar, today=due.date, start=start)
    assert result.proportion is not None and 0.0 <= result.proportion <= 1.0
    assert result.late_doses == 0


@given(regimens, histories())
def test_adherence_bounds(regimen: Regimen, history: History) -> None:
    given, today = history
    result = adherence(regimen, given, today)
    assert result.proportion is not None and 0.0 <= result.proportion <= 1.0
    assert result.expected_by_schedule <= len(given) + 1
    assert 0 <= result.late_doses <= len(given)


@given(regimens, histories(), st.integers(min_value=0, max_value=120))
def test_schedule_lists_given_then_increasing_plan(
    regimen: Regimen, history: History, horizon: int
) -> None:
    given, today = history
    rows = schedule(regimen, given, today, horizon_days=horizon)
    assert [r.given for r in rows if r.is_given] == given
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    ahead = [r.due for r in rows if not r.is_given]
    assert ahead and all(a < b for a, b in zip(ahead, ahead[1:], strict=False))
    assert all(d <= today + dt.timedelta(days=horizon) for d in ahead[1:])


@given(st.lists(st.integers(1, 60), min_size=1, max_size=30))
def test_interval_into_agrees_with_next_due(gaps: list[int]) -> None:
    days = [dt.date(2024, 1, 1)]
    for gap in gaps:
        days.append(days[-1] + dt.timedelta(days=gap))
    for n in range(1, len(days) + 1):
        due = next_due(TOFERSEN_US, days[:n], days[n - 1])
        assert (due.date - days[n - 1]).days == interval_into(TOFERSEN_US, n + 1)
