"""The research extract's disclosure rules: keyed ids, date shifts, birth bands, suppression.

Suppression is checked against an independent oracle: a linear programme (scipy's HiGHS)
that minimises and maximises every hidden count subject to the published cells, the totals
and non-negativity. A hidden count is protected when its maximum exceeds its minimum. The
constraints are those of a transportation problem (totally unimodular), so both are whole
numbers and a width is either 0 or at least 1.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from alsrwe.domain.disclosure import (
    ID_PREFIX,
    MAX_SHIFT_DAYS,
    ProtectedTable,
    birth_band,
    date_shift_days,
    days_since,
    exposed_entries,
    extract_id,
    key_fingerprint,
    protect_table,
    shift_date,
)
from alsrwe.domain.errors import DomainError
from alsrwe.domain.privacy import SUPPRESS_BELOW

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

Grid = list[list[int | None]]


def extended(table: ProtectedTable) -> Grid:
    """The published table with its totals as the last column and row (None = hidden)."""
    grid: Grid = [[*row, total] for row, total in zip(table.cells, table.row_totals,
                                                       strict=True)]
    grid.append([*table.column_totals, table.total])
    return grid


def feasible_ranges(grid: Grid) -> dict[tuple[int, int], tuple[float, float]]:
    """(min, max) of every hidden entry of an extended table, by linear programming.

    Unknowns are the hidden entries (cells and totals), all ≥ 0; every row and column of
    cells sums to its total, and the totals row and column sum to the grand total.
    """
    unknowns = [(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if v is None]
    if not unknowns:
        return {}
    index = {entry: k for k, entry in enumerate(unknowns)}
    n_rows, n_cols = len(grid) - 1, len(grid[0]) - 1
    lines = [[(i, j) for j in range(n_cols + 1)] for i in range(n_rows + 1)]
    lines += [[(i, j) for i in range(n_rows + 1)] for j in range(n_cols + 1)]
    a_eq, b_eq = [], []
    for line in lines:
        *members, total = line
        coefficients = [0.0] * len(unknowns)
        constant = 0.0
        for entry, sign in [*((m, 1.0) for m in members), (total, -1.0)]:
            value = grid[entry[0]][entry[1]]
            if value is None:
                coefficients[index[entry]] += sign
            else:
                constant -= sign * value
        if any(coefficients):
            a_eq.append(coefficients)
            b_eq.append(constant)
    ranges = {}
    for entry, k in index.items():
        objective = [0.0] * len(unknowns)
        bounds = []
        for sense in (1.0, -1.0):
            objective[k] = sense
            result = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None,
                             bounds=(0, None), method="highs")
            assert result.status in (0, 3), result.message  # optimal or unbounded
            bounds.append(float("inf") if result.status == 3 else sense * result.fun)
        ranges[entry] = (bounds[0], bounds[1])
    return ranges


def assert_protected(table: ProtectedTable, counts: list[list[int]]) -> None:
    """Every small count hidden, no line with exactly one hidden entry, none recomputable."""
    truth = [[*row, sum(row)] for row in counts]
    truth.append([sum(col) for col in zip(*truth, strict=True)] if truth
                 else [0] * (len(table.columns) + 1))
    grid = extended(table)
    for published, true in zip(grid, truth, strict=True):
        for shown, value in zip(published, true, strict=True):
            assert shown is None if 0 < value < table.min_cell else shown in (None, value)
    for line in [*grid, *zip(*grid, strict=True)]:
        assert sum(v is None for v in line) != 1
    for entry, (low, high) in feasible_ranges(grid).items():
        assert high - low > 0.5, entry  # integral polytope: a width is 0 or ≥ 1


# --- identifiers, dates, bands -----------------------------------------------------------


def test_ids_are_keyed_stable_and_short() -> None:
    first = extract_id(KEY, "BER-0001")
    assert first == extract_id(KEY, "BER-0001")
    assert first.startswith(ID_PREFIX) and len(first) == len(ID_PREFIX) + 16
    assert int(first[len(ID_PREFIX):], 16) >= 0
    assert first != extract_id(KEY, "BER-0002")
    assert first != extract_id(OTHER_KEY, "BER-0001")
    assert "BER" not in first and "0001" not in first


def test_a_short_key_is_refused() -> None:
    with pytest.raises(DomainError, match="at least 16 bytes"):
        extract_id(b"short", "BER-0001")


def test_fingerprint_names_the_key_without_being_it() -> None:
    assert key_fingerprint(KEY) == key_fingerprint(KEY) != key_fingerprint(OTHER_KEY)
    assert len(key_fingerprint(KEY)) == 16 and KEY.hex()[:16] != key_fingerprint(KEY)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_distinct_pseudonyms_get_distinct_ids(one: str, two: str) -> None:
    assert (extract_id(KEY, one) == extract_id(KEY, two)) == (one == two)


@given(st.text(min_size=1, max_size=40))
def test_shift_is_never_zero_and_within_half_a_year(pseudonym: str) -> None:
    shift = date_shift_days(KEY, pseudonym)
    assert shift == date_shift_days(KEY, pseudonym)
    assert 1 <= abs(shift) <= MAX_SHIFT_DAYS


def test_shifts_spread_over_both_signs() -> None:
    shifts = [date_shift_days(KEY, f"BER-{n:04d}") for n in range(2000)]
    assert min(shifts) < -170 and max(shifts) > 170
    assert 0.4 < sum(s > 0 for s in shifts) / len(shifts) < 0.6


@given(st.text(min_size=1, max_size=20), st.lists(st.dates(date(1950, 1, 1), date(2030, 1, 1)),
                                                 min_size=2, max_size=6))
def test_a_shift_keeps_every_interval_of_a_patient(pseudonym: str, days: list[date]) -> None:
    shift = date_shift_days(KEY, pseudonym)
    moved = [shift_date(d, shift) for d in days]
    for a, b, ma, mb in zip(days, days[1:], moved, moved[1:], strict=False):
        assert days_since(mb, ma) == days_since(b, a)
    assert all(m != d for m, d in zip(moved, days, strict=True))


def test_days_since_onset() -> None:
    onset = date(2022, 3, 1)
    assert days_since(onset, onset) == 0
    assert days_since(date(2022, 3, 31), onset) == 30
    assert days_since(onset - timedelta(days=10), onset) == -10


@pytest.mark.parametrize(("year", "band"), [
    (1960, "1960–1964"), (1962, "1960–1964"), (1964, "1960–1964"), (1965, "1965–1969"),
    (2001, "2000–2004"),
])
def test_birth_bands_of_five_years(year: int, band: str) -> None:
    assert birth_band(year) == band


# --- suppression: worked examples ---------------------------------------------------------


def test_a_small_cell_gets_complementary_cells_in_its_row_and_column() -> None:
    counts = [[3, 10, 12], [8, 9, 20], [0, 0, 7]]
    table = protect_table(["BER", "STL", "PAD"], ["a", "b", "c"], counts)
    # 3 is primary; 10 (smallest in its row), 8 (in its column), then 9 closes the square.
    assert table.cells == ((None, None, 12), (None, None, 20), (0, 0, 7))
    assert table.row_totals == (25, 37, 7) and table.column_totals == (11, 19, 39)
    assert table.total == 69 and (table.primary, table.secondary) == (1, 3)
    assert_protected(table, counts)


def test_nothing_to_hide() -> None:
    table = protect_table(["BER", "STL"], ["patient", "carrier"], [[120, 15], [0, 40]])
    assert table.cells == ((120, 15), (0, 40)) and table.total == 175
    assert (table.primary, table.secondary) == (0, 0)


def test_a_small_total_is_hidden_too() -> None:
    counts = [[2, 1], [30, 40]]
    table = protect_table(["myelitis", "pain"], ["BER", "STL"], counts)
    assert table.row_totals[0] is None
    assert_protected(table, counts)


def test_one_row_tables_hide_the_column_totals_with_their_cells() -> None:
    counts = [[3, 10, 40]]
    table = protect_table(["BER"], ["given", "missed", "deferred"], counts)
    assert table.cells == ((None, None, 40),) and table.column_totals == (None, None, 40)
    assert table.row_totals == (53,)
    assert_protected(table, counts)


def test_a_lone_small_count_hides_every_total_it_is_in() -> None:
    counts = [[3, 0], [0, 0]]
    table = protect_table(["a", "b"], ["x", "y"], counts)
    assert table.cells == ((None, 0), (0, 0)) and table.total is None
    assert_protected(table, counts)


def test_a_zero_cell_is_hidden_when_a_row_has_no_other_count() -> None:
    counts = [[3, 0, 0], [10, 20, 30], [15, 25, 35]]
    table = protect_table(["a", "b", "c"], ["x", "y", "z"], counts)
    assert table.row_totals[0] is None or any(c is None for c in table.cells[0][1:])
    assert_protected(table, counts)


def test_a_bridge_between_two_protected_blocks_is_protected_too() -> None:
    # Two hidden 2×2 blocks joined by one hidden cell: the pattern rule alone would leave
    # the joining cell recomputable (block sums differ by exactly it).
    grid: list[list[int]] = [[3, 6, 0, 0, 9], [6, 3, 2, 0, 11], [0, 0, 3, 6, 9],
                             [0, 0, 6, 3, 9], [9, 9, 11, 9, 38]]
    hidden = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)}
    assert exposed_entries(grid, hidden) == [(1, 2)]
    counts = [row[:4] for row in grid[:4]]
    assert_protected(protect_table(list("abcd"), list("wxyz"), counts), counts)


def test_threshold_default_and_bounds() -> None:
    assert protect_table(["a"], ["x"], [[4]]).min_cell == SUPPRESS_BELOW
    assert protect_table(["a"], ["x"], [[4]]).cells == ((None,),)
    assert protect_table(["a"], ["x"], [[4]], min_cell=3).cells == ((4,),)
    with pytest.raises(DomainError):
        protect_table(["a"], ["x"], [[4]], min_cell=0)
    with pytest.raises(DomainError):
        protect_table(["a"], ["x"], [[-1]])
    with pytest.raises(DomainError):
        protect_table(["a", "b"], ["x"], [[1]])


def test_empty_tables() -> None:
    assert protect_table([], ["x", "y"], []).total == 0
    assert protect_table(["a"], [], [[]]).row_totals == (0,)


# --- suppression: properties --------------------------------------------------------------

shapes = st.tuples(st.integers(1, 5), st.integers(1, 5))


@st.composite
def count_tables(draw: st.DrawFn) -> tuple[list[list[int]], int]:
    n_rows, n_cols = draw(shapes)
    cell = st.one_of(st.just(0), st.integers(1, 6), st.integers(5, 60))
    counts = [[draw(cell) for _ in range(n_cols)] for _ in range(n_rows)]
    return counts, draw(st.integers(1, 8))


@settings(max_examples=150, deadline=None)
@given(count_tables())
def test_every_suppressed_count_stays_unknown(table_and_threshold: tuple[list[list[int]],
                                                                          int]) -> None:
    counts, min_cell = table_and_threshold
    table = protect_table([f"r{i}" for i in range(len(counts))],
                          [f"c{j}" for j in range(len(counts[0]))], counts, min_cell)
    assert_protected(table, counts)


@settings(max_examples=150, deadline=None)
@given(count_tables(), st.data())
def test_the_exposure_check_agrees_with_linear_programming(
    table_and_threshold: tuple[list[list[int]], int], data: st.DataObject,
) -> None:
    counts, _ = table_and_threshold
    truth = [[*row, sum(row)] for row in counts]
    truth.append([sum(col) for col in zip(*truth, strict=True)])
    entries = [(i, j) for i in range(len(truth)) for j in range(len(truth[0]))]
    hidden = set(data.draw(st.lists(st.sampled_from(entries), unique=True)))
    published: Grid = [[None if (i, j) in hidden else v for j, v in enumerate(row)]
                       for i, row in enumerate(truth)]
    pinned = sorted(e for e, (low, high) in feasible_ranges(published).items()
                    if high - low < 0.5)
    assert exposed_entries(truth, hidden) == pinned
