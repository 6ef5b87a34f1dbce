"""Survival across sites from sums: the documented grid, per-site sums, the pooled fits.

A Kaplan–Meier curve and a Cox partial likelihood depend on the data only through sums over
risk sets, so a site that answers with those sums and a coordinator that adds them get the
curve and the fit of the pooled patients exactly, without seeing any patient. Risk sets of
different sites line up only on common times, so every site first puts its spells on the same
grid of intervals.

**The grid.** Times are in months (30.4375 days) from onset; a :class:`Grid` of ``width`` w
cuts them into intervals, interval k covering ((k−1)w, kw]. A patient's counting-process
spells (entry, stop] (sorted by entry, contiguous: each entry is the previous stop; tofersen
or any time-varying covariate changes at a boundary) are coarsened by :func:`coarsen`:

* the patient's first entry is floored, k = ⌊entry/w⌋ (at risk from the interval it falls
  in);
* every later boundary and every stop is ceiled, k = ⌈t/w⌉ (a change or an end in an
  interval counts at its end), with a tolerance of 1e-9 intervals so that 3.0/1.0 stays 3;
* a spell that becomes empty (entry index = stop index) is dropped; the event it carried
  moves to the patient's previous spell, which ends at the same index: a covariate change in
  the month of the event takes effect from the next month.

Events at the same index are ties, handled by Efron's method as R's ``coxph`` and lifelines.
With integer times in some unit (days, say), width 1 and entry 0 the grid changes nothing.

**Site sums.** :func:`km_counts` gives numbers at risk and events per interval;
:func:`cox_sums` every per-interval sum that Efron's partial likelihood, its gradient and
Hessian need at a proposed β (layout in :class:`CoxLayout`); :func:`max_weight_share` the
largest weight of one spell in a risk set, for the site's disclosure guard. Covariates are used
as given: whoever wants them centred centres them before.

**Coordinator.** From the summed vectors only: :func:`kaplan_meier_pooled` (the estimator of
:mod:`alsrwe.analytics.analyses.survival_estimators`), :func:`efron_terms` and
:func:`fit_cox_pooled` (Newton–Raphson with step halving; one evaluation is one network round).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from alsrwe.analytics.analyses.survival_estimators import (
    KaplanMeier,
    kaplan_meier_from_counts,
)
from alsrwe.federation.errors import FederationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_Terms = tuple[float, FloatArray, FloatArray]  # log partial likelihood, gradient, Hessian

_TOL = 1e-9  # in intervals: rounding of t/w that must not move a time to the next interval
_SCALAR_BLOCKS = frozenset({"d", "s0", "d0"})  # one number per interval
_COUNT_TOL = 1e-6  # a summed count further than this from an integer is not a count


def _error(field: str, rule: str, code: str) -> FederationError:
    return FederationError(field, rule, code=f"federation.survival.{code}")


@dataclass(frozen=True)
class Grid:
    """Intervals ((k−1)·width, k·width] of the time axis (months, module doc)."""

    width: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.width) and self.width > 0):
            raise _error("grid.width", "must be a finite number of months > 0", "grid")


def coarsen(spells: pd.DataFrame, grid: Grid, *, patient: str = "patient_id",
            entry: str = "entry", stop: str = "stop", event: str = "event") -> pd.DataFrame:
    """Spells on the grid (module doc): entry/stop become int64 interval indices.

    Other columns are carried; rows come back sorted by patient and entry.
    """
    missing = [c for c in (patient, entry, stop, event) if c not in spells.columns]
    if missing:
        raise _error("spells", f"needs the columns {missing}", "columns")
    frame = spells.sort_values([patient, entry], kind="stable").reset_index(drop=True)
    start = frame[entry].to_numpy(np.float64)
    end = frame[stop].to_numpy(np.float64)
    died = frame[event].to_numpy(np.float64)
    ids = frame[patient].to_numpy()
    _check_spells(ids, start, end, died)
    first = np.ones(len(frame), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    last = np.ones(len(frame), dtype=bool)
    last[:-1] = first[1:]
    if np.any(~first & ~np.isclose(start, np.roll(end, 1), rtol=0.0,
                                   atol=_TOL * grid.width)):
        raise _error("spells", "a patient's spells must be contiguous (entry = the previous "
                     "stop)", "spells")
    if np.any((died != 0) & ~last):
        raise _error("spells", "only a patient's last spell may carry the event", "spells")
    k_stop = np.ceil(end / grid.width - _TOL).astype(np.int64)
    k_entry = np.floor(start / grid.width + _TOL).astype(np.int64)
    k_entry[~first] = np.roll(k_stop, 1)[~first]  # a boundary is the previous stop, ceiled
    kept = k_entry < k_stop
    patient_event = pd.Series(died).groupby(ids, sort=False).transform("max").to_numpy()
    kept_ids = ids[kept]
    last_kept = np.ones(kept_ids.size, dtype=bool)
    last_kept[:-1] = kept_ids[1:] != kept_ids[:-1]
    out = frame.loc[kept].copy()
    out[entry] = k_entry[kept]
    out[stop] = k_stop[kept]
    out[event] = np.where(last_kept, patient_event[kept], 0.0).astype(np.int64)
    return out.reset_index(drop=True)


def _check_spells(ids: npt.NDArray[np.generic], start: FloatArray, end: FloatArray,
                  died: FloatArray) -> None:
    if pd.isna(ids).any() or not (np.all(np.isfinite(start)) and np.all(np.isfinite(end))):
        raise _error("spells", "patient, entry and stop must be given and finite", "spells")
    if np.any(start < 0) or np.any(start >= end):
        raise _error("spells", "needs 0 ≤ entry < stop (time from onset)", "spells")
    if np.any((died != 0) & (died != 1)):
        raise _error("spells", "event must be 0 or 1", "spells")


# --- site side -----------------------------------------------------------------------------


def _check_horizon(horizon: int) -> None:
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise _error("horizon", "must be a whole number of intervals ≥ 1", "horizon")


def _indices(coarse: pd.DataFrame, entry: str, stop: str) -> tuple[IntArray, IntArray]:
    start = coarse[entry].to_numpy()
    end = coarse[stop].to_numpy()
    if not (np.issubdtype(start.dtype, np.integer) and np.issubdtype(end.dtype, np.integer)):
        raise _error("spells", "entry and stop must be interval indices (coarsen)", "spells")
    return start.astype(np.int64), end.astype(np.int64)


def _person_intervals(start: IntArray, end: IntArray, horizon: int) -> tuple[IntArray, IntArray]:
    """(spell, interval − 1) for every interval 1..horizon a spell is at risk in."""
    lo = np.maximum(start, 0)
    hi = np.minimum(end, horizon)
    length = np.maximum(hi - lo, 0)
    spell = np.repeat(np.arange(start.size, dtype=np.int64), length)
    offset = np.arange(spell.size, dtype=np.int64) - np.repeat(np.cumsum(length) - length,
                                                               length)
    return spell, lo[spell] + offset


def _events_at(coarse: pd.DataFrame, end: IntArray, event: str,
               horizon: int) -> tuple[npt.NDArray[np.bool_], IntArray]:
    died = coarse[event].to_numpy(np.float64) != 0
    counted = died & (end >= 1) & (end <= horizon)
    return counted, end - 1


def km_counts(coarse: pd.DataFrame, horizon: int, *, entry: str = "entry", stop: str = "stop",
              event: str = "event") -> FloatArray:
    """(2, horizon): row 0 at risk in interval k (entry < k ≤ stop), row 1 events at k."""
    _check_horizon(horizon)
    start, end = _indices(coarse, entry, stop)
    _, k = _person_intervals(start, end, horizon)
    counted, at = _events_at(coarse, end, event, horizon)
    out = np.zeros((2, horizon), dtype=np.float64)
    out[0] = np.bincount(k, minlength=horizon)
    out[1] = np.bincount(at[counted], minlength=horizon)
    return out


@dataclass(frozen=True)
class CoxLayout:
    """Where each per-interval sum sits in the flat vector of :func:`cox_sums`.

    Blocks in this order, each for intervals k = 1..horizon (row-major, k first), with
    t = p(p+1)/2 upper-triangle entries (row-major, ``numpy.triu_indices``) for p×p parts and
    w = exp(xβ):

    ``d`` (h) events; ``xe`` (h, p) Σ x over events; ``s0`` (h), ``s1`` (h, p), ``s2`` (h, t)
    Σ w·(1, x, xxᵀ) over the risk set; ``d0`` (h), ``d1`` (h, p), ``d2`` (h, t) the same over
    the events of interval k.
    """

    p: int
    horizon: int

    def __post_init__(self) -> None:
        if isinstance(self.p, bool) or not isinstance(self.p, int) or self.p < 1:
            raise _error("covariates", "needs at least one covariate", "layout")
        _check_horizon(self.horizon)

    @property
    def blocks(self) -> tuple[tuple[str, int], ...]:
        """(name, entries per interval) in vector order."""
        p, t = self.p, self.p * (self.p + 1) // 2
        return (("d", 1), ("xe", p), ("s0", 1), ("s1", p), ("s2", t),
                ("d0", 1), ("d1", p), ("d2", t))

    @property
    def size(self) -> int:
        return self.horizon * sum(width for _, width in self.blocks)

    def split(self, vector: npt.ArrayLike) -> dict[str, FloatArray]:
        """The named blocks of a vector: (horizon,) for d, s0, d0, else (horizon, width)."""
        flat = np.asarray(vector, dtype=np.float64)
        if flat.shape != (self.size,):
            raise _error("sums", f"must be a vector of {self.size} numbers", "layout")
        out, at = {}, 0
        for name, width in self.blocks:
            part = flat[at:at + self.horizon * width]
            out[name] = part if name in _SCALAR_BLOCKS else part.reshape(self.horizon, width)
            at += self.horizon * width
        return out


def _design(coarse: pd.DataFrame, covariates: Sequence[str], beta: npt.ArrayLike) -> tuple[
        FloatArray, FloatArray]:
    if not covariates:
        raise _error("covariates", "needs at least one covariate", "layout")
    x = coarse[list(covariates)].to_numpy(np.float64)
    b = np.asarray(beta, dtype=np.float64)
    if b.shape != (len(covariates),) or not np.all(np.isfinite(b)):
        raise _error("beta", f"must be {len(covariates)} finite numbers", "beta")
    if not np.all(np.isfinite(x)):
        raise _error("covariates", "must be finite (no missing values)", "covariates")
    return x, x @ b


def cox_sums(coarse: pd.DataFrame, covariates: Sequence[str], beta: npt.ArrayLike,
             horizon: int, *, entry: str = "entry", stop: str = "stop",
             event: str = "event") -> FloatArray:
    """The per-interval sums of Efron's partial likelihood at β, laid out by CoxLayout."""
    layout = CoxLayout(len(covariates), horizon)
    x, eta = _design(coarse, covariates, beta)
    start, end = _indices(coarse, entry, stop)
    weight = np.exp(eta)
    upper = np.triu_indices(layout.p)
    ones = np.ones((x.shape[0], 1))
    terms = np.hstack([ones, x, (x[:, :, None] * x[:, None, :])[:, upper[0], upper[1]]])
    weighted = terms * weight[:, None]
    spell, k = _person_intervals(start, end, horizon)
    counted, at = _events_at(coarse, end, event, horizon)
    risk = _by_interval(weighted[spell], k, horizon)
    died = _by_interval(weighted[counted], at[counted], horizon)
    plain = _by_interval(terms[counted][:, :1 + layout.p], at[counted], horizon)
    p = layout.p
    parts = [plain[:, 0], plain[:, 1:], risk[:, 0], risk[:, 1:1 + p], risk[:, 1 + p:],
             died[:, 0], died[:, 1:1 + p], died[:, 1 + p:]]
    return np.concatenate([part.ravel() for part in parts])


