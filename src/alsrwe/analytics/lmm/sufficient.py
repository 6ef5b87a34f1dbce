"""Per-group sufficient statistics of a linear mixed model with a random intercept and slope.

For ``y = Xβ + Zb + ε`` with ``Zᵢ = [1, sᵢ]`` (intercept and one slope column per group) the
profiled likelihood depends on the data only through, per group *i*, ``ZᵢᵀZᵢ`` (2×2),
``ZᵢᵀXᵢ`` (2×p) and ``Zᵢᵀyᵢ`` (2), and through the totals ``XᵀX``, ``Xᵀy`` and ``yᵀy``
(Bates et al. 2015, "Fitting Linear Mixed-Effects Models Using lme4", J Stat Softw 67(1),
section 3.5). ``XᵢᵀXᵢ``, ``Xᵢᵀyᵢ`` and ``yᵢᵀyᵢ`` enter only summed over groups, so only
their sums are kept: storing them per group would cost G·p² memory for nothing.

One pass over the rows computes everything with ``np.bincount`` (no Python loop over
groups); the model fit then never touches the rows again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from alsrwe.domain.errors import DomainError

FloatArray = NDArray[np.float64]

INTERCEPT = "Intercept"

# A column is collinear when the part of it that the earlier columns do not explain has a
# norm below 1e-5 of its own. lme4 uses 1e-7 on a QR of X; the Gram matrix XᵀX squares
# the condition number, so the tolerance here is looser.
_COLLINEAR_REL_NORM = 1e-5
# Within-group sum of squares of the slope column below this fraction of Σ s² counts as none.
_NO_VARIATION_REL = 1e-12


class LmmError(DomainError):
    """Data or a request a mixed model cannot be fitted to (``field`` = the column or setting)."""


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """Everything the profiled likelihood needs, per group and in total.

    ``terms`` names the fixed-effect columns of X (``"Intercept"`` first); ``groups`` holds
    the group labels in sorted order, aligned with the first axis of the per-group arrays.
    The slope column is the second column of every ``Zᵢ``.
    """

    terms: tuple[str, ...]
    groups: pd.Index
    ztz: FloatArray  # (G, 2, 2)  Zᵢᵀ Zᵢ
    ztx: FloatArray  # (G, 2, p)  Zᵢᵀ Xᵢ
    zty: FloatArray  # (G, 2)     Zᵢᵀ yᵢ
    xtx: FloatArray  # (p, p)     Σᵢ Xᵢᵀ Xᵢ
    xty: FloatArray  # (p,)       Σᵢ Xᵢᵀ yᵢ
    yty: float  # Σᵢ yᵢᵀ yᵢ

    @property
    def n_obs(self) -> int:
        """Number of observations (rows)."""
        return int(round(float(self.ztz[:, 0, 0].sum())))

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return int(self.ztz.shape[0])

    @property
    def n_fixed(self) -> int:
        """Number of fixed-effect columns, the intercept included."""
        return len(self.terms)


def sufficient_stats(
    data: pd.DataFrame, y: str, fixed: Sequence[str], group: str, slope: str
) -> SufficientStats:
    """Validate the columns and compute the per-group sufficient statistics in one pass.

    Raises ``LmmError`` naming the column for: a missing or non-numeric column, missing or
    non-finite values (refused, with their count — silently dropping rows would bias a
    registry analysis), fewer than 3 groups, no more rows than fixed effects, a collinear
    fixed design, and a slope column that never varies within a group.
    """
    terms = _check_names(data, y, fixed, group, slope)
    columns = [y, *fixed, slope] if slope not in fixed else [y, *fixed]
    _check_values(data, columns, group)

    codes, uniques = pd.factorize(data[group], sort=True)
    n_groups, n_rows = len(uniques), len(data)
    _check_sizes(n_groups, n_rows, terms, y, group)

    w = np.empty((n_rows, len(terms) + 1), dtype=np.float64)
    w[:, 0] = 1.0
    for j, name in enumerate(fixed, start=1):
        w[:, j] = data[name].to_numpy(dtype=np.float64)
    w[:, -1] = data[y].to_numpy(dtype=np.float64)
    s = data[slope].to_numpy(dtype=np.float64)

    ztw = np.empty((n_groups, 2, w.shape[1]), dtype=np.float64)
    for j in range(w.shape[1]):
        ztw[:, 0, j] = np.bincount(codes, weights=w[:, j], minlength=n_groups)
        ztw[:, 1, j] = np.bincount(codes, weights=s * w[:, j], minlength=n_groups)
    ztz = np.empty((n_groups, 2, 2), dtype=np.float64)
    ztz[:, 0, 0] = ztw[:, 0, 0]
    ztz[:, 0, 1] = ztz[:, 1, 0] = ztw[:, 1, 0]
    ztz[:, 1, 1] = np.bincount(codes, weights=s * s, minlength=n_groups)
    wtw = w.T @ w

    stats = SufficientStats(
        terms=terms,
        groups=pd.Index(uniques, name=group),
        ztz=ztz,
        ztx=np.ascontiguousarray(ztw[:, :, :-1]),
        zty=np.ascontiguousarray(ztw[:, :, -1]),
        xtx=np.ascontiguousarray(wtw[:-1, :-1]),
        xty=np.ascontiguousarray(wtw[:-1, -1]),
        yty=float(wtw[-1, -1]),
    )
    check_collinearity(stats)
    _check_slope_variation(stats, slope)
    return stats


def check_stats(stats: SufficientStats, y: str, group: str, slope: str) -> None:
    """The checks of :func:`sufficient_stats` that need only the statistics.

    For statistics aggregated elsewhere (e.g. in a database): at least 3 groups, more rows
    than fixed effects, no collinear fixed effect, a slope that varies within some group.
    """
    _check_sizes(stats.n_groups, stats.n_obs, stats.terms, y, group)
    check_collinearity(stats)
    _check_slope_variation(stats, slope)


def check_totals(terms: Sequence[str], xtx: FloatArray, n_obs: int, n_groups: int,
                 within_slope_ss: float, slope_ss: float, names: tuple[str, str, str]) -> None:
    """The same checks from totals alone (e.g. added up over the sites of a network).

    ``within_slope_ss`` is Σᵢ (Σ s² − (Σ s)²/nᵢ) over groups and ``slope_ss`` Σ s²; ``names``
    is (y, group, slope) for the messages.
    """
    y, group, slope = names
    _check_sizes(n_groups, n_obs, terms, y, group)
    check_xtx(tuple(terms), xtx)
    _check_variation(within_slope_ss, slope_ss, slope)


def within_slope_ss(stats: SufficientStats) -> float:
    """Σᵢ (Σ s² − (Σ s)²/nᵢ): how much the slope column varies within the groups."""
    n, s1, s2 = stats.ztz[:, 0, 0], stats.ztz[:, 0, 1], stats.ztz[:, 1, 1]
    return float(np.sum(s2 - s1 * s1 / n))


def _check_sizes(n_groups: int, n_rows: int, terms: Sequence[str], y: str, group: str) -> None:
    if n_groups < 3:
        raise LmmError(
            group, f"needs at least 3 groups to estimate a 2×2 covariance, got {n_groups}"
        )
    if n_rows <= len(terms):
        raise LmmError(y, f"needs more rows than fixed effects ({len(terms)}), got {n_rows}")


def check_terms(
    columns: Sequence[str], y: str, fixed: Sequence[str], group: str, slope: str
) -> tuple[str, ...]:
    """The model's column roles, checked against the available ``columns``; returns the terms.

    Shared by every source of sufficient statistics (pandas here, an Ibis table elsewhere).
    """
    if isinstance(fixed, str):
        raise LmmError("fixed", "must be a sequence of column names, not one string")
    fixed = list(fixed)
    for name in [y, *fixed, group, slope]:
        if name not in columns:
            raise LmmError(name, "column not found in the data")
    for name in fixed:
        if fixed.count(name) > 1:
            raise LmmError(name, "listed more than once in the fixed effects")
        if name in (y, group, INTERCEPT):
            rule = (
                "the intercept is always added" if name == INTERCEPT else "cannot be a fixed effect"
            )
            raise LmmError(name, rule)
    if slope in (y, group):
        raise LmmError(slope, "the slope column cannot be the response or the group")
    if y == group:
        raise LmmError(y, "the response cannot be the group column")
    return (INTERCEPT, *fixed)


def _check_names(
    data: pd.DataFrame, y: str, fixed: Sequence[str], group: str, slope: str
) -> tuple[str, ...]:
    terms = check_terms(list(data.columns), y, fixed, group, slope)
    for name in [y, *terms[1:], slope]:
        if not pd.api.types.is_numeric_dtype(data[name]):
            raise LmmError(name, f"must be numeric, got dtype {data[name].dtype}")
    return terms


def _check_values(data: pd.DataFrame, columns: Sequence[str], group: str) -> None:
    missing_groups = int(data[group].isna().sum())
    if missing_groups:
        raise LmmError(group, f"{missing_groups} missing value(s); drop or assign those rows first")
    for name in columns:
        values = data[name].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:
            raise LmmError(
                name, f"{bad} missing or non-finite value(s); drop or impute those rows first"
            )


def check_collinearity(stats: SufficientStats) -> None:
    """Raise ``LmmError`` naming the first fixed-effect column spanned by the earlier ones."""
    check_xtx(stats.terms, stats.xtx)


def check_xtx(terms: tuple[str, ...], xtx: FloatArray) -> None:
    """Raise ``LmmError`` naming the first column of ``XᵀX`` spanned by the earlier ones.

    A Cholesky factorisation of the scaled ``XᵀX``, column by column: the squared diagonal
    at column k is the fraction of that column's sum of squares left after projecting it on
    the columns before it.
    """
    scale = np.sqrt(np.diag(xtx))
    p = len(terms)
    chol = np.zeros((p, p))
    for k in range(p):
        if scale[k] == 0.0:
            raise LmmError(terms[k], "is zero in every row")
        row = xtx[k, :k] / (scale[k] * scale[:k])
        chol[k, :k] = np.linalg.solve(chol[:k, :k], row) if k else row
        left = 1.0 - float(chol[k, :k] @ chol[k, :k])
        if left < _COLLINEAR_REL_NORM**2:
            others = ", ".join(terms[:k])
            raise LmmError(
                terms[k], f"is collinear with the earlier fixed effects ({others})"
            )
        chol[k, k] = np.sqrt(left)


def _check_slope_variation(stats: SufficientStats, slope: str) -> None:
    _check_variation(within_slope_ss(stats), float(np.sum(stats.ztz[:, 1, 1])), slope)


def _check_variation(within: float, total: float, slope: str) -> None:
    if within <= _NO_VARIATION_REL * total:
        raise LmmError(slope, "does not vary within any group, so a random slope is not estimable")


__all__ = [
    "INTERCEPT",
    "LmmError",
    "SufficientStats",
    "check_collinearity",
    "check_stats",
    "check_terms",
    "check_totals",
    "check_xtx",
    "sufficient_stats",
    "within_slope_ss",
]
