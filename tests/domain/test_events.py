"""Milestones, the composite endpoint and time to event (domain-rules §6.3, convention 7)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.errors import EventError
from alsrwe.domain.events import (
    DEFAULT_COMPOSITE,
    ENCALS_COMPOSITE,
    CompositeDefinition,
    Endpoint,
    EventTime,
    Milestone,
    MilestoneKind,
    PermanentVentilationRule,
    check_milestones,
    composite_endpoint,
    milestone,
    permanent_ventilation_start,
    time_to_event,
    validate_milestones,
)

D = dt.date
K = MilestoneKind


def test_default_composite_is_death_tracheostomy_pv() -> None:
    # Convention 7: death, tracheostomy or permanent assisted ventilation.
    assert DEFAULT_COMPOSITE.kinds == {K.DEATH, K.TRACHEOSTOMY, K.PERMANENT_VENTILATION}
    history = [
        milestone("gastrostomy", D(2023, 1, 10)),
        milestone("niv", D(2023, 3, 1)),
        milestone("permanent_ventilation", D(2023, 9, 1)),
        milestone("death", D(2024, 2, 1)),
    ]
    assert composite_endpoint(history) == Endpoint(D(2023, 9, 1), K.PERMANENT_VENTILATION)
    assert composite_endpoint(history[:2]) is None


def test_encals_counts_niv_only_above_23_hours() -> None:
    # Westeneng et al. 2018 (ENCALS): NIV > 23 h/day, tracheostomy or death.
    short = [milestone("niv", D(2023, 3, 1), hours_per_day=12), milestone("death", D(2024, 1, 1))]
    assert composite_endpoint(short, ENCALS_COMPOSITE) == Endpoint(D(2024, 1, 1), K.DEATH)
    unknown_hours = [milestone("niv", D(2023, 3, 1))]
    assert composite_endpoint(unknown_hours, ENCALS_COMPOSITE) is None
    full = [milestone("niv", D(2023, 6, 1), hours_per_day=23.5)]
    assert composite_endpoint(full, ENCALS_COMPOSITE) == Endpoint(D(2023, 6, 1), K.NIV)
    exactly_23 = [milestone("niv", D(2023, 6, 1), hours_per_day=23)]
    assert composite_endpoint(exactly_23, ENCALS_COMPOSITE) is None


def test_custom_definition_niv_initiation() -> None:
    # e.g. Ackrivo 2019 counts NIV initiation; a site may configure that.
    definition = CompositeDefinition("niv_or_death", frozenset({K.NIV, K.DEATH}))
    history = [milestone("niv", D(2023, 3, 1)), milestone("death", D(2024, 1, 1))]
    assert composite_endpoint(history, definition) == Endpoint(D(2023, 3, 1), K.NIV)
    with pytest.raises(EventError) as info:
        CompositeDefinition("empty", frozenset())
    assert info.value.field == "kinds"


def test_tie_names_the_gravest() -> None:
    history = [milestone("tracheostomy", D(2024, 1, 1)), milestone("death", D(2024, 1, 1))]
    assert composite_endpoint(history) == Endpoint(D(2024, 1, 1), K.DEATH)


def test_each_kind_once() -> None:
    with pytest.raises(EventError) as info:
        validate_milestones([milestone("niv", D(2023, 1, 1)), milestone("niv", D(2023, 2, 1))])
    assert info.value.field == "kind"
    assert "'niv' appears twice" in info.value.rule


def test_nothing_after_death_or_before_onset() -> None:
    with pytest.raises(EventError) as info:
        validate_milestones([milestone("death", D(2023, 1, 1)), milestone("niv", D(2023, 2, 1))])
    assert info.value.field == "date" and "after death" in info.value.rule
    same_day = [milestone("death", D(2023, 1, 1)), milestone("tracheostomy", D(2023, 1, 1))]
    assert len(validate_milestones(same_day)) == 2
    check_milestones(same_day)
    with pytest.raises(EventError) as info:
        composite_endpoint([milestone("death", D(2020, 1, 1))], onset=D(2021, 1, 1))
    assert info.value.field == "date" and "before onset" in info.value.rule


def test_milestone_validation() -> None:
    with pytest.raises(EventError) as info:
        milestone("intubation", D(2023, 1, 1))
    assert info.value.field == "kind"
    with pytest.raises(EventError) as info:
        milestone("gastrostomy", D(2023, 1, 1), hours_per_day=10)
    assert info.value.field == "hours_per_day"
    with pytest.raises(EventError) as info:
        milestone("niv", D(2023, 1, 1), hours_per_day=25)
    assert info.value.field == "hours_per_day"
    with pytest.raises(EventError) as info:
        milestone("niv", "2023-01-01")  # type: ignore[arg-type]
    assert info.value.field == "date"


def test_time_to_event() -> None:
    history = [milestone("tracheostomy", D(2024, 5, 1))]
    assert time_to_event(history, D(2024, 12, 31)) == EventTime(True, D(2024, 5, 1))
    # An event after the data cut-off is not seen: censored at the cut-off.
    assert time_to_event(history, D(2024, 1, 1)) == EventTime(False, D(2024, 1, 1))
    assert time_to_event([], D(2024, 1, 1)).days_since(D(2023, 12, 1)) == 31
    with pytest.raises(EventError) as info:
        time_to_event([], D(2020, 1, 1), onset=D(2021, 1, 1))
    assert info.value.field == "censor_date"
    with pytest.raises(EventError):
        EventTime(False, D(2020, 1, 1)).days_since(D(2021, 1, 1))


def test_permanent_ventilation_from_daily_hours() -> None:
    # Default [U]: ≥ 22 h/day for ≥ 21 consecutive days; dated at the start of the run.
    start = D(2024, 1, 1)
    days = [(start + dt.timedelta(days=i), 22.0) for i in range(21)]
    assert permanent_ventilation_start(days) == start
    assert permanent_ventilation_start(days[:20]) is None
    broken = [(d, 21.5 if i == 10 else h) for i, (d, h) in enumerate(days)]
    assert permanent_ventilation_start(broken) is None
    gap = days[:10] + days[11:] + [(start + dt.timedelta(days=i), 24.0) for i in range(21, 32)]
    assert permanent_ventilation_start(gap) == start + dt.timedelta(days=11)
    lenient = PermanentVentilationRule(min_hours_per_day=20, min_consecutive_days=14)
    assert permanent_ventilation_start(broken, lenient) == start
    with pytest.raises(EventError) as info:
        permanent_ventilation_start(days + days[:1])
    assert info.value.field == "date"
    with pytest.raises(EventError) as info:
        PermanentVentilationRule(min_consecutive_days=0)
    assert info.value.field == "min_consecutive_days"


_milestone_sets = st.dictionaries(
    st.sampled_from(list(MilestoneKind)),
    st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 1, 1)),
).map(lambda kinds: [Milestone(kind, day) for kind, day in kinds.items()])


@given(_milestone_sets, st.sampled_from([DEFAULT_COMPOSITE, ENCALS_COMPOSITE]))
def test_endpoint_is_the_earliest_qualifying_milestone(
    history: list[Milestone], definition: CompositeDefinition
) -> None:
    death = next((m.date for m in history if m.kind is K.DEATH), None)
    if death is not None and any(m.date > death for m in history):
        with pytest.raises(EventError):
            composite_endpoint(history, definition)
        return
    endpoint = composite_endpoint(history, definition)
    qualifying = [m for m in history if definition.qualifies(m)]
    if not qualifying:
        assert endpoint is None
        return
    assert endpoint is not None
    assert endpoint.date == min(m.date for m in qualifying)
    assert endpoint.kind in definition.kinds
    assert Milestone(endpoint.kind, endpoint.date) in qualifying
    assert endpoint.kind not in {K.GASTROSTOMY}