def _by_interval(values: FloatArray, k: IntArray, horizon: int) -> FloatArray:
    """Column sums of ``values`` grouped by interval index (0-based) into (horizon, m)."""
    out = np.zeros((horizon, values.shape[1]), dtype=np.float64)
    for column in range(values.shape[1]):
        out[:, column] = np.bincount(k, weights=values[:, column], minlength=horizon)
    return out


def max_weight_share(coarse: pd.DataFrame, covariates: Sequence[str], beta: npt.ArrayLike,
                     horizon: int, min_at_risk: int = 3, *, entry: str = "entry",
                     stop: str = "stop") -> float:
    """Largest exp(x_iβ)/S0_k of one spell, over intervals with ≥ min_at_risk spells at risk.

    Near 1 when β singles out one patient; 0.0 when no interval has enough spells at risk.
    """
    _check_horizon(horizon)
    _, eta = _design(coarse, covariates, beta)
    start, end = _indices(coarse, entry, stop)
    spell, k = _person_intervals(start, end, horizon)
    size = np.bincount(k, minlength=horizon)
    top = np.full(horizon, -np.inf)
    np.maximum.at(top, k, eta[spell])
    scaled = np.bincount(k, weights=np.exp(eta[spell] - top[k]), minlength=horizon)
    shown = size >= min_at_risk
    return float(np.max(1.0 / scaled[shown])) if np.any(shown) else 0.0


