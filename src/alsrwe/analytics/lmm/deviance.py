"""The profiled deviance of the random intercept and slope model and its analytic gradient.

For each θ the penalised least-squares problem of Bates, Mächler, Bolker & Walker (2015),
"Fitting Linear Mixed-Effects Models Using lme4", J Stat Softw 67(1), is solved in closed
form from the per-group sufficient statistics (``alsrwe.analytics.lmm.sufficient``):

    ML   (eq. 34)  d(θ) = log|L_θ|² + n (1 + log(2π r²(θ) / n))
    REML (eq. 41)  d(θ) = log|L_θ|² + log|R_X|² + (n−p)(1 + log(2π r²(θ) / (n−p)))

with ``log|L_θ|² = Σᵢ log|Mᵢ|``, ``Mᵢ = ΛᵀSᵢΛ + I`` and ``Sᵢ = ZᵢᵀZᵢ``. Every 2×2 ``Mᵢ`` is
inverted with its adjugate for all groups at once. With ``Aᵢ = Zᵢᵀ[Xᵢ, yᵢ]`` (2×(p+1)) every
quantity the deviance and its gradient need is a sum over groups of a product of two of

    Rᵢ = Mᵢ⁻¹ΛᵀAᵢ,   Cᵢ = ΛRᵢ,   Fᵢ = Aᵢ − SᵢCᵢ = Zᵢᵀ Vᵢ⁻¹ [Xᵢ, yᵢ]   (Vᵢ = I + ZᵢΛΛᵀZᵢᵀ),

so one pass over the groups (in blocks, so that temporaries stay in cache) forms three
(2p+2)² Gram products, and β̂ enters only afterwards. See ``ProfiledDeviance.gradient``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from alsrwe.analytics.lmm.sufficient import FloatArray, LmmError, SufficientStats

BLOCK = 2048  # groups per block: its temporaries stay in L2 cache


@dataclass(frozen=True)
class Solution:
    """The penalised least-squares solution at one θ (scaled slope units), with the sums
    over groups that the gradient needs (so that it costs no second pass)."""

    deviance: float
    beta: FloatArray
    r2: float
    rx: FloatArray  # lower Cholesky factor of R_XᵀR_X = Xᵀ V⁻¹ X (up to σ²)
    fr: FloatArray  # Σᵢ FᵢᵀRᵢ blocks, (2, 2, p+1, p+1): [a][b] = Σ F_aᵀ R_b
    ff: FloatArray  # Σᵢ FᵢᵀFᵢ blocks, (2, 2, p+1, p+1)
    logdet_terms: FloatArray  # Σᵢ (Mᵢ⁻¹ΛᵀSᵢ)₁₁, (·)₁₂, (·)₂₂


@dataclass(frozen=True)
class GroupSums:
    """The sums over groups at one θ: Σ log|Mᵢ|, Σ AᵢᵀCᵢ (q×q), Σ FᵢᵀRᵢ and Σ FᵢᵀFᵢ as
    (2q×2q) Gram blocks, and the three log-determinant gradient terms (q = p + 1)."""

    logdet: float
    ac: FloatArray
    fr: FloatArray
    ff: FloatArray
    ld: FloatArray

    def to_vector(self) -> FloatArray:
        """All sums as one float vector (``from_vector`` reads it back)."""
        return np.concatenate([[self.logdet], self.ac.ravel(), self.fr.ravel(),
                               self.ff.ravel(), self.ld])

    @classmethod
    def from_vector(cls, vector: FloatArray, p: int) -> GroupSums:
        """The sums from ``to_vector``'s layout for p fixed effects."""
        q = p + 1
        sizes = [1, q * q, 4 * q * q, 4 * q * q, 3]
        if len(vector) != sum(sizes):
            raise LmmError("sums", f"needs {sum(sizes)} values for {p} fixed effects, "
                                   f"got {len(vector)}")
        parts = np.split(np.asarray(vector, dtype=np.float64), np.cumsum(sizes)[:-1])
        return cls(float(parts[0][0]), parts[1].reshape(q, q), parts[2].reshape(2 * q, 2 * q),
                   parts[3].reshape(2 * q, 2 * q), parts[4])


