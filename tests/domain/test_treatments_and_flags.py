"""Treatment periods and the patient page's flags: worked examples and invariants.

Examples: the US label's schedule across a pause (convention 5), the 24.3 % reference change
value of serum NfL (Hviid et al., Clin Chem Lab Med 2022), the CSF limits of convention 8 and
the label's warning terms (US PI 5.1-5.3).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.errors import InvalidInput
from alsrwe.domain.flags import (
    NFL_REFERENCE_CHANGE,
    EventFacts,
    FlagCode,
    Sample,
    csf_flag,
    patient_flags,
    rising_nfl,
)
from alsrwe.domain.regimens import TOFERSEN_US, next_due
from alsrwe.domain.safety import AeOutcome, AeTerm
from alsrwe.domain.treatments import (
    CourseStatus,
    TreatmentEnd,
    course,
    doses_in_course,
    end_period,
    scheduled,
    start_period,
)

D = dt.date
TODAY = D(2026, 12, 1)


def _problems(error: pytest.ExceptionInfo[InvalidInput]) -> dict[str | None, str]:
    return {p.field: p.rule for p in error.value.problems}


def test_a_pause_does_not_restart_the_loading_doses() -> None:
    first = start_period("tofersen_us", D(2026, 1, 5), [], today=TODAY)
    paused = end_period(first, "paused", D(2026, 1, 25), "myelitis work-up", today=TODAY)
    again = start_period("tofersen_us", D(2026, 3, 1), [paused], today=TODAY)
    now = course([paused, again])
    assert now is not None and now.status is CourseStatus.ACTIVE
    assert now.start == D(2026, 1, 5) and now.since == D(2026, 3, 1)
    given = doses_in_course([D(2025, 6, 1), D(2026, 1, 5), D(2026, 1, 19)], now)
    assert given == [D(2026, 1, 5), D(2026, 1, 19)]  # the 2025 dose is another course
    due = next_due(TOFERSEN_US, given, D(2026, 3, 1))
    assert (due.number, due.phase) == (3, "loading")  # the third loading dose, overdue


def test_a_stop_ends_the_course_and_a_new_start_begins_another() -> None:
    first = end_period(start_period("tofersen_us", D(2025, 1, 1), [], today=TODAY), "stopped",
                       D(2025, 6, 1), "patient's wish", today=TODAY)
    second = start_period("tofersen_eu", D(2026, 2, 1), [first], today=TODAY)
    latest = course([first, second])
    assert latest is not None and latest.start == D(2026, 2, 1)
    assert latest.regimen.id == "tofersen_eu"
    stopped = course([first])
    assert stopped is not None and stopped.status is CourseStatus.STOPPED
    assert not scheduled(stopped) and scheduled(None) and scheduled(latest)
    assert stopped.reason == "patient's wish"


def test_one_running_period_per_drug_and_dates_within_the_record() -> None:
    running = start_period("tofersen_us", D(2026, 1, 5), [], today=TODAY)
    with pytest.raises(InvalidInput) as error:
        start_period("tofersen_eu", D(2026, 2, 1), [running], today=TODAY)
    assert "already running" in _problems(error)["regimen"]
    edaravone = start_period("edaravone_iv", D(2026, 2, 1), [running], today=TODAY)
    assert edaravone.regimen == "edaravone_iv"  # another drug may run alongside
    with pytest.raises(InvalidInput) as error:
        start_period("tofersen_us", D(2027, 1, 1), [], today=TODAY)
    assert "today" in _problems(error)["start_date"]
    with pytest.raises(InvalidInput) as error:
        start_period("tofersen_us", D(2026, 5, 1), [], today=TODAY, death=D(2026, 4, 1))
    assert "death" in _problems(error)["start_date"]
    with pytest.raises(InvalidInput) as error:
        start_period("qalsody_weekly", D(2026, 5, 1), [], today=TODAY)
    assert "tofersen_us" in _problems(error)["regimen"]


def test_ending_a_period_needs_a_reason_a_kind_and_a_date_after_its_start() -> None:
    running = start_period("tofersen_us", D(2026, 1, 5), [], today=TODAY)
    with pytest.raises(InvalidInput) as error:
        end_period(running, "suspended", D(2026, 1, 1), "  ", today=TODAY)
    found = _problems(error)
    assert set(found) == {"end_kind", "end_date", "end_reason"}
    ended = end_period(running, TreatmentEnd.STOPPED, D(2026, 2, 1), "raised ICP", today=TODAY)
    with pytest.raises(InvalidInput) as error:
        end_period(ended, "paused", D(2026, 3, 1), "again", today=TODAY)
    assert "already ended" in _problems(error)["end_kind"]


@given(st.lists(st.dates(D(2020, 1, 1), D(2026, 11, 30)), max_size=20),
       st.dates(D(2020, 1, 1), D(2026, 11, 30)))
def test_the_course_keeps_only_doses_from_its_start(doses: list[dt.date],
                                                    start: dt.date) -> None:
    latest = course([start_period("tofersen_us", start, [], today=TODAY)])
    kept = doses_in_course(doses, latest)
    assert kept == sorted(d for d in doses if d >= start)
    assert doses_in_course(doses, None) == sorted(doses)


def _nfl(day: dt.date, value: float, assay: str = "Simoa",
         kind: MeasurementKind = MeasurementKind.NFL_SERUM) -> Sample:
    return Sample(day, kind, value, assay)


def test_rising_nfl_uses_the_reference_change_value_within_one_platform() -> None:
    assert pytest.approx(0.243) == NFL_REFERENCE_CHANGE
    base = _nfl(D(2026, 1, 1), 40.0)
    assert rising_nfl([base, _nfl(D(2026, 4, 1), 49.7)]) is None  # +24.25 %: within variation
    flag = rising_nfl([base, _nfl(D(2026, 4, 1), 50.0)])  # +25 %
    assert flag is not None and flag.code is FlagCode.RISING_NFL and "+25%" in flag.text
    assert rising_nfl([base, _nfl(D(2026, 4, 1), 90.0, assay="Ella")]) is None  # never pooled
    assert rising_nfl([_nfl(D(2026, 1, 1), 40.0, kind=MeasurementKind.NFL_CSF),
                       _nfl(D(2026, 4, 1), 90.0)]) is None  # another matrix
    assert rising_nfl([base, _nfl(D(2026, 4, 1), 60.0)], acknowledged=[D(2026, 4, 1)]) is None


def test_csf_flags_follow_convention_8_on_the_latest_sample_until_acknowledged() -> None:
    old = Sample(D(2026, 1, 1), MeasurementKind.CSF_WBC, 30.0)
    latest = [Sample(D(2026, 2, 1), MeasurementKind.CSF_WBC, 6.0),
              Sample(D(2026, 2, 1), MeasurementKind.CSF_PROTEIN, 40.0)]
    flag = csf_flag([old, *latest])
    assert flag is not None and flag.urgent and flag.date == D(2026, 2, 1)
    assert "pleocytosis (6 cells/µL > 5)" in flag.text and "protein" not in flag.text
    assert csf_flag([old, *latest], acknowledged=[D(2026, 2, 1)]) is None
    normal = [Sample(D(2026, 3, 1), MeasurementKind.CSF_WBC, 5.0)]
    assert csf_flag([old, *latest, *normal]) is None  # 5 is not above the limit


def test_label_warning_events_come_first_and_stay_flagged_for_90_days() -> None:
    events = [
        EventFacts(AeTerm.PAIN, D(2026, 11, 1), AeOutcome.RECOVERING, False),
        EventFacts(AeTerm.MYELITIS, D(2026, 9, 10), AeOutcome.RECOVERED, True),
        EventFacts(AeTerm.PAPILLEDEMA, D(2026, 1, 1), AeOutcome.RECOVERED, False),
    ]
    flags = patient_flags(due=None, events=events, samples=[], pending_self_reports=[],
                          today=TODAY)
    assert [f.code for f in flags] == [FlagCode.LABEL_WARNING_EVENT,
                                       FlagCode.OPEN_ADVERSE_EVENT]
    assert "myelitis" in flags[0].text and "serious" in flags[0].text
    due = next_due(TOFERSEN_US, [D(2026, 9, 1), D(2026, 9, 15), D(2026, 9, 29)], TODAY)
    flags = patient_flags(due=due, events=[], samples=[],
                          pending_self_reports=[D(2026, 11, 30), D(2026, 11, 2)], today=TODAY)
    assert flags[0].code is FlagCode.OVERDUE_DOSE
    assert "overdue by 35 days (due 2026-10-27)" in flags[0].text
    assert flags[-1].text == "2 self-reports to review (latest 2026-11-30)"
