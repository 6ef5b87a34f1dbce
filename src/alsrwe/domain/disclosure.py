"""Disclosure control for the research extract (docs/extract.md): pure rules, no I/O.

- **Identifiers** are keyed hashes: HMAC-SHA256 of the pseudonym under a site secret. A plain
  hash of a pseudonym could be reversed by hashing every plausible pseudonym (``BER-0001``,
  ``BER-0002`` …); without the key it cannot. The same key gives the same ids, so extracts
  taken months apart link; a different key gives unlinkable ids. 16 hex characters (64 bits)
  make a collision in a registry of 100 000 people about 3 in 10¹⁰ (birthday bound).
- **Dates** leave either as days since a per-patient origin, or shifted by a per-patient number
  of days drawn from a second, separately labelled HMAC (never 0, at most ``MAX_SHIFT_DAYS``),
  so every interval within a patient is kept and the calendar date is not.
- **Birth years** leave as 5-year bands: a birth year with a site and a variant narrows a
  person down much more than a band does.
- **Aggregate tables** suppress every count from 1 to ``min_cell - 1`` (primary), then hide more
  cells (secondary, complementary) until no hidden count can be recomputed exactly from the
  published cells and totals. Totals are themselves counts: a total under the threshold is
  hidden too. The default threshold is alsrwe's ``SUPPRESS_BELOW`` (5); DataSHIELD's
  ``nfilter.tab`` is 3 (docs/domain-rules.md §9.6).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from alsrwe.domain.errors import DomainError
from alsrwe.domain.privacy import SUPPRESS_BELOW

ID_PREFIX = "X-"
ID_HEX_LENGTH = 16
"""Hex characters of the HMAC kept in an extract id (64 bits), after ``ID_PREFIX``."""
MIN_KEY_BYTES = 16
"""Shortest accepted extract key (128 bits); alsrwe makes new keys of 32 random bytes."""
NEW_KEY_BYTES = 32
MAX_SHIFT_DAYS = 182
"""A date shift is uniform over ±1 … ±182 days (about half a year either way), never 0."""
BIRTH_BAND_YEARS = 5

_ID_LABEL = b"alsrwe-extract-id"
_SHIFT_LABEL = b"alsrwe-extract-date-shift"
_FINGERPRINT_LABEL = b"alsrwe-extract-key-fingerprint"


def _mac(key: bytes, label: bytes, pseudonym: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise DomainError("key", f"an extract key needs at least {MIN_KEY_BYTES} bytes",
                          "extract.key_too_short")
    return hmac.new(key, label + b"\x00" + pseudonym.encode("utf-8"), hashlib.sha256).digest()


def extract_id(key: bytes, pseudonym: str, length: int = ID_HEX_LENGTH) -> str:
    """The extract's id of a pseudonym: ``X-`` + the first ``length`` hex of its HMAC."""
    return ID_PREFIX + _mac(key, _ID_LABEL, pseudonym).hex()[:length]


def date_shift_days(key: bytes, pseudonym: str, max_days: int = MAX_SHIFT_DAYS) -> int:
    """A patient's date shift, uniform over −max … −1, 1 … max, from its own HMAC label.

    Labelled apart from the id, so the published id says nothing about the shift; the 64-bit
    draw taken modulo 2·max biases no value by more than 2·max / 2⁶⁴. Never 0, so no shifted
    date is the true one.
    """
    draw = int.from_bytes(_mac(key, _SHIFT_LABEL, pseudonym)[:8], "big") % (2 * max_days)
    return draw - max_days if draw < max_days else draw - max_days + 1


def key_fingerprint(key: bytes) -> str:
    """16 hex characters that name a key in manifests and audit entries (never the key):
    two extracts with the same fingerprint used the same key, so their ids link."""
    return hashlib.sha256(_FINGERPRINT_LABEL + b"\x00" + key).hexdigest()[:16]


def shift_date(day: date, shift: int) -> date:
    return day + timedelta(days=shift)


def days_since(day: date, origin: date) -> int:
    """Days from ``origin`` to ``day`` (negative before it)."""
    return (day - origin).days


def birth_band(year: int, width: int = BIRTH_BAND_YEARS) -> str:
    """The band a birth year falls in, aligned on multiples of ``width``: 1962 → ``1960–1964``."""
    start = year - year % width
    return f"{start}–{start + width - 1}"


