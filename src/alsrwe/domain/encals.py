"""The ENCALS survival model: predicted event-free survival from symptom onset.

Westeneng HJ et al., Lancet Neurol 2018;17:423-33, doi 10.1016/S1474-4422(18)30089-9: a
proportional-odds Royston–Parmar model of the time from symptom onset to NIV > 23 h/day,
tracheostomy or death. Coefficients, transformations, spline and knots are those of
docs/domain-rules.md §6.1 and §16, read from a public R implementation of the Lancet model and
NOT cross-checked against the paper's supplement. Time is in months since onset (365.25/12
days, convention 1).

The baseline is a restricted cubic spline in x = ln t. Here the last term of each basis
function is cubed, ``(x − kmax)+³``, as the Royston–Parmar basis requires (the spline is then
linear beyond kmax); the public R code omits that cube, which is a bug (§6.1). It matters only
beyond kmax, i.e. more than e^5.917 ≈ 371 months (31 years) after onset.

Pure Python on purpose (the domain imports no numpy): one patient, one time at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from alsrwe.domain.errors import DomainError

__all__ = [
    "FULL_MODEL",
    "KNOTS",
    "SPLINE_GAMMAS",
    "TRICALS_RISK_PROFILE",
    "EncalsCoefficients",
    "EncalsPredictors",
    "age_term",
    "baseline_spline",
    "conditional_survival",
    "cumulative_hazard",
    "delay_term",
    "delta_frs_term",
    "encals_predictors",
    "linear_predictor",
    "spline_basis",
    "spline_lambda",
    "survival",
    "time_at_conditional_survival",
    "vital_capacity_term",
]


@dataclass(frozen=True, slots=True)
class EncalsCoefficients:
    """One coefficient set of §6.1 (higher linear predictor = worse prognosis)."""

    name: str
    delta_frs: float
    diagnostic_delay: float
    age_at_onset: float
    vital_capacity: float
    bulbar_onset: float
    definite_als: float
    als_ftd: float
    c9orf72: float | None  # None: not in this model


FULL_MODEL = EncalsCoefficients(
    "full", delta_frs=-1.837, diagnostic_delay=-2.373, age_at_onset=-0.267,
    vital_capacity=0.477, bulbar_onset=0.269, definite_als=0.233, als_ftd=0.388, c9orf72=0.256)
"""The Lancet full model, with C9orf72 (docs/domain-rules.md §6.1)."""

TRICALS_RISK_PROFILE = EncalsCoefficients(
    "tricals", delta_frs=-1.839, diagnostic_delay=-2.376, age_at_onset=-0.264,
    vital_capacity=0.474, bulbar_onset=0.271, definite_als=0.238, als_ftd=0.415, c9orf72=None)
"""The TRICALS risk profile, without C9orf72 (docs/domain-rules.md §6.1)."""

SPLINE_GAMMAS = (-6.409, 2.643, -0.546, 0.585)
"""γ0 … γ3 of s(x) = γ0 + γ1·x + γ2·v1(x) + γ3·v2(x) (§6.1)."""

KNOTS = (0.081, 3.108, 3.638, 5.917)
"""kmin, k1, k2, kmax on the ln(months since onset) scale (§6.1)."""


@dataclass(frozen=True, slots=True)
class EncalsPredictors:
    """One patient's predictors; build it with :func:`encals_predictors`, which validates.

    The binary predictors are numbers in [0, 1]: 1 present, 0 absent, and a value in between
    when a cohort assumes a prevalence for a predictor it does not record.
    """

    delta_frs: float  # points/month, positive = decline
    diagnostic_delay_months: float
    age_at_onset_years: float
    vital_capacity_percent: float  # % predicted, slow or forced
    bulbar_onset: float
    definite_als: float = 0.0
    als_ftd: float = 0.0
    c9orf72: float = 0.0


def _finite(field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DomainError(field, f"{value!r} is not a finite number")
    return float(value)


def _share(field: str, value: float) -> float:
    share = _finite(field, value)
    if not 0.0 <= share <= 1.0:
        raise DomainError(field, f"{value!r} must be 1 (present), 0 (absent) or in between")
    return share


def encals_predictors(delta_frs: float, diagnostic_delay_months: float,
                      age_at_onset_years: float, vital_capacity_percent: float,
                      bulbar_onset: float, definite_als: float = 0.0, als_ftd: float = 0.0,
                      c9orf72: float = 0.0) -> EncalsPredictors:
    """Validated predictors: the transformations need ΔFRS > −0.1 and delay, age, VC > 0."""
    dfrs = _finite("delta_frs", delta_frs)
    if dfrs <= -0.1:
        raise DomainError("delta_frs", f"{delta_frs!r} must be more than −0.1 points/month "
                          "((ΔFRS + 0.1)^−0.5 is the model's transformation)")
    positive = {"diagnostic_delay_months": diagnostic_delay_months,
                "age_at_onset_years": age_at_onset_years,
                "vital_capacity_percent": vital_capacity_percent}
    for field, value in positive.items():
        if _finite(field, value) <= 0:
            raise DomainError(field, f"{value!r} must be more than 0")
    return EncalsPredictors(dfrs, float(diagnostic_delay_months), float(age_at_onset_years),
                            float(vital_capacity_percent), _share("bulbar_onset", bulbar_onset),
                            _share("definite_als", definite_als), _share("als_ftd", als_ftd),
                            _share("c9orf72", c9orf72))


def delta_frs_term(delta_frs: float) -> float:
    """(ΔFRS + 0.1)^−0.5."""
    return float((delta_frs + 0.1) ** -0.5)


def delay_term(delay_months: float) -> float:
    """(delay/10)^−0.5 + ln(delay/10); smallest at 2.5 months, so the risk is not monotone in
    the delay below 2.5 months (a property of the published fractional polynomial)."""
    u = delay_months / 10.0
    return float(u**-0.5 + math.log(u))


def age_term(age_years: float) -> float:
    """(age/100)^−2."""
    return float((age_years / 100.0) ** -2)


def vital_capacity_term(vc_percent: float) -> float:
    """(VC/100)^−1 + (VC/100)^−0.5."""
    u = vc_percent / 100.0
    return float(u**-1 + u**-0.5)


def linear_predictor(p: EncalsPredictors,
                     coefficients: EncalsCoefficients = TRICALS_RISK_PROFILE) -> float:
    """LP = Σ β·x (§6.1); C9orf72 counts only in a model that has it."""
    c = coefficients
    lp = (c.delta_frs * delta_frs_term(p.delta_frs)
          + c.diagnostic_delay * delay_term(p.diagnostic_delay_months)
          + c.age_at_onset * age_term(p.age_at_onset_years)
          + c.vital_capacity * vital_capacity_term(p.vital_capacity_percent)
          + c.bulbar_onset * p.bulbar_onset + c.definite_als * p.definite_als
          + c.als_ftd * p.als_ftd)
    if c.c9orf72 is not None:
        lp += c.c9orf72 * p.c9orf72
    return lp


def spline_lambda(knot: float) -> float:
    """λj = (kmax − kj)/(kmax − kmin) of an interior knot."""
    kmin, kmax = KNOTS[0], KNOTS[-1]
    return (kmax - knot) / (kmax - kmin)


def _cube(value: float) -> float:
    return value**3 if value > 0 else 0.0


def spline_basis(x: float, cube_last: bool = True) -> tuple[float, float]:
    """v1(x), v2(x) = (x−kj)+³ − λj(x−kmin)+³ − (1−λj)(x−kmax)+³ for the two interior knots.

    ``cube_last=False`` reproduces the public code's bug ((x−kmax)+ not cubed), for comparison
    only.
    """
    kmin, kmax = KNOTS[0], KNOTS[-1]
    over = x - kmax
    last = _cube(over) if cube_last else max(over, 0.0)
    out = []
    for knot in KNOTS[1:3]:
        lam = spline_lambda(knot)
        out.append(_cube(x - knot) - lam * _cube(x - kmin) - (1.0 - lam) * last)
    return out[0], out[1]


def baseline_spline(log_t: float, cube_last: bool = True) -> float:
    """s(ln t) = γ0 + γ1·x + γ2·v1(x) + γ3·v2(x)."""
    g0, g1, g2, g3 = SPLINE_GAMMAS
    v1, v2 = spline_basis(log_t, cube_last)
    return g0 + g1 * log_t + g2 * v1 + g3 * v2


def _months(field: str, t: float) -> float:
    value = _finite(field, t)
    if value <= 0:
        raise DomainError(field, f"{t!r} months since onset must be more than 0")
    return value


def _expit_neg(z: float) -> float:
    """1/(1 + e^z), without overflow."""
    if z >= 0:
        e = math.exp(-z)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(z))


def survival(t_months: float, lp: float) -> float:
    """S(t) = 1/(1 + exp(s(ln t) + LP)): probability of being event-free t months after onset."""
    t = _months("t_months", t_months)
    return _expit_neg(baseline_spline(math.log(t)) + _finite("lp", lp))


def _log_survival(t: float, lp: float) -> float:
    z = baseline_spline(math.log(t)) + lp
    return -(max(z, 0.0) + math.log1p(math.exp(-abs(z))))  # −ln(1 + e^z)


def conditional_survival(t_months: float, t0_months: float, lp: float) -> float:
    """S(t | event-free at t0) = S(t)/S(t0), for t ≥ t0 (e.g. t0 = onset to first dose)."""
    return math.exp(-cumulative_hazard(t0_months, t_months, lp))


def cumulative_hazard(t0_months: float, t1_months: float, lp: float) -> float:
    """H(t0, t1) = −ln(S(t1)/S(t0)): the expected number of events of one patient followed
    from t0 to t1 (the contribution to E of an observed/expected ratio)."""
    t0, t1 = _months("t0_months", t0_months), _months("t1_months", t1_months)
    if t1 < t0:
        raise DomainError("t1_months", f"{t1_months!r} is before t0 = {t0_months!r}")
    lp = _finite("lp", lp)
    return max(0.0, _log_survival(t0, lp) - _log_survival(t1, lp))


def time_at_conditional_survival(p: float, t0_months: float, lp: float,
                                 horizon_months: float = 2400.0) -> float:
    """The time t ≥ t0 at which S(t | t0) = p (the inverse, e.g. to simulate event times).

    Returns ``math.inf`` when S(horizon | t0) is still above p. Solved by bisection on ln t
    (s is increasing, so S(t | t0) decreases in t).
    """
    target = _finite("p", p)
    if not 0.0 < target <= 1.0:
        raise DomainError("p", f"{p!r} must be in (0, 1]")
    t0 = _months("t0_months", t0_months)
    if target == 1.0:
        return t0
    goal = -math.log(target)
    if cumulative_hazard(t0, horizon_months, lp) < goal:
        return math.inf
    low, high = math.log(t0), math.log(horizon_months)
    for _ in range(60):
        mid = (low + high) / 2.0
        if cumulative_hazard(t0, math.exp(mid), lp) < goal:
            low = mid
        else:
            high = mid
    return math.exp((low + high) / 2.0)
