"""The sufficient statistics of the exact mixed model, aggregated inside the engine.

:func:`alsrwe.analytics.lmm.sufficient.sufficient_stats` needs the rows in pandas. Here the same
statistics come from **one** Ibis group-by over the rows, wherever they live (DuckDB,
PostgreSQL, Spark): per group the count, the sums of every used column and the sums of every
product of two of them (Σ s·w, Σ s², Σ wⱼwₖ), and each column's non-NULL count (NaN and ±inf
show as non-finite sums; only then is the table scanned again to count them). Only G rows
of a few dozen numbers come back; the per-group ``ZᵢᵀZᵢ``, ``ZᵢᵀXᵢ``, ``Zᵢᵀyᵢ`` are read off
them, and the totals ``XᵀX``, ``Xᵀy``, ``yᵀy`` are their sums over
groups (Bates et al. 2015, J Stat Softw 67(1), section 3.5: nothing else enters the
profiled likelihood). The result is the same :class:`SufficientStats` as the pandas path
(groups in sorted order), so :func:`~alsrwe.analytics.lmm.fit.fit_lmm_stats` gives the same fit.

:func:`lmm_stats` refuses rows with a missing value in a used column (``LmmError`` naming the
column and the count), as the pandas path does. :func:`complete_case_stats` drops them instead
and counts them (lme4's ``na.omit``), in the same single group-by: every sum is taken over the
complete rows only (``sum(where=…)``) beside each group's count of all its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations_with_replacement

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from alsrwe.analytics.lmm.estimate import fit_lmm_stats
from alsrwe.analytics.lmm.result import LmmResult
from alsrwe.analytics.lmm.sufficient import (
    FloatArray,
    LmmError,
    SufficientStats,
    check_stats,
    check_terms,
)

_GROUP = "g__"


def _numeric(table: ibis.Table, name: str) -> ir.FloatingColumn:
    """The column as float64 (booleans through int32: PostgreSQL casts bool to int4 only)."""
    column = table[name]
    dtype = column.type()
    if dtype.is_boolean():
        column = column.cast("int32")
    elif not dtype.is_numeric():
        raise LmmError(name, f"must be numeric, got type {dtype}")
    return column.cast("float64")


def _bad(column: ir.FloatingColumn) -> ir.IntegerScalar:
    """How many values are NULL, NaN or ±inf (what the pandas path calls missing/non-finite)."""
    bad = column.isnull() | column.isnan() | column.isinf()
    return bad.fill_null(True).cast("int32").sum()


def _rows(table: ibis.Table, columns: Sequence[str], group: str) -> ibis.Table:
    values = {name: _numeric(table, name) for name in columns}
    return table.select(
        **{_GROUP: table[group]}, **{f"c{k}": values[c] for k, c in enumerate(columns)}
    )


def _complete(rows: ibis.Table, n_columns: int) -> ir.BooleanColumn:
    """True for a row with a group label and no NULL or NaN in any used column."""
    keep = rows[_GROUP].notnull()
    for k in range(n_columns):
        column = rows[f"c{k}"]
        keep &= column.notnull() & ~column.isnan()
    return keep


def _aggregate(table: ibis.Table, columns: Sequence[str], group: str,
               complete: bool = False) -> pd.DataFrame:
    """One group-by: n, the non-NULL count, Σc and Σc·d (every pair) of each column.

    NULLs show as a short count and NaN/±inf as a non-finite sum, so the scan stays as cheap
    as the sums themselves; only then does :func:`_count_bad` look closer. With ``complete``
    every sum runs over the complete rows only and ``n_all`` counts all rows of the group.
    """
    rows = _rows(table, columns, group)
    where = _complete(rows, len(columns)) if complete else None
    metrics: dict[str, ir.Scalar] = {"n": rows.count(where=where)}
    if complete:
        metrics["n_all"] = rows.count()
    for k in range(len(columns)):
        metrics[f"nn{k}"] = rows[f"c{k}"].count(where=where)
        metrics[f"s{k}"] = rows[f"c{k}"].sum(where=where)
    for j, k in combinations_with_replacement(range(len(columns)), 2):
        metrics[f"p{j}_{k}"] = (rows[f"c{j}"] * rows[f"c{k}"]).sum(where=where)
    frame: pd.DataFrame = rows.group_by(_GROUP).aggregate(**metrics).execute()
    return frame


def _count_bad(table: ibis.Table, columns: Sequence[str], group: str,
               complete: bool = False) -> list[int]:
    """How many NULL, NaN or ±inf values each column holds (a second scan, errors only);
    with ``complete``, how many ±inf among the complete rows."""
    rows = _rows(table, columns, group)
    if complete:
        rows = rows.filter(_complete(rows, len(columns)))
    counts = rows.aggregate(**{f"bad{k}": _bad(rows[f"c{k}"]) for k in range(len(columns))})
    found = counts.execute().iloc[0]
    return [int(found[f"bad{k}"] or 0) for k in range(len(columns))]


def _refuse_bad(table: ibis.Table, columns: Sequence[str], group: str, complete: bool) -> None:
    for name, bad in zip(columns, _count_bad(table, columns, group, complete), strict=True):
        if bad:
            raise LmmError(
                name, f"{bad} missing or non-finite value(s); drop or impute those rows first"
            )


def _refuse_missing(frame: pd.DataFrame, table: ibis.Table, columns: Sequence[str],
                    group: str) -> pd.DataFrame:
    """Raise like the pandas path for missing values; return the groups sorted by label."""
    labels = frame[_GROUP]
    missing_groups = int(frame.loc[labels.isna(), "n"].sum())
    if missing_groups:
        raise LmmError(group, f"{missing_groups} missing value(s); drop or assign those rows first")
    sums = frame[[f"s{k}" for k in range(len(columns))]].to_numpy(dtype=np.float64)
    short = any(bool((frame[f"nn{k}"] < frame["n"]).any()) for k in range(len(columns)))
    if short or not np.isfinite(sums).all():
        _refuse_bad(table, columns, group, complete=False)
    return frame.sort_values(_GROUP, kind="stable", ignore_index=True)


def _drop_missing(frame: pd.DataFrame, table: ibis.Table, columns: Sequence[str],
                  group: str) -> tuple[pd.DataFrame, int]:
    """The groups with a complete row, sorted by label, and the count of incomplete rows;
    ±inf among the complete rows is refused as in :func:`lmm_stats`."""
    n = frame["n"].to_numpy(dtype=np.float64)
    dropped = int(round(float(frame["n_all"].to_numpy(dtype=np.float64).sum() - n.sum())))
    frame = frame[n > 0]
    sums = frame[[f"s{k}" for k in range(len(columns))]].to_numpy(dtype=np.float64)
    if not np.isfinite(sums).all():
        _refuse_bad(table, columns, group, complete=True)
    return frame.sort_values(_GROUP, kind="stable", ignore_index=True), dropped


class _GroupSums:
    """Per-group Σ a·b read off the aggregate frame; ``None`` stands for the column of ones."""

    def __init__(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        self.frame = frame
        self.index = {name: k for k, name in enumerate(columns)}

    def of(self, a: str | None, b: str | None) -> FloatArray:
        if a is None and b is None:
            key = "n"
        elif a is None or b is None:
            key = f"s{self.index[b or a or '']}"
        else:
            j, k = sorted((self.index[a], self.index[b]))
            key = f"p{j}_{k}"
        return self.frame[key].to_numpy(dtype=np.float64)


def lmm_stats(
    table: ibis.Table, y: str, fixed: Sequence[str], group: str, slope: str
) -> SufficientStats:
    """Per-group sufficient statistics of ``y ~ 1 + fixed + (1 + slope | group)``, in the engine.

    Equal (to rounding) to ``sufficient_stats(table.execute(), …)``, with the same checks and
    the same ``LmmError`` for missing columns, non-numeric or missing values, fewer than 3
    groups, too few rows, collinear fixed effects and a slope with no within-group variation.
    """
    terms = check_terms(list(table.columns), y, fixed, group, slope)
    columns = list(dict.fromkeys([*terms[1:], y, slope]))
    frame = _refuse_missing(_aggregate(table, columns, group), table, columns, group)
    return _stats(frame, terms, columns, y, group, slope)


def complete_case_stats(
    table: ibis.Table, y: str, fixed: Sequence[str], group: str, slope: str
) -> tuple[SufficientStats, int]:
    """:func:`lmm_stats` of the rows with no NULL or NaN in a used column (the group
    included), and how many rows were dropped for one; still one group-by in the engine."""
    terms = check_terms(list(table.columns), y, fixed, group, slope)
    columns = list(dict.fromkeys([*terms[1:], y, slope]))
    frame, dropped = _drop_missing(_aggregate(table, columns, group, complete=True), table,
                                   columns, group)
    return _stats(frame, terms, columns, y, group, slope), dropped


def _stats(frame: pd.DataFrame, terms: tuple[str, ...], columns: Sequence[str], y: str,
           group: str, slope: str) -> SufficientStats:
    """The per-group ZᵢᵀZᵢ, ZᵢᵀXᵢ, Zᵢᵀyᵢ and the totals, read off the aggregate; checked."""
    fixed = list(terms[1:])
    sums = _GroupSums(frame, columns)
    w_names: list[str | None] = [None, *fixed, y]  # None: the intercept column of ones
    ztw = np.stack(
        [
            np.column_stack([sums.of(None, a) for a in w_names]),
            np.column_stack([sums.of(slope, a) for a in w_names]),
        ],
        axis=1,
    )  # (G, 2, p+1): Zᵢᵀ[Xᵢ, yᵢ]
    ztz = np.empty((len(frame), 2, 2))
    ztz[:, 0, 0] = sums.of(None, None)
    ztz[:, 0, 1] = ztz[:, 1, 0] = sums.of(None, slope)
    ztz[:, 1, 1] = sums.of(slope, slope)
    wtw = np.array([[float(np.sum(sums.of(a, b))) for b in w_names] for a in w_names])

    stats = SufficientStats(
        terms=terms,
        groups=pd.Index(frame[_GROUP].to_numpy(), name=group),
        ztz=ztz,
        ztx=np.ascontiguousarray(ztw[:, :, :-1]),
        zty=np.ascontiguousarray(ztw[:, :, -1]),
        xtx=np.ascontiguousarray(wtw[:-1, :-1]),
        xty=np.ascontiguousarray(wtw[:-1, -1]),
        yty=float(wtw[-1, -1]),
    )
    check_stats(stats, y, group, slope)
    return stats


def fit_lmm_table(
    table: ibis.Table,
    y: str,
    fixed: Sequence[str],
    group: str,
    slope: str,
    reml: bool = True,
) -> LmmResult:
    """Fit ``y ~ 1 + fixed + (1 + slope | group)`` (REML by default) to an Ibis table.

    Only the per-group aggregates of :func:`lmm_stats` leave the engine.
    """
    return fit_lmm_stats(lmm_stats(table, y, fixed, group, slope), reml=reml)


__all__ = ["complete_case_stats", "fit_lmm_table", "lmm_stats"]
