"""Post-lumbar puncture headache: a coded term and its rule (ICHD-3 7.2.1; domain-rules §3.2,
§11.2): it must begin within 5 days after a lumbar puncture (an intrathecal dose given)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.plausibility import SOFT_CODES, PatientHistory, check_record
from alsrwe.domain.plausibility.adverse_events import NO_RECENT_LUMBAR_PUNCTURE
from alsrwe.domain.records import adverse_event_entry
from alsrwe.domain.safety import AE_TERMS, AeTerm, LabelSection

D = dt.date
TODAY = D(2026, 1, 1)
DOSES = (D(2025, 1, 1), D(2025, 1, 15), D(2025, 1, 29))


def _headache(onset: dt.date, term: str = "post_lumbar_puncture_headache") -> list[str]:
    entry = adverse_event_entry(onset_date=onset, term=term, grade=1, serious=False,
                                related=False, outcome="recovered")
    history = PatientHistory("BER-001", onset=D(2023, 1, 1),
                             given_doses={"tofersen": DOSES, "edaravone_iv": (D(2025, 3, 1),)})
    return [p.code for p in check_record(entry, history, today=TODAY)]


def test_the_lumbar_puncture_terms_are_coded_with_their_sources() -> None:
    for term in (AeTerm.POST_LUMBAR_PUNCTURE_HEADACHE, AeTerm.PROCEDURAL_PAIN):
        info = AE_TERMS[term]
        assert info.section is LabelSection.LUMBAR_PUNCTURE and not info.warning
        assert "NEJM 2022" in info.source
    assert "ICHD-3 7.2.1" in AE_TERMS[AeTerm.POST_LUMBAR_PUNCTURE_HEADACHE].source


def test_a_headache_within_five_days_of_a_dose_passes() -> None:
    assert _headache(D(2025, 1, 15)) == []  # the day of the second loading dose
    assert _headache(D(2025, 1, 20)) == []  # five days after it


def test_a_headache_six_days_after_the_last_dose_is_a_warning() -> None:
    assert _headache(D(2025, 1, 21)) == [NO_RECENT_LUMBAR_PUNCTURE]
    assert NO_RECENT_LUMBAR_PUNCTURE in SOFT_CODES


def test_a_headache_before_any_dose_or_after_an_intravenous_one_is_a_warning() -> None:
    assert _headache(D(2024, 12, 31)) == [NO_RECENT_LUMBAR_PUNCTURE]
    assert _headache(D(2025, 3, 2)) == [NO_RECENT_LUMBAR_PUNCTURE]  # IV edaravone: no LP


def test_the_message_names_the_field_and_the_last_dose() -> None:
    entry = adverse_event_entry(onset_date=D(2025, 2, 10),
                                term="post_lumbar_puncture_headache", grade=1, serious=False,
                                related=False, outcome="recovered")
    history = PatientHistory("BER-001", given_doses={"tofersen": DOSES})
    (problem,) = check_record(entry, history, today=TODAY)
    assert problem.field == "term" and problem.soft
    assert "was on 2025-01-29, 12 days earlier" in problem.rule and "ICHD-3" in problem.rule


@given(st.integers(min_value=-30, max_value=60))
def test_only_a_post_lp_headache_is_held_to_the_window(offset: int) -> None:
    onset = DOSES[-1] + dt.timedelta(days=offset)
    near_a_dose = any(0 <= (onset - dose).days <= 5 for dose in DOSES)
    assert _headache(onset) == ([] if near_a_dose else [NO_RECENT_LUMBAR_PUNCTURE])
    assert _headache(onset, term="procedural_pain") == []
