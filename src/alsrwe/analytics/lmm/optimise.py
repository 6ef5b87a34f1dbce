"""The optimiser's steps over θ: L-BFGS-B within the bounds, then Newton polishing.

Shared by the fit itself, the warm start from a subsample and the restart from the interior
after a boundary stop (``alsrwe.analytics.lmm.boundary``), so that all three stop by the same
rules.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, optimize

from alsrwe.analytics.lmm.deviance import ProfiledDeviance
from alsrwe.analytics.lmm.sufficient import FloatArray

# lme4's check.conv.grad default tolerance, applied to the projected gradient.
GRADIENT_TOL = 2e-3
_MAX_ITERATIONS = 1000
_POLISH_STEPS = 5
START = (1.0, 0.0, 1.0)


def lbfgsb(profile: ProfiledDeviance, start: FloatArray) -> optimize.OptimizeResult:
    """L-BFGS-B with θ₁, θ₃ ≥ 0 and tolerances tight enough for the polish to finish."""
    return optimize.minimize(
        profile.value_and_gradient,
        x0=start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None), (None, None), (0.0, None)],
        options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": _MAX_ITERATIONS},
    )


def newton_polish(profile: ProfiledDeviance, theta: FloatArray) -> tuple[FloatArray, int]:
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
            hess = hessian(profile, best, grad)[np.ix_(free, free)]
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


def hessian(profile: ProfiledDeviance, theta: FloatArray, grad: FloatArray) -> FloatArray:
    """Forward differences of the analytic gradient (upward, so bounds hold), symmetrised."""
    hess = np.empty((3, 3))
    for k in range(3):
        h = 1e-6 * max(1.0, abs(float(theta[k])))
        up = theta.copy()
        up[k] += h
        hess[:, k] = (profile.value_and_gradient(up)[1] - grad) / h
    return np.asarray(0.5 * (hess + hess.T), dtype=np.float64)


def projected_gradient_max(theta: FloatArray, grad: FloatArray) -> float:
    """The largest gradient component, ignoring those that push against an active bound."""
    projected = grad.copy()
    for k in (0, 2):
        if theta[k] <= 0.0 and grad[k] > 0.0:
            projected[k] = 0.0
    return float(np.max(np.abs(projected)))


def optimise(profile: ProfiledDeviance, start: FloatArray) -> tuple[FloatArray, int, str, bool]:
    """L-BFGS-B then polish from ``start``: θ, iterations, a message, L-BFGS-B's success."""
    res = lbfgsb(profile, start)
    theta, steps = newton_polish(profile, np.asarray(res.x, dtype=np.float64))
    message = f"{res.message}; {steps} Newton polishing step(s)"
    return theta, int(res.nit) + steps, message, bool(res.success)


__all__ = ["GRADIENT_TOL", "START", "hessian", "lbfgsb", "newton_polish", "optimise",
           "projected_gradient_max"]