# --- coordinator side ----------------------------------------------------------------------


def _counts(values: FloatArray, field: str) -> FloatArray:
    rounded = np.rint(values)
    if np.any(~np.isfinite(values)) or np.any(np.abs(values - rounded) > _COUNT_TOL) or np.any(
            rounded < 0):
        raise _error(field, "summed counts must be whole numbers ≥ 0", "counts")
    return rounded


def kaplan_meier_pooled(counts: npt.ArrayLike, grid: Grid, level: float = 0.95, *,
                        n: int | None = None) -> KaplanMeier:
    """Kaplan–Meier curve from summed km_counts, at times k·width (intervals with anyone at
    risk); R survfit's table, median and log-limits conventions.

    The counts do not hold the number of patients: pass ``n`` (summed separately), else the
    largest number at risk is reported, a lower bound.
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] != 2 or table.shape[1] < 1:
        raise _error("counts", "must be an array of shape (2, horizon)", "counts")
    at_risk, events = _counts(table[0], "counts"), _counts(table[1], "counts")
    if np.any(events > at_risk):
        raise _error("counts", "more events than patients at risk in an interval", "counts")
    shown = np.flatnonzero(at_risk > 0)
    if shown.size == 0:
        raise _error("counts", "nobody at risk", "counts")
    times = (shown + 1) * grid.width
    patients = int(np.max(at_risk)) if n is None else int(n)
    return kaplan_meier_from_counts(times, at_risk[shown], events[shown], n=patients,
                                    level=level)


def efron_terms(total: npt.ArrayLike, layout: CoxLayout,
                beta: npt.ArrayLike) -> tuple[float, FloatArray, FloatArray]:
    """Efron log partial likelihood, gradient and Hessian at β from the summed vector."""
    parts = layout.split(total)
    b = np.asarray(beta, dtype=np.float64)
    if b.shape != (layout.p,):
        raise _error("beta", f"must be {layout.p} numbers", "beta")
    d = _counts(parts["d"], "sums")
    s1, d1 = parts["s1"], parts["d1"]
    s2, d2 = _square(parts["s2"], layout.p), _square(parts["d2"], layout.p)
    loglik = float(np.sum(parts["xe"] @ b))
    gradient = parts["xe"].sum(axis=0)
    hessian = np.zeros((layout.p, layout.p))
    for share in range(int(np.max(d, initial=0.0))):
        tied = d > share
        a = np.where(tied, share / np.where(tied, d, 1.0), 0.0)
        phi = parts["s0"] - a * parts["d0"]
        if np.any(phi[tied] <= 0):
            raise _error("sums", "a risk set with events has no weight", "sums")
        phi = np.where(tied, phi, 1.0)
        mean1 = (s1 - a[:, None] * d1) / phi[:, None]
        mean2 = (s2 - a[:, None, None] * d2) / phi[:, None, None]
        loglik -= float(np.sum(np.log(phi[tied])))
        gradient = gradient - mean1[tied].sum(axis=0)
        outer = mean1[:, :, None] * mean1[:, None, :]
        hessian = hessian - (mean2 - outer)[tied].sum(axis=0)
    return loglik, gradient, hessian


def _square(triangle: FloatArray, p: int) -> FloatArray:
    """(h, t) upper triangles to (h, p, p) symmetric matrices."""
    out = np.zeros((triangle.shape[0], p, p))
    rows, cols = np.triu_indices(p)
    out[:, rows, cols] = triangle
    out[:, cols, rows] = triangle
    return out


@dataclass(frozen=True, eq=False)
class PooledCox:
    """A Cox model (Efron ties) fitted from summed sums; ``evaluations`` = network rounds."""

    covariates: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    covariance: FloatArray
    loglik: float
    loglik_null: float
    iterations: int
    evaluations: int
    converged: bool
    events: int
    level: float

    def to_frame(self) -> pd.DataFrame:
        """Index term; coef, se, hr and its Wald limits at ``level``, z, p (as CoxFit)."""
        z = float(stats.norm.ppf(0.5 + self.level / 2.0))
        wald = self.coef / self.se
        return pd.DataFrame({
            "coef": self.coef, "se": self.se, "hr": np.exp(self.coef),
            "lower": np.exp(self.coef - z * self.se), "upper": np.exp(self.coef + z * self.se),
            "z": wald, "p": 2.0 * stats.norm.sf(np.abs(wald)),
        }, index=pd.Index(list(self.covariates), name="term"))


def fit_cox_pooled(evaluate: Callable[[FloatArray], npt.ArrayLike], layout: CoxLayout,
                   covariates: Sequence[str], level: float = 0.95,
                   max_iter: int = 30) -> PooledCox:
    """Newton–Raphson from β = 0 with step halving; ``evaluate(β)`` is the summed vector.

    Stops when the log-likelihood changes by < 1e-14 relatively or max|step| < 1e-12; the SEs
    come from the Hessian at the last accepted β, which was evaluated there.
    """
    names = tuple(covariates)
    if len(names) != layout.p:
        raise _error("covariates", f"must name the layout's {layout.p} covariates", "layout")
    beta = np.zeros(layout.p)
    evaluations = 1
    total = np.asarray(evaluate(beta.copy()), dtype=np.float64)
    loglik, gradient, hessian = efron_terms(total, layout, beta)
    loglik_null, events = loglik, int(round(float(layout.split(total)["d"].sum())))
    converged, iterations = False, 0
    while iterations < max_iter and not converged:
        iterations += 1
        step = _solve(-hessian, gradient)
        if float(np.max(np.abs(step))) < 1e-12:
            converged = True
            break
        used, found = _halving(evaluate, layout, beta, step, loglik)
        evaluations += used
        if found is None:
            break  # no step along the Newton direction improves the likelihood: not converged
        step, terms = found
        change = abs(terms[0] - loglik) / max(abs(loglik), 1e-300)
        beta = beta + step
        loglik, gradient, hessian = terms
        converged = change < 1e-14 or float(np.max(np.abs(step))) < 1e-12
    covariance = _solve(-hessian, np.eye(layout.p))
    return PooledCox(names, beta, np.sqrt(np.diag(covariance)), covariance, loglik,
                     loglik_null, iterations, evaluations, converged, events, level)


def _halving(evaluate: Callable[[FloatArray], npt.ArrayLike], layout: CoxLayout,
             beta: FloatArray, step: FloatArray, loglik: float, halvings: int = 20
             ) -> tuple[int, tuple[FloatArray, _Terms] | None]:
    """Halve ``step`` until the likelihood does not drop: (evaluations, (step, terms) or None)."""
    for count in range(1, halvings + 1):
        terms = _try_terms(evaluate, layout, beta + step)
        if terms is not None and terms[0] >= loglik - 1e-12 * abs(loglik):
            return count, (step, terms)
        step = (step / 2.0).astype(np.float64)
    return halvings, None


def _solve(information: FloatArray, right: FloatArray) -> FloatArray:
    singular = _error("covariates", "the information matrix is singular (collinear or "
                      "constant covariates)", "singular")
    try:
        out: FloatArray = np.asarray(np.linalg.solve(information, right), dtype=np.float64)
    except np.linalg.LinAlgError as error:
        raise singular from error
    if not np.all(np.isfinite(out)):
        raise singular
    return out


def _try_terms(evaluate: Callable[[FloatArray], npt.ArrayLike], layout: CoxLayout,
               beta: FloatArray) -> _Terms | None:
    """Efron terms at β, or None when the sums overflow there (a step too far)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.asarray(evaluate(beta.copy()), dtype=np.float64)
    if not np.all(np.isfinite(total)):
        return None
    terms = efron_terms(total, layout, beta)
    return terms if math.isfinite(terms[0]) else None


__all__ = ["CoxLayout", "Grid", "PooledCox", "coarsen", "cox_sums", "efron_terms",
           "fit_cox_pooled", "kaplan_meier_pooled", "km_counts", "max_weight_share"]
