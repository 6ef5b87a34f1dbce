"""Linear mixed model with a correlated random intercept and slope, fitted exactly (REML or ML).

``y = Xβ + Zb + ε`` with ``bᵢ ~ N(0, σ²ΛΛᵀ)`` per group and ``ε ~ N(0, σ²I)``, in lme4's
parametrisation: Λ(θ) is the lower-triangular 2×2 relative covariance factor with
``θ = (Λ₁₁, Λ₂₁, Λ₂₂)``. For each θ the penalised least-squares problem is solved in closed
form from the per-group sufficient statistics (``alsrwe.analytics.sufficient``), which gives
the profiled deviance of Bates, Mächler, Bolker & Walker (2015), "Fitting Linear
Mixed-Effects Models Using lme4", J Stat Softw 67(1):

    ML   (eq. 34)  d(θ) = log|L_θ|² + n (1 + log(2π r²(θ) / n))
    REML (eq. 41)  d(θ) = log|L_θ|² + log|R_X|² + (n−p)(1 + log(2π r²(θ) / (n−p)))

with ``log|L_θ|² = Σᵢ log|Mᵢ|``, ``Mᵢ = ΛᵀZᵢᵀZᵢΛ + I``. Every 2×2 ``Mᵢ`` is factorised with
explicit formulas for all groups at once, so one evaluation is O(G) array arithmetic plus
two (p+1)×G by G×(p+1) products. The gradient in θ is analytic (derivation in
``_ProfiledDeviance.gradient``); θ is optimised by L-BFGS-B with θ₁, θ₃ ≥ 0, from (1, 0, 1)
on an internally rescaled slope column.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from alsrwe.analytics.sufficient import FloatArray, LmmError, SufficientStats, sufficient_stats

# lme4's isSingular(): a diagonal element of Λ within 1e-4 of its lower bound 0.
_SINGULAR_TOL = 1e-4
# lme4's check.conv.grad default tolerance, applied to the projected gradient.
_GRADIENT_TOL = 2e-3
_MAX_ITERATIONS = 1000
_POLISH_STEPS = 5
_BLOCK = 8192  # groups per block of array arithmetic


@dataclass(frozen=True)
class _Solution:
    """The penalised least-squares solution at one θ (internal, scaled slope units)."""

    deviance: float
    beta: FloatArray
    r2: float
    rx: FloatArray  # lower Cholesky factor of R_XᵀR_X = Xᵀ V⁻¹ X (up to σ²)


@dataclass(frozen=True)
class _Block:
    """One block of groups at one θ: their statistics and the factors of their Mᵢ."""

    s0: FloatArray  # nᵢ
    s1: FloatArray  # Σ s
    s2: FloatArray  # Σ s²
    a0: FloatArray  # (g, p+1) first row of Zᵢᵀ[Xᵢ, yᵢ]
    a1: FloatArray  # (g, p+1) second row
    l11: FloatArray  # Cholesky factor Lᵢ of Mᵢ = ΛᵀSᵢΛ + I, entry by entry
    l21: FloatArray
    l22: FloatArray
    v0: FloatArray  # (g, p+1) rows of Lᵢ⁻¹ ΛᵀZᵢᵀ[Xᵢ, yᵢ]
    v1: FloatArray

    def modes(self, gamma: FloatArray) -> tuple[FloatArray, FloatArray]:
        """uᵢ = Mᵢ⁻¹ ΛᵀZᵢᵀ(yᵢ − Xᵢβ̂) with gamma = (−β̂, 1)."""
        u1 = (self.v1 @ gamma) / self.l22
        u0 = (self.v0 @ gamma - self.l21 * u1) / self.l11
        return u0, u1


class _ProfiledDeviance:
    """The profiled deviance d(θ) and its gradient from sufficient statistics.

    Groups are processed in blocks of ``_BLOCK`` so that the temporaries stay in cache and
    are reused by the allocator; the per-group work is array arithmetic within a block.
    """

    def __init__(self, stats: SufficientStats, reml: bool, slope_scale: float) -> None:
        c = slope_scale
        self.s0 = stats.ztz[:, 0, 0]
        self.s1 = stats.ztz[:, 0, 1] / c
        self.s2 = stats.ztz[:, 1, 1] / (c * c)
        self.a0 = np.column_stack([stats.ztx[:, 0, :], stats.zty[:, 0]])
        self.a1 = np.column_stack([stats.ztx[:, 1, :], stats.zty[:, 1]]) / c
        p = stats.n_fixed
        self.wtw = np.empty((p + 1, p + 1))
        self.wtw[:p, :p] = stats.xtx
        self.wtw[:p, p] = self.wtw[p, :p] = stats.xty
        self.wtw[p, p] = stats.yty
        self.p = p
        self.reml = reml
        self.slope_scale = slope_scale
        self.n_eff = float(stats.n_obs - p if reml else stats.n_obs)

    def _blocks(self, theta: FloatArray) -> Iterator[_Block]:
        t1, t2, t3 = (float(t) for t in theta)
        for start in range(0, len(self.s0), _BLOCK):
            sl = slice(start, start + _BLOCK)
            s0, s1, s2, a0, a1 = self.s0[sl], self.s1[sl], self.s2[sl], self.a0[sl], self.a1[sl]
            m11 = 1.0 + t1 * t1 * s0 + 2.0 * t1 * t2 * s1 + t2 * t2 * s2
            l11 = np.sqrt(m11)
            l21 = t3 * (t1 * s1 + t2 * s2) / l11
            l22 = np.sqrt(1.0 + t3 * t3 * s2 - l21 * l21)
            v0 = (t1 * a0 + t2 * a1) / l11[:, None]
            v1 = (t3 * a1 - l21[:, None] * v0) / l22[:, None]
            yield _Block(s0, s1, s2, a0, a1, l11, l21, l22, v0, v1)

    def solve(self, theta: FloatArray) -> _Solution:
        """Factorise every Mᵢ, form the Schur complement and return β̂(θ), r²(θ), d(θ)."""
        schur = self.wtw.copy()
        logdet_l = 0.0
        for blk in self._blocks(theta):
            schur -= blk.v0.T @ blk.v0 + blk.v1.T @ blk.v1
            logdet_l += 2.0 * float(np.sum(np.log(blk.l11)) + np.sum(np.log(blk.l22)))
        try:
            chol = np.linalg.cholesky(schur)
        except np.linalg.LinAlgError as err:
            raise LmmError("fixed", "the fixed design is numerically rank deficient") from err
        p = self.p
        rx = np.asarray(chol[:p, :p], dtype=np.float64)
        r2 = float(chol[p, p] ** 2)
        beta = linalg.cho_solve((rx, True), schur[:p, p])
        deviance = logdet_l + self.n_eff * (1.0 + math.log(2.0 * math.pi * r2 / self.n_eff))
        if self.reml:
            deviance += 2.0 * float(np.sum(np.log(np.diag(rx))))
        return _Solution(deviance, beta, r2, rx)

    def modes(self, theta: FloatArray, sol: _Solution) -> tuple[FloatArray, FloatArray]:
        """Conditional modes uᵢ = Mᵢ⁻¹ ΛᵀZᵢᵀ(yᵢ − Xᵢβ̂) as two (G,) arrays."""
        gamma = np.append(-sol.beta, 1.0)
        parts = [blk.modes(gamma) for blk in self._blocks(theta)]
        return np.concatenate([u[0] for u in parts]), np.concatenate([u[1] for u in parts])

    def gradient(self, theta: FloatArray, sol: _Solution) -> FloatArray:
        """∂d/∂θ, analytic; ``Eₐᵦ`` below is ∂Λ/∂θₖ (E₁₁, E₂₁, E₂₂ for θ₁, θ₂, θ₃).

        * ``∂ log|Mᵢ| = 2 tr(Mᵢ⁻¹ ΛᵀSᵢ Eₐᵦ)``, Sᵢ = ZᵢᵀZᵢ.
        * ``∂r² = −2 Σᵢ eᵢᵀ Eₐᵦ uᵢ`` with eᵢ = Zᵢᵀ(yᵢ − Xᵢβ̂ − ZᵢΛuᵢ): r² is a minimum over
          (u, β), so only its explicit dependence on θ counts (envelope theorem).
        * REML: ``∂ log|Xᵀ V⁻¹ X| = −2 tr(Eₐᵦ Λᵀ Σᵢ Hᵢ A⁻¹ Hᵢᵀ)``, Hᵢ = Zᵢᵀ Vᵢ⁻¹ Xᵢ,
          Vᵢ = I + ZᵢΛΛᵀZᵢᵀ, A = XᵀV⁻¹X.
        """
        t1, t2, t3 = (float(t) for t in theta)
        gamma = np.append(-sol.beta, 1.0)
        grad_logdet, grad_r2 = np.zeros(3), np.zeros(3)
        gram = np.zeros((3, self.p, self.p))  # Σ H₀ᵀH₀, Σ H₀ᵀH₁, Σ H₁ᵀH₁
        for blk in self._blocks(theta):
            grad_logdet += _block_logdet_terms(blk, t1, t2, t3)
            grad_r2 += _block_r2_terms(blk, t1, t2, t3, gamma)
            if self.reml:
                gram += _block_h_gram(blk, t1, t2, t3, self.p)
        grad = 2.0 * grad_logdet - (2.0 * self.n_eff / sol.r2) * grad_r2
        if self.reml:
            a_inv = linalg.cho_solve((sol.rx, True), np.eye(self.p))
            k00, k01, k11 = (float(np.sum(a_inv * g)) for g in gram)
            grad -= 2.0 * np.array([t1 * k00 + t2 * k01, t1 * k01 + t2 * k11, t3 * k11])
        return grad

    def value_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """d(θ) and ∂d/∂θ, the objective handed to the optimiser."""
        sol = self.solve(theta)
        return sol.deviance, self.gradient(theta, sol)


def _block_logdet_terms(blk: _Block, t1: float, t2: float, t3: float) -> FloatArray:
    """Σᵢ (Mᵢ⁻¹ΛᵀSᵢ)₁₁, (·)₁₂, (·)₂₂ with Mᵢ⁻¹ from its 2×2 adjugate."""
    s0, s1, s2 = blk.s0, blk.s1, blk.s2
    m11, m12 = blk.l11 * blk.l11, blk.l21 * blk.l11
    m22 = blk.l21 * blk.l21 + blk.l22 * blk.l22
    det = (blk.l11 * blk.l22) ** 2
    n00, n01, n10, n11 = t1 * s0 + t2 * s1, t1 * s1 + t2 * s2, t3 * s1, t3 * s2
    return np.array(
        [
            np.sum((m22 * n00 - m12 * n10) / det),
            np.sum((m22 * n01 - m12 * n11) / det),
            np.sum((m11 * n11 - m12 * n01) / det),
        ]
    )


def _block_r2_terms(blk: _Block, t1: float, t2: float, t3: float, gamma: FloatArray) -> FloatArray:
    """Σᵢ e₁u₁, e₂u₁, e₂u₂ with eᵢ = Zᵢᵀ(yᵢ − Xᵢβ̂) − SᵢΛuᵢ."""
    u0, u1 = blk.modes(gamma)
    b0, b1 = t1 * u0, t2 * u0 + t3 * u1
    e0 = blk.a0 @ gamma - (blk.s0 * b0 + blk.s1 * b1)
    e1 = blk.a1 @ gamma - (blk.s1 * b0 + blk.s2 * b1)
    return np.array([e0 @ u0, e1 @ u0, e1 @ u1])


def _block_h_gram(blk: _Block, t1: float, t2: float, t3: float, p: int) -> FloatArray:
    """Σᵢ HₐᵀH_b over the block for (a, b) = (0, 0), (0, 1), (1, 1)."""
    # Yᵢ = Mᵢ⁻¹ ΛᵀZᵢᵀXᵢ, then Hᵢ = ZᵢᵀXᵢ − Sᵢ Λ Yᵢ (Woodbury form of Zᵢᵀ Vᵢ⁻¹ Xᵢ).
    y1 = blk.v1[:, :p] / blk.l22[:, None]
    y0 = (blk.v0[:, :p] - blk.l21[:, None] * y1) / blk.l11[:, None]
    c0, c1 = t1 * y0, t2 * y0 + t3 * y1
    h0 = blk.a0[:, :p] - (blk.s0[:, None] * c0 + blk.s1[:, None] * c1)
    h1 = blk.a1[:, :p] - (blk.s1[:, None] * c0 + blk.s2[:, None] * c1)
    return np.stack([h0.T @ h0, h0.T @ h1, h1.T @ h1])


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
    ``alsrwe.analytics.sufficient.sufficient_stats`` for the rules.
    """
    return fit_lmm_stats(sufficient_stats(data, y, fixed, group, slope), reml=reml)


