"""An independent reference for the mixed model: the likelihood from its definition, maximised
by Nelder–Mead from many starts.

Nothing here shares code or parametrisation with ``alsrwe.analytics.lmm``: no sufficient
statistics, no profiling, no θ relative to σ, no bounds. Per group the marginal covariance is
``Vᵢ = Zᵢ G Zᵢᵀ + σ² I`` with ``G = LLᵀ`` (L lower triangular, any sign), β is the GLS
estimate, and

    ML    −2 log L   = Σ log|Vᵢ| + Σ rᵢᵀVᵢ⁻¹rᵢ + n log 2π
    REML  −2 log L_R = Σ log|Vᵢ| + Σ rᵢᵀVᵢ⁻¹rᵢ + log|XᵀV⁻¹X| + (n − p) log 2π

(lme4's ``deviance`` and ``REMLcrit``). The four parameters (L₁₁, L₂₁, L₂₂, log σ) are
unconstrained, so a boundary optimum is just L₂₂ → 0, reached from either side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize

Array = NDArray[np.float64]


@dataclass(frozen=True)
class DenseFit:
    params: Array  # (L₁₁, L₂₁, L₂₂, log σ), scaled by DenseModel's y_scale and t_scale
    criterion: float
    beta: Array
    sd_intercept: float
    sd_slope: float
    corr: float
    sigma: float


class DenseModel:
    """The rows of ``y ~ 1 + fixed + (1 + slope | group)``, batched by group size."""

    def __init__(self, data: pd.DataFrame, y: str, fixed: Sequence[str], group: str,
                 slope: str, reml: bool) -> None:
        self.reml = reml
        self.n = len(data)
        self.p = 1 + len(fixed)
        self.batches: list[tuple[Array, Array, Array]] = []  # (Z, X, y) as (G, m, ·)
        sizes = data.groupby(group)[y].transform("size")
        for _, rows in data.groupby(sizes):
            parts = [part for _, part in rows.groupby(group)]
            x = np.stack([np.column_stack([np.ones(len(r)), *(r[f].to_numpy(float) for f in fixed)])
                          for r in parts])
            z = np.stack([np.column_stack([np.ones(len(r)), r[slope].to_numpy(float)])
                          for r in parts])
            self.batches.append((z, x, np.stack([r[y].to_numpy(float) for r in parts])))
        # Scales that make the parameters O(1): the spread of y and the RMS of the slope.
        self.y_scale = float(np.std(data[y].to_numpy(float))) or 1.0
        self.t_scale = float(np.sqrt(np.mean(data[slope].to_numpy(float) ** 2))) or 1.0

    def _unpack(self, params: Array) -> tuple[Array, float]:
        l11, l21, l22, log_sigma = params
        lower = np.array([[l11 * self.y_scale, 0.0],
                          [l21 * self.y_scale / self.t_scale, l22 * self.y_scale / self.t_scale]])
        return lower @ lower.T, math.exp(2.0 * log_sigma) * self.y_scale**2

    def evaluate(self, params: Array) -> tuple[float, Array]:
        """The criterion at ``params`` and its GLS β."""
        cov, sigma2 = self._unpack(params)
        logdet, xvx, xvy, pieces = 0.0, np.zeros((self.p, self.p)), np.zeros(self.p), []
        for z, x, y in self.batches:
            v = z @ cov @ z.transpose(0, 2, 1) + sigma2 * np.eye(z.shape[1])
            chol = np.linalg.cholesky(v)
            logdet += 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
            wx = np.linalg.solve(chol, x)  # C⁻¹X, so that XᵀV⁻¹X = (C⁻¹X)ᵀ(C⁻¹X)
            wy = np.linalg.solve(chol, y[..., None])[..., 0]
            xvx += np.einsum("gmi,gmj->ij", wx, wx)
            xvy += np.einsum("gmi,gm->i", wx, wy)
            pieces.append((wx, wy))
        beta = np.asarray(np.linalg.solve(xvx, xvy), dtype=np.float64)
        quad = sum(float(np.sum((wy - wx @ beta) ** 2)) for wx, wy in pieces)
        value = logdet + quad
        if self.reml:
            value += float(np.linalg.slogdet(xvx)[1]) + (self.n - self.p) * math.log(2 * math.pi)
        else:
            value += self.n * math.log(2 * math.pi)
        return value, beta

    def criterion(self, params: Array) -> float:
        try:
            return self.evaluate(params)[0]
        except np.linalg.LinAlgError:
            return math.inf

    def fit(self, starts: Sequence[Sequence[float]] | None = None) -> DenseFit:
        """Nelder–Mead from every start, then restarted from the best until it stops moving."""
        if starts is None:  # σ from the spread of y; small and large variances, both signs
            s = math.log(0.5)
            starts = [(a, b, c, s) for a in (0.1, 1.0) for b in (-0.3, 0.3) for c in (0.02, 0.3)]
        options = {"xatol": 1e-10, "fatol": 1e-12, "maxfev": 20_000, "maxiter": 20_000}
        best = min((optimize.minimize(self.criterion, np.array(s, dtype=float),
                                      method="Nelder-Mead", options=options) for s in starts),
                   key=lambda r: float(r.fun))
        x, value = np.asarray(best.x), float(best.fun)
        for _ in range(20):  # restarts: Nelder–Mead's simplex can collapse before the optimum
            again = optimize.minimize(self.criterion, x, method="Nelder-Mead", options=options)
            if float(again.fun) >= value - 1e-12:
                break
            x, value = np.asarray(again.x), float(again.fun)
        value, beta = self.evaluate(x)
        cov, sigma2 = self._unpack(x)
        sd0, sd1 = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
        corr = cov[0, 1] / (sd0 * sd1) if sd0 > 0.0 and sd1 > 0.0 else math.nan
        return DenseFit(x, value, beta, sd0, sd1, corr, math.sqrt(sigma2))


def dense_fit(data: pd.DataFrame, y: str, fixed: Sequence[str], group: str, slope: str,
              reml: bool = True) -> DenseFit:
    """The reference optimum of ``y ~ 1 + fixed + (1 + slope | group)``."""
    return DenseModel(data, y, fixed, group, slope, reml).fit()
