"""Linear mixed model with a correlated random intercept and slope, fitted exactly (REML or ML).

``y = Xβ + Zb + ε`` with ``bᵢ ~ N(0, σ²ΛΛᵀ)`` per group and ``ε ~ N(0, σ²I)``, in lme4's
parametrisation: Λ(θ) is the lower-triangular 2×2 relative covariance factor with
``θ = (Λ₁₁, Λ₂₁, Λ₂₂)``. For each θ the penalised least-squares problem is solved in closed
form from the per-group sufficient statistics (``alsrwe.analytics.lmm.sufficient``), which gives
the profiled deviance of Bates, Mächler, Bolker & Walker (2015), "Fitting Linear
Mixed-Effects Models Using lme4", J Stat Softw 67(1):

    ML   (eq. 34)  d(θ) = log|L_θ|² + n (1 + log(2π r²(θ) / n))
    REML (eq. 41)  d(θ) = log|L_θ|² + log|R_X|² + (n−p)(1 + log(2π r²(θ) / (n−p)))

The profiled deviance and its analytic gradient live in ``alsrwe.analytics.lmm.deviance``: one
evaluation is one pass of O(G) array arithmetic over the groups. ``estimate`` optimises θ and
checks a stop on a bound (``boundary``); this module takes the rows, from a pandas frame or
an Ibis table (aggregated in its engine), and drops incomplete rows as lme4's ``na.omit``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import ibis
import pandas as pd

from alsrwe.analytics.lmm.engine_stats import complete_case_stats
from alsrwe.analytics.lmm.estimate import evaluate_lmm, fit_lmm_stats
from alsrwe.analytics.lmm.result import LmmResult
from alsrwe.analytics.lmm.sufficient import LmmError, SufficientStats, check_terms, sufficient_stats


def fit_lmm(
    data: pd.DataFrame | ibis.Table,
    y: str,
    fixed: Sequence[str],
    group: str,
    slope: str,
    reml: bool = True,
) -> LmmResult:
    """Fit ``y ~ 1 + fixed + (1 + slope | group)`` by REML (default) or ML.

    ``data`` is a pandas DataFrame or an Ibis table; a table stays in its engine, where the
    sufficient statistics are aggregated (``engine_stats.complete_case_stats``). Rows with a
    missing value (NULL, NaN, NA) in a used column, the group included, are left out and
    counted in ``rows_dropped_missing``, as lme4's ``na.omit`` does. Anything else unusable
    (a missing or non-numeric column, ±inf, fewer than 3 groups, a collinear design) raises
    ``LmmError`` (a ``ValueError``) naming the column; see
    ``alsrwe.analytics.lmm.sufficient.sufficient_stats`` for the rules.
    """
    if isinstance(data, pd.DataFrame):
        stats, dropped = _frame_stats(data, y, fixed, group, slope)
    elif isinstance(data, ibis.Table):
        stats, dropped = complete_case_stats(data, y, fixed, group, slope)
    else:
        raise LmmError(
            "data", f"must be a pandas DataFrame or an Ibis table, got {type(data).__name__}"
        )
    fit = fit_lmm_stats(stats, reml=reml)
    return dataclasses.replace(fit, rows_dropped_missing=dropped) if dropped else fit


def _frame_stats(
    data: pd.DataFrame, y: str, fixed: Sequence[str], group: str, slope: str
) -> tuple[SufficientStats, int]:
    """The sufficient statistics of the complete rows, and how many rows were incomplete."""
    terms = check_terms(list(data.columns), y, fixed, group, slope)
    used = list(dict.fromkeys([y, *terms[1:], slope, group]))
    incomplete = data[used].isna().any(axis=1).to_numpy()
    dropped = int(incomplete.sum())
    rows = data.loc[~incomplete, used] if dropped else data
    return sufficient_stats(rows, y, fixed, group, slope), dropped


__all__ = ["LmmError", "LmmResult", "evaluate_lmm", "fit_lmm", "fit_lmm_stats"]
