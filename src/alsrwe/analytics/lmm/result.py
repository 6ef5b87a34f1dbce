"""The fitted mixed model as reported: estimates, diagnostics and their JSON form.

Kept apart from the optimiser so that every path that ends in a fit (the optimiser, the
boundary check, an evaluation at a given θ) builds the same result the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from alsrwe.analytics.lmm.deviance import ProfiledDeviance, Solution
from alsrwe.analytics.lmm.sufficient import FloatArray, LmmError

# lme4's isSingular(): a diagonal element of Λ within 1e-4 of its lower bound 0.
SINGULAR_TOL = 1e-4


@dataclass(frozen=True, eq=False)
class LmmResult:
    """A fitted random intercept and slope model; diagnostics travel with the estimates.

    ``criterion`` is −2 × the restricted log-likelihood (REML; lme4's ``REMLcrit``) or
    −2 × the log-likelihood (ML; lme4's ``deviance``). ``singular`` flags a boundary fit
    (a variance at zero or a correlation at ±1), as lme4's ``isSingular``; it is only
    reported once the boundary has been checked to be the optimum. ``optimum_check`` says
    how the optimum was verified (interior gradient, or which way the criterion goes when
    leaving the boundary). ``theta`` is lme4's θ in the data's units. ``blups`` holds the
    conditional modes bᵢ = Λuᵢ. ``rows_dropped_missing`` counts the rows left out for a
    missing value in a used column (lme4's ``na.omit``).
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
    optimum_check: str = ""
    rows_dropped_missing: int = 0

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
        for name in ("n_obs", "n_groups", "iterations", "rows_dropped_missing"):
            out[name] = int(getattr(self, name))
        out["message"] = self.message
        out["optimum_check"] = self.optimum_check
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


def build_result(
    profile: ProfiledDeviance,
    theta: FloatArray,
    sol: Solution,
    *,
    converged: bool,
    iterations: int,
    message: str,
    optimum_check: str,
) -> LmmResult:
    """The reported fit at θ (scaled slope units, as the optimiser sees it)."""
    sigma = math.sqrt(sol.r2 / profile.n_eff)
    rx_inv = np.linalg.inv(sol.rx)
    se = sigma * np.sqrt(np.sum(rx_inv * rx_inv, axis=0))
    scale = 1.0 / profile.slope_scale
    t1, t2, t3 = float(theta[0]), float(theta[1]) * scale, float(theta[2]) * scale
    slope_norm = math.hypot(t2, t3)
    corr = t2 / slope_norm if t1 > 0.0 and slope_norm > 0.0 else math.nan
    if profile.groups is None:  # sums from elsewhere (a federated fit): no modes
        blups = pd.DataFrame({"group": [], "intercept": [], "slope": []})
    else:
        u0, u1 = profile.modes(theta, sol)
        blups = pd.DataFrame(
            {
                "group": profile.groups.to_numpy(),
                "intercept": t1 * u0,
                "slope": (float(theta[1]) * u0 + float(theta[2]) * u1) * scale,
            }
        )
    singular = min(float(theta[0]), float(theta[2])) < SINGULAR_TOL
    return LmmResult(
        fixed={t: float(b) for t, b in zip(profile.terms, sol.beta, strict=True)},
        se={t: float(s) for t, s in zip(profile.terms, se, strict=True)},
        sd_intercept=sigma * t1,
        sd_slope=sigma * slope_norm,
        corr=corr,
        sd_residual=sigma,
        criterion=sol.deviance,
        blups=blups,
        converged=converged,
        singular=singular,
        n_obs=profile.n_obs,
        n_groups=profile.n_groups,
        reml=profile.reml,
        iterations=iterations,
        theta=(t1, t2, t3),
        message=message,
        optimum_check=optimum_check,
    )


__all__ = ["SINGULAR_TOL", "LmmResult", "build_result"]