class ProfiledDeviance:
    """The profiled deviance d(θ), its gradient and the conditional modes."""

    def __init__(
        self, stats: SufficientStats, reml: bool, slope_scale: float, block: int = BLOCK
    ) -> None:
        c = slope_scale
        n_groups, p = stats.n_groups, stats.n_fixed
        # Structure of arrays, groups last, so that every array operation runs along groups:
        # s = (nᵢ, Σ s, Σ s²) as (3, G) and A = Zᵢᵀ[Xᵢ, yᵢ] as (2, p+1, G).
        self.s = np.ascontiguousarray(
            np.stack([stats.ztz[:, 0, 0], stats.ztz[:, 0, 1] / c, stats.ztz[:, 1, 1] / (c * c)])
        )
        self.a = np.empty((2, p + 1, n_groups))
        self.a[:, :p, :] = stats.ztx.transpose(1, 2, 0)
        self.a[:, p, :] = stats.zty.T
        self.a[1] /= c
        self.wtw = np.empty((p + 1, p + 1))
        self.wtw[:p, :p] = stats.xtx
        self.wtw[:p, p] = self.wtw[p, :p] = stats.xty
        self.wtw[p, p] = stats.yty
        self.p = p
        self.reml = reml
        self.slope_scale = slope_scale
        self.block = max(1, int(block))
        self.n_eff = float(stats.n_obs - p if reml else stats.n_obs)
        self.terms = stats.terms
        self.groups: pd.Index | None = stats.groups
        self.n_obs, self.n_groups = stats.n_obs, stats.n_groups

    def _weights(
        self, theta: FloatArray, s: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per group: log|Mᵢ|, K = Mᵢ⁻¹Λᵀ as rows (k00, k01, k10, k11) and Mᵢ⁻¹ as rows
        (i11, i12, i22)."""
        t1, t2, t3 = (float(t) for t in theta)
        coef = np.array(
            [[t1 * t1, 2.0 * t1 * t2, t2 * t2], [0.0, t3 * t1, t3 * t2], [0.0, 0.0, t3 * t3]]
        )
        m = coef @ s  # rows m11 − 1, m12, m22 − 1
        m[0] += 1.0
        m[2] += 1.0
        det = m[0] * m[2]
        det -= m[1] * m[1]
        inv = m[::-1] / det  # (m22, m12, m11) / det = (i11, −i12, i22)
        inv[1] *= -1.0
        k = np.empty((4, s.shape[1]))
        np.multiply(t1, inv[0], out=k[0])
        np.multiply(t2, inv[0], out=k[1])
        k[1] += t3 * inv[1]
        np.multiply(t1, inv[1], out=k[2])
        np.multiply(t2, inv[1], out=k[3])
        k[3] += t3 * inv[2]
        return np.log(det), k, inv

    def _block_products(
        self, theta: FloatArray, sl: slice
    ) -> tuple[float, FloatArray, FloatArray, FloatArray, FloatArray]:
        """One block: Σ log|Mᵢ|, Σ AᵀΛR, Σ FᵀR, Σ FᵀF (as (2q, 2q)) and the log-det terms."""
        t1, t2, t3 = (float(t) for t in theta)
        s, a = self.s[:, sl], self.a[:, :, sl]
        logdet, k, inv = self._weights(theta, s)
        a0, a1 = a[0], a[1]  # (q, g)
        r = np.empty_like(a)
        np.multiply(k[0], a0, out=r[0])
        r[0] += k[1] * a1
        np.multiply(k[2], a0, out=r[1])
        r[1] += k[3] * a1
        c0 = t1 * r[0]  # C = ΛR
        c1 = t2 * r[0]
        c1 += t3 * r[1]
        f = a.copy()  # F = A − S C
        f[0] -= s[0] * c0
        f[0] -= s[1] * c1
        f[1] -= s[1] * c0
        f[1] -= s[2] * c1
        q, g = a.shape[1], a.shape[2]
        rr, ff_ = r.reshape(2 * q, g), f.reshape(2 * q, g)
        ac = a0 @ c0.T + a1 @ c1.T  # Σ AᵀΛMᵢ⁻¹ΛᵀA
        fr = ff_ @ rr.T
        ff = ff_ @ ff_.T if self.reml else np.zeros((2 * q, 2 * q))
        sk = inv @ s.T  # rows i11, i12, i22 · columns s0, s1, s2
        ld = np.array(
            [
                t1 * sk[0, 0] + t2 * sk[0, 1] + t3 * sk[1, 1],
                t1 * sk[0, 1] + t2 * sk[0, 2] + t3 * sk[1, 2],
                t3 * sk[2, 2] + t1 * sk[1, 1] + t2 * sk[1, 2],
            ]
        )
        return float(np.sum(logdet)), ac, fr, ff, ld

    def group_sums(self, theta: FloatArray) -> GroupSums:
        """One pass over the groups: every sum over groups the deviance and its gradient need.

        Sums over groups only, so the sums of disjoint sets of groups add up to the sums of
        their union (a federated fit adds them across sites, ``alsrwe.federation``).
        """
        q = self.p + 1
        ac = np.zeros((q, q))
        fr, ff = np.zeros((2 * q, 2 * q)), np.zeros((2 * q, 2 * q))
        ld = np.zeros(3)
        logdet_l = 0.0
        for start in range(0, self.s.shape[1], self.block):
            sl = slice(start, start + self.block)
            blk_logdet, blk_ac, blk_fr, blk_ff, blk_ld = self._block_products(theta, sl)
            logdet_l += blk_logdet
            ac += blk_ac
            fr += blk_fr
            ff += blk_ff
            ld += blk_ld
        return GroupSums(logdet_l, ac, fr, ff, ld)

    def solve(self, theta: FloatArray) -> Solution:
        """The Schur complement, β̂(θ), r²(θ), d(θ) and the sums the gradient needs."""
        return self.finish(self.group_sums(theta))

    def finish(self, sums: GroupSums) -> Solution:
        """The solution at θ from the sums over groups at θ (and the totals XᵀX, Xᵀy, yᵀy)."""
        q = self.p + 1
        schur = self.wtw - sums.ac
        try:
            chol = np.linalg.cholesky(schur)
        except np.linalg.LinAlgError as err:
            raise LmmError("fixed", "the fixed design is numerically rank deficient") from err
        p = self.p
        rx = np.asarray(chol[:p, :p], dtype=np.float64)
        r2 = float(chol[p, p] ** 2)
        beta = linalg.cho_solve((rx, True), schur[:p, p])
        deviance = sums.logdet + self.n_eff * (1.0 + math.log(2.0 * math.pi * r2 / self.n_eff))
        if self.reml:
            deviance += 2.0 * float(np.sum(np.log(np.diag(rx))))
        split = (2, q, 2, q)
        return Solution(
            deviance,
            beta,
            r2,
            rx,
            sums.fr.reshape(split).transpose(0, 2, 1, 3).copy(),
            sums.ff.reshape(split).transpose(0, 2, 1, 3).copy(),
            sums.ld,
        )

    def modes(self, theta: FloatArray, sol: Solution) -> tuple[FloatArray, FloatArray]:
        """Conditional modes uᵢ = Mᵢ⁻¹ ΛᵀZᵢᵀ(yᵢ − Xᵢβ̂) = KᵢAᵢγ as two (G,) arrays."""
        gamma = np.append(-sol.beta, 1.0)
        n_groups = self.s.shape[1]
        u0, u1 = np.empty(n_groups), np.empty(n_groups)
        for start in range(0, n_groups, self.block):
            sl = slice(start, start + self.block)
            _, k, _ = self._weights(theta, self.s[:, sl])
            ag0, ag1 = gamma @ self.a[0, :, sl], gamma @ self.a[1, :, sl]
            u0[sl] = k[0] * ag0 + k[1] * ag1
            u1[sl] = k[2] * ag0 + k[3] * ag1
        return u0, u1

    def gradient(self, theta: FloatArray, sol: Solution) -> FloatArray:
        """∂d/∂θ, analytic, from the sums kept in ``sol``; ``Eₐᵦ`` is ∂Λ/∂θₖ (E₁₁, E₂₁, E₂₂).

        * ``∂ log|Mᵢ| = 2 tr(Mᵢ⁻¹ ΛᵀSᵢ Eₐᵦ)``.
        * ``∂r² = −2 Σᵢ eᵢᵀ Eₐᵦ uᵢ`` with uᵢ = Rᵢγ, eᵢ = Zᵢᵀ(yᵢ − Xᵢβ̂ − ZᵢΛuᵢ) = Fᵢγ and
          γ = (−β̂, 1): r² is a minimum over (u, β), so only its explicit dependence on θ
          counts (envelope theorem).
        * REML: ``∂ log|Xᵀ V⁻¹ X| = −2 tr(Eₐᵦ Λᵀ Σᵢ Hᵢ A⁻¹ Hᵢᵀ)``, Hᵢ = Zᵢᵀ Vᵢ⁻¹ Xᵢ (the first
          p columns of Fᵢ), A = XᵀV⁻¹X.
        """
        t1, t2, t3 = (float(t) for t in theta)
        gamma = np.append(-sol.beta, 1.0)
        fr = sol.fr
        grad_r2 = np.array(
            [gamma @ fr[0, 0] @ gamma, gamma @ fr[1, 0] @ gamma, gamma @ fr[1, 1] @ gamma]
        )
        grad = 2.0 * sol.logdet_terms - (2.0 * self.n_eff / sol.r2) * grad_r2
        if self.reml:
            p = self.p
            a_inv = linalg.cho_solve((sol.rx, True), np.eye(p))
            k00, k01, k11 = (
                float(np.sum(a_inv * sol.ff[i, j, :p, :p])) for i, j in ((0, 0), (0, 1), (1, 1))
            )
            grad -= 2.0 * np.array([t1 * k00 + t2 * k01, t1 * k01 + t2 * k11, t3 * k11])
        return grad

    def value_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """d(θ) and ∂d/∂θ, the objective handed to the optimiser."""
        sol = self.solve(theta)
        return sol.deviance, self.gradient(theta, sol)


@dataclass(frozen=True)
class Totals:
    """What a fit needs besides the sums over groups at θ: the terms, ``[X y]ᵀ[X y]`` (q×q),
    the counts and Σ s² (for the slope's scale). Sums of disjoint sets of groups add up."""

    terms: tuple[str, ...]
    wtw: FloatArray
    n_obs: int
    n_groups: int
    slope_ss: float


class SummedDeviance(ProfiledDeviance):
    """The profiled deviance when the sums over groups are computed elsewhere.

    ``sums_at(θ)`` returns the :class:`GroupSums` at θ (on the slope scale ``slope_scale``),
    e.g. added up over the sites of a federated network; everything else, and hence the
    optimiser, the boundary check and the result, is that of :class:`ProfiledDeviance`.
    There are no groups here, so no conditional modes (BLUPs).
    """

    def __init__(self, totals: Totals, reml: bool, slope_scale: float,
                 sums_at: Callable[[FloatArray], GroupSums]) -> None:
        p = len(totals.terms)
        if totals.wtw.shape != (p + 1, p + 1):
            raise LmmError("totals", f"needs a {p + 1}×{p + 1} cross-product matrix")
        self.wtw = np.asarray(totals.wtw, dtype=np.float64)
        self.p = p
        self.reml = reml
        self.slope_scale = slope_scale
        self.block = BLOCK
        self.n_eff = float(totals.n_obs - p if reml else totals.n_obs)
        self.terms = totals.terms
        self.groups = None
        self.n_obs, self.n_groups = totals.n_obs, totals.n_groups
        self._sums_at = sums_at

    def group_sums(self, theta: FloatArray) -> GroupSums:
        return self._sums_at(np.asarray(theta, dtype=np.float64))

    def modes(self, theta: FloatArray, sol: Solution) -> tuple[FloatArray, FloatArray]:
        raise LmmError("blups", "are not available when the sums over groups come from elsewhere")


def slope_scale_of(slope_ss: float, n_obs: int) -> float:
    """The slope column's root mean square, the internal unit of θ (see profiled_deviance)."""
    slope_scale = math.sqrt(slope_ss / n_obs) if n_obs > 0 else 0.0
    if not slope_scale > 0.0:
        raise LmmError("slope", "is zero in every row")
    return slope_scale


def profiled_deviance(stats: SufficientStats, reml: bool, block: int = BLOCK) -> ProfiledDeviance:
    """The profiled deviance of ``stats``, on a slope column rescaled to unit root mean square.

    With that scale θ = (1, 0, 1) is a sensible start whatever the slope's units; the model
    (and the optimum) is unchanged.
    """
    n, p = stats.n_obs, stats.n_fixed
    if n <= p:
        raise LmmError("data", f"needs more rows than fixed effects ({p}), got {n}")
    slope_scale = slope_scale_of(float(stats.ztz[:, 1, 1].sum()), n)
    return ProfiledDeviance(stats, reml, slope_scale, block)


__all__ = ["BLOCK", "GroupSums", "ProfiledDeviance", "Solution", "SummedDeviance", "Totals",
           "profiled_deviance", "slope_scale_of"]
