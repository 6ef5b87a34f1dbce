"""Fitting the mixed model from its sufficient statistics: optimise θ, check, report.

θ is optimised by L-BFGS-B with θ₁, θ₃ ≥ 0, from (1, 0, 1) on an internally rescaled slope
column, then polished by Newton steps (``alsrwe.analytics.lmm.optimise``). A stop on a bound
is then checked (``alsrwe.analytics.lmm.boundary``): the criterion's θ-gradient cannot see
that leaving θ₃ = 0 lowers it, so the fit leaves the bound whenever it does, and reports
``singular`` only for a boundary that is the optimum. From ``_WARM_MIN_GROUPS`` groups on, θ
starts instead from a fit to a subsample of the groups and is refined by Newton steps on all
of them (``_warm_fit``): ~5 passes over the groups instead of ~25, the same optimum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import linalg

from alsrwe.analytics.lmm.boundary import verify_optimum
from alsrwe.analytics.lmm.deviance import BLOCK, ProfiledDeviance, Solution, profiled_deviance
from alsrwe.analytics.lmm.optimise import (
    GRADIENT_TOL,
    START,
    hessian,
    lbfgsb,
    newton_polish,
    optimise,
    projected_gradient_max,
)
from alsrwe.analytics.lmm.result import SINGULAR_TOL, LmmResult, build_result
from alsrwe.analytics.lmm.sufficient import FloatArray, LmmError, SufficientStats

_BLOCK = BLOCK
# From this many groups on, θ starts from a fit to about _WARM_START_GROUPS of them.
_WARM_MIN_GROUPS = 100_000
_WARM_START_GROUPS = 20_000
_WARM_MAX_STEPS = 20


def fit_lmm_stats(stats: SufficientStats, reml: bool = True) -> LmmResult:
    """Fit from precomputed sufficient statistics (e.g. aggregated in a database)."""
    profile = _profile(stats, reml)
    warm = _warm_fit(stats, profile) if stats.n_groups >= _WARM_MIN_GROUPS else None
    return fit_profile(profile, warm)


def fit_profile(profile: ProfiledDeviance,
                warm: tuple[FloatArray, Solution, int, str] | None = None) -> LmmResult:
    """Optimise θ from (1, 0, 1) (or finish a warm start), check the optimum, report.

    Every fit ends here, whether its sums over groups are computed from local statistics or
    added up over the sites of a federated network (``SummedDeviance``): the same optimiser
    stopping by the same rules gives the same answer from the same sums.
    """
    if warm is not None:
        theta, sol, iterations, message = warm
        success = False
    else:
        theta, iterations, message, success = optimise(profile, np.array(START))
        sol = profile.solve(theta)
    checked = verify_optimum(profile, theta, sol)
    if checked.message:
        message += f"; restarted from the interior: {checked.message}"
        success = checked.success
    theta, sol = checked.theta, checked.sol
    gradient = projected_gradient_max(theta, profile.gradient(theta, sol))
    converged = success or gradient < GRADIENT_TOL
    return build_result(profile, theta, sol, converged=converged,
                        iterations=iterations + checked.iterations, message=message,
                        optimum_check=checked.check)


def _warm_fit(
    stats: SufficientStats, profile: ProfiledDeviance
) -> tuple[FloatArray, Solution, int, str] | None:
    """θ̂ for many groups in ~5 passes over them instead of ~25, or None (then fit as usual).

    Fit every k-th group (about ``_WARM_START_GROUPS``; the totals XᵀX, Xᵀy, yᵀy scaled by
    their share of the rows), then take Newton steps on all groups with that fit's Hessian
    scaled to the full count: the Hessian is off by the subsample's sampling error (~1%), so
    each step shrinks the error ~100-fold. The subsample's stop on a bound is checked like
    any other. Gives up (None) near a bound or if a step fails.
    """
    sub = _subsample(stats, profile, _WARM_START_GROUPS)
    try:
        sub_profile = ProfiledDeviance(sub, profile.reml, profile.slope_scale, _BLOCK)
        theta, _ = newton_polish(sub_profile, lbfgsb(sub_profile, np.array(START)).x)
        theta = verify_optimum(sub_profile, theta, sub_profile.solve(theta)).theta
        if min(float(theta[0]), float(theta[2])) < 100.0 * SINGULAR_TOL:
            return None
        _, sub_grad = sub_profile.value_and_gradient(theta)
        hess = hessian(sub_profile, theta, sub_grad) * (profile.n_eff / sub_profile.n_eff)
        factor = linalg.cho_factor(hess)
    except (LmmError, linalg.LinAlgError):
        return None
    sol = profile.solve(theta)
    for step_no in range(_WARM_MAX_STEPS):
        step = -linalg.cho_solve(factor, profile.gradient(theta, sol))
        if float(np.max(np.abs(step))) < 1e-10 * (1.0 + float(np.max(np.abs(theta)))):
            message = (
                f"started from a fit to {sub.n_groups} of {stats.n_groups} groups; "
                f"{step_no} Newton step(s) on all groups"
            )
            return theta, sol, step_no, message
        candidate = theta + step
        if min(float(candidate[0]), float(candidate[2])) <= 0.0:
            return None
        cand_sol = profile.solve(candidate)
        if cand_sol.deviance > sol.deviance + 1e-12 * abs(sol.deviance):
            return None
        theta, sol = candidate, cand_sol
    return None


def _subsample(stats: SufficientStats, profile: ProfiledDeviance, target: int) -> SufficientStats:
    """Every k-th group whose ZᵢᵀZᵢ is invertible, about ``target`` of them.

    A subsample's totals XᵢᵀXᵢ (with y) are not kept, so they are rebuilt as Σ AᵢᵀSᵢ⁻¹Aᵢ
    over its groups (the part of XᵢᵀXᵢ that Zᵢ explains; it does not depend on the scale of
    the slope) plus the pooled remainder ``XᵀX − Σ AᵢᵀSᵢ⁻¹Aᵢ`` scaled by the subsample's
    share of the rows. Both parts are positive semi-definite, so the subsample's Schur
    complement stays positive definite.
    """
    (s0, s1, s2), a = profile.s, profile.a  # (3, G) and (2, p+1, G), scaled slope
    det = s0 * s2 - s1 * s1
    regular = det > 1e-8 * s0 * s2
    w = np.where(regular, 1.0 / np.where(regular, det, 1.0), 0.0)
    index = np.flatnonzero(regular)
    index = index[:: max(1, len(index) // target)]
    share = float(s0[index].sum()) / float(s0.sum())

    def explained(cols: slice | NDArray[np.intp]) -> FloatArray:
        a0, a1, wc = a[0][:, cols], a[1][:, cols], w[cols]
        cross = (a0 * (wc * s1[cols])) @ a1.T
        out = (a0 * (wc * s2[cols])) @ a0.T + (a1 * (wc * s0[cols])) @ a1.T
        return np.asarray(out - cross - cross.T, dtype=np.float64)

    totals: FloatArray = share * (profile.wtw - explained(slice(None)))
    totals += explained(index)
    p = stats.n_fixed
    return SufficientStats(
        terms=stats.terms,
        groups=stats.groups[index],
        ztz=stats.ztz[index],
        ztx=stats.ztx[index],
        zty=stats.zty[index],
        xtx=totals[:p, :p].copy(),
        xty=totals[:p, p].copy(),
        yty=float(totals[p, p]),
    )


def evaluate_lmm(stats: SufficientStats, theta: Sequence[float], reml: bool = True) -> LmmResult:
    """The model with θ held at a given value (lme4's θ, data units), without optimising.

    For checks against other software (evaluate at their θ) and for profiling.
    """
    profile = _profile(stats, reml)
    if len(theta) != 3 or theta[0] < 0.0 or theta[2] < 0.0:
        raise LmmError("theta", "needs three values (Λ₁₁, Λ₂₁, Λ₂₂) with Λ₁₁, Λ₂₂ ≥ 0")
    c = profile.slope_scale
    scaled = np.array([theta[0], theta[1] * c, theta[2] * c], dtype=np.float64)
    sol = profile.solve(scaled)
    return build_result(profile, scaled, sol, converged=False, iterations=0,
                        message="evaluated at a given theta, not fitted",
                        optimum_check="not checked: evaluated at a given theta")


def _profile(stats: SufficientStats, reml: bool) -> ProfiledDeviance:
    return profiled_deviance(stats, reml, _BLOCK)  # _BLOCK read at call time (tests shrink it)


__all__ = ["LmmResult", "evaluate_lmm", "fit_lmm_stats", "fit_profile"]