def fit_lmm_stats(stats: SufficientStats, reml: bool = True) -> LmmResult:
    """Fit from precomputed sufficient statistics (e.g. aggregated in a database)."""
    profile = _profile(stats, reml)
    res = optimize.minimize(
        profile.value_and_gradient,
        x0=np.array([1.0, 0.0, 1.0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None), (None, None), (0.0, None)],
        options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": _MAX_ITERATIONS},
    )
    theta, steps = _newton_polish(profile, np.asarray(res.x, dtype=np.float64))
    sol = profile.solve(theta)
    grad = profile.gradient(theta, sol)
    converged = bool(res.success) or _projected_gradient_max(theta, grad) < _GRADIENT_TOL
    message = f"{res.message}; {steps} Newton polishing step(s)"
    return _result(stats, profile, theta, sol, converged, int(res.nit) + steps, message)


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


def _profile(stats: SufficientStats, reml: bool) -> _ProfiledDeviance:
    n, p = stats.n_obs, stats.n_fixed
    if n <= p:
        raise LmmError("data", f"needs more rows than fixed effects ({p}), got {n}")
    # The slope column is rescaled to unit root-mean-square so that θ = (1, 0, 1) is a
    # sensible start whatever its units; the model (and the optimum) is unchanged.
    slope_scale = math.sqrt(float(stats.ztz[:, 1, 1].sum()) / n)
    if not slope_scale > 0.0:
        raise LmmError("slope", "is zero in every row")
    return _ProfiledDeviance(stats, reml, slope_scale)


