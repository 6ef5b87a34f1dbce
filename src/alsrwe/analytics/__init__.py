"""Real-world evidence from the registry: exact mixed models and the RWE analyses.

Every analysis takes a :class:`Cohort` (tidy tables on DuckDB, PostgreSQL or Spark through
Ibis) and a frozen settings object, and returns a typed result with ``to_frame()`` and
``to_dict()``, its attrition and its diagnostics.
"""

from alsrwe.analytics.carriers import CarrierResult, CarrierSettings, carrier_surveillance
from alsrwe.analytics.common import (
    AnalysisError,
    AnalysisSettings,
    Attrition,
    Diagnostic,
    DiagnosticStatus,
)
from alsrwe.analytics.data import Cohort, CohortError
from alsrwe.analytics.early_delayed import (
    EarlyDelayedResult,
    EarlyDelayedSettings,
    early_vs_delayed,
)
from alsrwe.analytics.lmm import LmmResult, evaluate_lmm, fit_lmm, fit_lmm_stats
from alsrwe.analytics.nfl import NflResult, NflSettings, nfl_response
from alsrwe.analytics.progression import ProgressionResult, ProgressionSettings, progression
from alsrwe.analytics.report import ReportSettings, build_report
from alsrwe.analytics.responders import RespondersResult, RespondersSettings, responders
from alsrwe.analytics.safety import SafetyResult, SafetySettings, safety_incidence
from alsrwe.analytics.sufficient import LmmError, SufficientStats, sufficient_stats
from alsrwe.analytics.survival import SurvivalResult, SurvivalSettings, survival

__all__ = [
    "AnalysisError",
    "AnalysisSettings",
    "Attrition",
    "CarrierResult",
    "CarrierSettings",
    "Cohort",
    "CohortError",
    "Diagnostic",
    "DiagnosticStatus",
    "EarlyDelayedResult",
    "EarlyDelayedSettings",
    "LmmError",
    "LmmResult",
    "NflResult",
    "NflSettings",
    "ProgressionResult",
    "ProgressionSettings",
    "ReportSettings",
    "RespondersResult",
    "RespondersSettings",
    "SafetyResult",
    "SafetySettings",
    "SufficientStats",
    "SurvivalResult",
    "SurvivalSettings",
    "build_report",
    "carrier_surveillance",
    "early_vs_delayed",
    "evaluate_lmm",
    "fit_lmm",
    "fit_lmm_stats",
    "nfl_response",
    "progression",
    "responders",
    "safety_incidence",
    "sufficient_stats",
    "survival",
]
