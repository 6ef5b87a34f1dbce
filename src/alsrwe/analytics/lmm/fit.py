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
evaluation is one pass of O(G) array arithmetic over the groups. θ is optimised by L-BFGS-B
with θ₁, θ₃ ≥ 0, from (1, 0, 1) on an internally rescaled slope column, then polished by
Newton steps. From ``_WARM_MIN_GROUPS`` groups on, θ starts instead from a fit to a
subsample of the groups and is refined by Newton steps on all of them (``_warm_fit``): ~5
passes over the groups instead of ~25, the same optimum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import linalg, optimize, stats

from alsrwe.analytics.lmm.deviance import BLOCK, ProfiledDeviance, Solution, profiled_deviance
from alsrwe.analytics.lmm.sufficient import FloatArray, LmmError, SufficientStats, sufficient_stats

# lme4's isSingular(): a diagonal element of Λ within 1e-4 of its lower bound 0.
_SINGULAR_TOL = 1e-4
# lme4's check.conv.grad default tolerance, applied to the projected gradient.
_GRADIENT_TOL = 2e-3
_MAX_ITERATIONS = 1000
_POLISH_STEPS = 5
_BLOCK = BLOCK
# From this many groups on, θ starts from a fit to about _WARM_START_GROUPS of them.
_WARM_MIN_GROUPS = 100_000
_WARM_START_GROUPS = 20_000
_WARM_MAX_STEPS = 20


