"""The exact mixed-model engine: a random intercept and slope per group, REML or ML.

``sufficient`` reduces the rows to per-group statistics (in pandas), ``engine_stats`` computes
the same statistics inside an Ibis engine, ``deviance`` is the profiled deviance and its
gradient, ``optimise`` minimises it, ``boundary`` checks a stop on a bound (and leaves it
when the criterion falls into the interior), ``estimate`` runs the fit from the statistics,
``result`` reports it and ``fit`` takes the rows (Bates et al. 2015, J Stat Softw 67(1)).
"""

from alsrwe.analytics.lmm.fit import LmmResult, evaluate_lmm, fit_lmm, fit_lmm_stats
from alsrwe.analytics.lmm.sufficient import LmmError, SufficientStats, sufficient_stats

__all__ = ["LmmError", "LmmResult", "SufficientStats", "evaluate_lmm", "fit_lmm",
           "fit_lmm_stats", "sufficient_stats"]
