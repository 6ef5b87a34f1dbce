"""How the generator's numpy arrays become table columns.

Internally every date is an ``int64`` day number since 1970-01-01 (``NO_DAY`` = missing) so that
schedules are plain integer arithmetic. Columns are then encoded once, cheaply:

- dates → ``datetime64[ns]`` at day precision (``NaT`` = empty cell);
- repeated strings (patient ids, kinds, terms, …) → ``pandas.Categorical`` built from codes,
  which costs one integer array instead of millions of Python strings (``NaN`` = empty cell).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

NO_DAY = np.iinfo(np.int64).min
"""Sentinel for a missing day number."""

_NS_PER_DAY = 86_400 * 1_000_000_000
_EPOCH = dt.date(1970, 1, 1)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return (day - _EPOCH).days


def dates(days: npt.ArrayLike) -> pd.Series:
    """Day numbers (``NO_DAY`` = missing) → ``datetime64[ns]`` series."""
    arr = np.asarray(days, dtype=np.int64)
    missing = arr == NO_DAY
    ns = arr * _NS_PER_DAY
    ns[missing] = np.iinfo(np.int64).min  # NaT
    return pd.Series(ns.view("M8[ns]"), copy=False)


def categorical(codes: npt.ArrayLike, categories: Sequence[str] | pd.Index) -> pd.Series:
    """Integer codes into ``categories`` (``-1`` = missing) → categorical series."""
    cats = categories if isinstance(categories, pd.Index) else pd.Index(list(categories))
    code_arr = np.asarray(codes)
    dtype = np.int8 if len(cats) < 127 else np.int32
    return pd.Series(pd.Categorical.from_codes(code_arr.astype(dtype, copy=False), categories=cats))


def constant(value: str, n: int) -> pd.Series:
    """A categorical column holding one value ``n`` times."""
    return categorical(np.zeros(n, dtype=np.int8), [value])


def year_of(days: IntArray) -> IntArray:
    """Calendar year of each day number."""
    return days.astype("M8[D]").astype("M8[Y]").astype(np.int64) + 1970


def group_offsets(counts: IntArray) -> IntArray:
    """Start row of each group when groups of ``counts`` rows are laid end to end."""
    starts = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def rank_within(counts: IntArray) -> IntArray:
    """0, 1, … within each group of ``counts`` rows (the np.repeat companion)."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(group_offsets(counts), counts)


def grouped_cumsum(values: IntArray, counts: IntArray) -> IntArray:
    """Cumulative sum restarting at each group of ``counts`` rows (integers stay exact)."""
    cs = np.cumsum(values, dtype=np.int64)
    offsets = group_offsets(counts)
    before = np.zeros(counts.size, dtype=np.int64)
    nonzero = offsets > 0
    before[nonzero] = cs[offsets[nonzero] - 1]
    return cs - np.repeat(before, counts)


__all__ = [
    "NO_DAY",
    "categorical",
    "constant",
    "dates",
    "day_number",
    "group_offsets",
    "grouped_cumsum",
    "rank_within",
    "year_of",
]
