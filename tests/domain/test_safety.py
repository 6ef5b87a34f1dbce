"""Adverse events: the tofersen label's controlled terms and the event rules (§3.2)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.errors import EventError
from alsrwe.domain.safety import (
    AE_TERMS,
    RESOLVED_OUTCOMES,
    WARNING_TERMS,
    AeAction,
    AeOutcome,
    AeTerm,
    LabelSection,
    Relatedness,
    adverse_event,
)

ONSET = dt.date(2024, 3, 1)


def test_every_term_has_its_label_section() -> None:
    assert set(AE_TERMS) == set(AeTerm)
    assert AE_TERMS[AeTerm.MYELITIS].section is LabelSection.MYELITIS_RADICULITIS
    assert AE_TERMS[AeTerm.RADICULITIS].section.value == "5.1"
    assert AE_TERMS[AeTerm.PAPILLEDEMA].section.value == "5.2"
    assert AE_TERMS[AeTerm.RAISED_INTRACRANIAL_PRESSURE].section.value == "5.2"
    assert AE_TERMS[AeTerm.ASEPTIC_MENINGITIS].section.value == "5.3"
    common = {t for t, i in AE_TERMS.items() if i.section is LabelSection.COMMON_ADVERSE_REACTIONS}
    # US PI most common ARs (≥10% and > placebo): pain, fatigue, arthralgia, CSF WBC, myalgia.
    assert common == {"pain", "fatigue", "arthralgia", "csf_wbc_increased", "myalgia"}
    assert all(info.source for info in AE_TERMS.values())


def test_warning_terms_are_lovetts_serious_neurologic_events() -> None:
    # Lovett et al.: myelitis, radiculitis, aseptic meningitis, intracranial hypertension
    # and/or papilledema.
    expected = {
        AeTerm.MYELITIS,
        AeTerm.RADICULITIS,
        AeTerm.ASEPTIC_MENINGITIS,
        AeTerm.RAISED_INTRACRANIAL_PRESSURE,
        AeTerm.PAPILLEDEMA,
    }
    assert expected == WARNING_TERMS


def test_label_example_myelitis_discontinued() -> None:
    # US PI 5.1: myelitis; some patients discontinued, with full resolution.
    ae = adverse_event(
        "myelitis",
        ONSET,
        3,
        True,
        Relatedness.PROBABLE,
        "recovered",
        resolved=dt.date(2024, 4, 15),
        action="withdrawn",
    )
    assert ae.warning and ae.related and ae.relatedness is Relatedness.PROBABLE
    assert ae.action is AeAction.WITHDRAWN and ae.section is LabelSection.MYELITIS_RADICULITIS


def test_other_needs_term_text() -> None:
    ae = adverse_event("other", ONSET, 2, False, False, "recovered", term_text=" post-LP headache ")
    assert ae.term is AeTerm.OTHER and ae.term_text == "post-LP headache" and not ae.warning
    with pytest.raises(EventError) as info:
        adverse_event("other", ONSET, 2, False, False, "recovered", term_text="  ")
    assert (info.value.field, info.value.rule) == (
        "term_text",
        "term 'other' needs term_text describing the event",
    )


def test_unknown_term() -> None:
    with pytest.raises(EventError) as info:
        adverse_event("headache", ONSET, 1, False, False, "recovered")
    assert info.value.field == "term" and "other" in info.value.rule


@pytest.mark.parametrize("grade", [0, 6, True, 2.0])
def test_grade_range(grade: int) -> None:
    with pytest.raises(EventError) as info:
        adverse_event("pain", ONSET, grade, False, False, "recovered")
    assert info.value.field == "grade"


def test_grade_5_and_fatal_go_together() -> None:
    with pytest.raises(EventError) as info:
        adverse_event("aseptic_meningitis", ONSET, 5, True, False, "not_recovered")
    assert info.value.field == "outcome"
    with pytest.raises(EventError) as info:
        adverse_event("aseptic_meningitis", ONSET, 4, True, False, "fatal")
    assert info.value.field == "grade"
    with pytest.raises(EventError) as info:
        adverse_event("aseptic_meningitis", ONSET, 5, False, False, "fatal")
    assert info.value.field == "serious"
    ae = adverse_event("other", ONSET, 5, True, False, "fatal", ONSET, term_text="pneumonia")
    assert ae.outcome is AeOutcome.FATAL


def test_resolved_date_rules() -> None:
    with pytest.raises(EventError) as info:
        adverse_event("pain", ONSET, 1, False, True, "recovered", resolved=dt.date(2024, 2, 28))
    assert info.value.field == "resolved_date" and "before the onset" in info.value.rule
    for outcome in ("recovering", "not_recovered", "unknown"):
        with pytest.raises(EventError) as info:
            adverse_event("pain", ONSET, 1, False, True, outcome, resolved=ONSET)
        assert info.value.field == "resolved_date"
    # Recovered without a known date is allowed: the date is often missing.
    assert adverse_event("pain", ONSET, 1, False, True, "recovered").resolved is None


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("outcome", {"outcome": "resolved"}),
        ("action", {"action": "stopped"}),
        ("serious", {"serious": 1}),
        ("related", {"related": "yes"}),
        ("onset_date", {"onset": "2024-03-01"}),
    ],
)
def test_bad_vocabulary_names_field(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "term": "pain",
        "onset": ONSET,
        "grade": 1,
        "serious": False,
        "related": False,
        "outcome": "recovered",
    }
    args.update(kwargs)
    with pytest.raises(EventError) as info:
        adverse_event(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_relatedness_collapses_to_the_csv_flag() -> None:
    related = {r for r in Relatedness if r.is_related}
    assert related == {Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE}
    ae = adverse_event("fatigue", ONSET, 1, False, Relatedness.UNLIKELY, "recovering")
    assert ae.related is False and ae.relatedness is Relatedness.UNLIKELY
    assert adverse_event("fatigue", ONSET, 1, False, True, "recovering").relatedness is None


@given(
    st.sampled_from(list(AeTerm)),
    st.integers(1, 5),
    st.sampled_from(list(AeOutcome)),
    st.dates(max_value=dt.date(9000, 1, 1)),
    st.one_of(st.none(), st.integers(-30, 400)),
)
def test_accepted_exactly_when_the_rules_hold(
    term: AeTerm, grade: int, outcome: AeOutcome, onset: dt.date, days: int | None
) -> None:
    resolved = None if days is None else onset + dt.timedelta(days=days)
    broken = (grade == 5) != (outcome is AeOutcome.FATAL) or (
        resolved is not None and (resolved < onset or outcome not in RESOLVED_OUTCOMES)
    )
    if broken:
        with pytest.raises(EventError):
            adverse_event(term, onset, grade, True, False, outcome, resolved, term_text="x")
        return
    ae = adverse_event(term, onset, grade, True, False, outcome, resolved, term_text="x")
    assert (ae.onset, ae.resolved, ae.grade, ae.outcome) == (onset, resolved, grade, outcome)
