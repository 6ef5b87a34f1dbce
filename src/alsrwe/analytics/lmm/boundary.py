"""Is a fit that stopped on a bound (θ₁ = 0 or θ₃ = 0) at the optimum, or at a saddle?

The deviance depends on Λ only through the relative covariance G = ΛΛᵀ, and on θ₃ only
through θ₃². So on θ₃ = 0 its θ-gradient in θ₃ is exactly zero whatever the data: L-BFGS-B
stops there, the Newton polish keeps the bound, and a small but real slope variance is
reported as a singular fit. The first-order test has to be made in G instead. With
Γ = ∂d/∂G, a singular G is optimal over the positive semi-definite matrices when Γ is
positive semi-definite (and ΓG = 0, which the optimiser already ensures): along
G + t·wwᵀ (w in G's null space, into the interior) the criterion changes at the rate
wᵀΓw, the *curvature* reported, i.e. ∂d/∂(θ₃²) for w = e₂.

Γ follows from the analytic θ-gradient at the nearby interior point Λₕ = chol(G + hP) (P
projects on G's null space): ∂d/∂Λ = 2ΓΛ is triangular in Γ's three entries. The verdict
does not rest on that derivative alone: the criterion itself is evaluated along G + t·wwᵀ
for t from 1 down to 1e-8 (and along Γ's most negative direction), and if any point is
lower the fit restarts from the best of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from alsrwe.analytics.lmm.deviance import ProfiledDeviance, Solution
from alsrwe.analytics.lmm.optimise import optimise, projected_gradient_max
from alsrwe.analytics.lmm.result import SINGULAR_TOL
from alsrwe.analytics.lmm.sufficient import FloatArray, LmmError

_MAX_RESTARTS = 3
_NULL_REL = 1e-10  # an eigenvalue of G below this × its largest one counts as zero
_STEP_REL = 1e-8  # h: how far into the interior Γ is taken from the analytic gradient
_PROBES = tuple(10.0 ** -k for k in range(9))  # t / max(1, λmax(G)) along each direction


@dataclass(frozen=True)
class Verified:
    """Where the fit ends after the check, what the check found, and the extra work."""

    theta: FloatArray
    sol: Solution
    check: str
    iterations: int
    message: str  # the last restart's optimiser message, or ""
    success: bool  # the last restart's L-BFGS-B success (True when none ran)


def verify_optimum(profile: ProfiledDeviance, theta: FloatArray, sol: Solution) -> Verified:
    """Leave a bound while the criterion falls into the interior; say how the end was checked."""
    notes: list[str] = []
    iterations, message, success = 0, "", True
    for restarts in range(_MAX_RESTARTS + 1):
        bound = [k for k in (0, 2) if float(theta[k]) < SINGULAR_TOL]
        if not bound:
            gradient = projected_gradient_max(theta, profile.gradient(theta, sol))
            notes.append(f"interior: gradient {gradient:.1e}")
            return Verified(theta, sol, "; ".join(notes), iterations, message, success)
        if restarts == _MAX_RESTARTS:
            break
        name = "θ₁=0, θ₃=0" if len(bound) == 2 else f"θ{'₁' if bound[0] == 0 else '₃'}=0"
        snapped = theta.copy()
        snapped[bound] = 0.0
        snapped_sol = profile.solve(snapped)
        if snapped_sol.deviance < sol.deviance:
            theta, sol = snapped, snapped_sol
        curvature, directions = _curvature(profile, snapped)
        start = _probe(profile, snapped, directions, sol.deviance)
        if start is None:
            verdict = "criterion rises into the interior" if curvature >= 0.0 else (
                "no lower interior point found")
            notes.append(f"boundary {name}: {verdict} (curvature {curvature:+.3g})")
            return Verified(theta, sol, "; ".join(notes), iterations, message, success)
        new_theta, steps, message, success = optimise(profile, start[0])
        new_sol = profile.solve(new_theta)
        if new_sol.deviance > start[1]:  # the polish may not beat a probe on rounding noise
            new_theta, new_sol = start[0], profile.solve(start[0])
        fell = sol.deviance - new_sol.deviance
        notes.append(f"left boundary {name}: criterion fell by {fell:.3g}")
        theta, sol, iterations = new_theta, new_sol, iterations + steps
    notes.append(f"still near a bound after {_MAX_RESTARTS} restarts")
    return Verified(theta, sol, "; ".join(notes), iterations, message, success)


def _covariance(theta: FloatArray) -> FloatArray:
    lam = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    return np.asarray(lam @ lam.T, dtype=np.float64)


def _theta_of(cov: FloatArray) -> FloatArray:
    """θ of a positive definite G: its lower Cholesky factor (positive diagonal)."""
    lam = linalg.cholesky(cov, lower=True)
    return np.array([lam[0, 0], lam[1, 0], lam[1, 1]], dtype=np.float64)


def _g_gradient(profile: ProfiledDeviance, theta: FloatArray) -> FloatArray:
    """Γ = ∂d/∂G at an interior θ, from ∂d/∂θ = 2·(ΓΛ)₁₁, (ΓΛ)₂₁, (ΓΛ)₂₂ (back substitution)."""
    t1, t2, t3 = (float(t) for t in theta)
    g1, g2, g3 = (0.5 * float(g) for g in profile.value_and_gradient(theta)[1])
    g22 = g3 / t3
    g12 = (g2 - g22 * t2) / t1
    g11 = (g1 - g12 * t2) / t1
    return np.array([[g11, g12], [g12, g22]])


def _curvature(profile: ProfiledDeviance, theta: FloatArray) -> tuple[float, list[FloatArray]]:
    """The least rate wᵀΓw into the interior, and the directions w worth probing."""
    cov = _covariance(theta)
    values, vectors = np.linalg.eigh(cov)
    scale = max(1.0, float(values[-1]))
    null = vectors[:, values <= _NULL_REL * scale]
    if null.shape[1] == 0:  # a bound coordinate below SINGULAR_TOL but G not singular
        null = vectors[:, :1]
    inside = cov + _STEP_REL * scale * (null @ null.T)
    gamma = _g_gradient(profile, _theta_of(inside))
    rates, ways = np.linalg.eigh(null.T @ gamma @ null)
    directions = [null @ ways[:, k] for k in range(null.shape[1])]
    full_rates, full_ways = np.linalg.eigh(gamma)
    if full_rates[0] < 0.0 and all(abs(float(full_ways[:, 0] @ w)) < 0.999 for w in directions):
        directions.append(full_ways[:, 0])
    return float(rates[0]), directions


def _probe(profile: ProfiledDeviance, theta: FloatArray, directions: list[FloatArray],
           deviance: float) -> tuple[FloatArray, float] | None:
    """The lowest point on G + t·wwᵀ if it beats ``deviance`` beyond rounding noise."""
    cov = _covariance(theta)
    scale = max(1.0, float(np.linalg.eigvalsh(cov)[-1]))
    best: tuple[FloatArray, float] | None = None
    limit = deviance - 1e-10 * (1.0 + abs(deviance))
    for w in directions:
        for t in _PROBES:
            try:
                candidate = _theta_of(cov + t * scale * np.outer(w, w))
                value = profile.solve(candidate).deviance
            except (LmmError, linalg.LinAlgError):
                continue
            if value < limit and (best is None or value < best[1]):
                best = (candidate, value)
    return best


__all__ = ["Verified", "verify_optimum"]
