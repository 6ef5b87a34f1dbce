"""Real-world evidence from the registry: exact mixed models and the RWE analyses.

Every analysis takes a :class:`Cohort` (tidy tables on DuckDB, PostgreSQL or Spark through
Ibis) and a frozen settings object, and returns a typed result with ``to_frame()`` and
``to_dict()``, its attrition and its diagnostics.

The parts: ``cohort`` (access to the tidy tables and the design tables), ``lmm`` (the exact
mixed-model engine), ``analyses`` (one module per analysis) and ``report`` (the report and
the presentations the web cohort page shares). This module is the public API.
"""

from alsrwe.analytics.analyses.carriers import (
    CarrierResult,
    CarrierSettings,
    carrier_surveillance,
)
from alsrwe.analytics.analyses.early_delayed import (
    EarlyDelayedResult,
    EarlyDelayedSettings,
    early_vs_delayed,
)
from alsrwe.analytics.analyses.nfl import NflResult, NflSettings, nfl_response
from alsrwe.analytics.analyses.observed_expected import (
    ObservedExpectedResult,
    ObservedExpectedSettings,
    observed_vs_expected,
)
from alsrwe.analytics.analyses.progression import (
    ProgressionResult,
    ProgressionSettings,
    progression,
)
from alsrwe.analytics.analyses.responders import (
    RespondersResult,
    RespondersSettings,
    responders,
)
from alsrwe.analytics.analyses.results import (
    AnalysisError,
    AnalysisSettings,
    Attrition,
    Diagnostic,
    DiagnosticStatus,
)
from alsrwe.analytics.analyses.safety import SafetyResult, SafetySettings, safety_incidence
from alsrwe.analytics.analyses.survival import SurvivalResult, SurvivalSettings, survival
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.schema import CohortError
from alsrwe.analytics.lmm.fit import LmmResult, evaluate_lmm, fit_lmm, fit_lmm_stats
from alsrwe.analytics.lmm.sufficient import LmmError, SufficientStats, sufficient_stats
from alsrwe.analytics.report.builder import ReportSettings, build_report

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
    "ObservedExpectedResult",
    "ObservedExpectedSettings",
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
    "observed_vs_expected",
    "progression",
    "responders",
    "safety_incidence",
    "sufficient_stats",
    "survival",
]