# --- Aggregate tables: primary and secondary suppression ----------------------------------

Entry = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ProtectedTable:
    """A 2-D count table ready to publish: ``None`` marks a hidden count (cell or total)."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    total: int | None
    min_cell: int
    primary: int
    """Counts hidden because 0 < n < min_cell (cells and totals)."""
    secondary: int
    """Counts hidden only so that the primary ones cannot be recomputed."""


def _extend(counts: Sequence[Sequence[int]], width: int) -> list[list[int]]:
    """The table with its totals as an extra column and row (the grand total in the corner)."""
    grid = [[*row, sum(row)] for row in counts]
    grid.append([sum(col) for col in zip(*grid, strict=True)] if grid else [0] * (width + 1))
    return grid


def _n_cols(grid: list[list[int]]) -> int:
    return len(grid[0]) - 1


def _is_margin(grid: list[list[int]], entry: Entry) -> bool:
    return entry[0] == len(grid) - 1 or entry[1] == _n_cols(grid)


def _steps(grid: list[list[int]], entry: Entry) -> tuple[bool, bool]:
    """Whether the entry's signed value may rise (a row→column step) and fall (column→row).

    In every line the cells count ``+`` and the line's total ``−`` (the grand total ``+``),
    so each line sums to zero. A count may always grow; it may shrink only while positive.
    """
    i, j = entry
    plus = not _is_margin(grid, entry) or (i == len(grid) - 1 and j == _n_cols(grid))
    positive = grid[i][j] > 0
    return plus or positive, (not plus) or positive


def _arcs(grid: list[list[int]], hidden: set[Entry], skip: Entry | None) -> dict[int, list[int]]:
    """The steps hidden entries allow: rows are nodes ``0 … R``, columns ``R+1 …``."""
    offset = len(grid)
    adjacency: dict[int, list[int]] = {}
    for entry in hidden:
        if entry == skip:
            continue
        up, down = _steps(grid, entry)
        if up:
            adjacency.setdefault(entry[0], []).append(offset + entry[1])
        if down:
            adjacency.setdefault(offset + entry[1], []).append(entry[0])
    return adjacency


def _reach(adjacency: dict[int, list[int]], start: int, reverse: bool = False) -> set[int]:
    if reverse:
        flipped: dict[int, list[int]] = {}
        for node, targets in adjacency.items():
            for target in targets:
                flipped.setdefault(target, []).append(node)
        adjacency = flipped
    seen, queue = {start}, deque([start])
    while queue:
        for target in adjacency.get(queue.popleft(), []):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _movable(grid: list[list[int]], hidden: set[Entry], entry: Entry) -> bool:
    """Whether ``entry`` can take another value consistent with everything published.

    True exactly when a cycle of hidden entries through it can move (an alternating cycle
    of the table's bipartite graph, each step allowed by non-negativity): every feasible
    change is a sum of such cycles, so this is the answer a linear programme minimising and
    maximising the entry gives (max > min).
    """
    row, col = entry[0], len(grid) + entry[1]
    adjacency = _arcs(grid, hidden, entry)
    up, down = _steps(grid, entry)
    return (up and row in _reach(adjacency, col)) or (down and col in _reach(adjacency, row))


def _line(grid: list[list[int]], axis: int, k: int) -> list[Entry]:
    if axis == 0:
        return [(k, j) for j in range(len(grid[0]))]
    return [(i, k) for i in range(len(grid))]


def _rank(grid: list[list[int]], hidden: set[Entry], entry: Entry, axis: int) -> tuple[int, ...]:
    """Which entry to hide next: cells before totals, the smallest non-zero count first; among
    zeros, one whose crossing line has a positive total and already a hidden entry."""
    i, j = entry
    n_rows = len(grid) - 1
    value = grid[i][j]
    cross = _line(grid, 1 - axis, j if axis == 0 else i)
    cross_total = grid[n_rows][j] if axis == 0 else grid[i][_n_cols(grid)]
    return (int(_is_margin(grid, entry)), int(value == 0), value,
            int(cross_total == 0), int(not any(e in hidden for e in cross)), i, j)


def _complete_lines(grid: list[list[int]], hidden: set[Entry]) -> None:
    """Until stable: a line with exactly one hidden entry gets a second one hidden."""
    changed = True
    while changed:
        changed = False
        for axis, size in ((0, len(grid)), (1, len(grid[0]))):
            for k in range(size):
                line = _line(grid, axis, k)
                if sum(e in hidden for e in line) != 1:
                    continue
                visible = [e for e in line if e not in hidden]
                if visible:
                    hidden.add(min(visible, key=lambda e: _rank(grid, hidden, e, axis)))
                    changed = True


def _unlock(grid: list[list[int]], hidden: set[Entry], entry: Entry) -> Entry:
    """An entry to hide so that ``entry`` can move: one that closes a cycle through it if
    any does, else the best-ranked visible entry of its row or column, else of the table."""
    i, j = entry
    offset = len(grid)
    adjacency = _arcs(grid, hidden, entry)
    from_col, to_row = _reach(adjacency, offset + j), _reach(adjacency, i, reverse=True)
    closing = [(i, c) for c in range(len(grid[0])) if offset + c in from_col]
    closing += [(r, j) for r in range(len(grid)) if r in to_row]
    closing = [e for e in closing if e not in hidden and e != entry and grid[e[0]][e[1]] > 0]
    near = [e for e in _line(grid, 0, i) + _line(grid, 1, j) if e not in hidden]
    pool = closing or near or [(r, c) for r in range(len(grid)) for c in range(len(grid[0]))
                               if (r, c) not in hidden]
    return min(pool, key=lambda e: _rank(grid, hidden, e, 0))


def exposed_entries(grid: list[list[int]], hidden: set[Entry]) -> list[Entry]:
    """Hidden entries of an extended table (totals in the last row and column) that the
    published entries pin to one value."""
    return sorted(e for e in hidden if not _movable(grid, hidden, e))


def protect_table(rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[int]],
                  min_cell: int = SUPPRESS_BELOW) -> ProtectedTable:
    """Suppress a count table's small cells and protect them with complementary cells.

    Primary: every count 0 < n < ``min_cell``, cells and totals alike, is hidden before
    anything else is computed (there is no rounding, so no rounded value can show a small
    count). Secondary: while some line holds exactly one hidden entry, the smallest unhidden
    non-zero cell of that line is hidden too (a zero cell, or the line's total, only when no
    such cell is left); then any hidden entry the published values still pin down (checked
    exactly, by the cycles it could move along) gets one more, until none is left.
    """
    if min_cell < 1:
        raise DomainError("min_cell", "the small-cell threshold must be at least 1",
                          "extract.min_cell")
    if len(counts) != len(rows) or any(len(r) != len(columns) for r in counts):
        raise DomainError("counts", "the table's shape does not match its labels")
    if any(n < 0 for r in counts for n in r):
        raise DomainError("counts", "counts cannot be negative")
    grid = _extend(counts, len(columns))
    hidden = {(i, j) for i, line in enumerate(grid) for j, n in enumerate(line)
              if 0 < n < min_cell}
    primary = len(hidden)
    while True:
        _complete_lines(grid, hidden)
        exposed = exposed_entries(grid, hidden)
        if not exposed:
            break
        hidden.add(_unlock(grid, hidden, exposed[0]))

    def shown(i: int, j: int) -> int | None:
        return None if (i, j) in hidden else grid[i][j]

    n_rows, n_col = len(rows), len(columns)
    return ProtectedTable(
        rows=tuple(rows), columns=tuple(columns),
        cells=tuple(tuple(shown(i, j) for j in range(n_col)) for i in range(n_rows)),
        row_totals=tuple(shown(i, n_col) for i in range(n_rows)),
        column_totals=tuple(shown(n_rows, j) for j in range(n_col)),
        total=shown(n_rows, n_col), min_cell=min_cell,
        primary=primary, secondary=len(hidden) - primary,
    )


__all__ = [
    "BIRTH_BAND_YEARS",
    "ID_HEX_LENGTH",
    "ID_PREFIX",
    "MAX_SHIFT_DAYS",
    "MIN_KEY_BYTES",
    "NEW_KEY_BYTES",
    "ProtectedTable",
    "birth_band",
    "date_shift_days",
    "days_since",
    "exposed_entries",
    "extract_id",
    "key_fingerprint",
    "protect_table",
    "shift_date",
]