@dataclass(frozen=True, eq=False)
class LmmResult:
    """A fitted random intercept and slope model; diagnostics travel with the estimates.

    ``criterion`` is −2 × the restricted log-likelihood (REML; lme4's ``REMLcrit``) or
    −2 × the log-likelihood (ML; lme4's ``deviance``). ``singular`` flags a boundary fit
    (a variance at zero or a correlation at ±1), as lme4's ``isSingular``. ``theta`` is lme4's
    θ in the data's units. ``blups`` holds the conditional modes bᵢ = Λuᵢ.
    """

    fixed: dict[str, float]
    se: dict[str, float]
    sd_intercept: float
    sd_slope: float
    corr: float
    sd_residual: float
    criterion: float
    blups: pd.DataFrame
    converged: bool
    singular: bool
    n_obs: int
    n_groups: int
    reml: bool
    iterations: int
    theta: tuple[float, float, float]
    message: str

    def ci(self, level: float = 0.95) -> pd.DataFrame:
        """Wald confidence intervals β̂ ± z·SE for the fixed effects (columns lower, upper)."""
        if not 0.0 < level < 1.0:
            raise LmmError("level", f"must lie strictly between 0 and 1, got {level}")
        z = float(stats.norm.ppf(0.5 + level / 2.0))
        terms = list(self.fixed)
        est = np.array([self.fixed[t] for t in terms])
        se = np.array([self.se[t] for t in terms])
        return pd.DataFrame(
            {"lower": est - z * se, "upper": est + z * se}, index=pd.Index(terms, name="term")
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per estimate: fixed effects with SEs, then the variance parameters."""
        rows: list[dict[str, Any]] = [
            {"effect": "fixed", "term": t, "estimate": self.fixed[t], "se": self.se[t]}
            for t in self.fixed
        ]
        for name in ("sd_intercept", "sd_slope", "corr", "sd_residual"):
            rows.append(
                {"effect": "ran_pars", "term": name, "estimate": getattr(self, name), "se": np.nan}
            )
        return pd.DataFrame(rows)

    def to_dict(self, include_blups: bool = True) -> dict[str, Any]:
        """A JSON-safe dictionary (NaN becomes ``None``); BLUPs as a list of records."""
        out: dict[str, Any] = {
            "fixed": {k: _json_float(v) for k, v in self.fixed.items()},
            "se": {k: _json_float(v) for k, v in self.se.items()},
            "criterion": _json_float(self.criterion),
            "theta": [_json_float(t) for t in self.theta],
        }
        for name in ("sd_intercept", "sd_slope", "corr", "sd_residual"):
            out[name] = _json_float(getattr(self, name))
        for name in ("converged", "singular", "reml"):
            out[name] = bool(getattr(self, name))
        for name in ("n_obs", "n_groups", "iterations"):
            out[name] = int(getattr(self, name))
        out["message"] = self.message
        if include_blups:
            out["blups"] = [
                {
                    "group": _json_label(g),
                    "intercept": _json_float(float(a)),
                    "slope": _json_float(float(b)),
                }
                for g, a, b in zip(
                    self.blups["group"], self.blups["intercept"], self.blups["slope"], strict=True
                )
            ]
        return out


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _json_label(value: object) -> str | int | float | bool:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def fit_lmm(
    data: pd.DataFrame,
    y: str,
    fixed: Sequence[str],
    group: str,
    slope: str,
    reml: bool = True,
) -> LmmResult:
    """Fit ``y ~ 1 + fixed + (1 + slope | group)`` by REML (default) or ML.

    Raises ``LmmError`` (a ``ValueError``) naming the column for unusable data; see
    ``alsrwe.analytics.lmm.sufficient.sufficient_stats`` for the rules.
    """
    return fit_lmm_stats(sufficient_stats(data, y, fixed, group, slope), reml=reml)


def fit_lmm_stats(stats: SufficientStats, reml: bool = True) -> LmmResult:
    """Fit from precomputed sufficient statistics (e.g. aggregated in a database)."""
    profile = _profile(stats, reml)
    warm = _warm_fit(stats, profile) if stats.n_groups >= _WARM_MIN_GROUPS else None
    if warm is not None:
        theta, sol, steps, message = warm
        grad = profile.gradient(theta, sol)
        converged = _projected_gradient_max(theta, grad) < _GRADIENT_TOL
        return _result(stats, profile, theta, sol, converged, steps, message)
    res = _lbfgsb(profile, np.array([1.0, 0.0, 1.0]))
    theta, steps = _newton_polish(profile, np.asarray(res.x, dtype=np.float64))
    sol = profile.solve(theta)
    grad = profile.gradient(theta, sol)
    converged = bool(res.success) or _projected_gradient_max(theta, grad) < _GRADIENT_TOL
    message = f"{res.message}; {steps} Newton polishing step(s)"
    return _result(stats, profile, theta, sol, converged, int(res.nit) + steps, message)


def _lbfgsb(profile: ProfiledDeviance, start: FloatArray) -> optimize.OptimizeResult:
    return optimize.minimize(
        profile.value_and_gradient,
        x0=start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None), (None, None), (0.0, None)],
        options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": _MAX_ITERATIONS},
    )


def _warm_fit(
    stats: SufficientStats, profile: ProfiledDeviance
) -> tuple[FloatArray, Solution, int, str] | None:
    """θ̂ for many groups in ~5 passes over them instead of ~25, or None (then fit as usual).

    Fit every k-th group (about ``_WARM_START_GROUPS``; the totals XᵀX, Xᵀy, yᵀy scaled by
    their share of the rows), then take Newton steps on all groups with that fit's Hessian
    scaled to the full count: the Hessian is off by the subsample's sampling error (~1%), so
    each step shrinks the error ~100-fold. Gives up (None) near a bound or if a step fails.
    """
    sub = _subsample(stats, profile, _WARM_START_GROUPS)
    try:
        sub_profile = ProfiledDeviance(sub, profile.reml, profile.slope_scale, _BLOCK)
        theta, _ = _newton_polish(sub_profile, _lbfgsb(sub_profile, np.array([1.0, 0.0, 1.0])).x)
        if min(float(theta[0]), float(theta[2])) < 100.0 * _SINGULAR_TOL:
            return None
        _, sub_grad = sub_profile.value_and_gradient(theta)
        hess = _hessian(sub_profile, theta, sub_grad) * (profile.n_eff / sub_profile.n_eff)
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
    return _result(stats, profile, scaled, sol, False, 0, "evaluated at a given theta, not fitted")


def _profile(stats: SufficientStats, reml: bool) -> ProfiledDeviance:
    return profiled_deviance(stats, reml, _BLOCK)  # _BLOCK read at call time (tests shrink it)


def _newton_polish(profile: ProfiledDeviance, theta: FloatArray) -> tuple[FloatArray, int]:
    """Newton steps on the coordinates not held at a bound, from where L-BFGS-B stopped.

    L-BFGS-B stops ~1e-7 (relative) from the optimum in θ on flat criteria; a few Newton
    steps with a Hessian from differences of the analytic gradient take it to rounding level,
    so that refits of permuted or rescaled data, or of the same statistics summed in another
    engine, agree to ~1e-9. Near the optimum the deviance itself is flat to within its
    rounding noise, so a step is judged by the analytic gradient (which must shrink) and the
    deviance may not rise beyond that noise; a step that fails is halved (backtracking).
    """
    best = theta
    best_dev, grad = profile.value_and_gradient(best)
    noise = 1e-10 * (1.0 + abs(best_dev))
    steps = 0
    for _ in range(_POLISH_STEPS):
        free = np.array([best[0] > 0.0 or grad[0] < 0.0, True, best[2] > 0.0 or grad[2] < 0.0])
        try:
            hess = _hessian(profile, best, grad)[np.ix_(free, free)]
            step = -linalg.cho_solve(linalg.cho_factor(hess), grad[free])
        except linalg.LinAlgError:
            break  # not locally convex: keep the optimiser's answer
        accepted = _backtrack(profile, best, free, step, best_dev + noise,
                              float(np.linalg.norm(grad[free])))
        if accepted is None:
            break
        best, best_dev, grad = accepted
        steps += 1
        if float(np.max(np.abs(step))) < 1e-11 * (1.0 + float(np.max(np.abs(best)))):
            break
    return best, steps


def _backtrack(profile: ProfiledDeviance, theta: FloatArray, free: np.ndarray,
               step: FloatArray, max_dev: float,
               grad_norm: float) -> tuple[FloatArray, float, FloatArray] | None:
    """The first of step, step/2, step/4 … that lowers the gradient without raising the
    deviance beyond ``max_dev``; None when none does."""
    for halvings in range(6):
        candidate = theta.copy()
        candidate[free] += step / (2.0**halvings)
        candidate[[0, 2]] = np.maximum(candidate[[0, 2]], 0.0)
        dev, cand_grad = profile.value_and_gradient(candidate)
        if dev <= max_dev and float(np.linalg.norm(cand_grad[free])) < grad_norm:
            return candidate, dev, cand_grad
    return None


def _hessian(profile: ProfiledDeviance, theta: FloatArray, grad: FloatArray) -> FloatArray:
    """Forward differences of the analytic gradient (upward, so bounds hold), symmetrised."""
    hess = np.empty((3, 3))
    for k in range(3):
        h = 1e-6 * max(1.0, abs(float(theta[k])))
        up = theta.copy()
        up[k] += h
        hess[:, k] = (profile.value_and_gradient(up)[1] - grad) / h
    return np.asarray(0.5 * (hess + hess.T), dtype=np.float64)


def _projected_gradient_max(theta: FloatArray, grad: FloatArray) -> float:
    projected = grad.copy()
    for k in (0, 2):
        if theta[k] <= 0.0 and grad[k] > 0.0:
            projected[k] = 0.0
    return float(np.max(np.abs(projected)))


def _result(
    stats: SufficientStats,
    profile: ProfiledDeviance,
    theta: FloatArray,
    sol: Solution,
    converged: bool,
    iterations: int,
    message: str,
) -> LmmResult:
    sigma = math.sqrt(sol.r2 / profile.n_eff)
    rx_inv = np.linalg.inv(sol.rx)
    se = sigma * np.sqrt(np.sum(rx_inv * rx_inv, axis=0))
    scale = 1.0 / profile.slope_scale
    t1, t2, t3 = float(theta[0]), float(theta[1]) * scale, float(theta[2]) * scale
    slope_norm = math.hypot(t2, t3)
    corr = t2 / slope_norm if t1 > 0.0 and slope_norm > 0.0 else math.nan
    u0, u1 = profile.modes(theta, sol)
    blups = pd.DataFrame(
        {
            "group": stats.groups.to_numpy(),
            "intercept": t1 * u0,
            "slope": (float(theta[1]) * u0 + float(theta[2]) * u1) * scale,
        }
    )
    singular = min(float(theta[0]), float(theta[2])) < _SINGULAR_TOL
    return LmmResult(
        fixed={t: float(b) for t, b in zip(stats.terms, sol.beta, strict=True)},
        se={t: float(s) for t, s in zip(stats.terms, se, strict=True)},
        sd_intercept=sigma * t1,
        sd_slope=sigma * slope_norm,
        corr=corr,
        sd_residual=sigma,
        criterion=sol.deviance,
        blups=blups,
        converged=converged,
        singular=singular,
        n_obs=stats.n_obs,
        n_groups=stats.n_groups,
        reml=profile.reml,
        iterations=iterations,
        theta=(t1, t2, t3),
        message=message,
    )


__all__ = ["LmmError", "LmmResult", "evaluate_lmm", "fit_lmm", "fit_lmm_stats"]