def _newton_polish(profile: _ProfiledDeviance, theta: FloatArray) -> tuple[FloatArray, int]:
    """Newton steps on the coordinates not held at a bound, from where L-BFGS-B stopped.

    L-BFGS-B stops ~1e-7 (relative) from the optimum in θ on flat criteria; a few Newton
    steps with a Hessian from differences of the analytic gradient take it to
    rounding level, so that refits of permuted or rescaled data agree to ~1e-9.
    """
    best = theta
    best_dev, grad = profile.value_and_gradient(best)
    steps = 0
    for _ in range(_POLISH_STEPS):
        free = np.array([best[0] > 0.0 or grad[0] < 0.0, True, best[2] > 0.0 or grad[2] < 0.0])
        try:
            hess = _hessian(profile, best, grad)[np.ix_(free, free)]
            step = -linalg.cho_solve(linalg.cho_factor(hess), grad[free])
        except linalg.LinAlgError:
            break  # not locally convex: keep the optimiser's answer
        candidate = best.copy()
        candidate[free] += step
        candidate[[0, 2]] = np.maximum(candidate[[0, 2]], 0.0)
        dev, cand_grad = profile.value_and_gradient(candidate)
        if dev > best_dev + 1e-13 * abs(best_dev):
            break
        best, best_dev, grad = candidate, dev, cand_grad
        steps += 1
        if float(np.max(np.abs(step))) < 1e-11 * (1.0 + float(np.max(np.abs(best)))):
            break
    return best, steps


def _hessian(profile: _ProfiledDeviance, theta: FloatArray, grad: FloatArray) -> FloatArray:
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
    profile: _ProfiledDeviance,
    theta: FloatArray,
    sol: _Solution,
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
