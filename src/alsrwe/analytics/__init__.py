"""Analyses of registry data: mixed models of progression from per-group sufficient statistics."""

from alsrwe.analytics.lmm import LmmResult, evaluate_lmm, fit_lmm, fit_lmm_stats
from alsrwe.analytics.sufficient import LmmError, SufficientStats, sufficient_stats

__all__ = [
    "LmmError",
    "LmmResult",
    "SufficientStats",
    "evaluate_lmm",
    "fit_lmm",
    "fit_lmm_stats",
    "sufficient_stats",
]
