"""The tidy format's cell syntax and its contract as data."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain import cells
from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.errors import CellError
from alsrwe.domain.tidy_format import (
    CONFIRMED_WARNINGS,
    FILENAMES,
    TABLES,
    join_warnings,
    split_warnings,
)


@pytest.mark.parametrize("bad", ["BER\x00", "a\tb", "x\x1f", "\x7f"])
def test_control_characters_are_refused_in_any_cell(bad: str) -> None:
    with pytest.raises(CellError) as error:
        cells.text(bad)
    assert error.value.code == "text.control_character"


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity", "+inf"])
def test_non_finite_numbers_are_refused(bad: str) -> None:
    with pytest.raises(CellError, match="is not a finite number") as error:
        cells.number(bad)
    assert error.value.code == "value.not_finite"


@given(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))
def test_iso_dates_round_trip(day: dt.date) -> None:
    assert cells.iso_date(day.isoformat()) == day


def test_every_file_has_its_key_and_the_confirmation_column() -> None:
    assert tuple(f"{t.name}.csv" for t in TABLES) == FILENAMES
    for table in TABLES:
        assert set(table.key) <= set(table.required)
        assert table.columns[-1] == CONFIRMED_WARNINGS
    alsfrs = next(t for t in TABLES if t.name == "alsfrs")
    assert set(ITEM_COLUMNS) <= set(alsfrs.required)


@given(st.lists(st.sampled_from(["dose.too_soon", "value.outside_range", "x.y"])))
def test_warning_cells_round_trip(codes: list[str]) -> None:
    assert split_warnings(join_warnings(codes)) == tuple(sorted(set(codes)))
