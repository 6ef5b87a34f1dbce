"""Real-world evidence from the registry: exact mixed models and the RWE analyses.

Every analysis takes a :class:`Cohort` (tidy tables on DuckDB, PostgreSQL or Spark through
Ibis) and a frozen settings object, and returns a typed result with ``to_frame()`` and
``to_dict()``, its attrition and its diagnostics.

The parts: ``cohort`` (access to the tidy tables and the design tables), ``lmm`` (the exact
mixed-model engine), ``analyses`` (one module per analysis) and ``report`` (the report and
the presentations the web cohort page shares). This module is the public API.

Names are imported on first use (PEP 562): importing one analysis or the mixed-model engine
does not import every other analysis and the report's plotting library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULES = {
    "CarrierResult": "alsrwe.analytics.analyses.carriers",
    "CarrierSettings": "alsrwe.analytics.analyses.carriers",
    "carrier_surveillance": "alsrwe.analytics.analyses.carriers",
    "EarlyDelayedResult": "alsrwe.analytics.analyses.early_delayed",
    "EarlyDelayedSettings": "alsrwe.analytics.analyses.early_delayed",
    "early_vs_delayed": "alsrwe.analytics.analyses.early_delayed",
    "NflResult": "alsrwe.analytics.analyses.nfl",
    "NflSettings": "alsrwe.analytics.analyses.nfl",
    "nfl_response": "alsrwe.analytics.analyses.nfl",
    "ObservedExpectedResult": "alsrwe.analytics.analyses.observed_expected",
    "ObservedExpectedSettings": "alsrwe.analytics.analyses.observed_expected",
    "observed_vs_expected": "alsrwe.analytics.analyses.observed_expected",
    "ProgressionResult": "alsrwe.analytics.analyses.progression",
    "ProgressionSettings": "alsrwe.analytics.analyses.progression",
    "progression": "alsrwe.analytics.analyses.progression",
    "RespondersResult": "alsrwe.analytics.analyses.responders",
    "RespondersSettings": "alsrwe.analytics.analyses.responders",
    "responders": "alsrwe.analytics.analyses.responders",
    "AnalysisError": "alsrwe.analytics.analyses.results",
    "AnalysisSettings": "alsrwe.analytics.analyses.results",
    "Attrition": "alsrwe.analytics.analyses.results",
    "Diagnostic": "alsrwe.analytics.analyses.results",
    "DiagnosticStatus": "alsrwe.analytics.analyses.results",
    "SafetyResult": "alsrwe.analytics.analyses.safety",
    "SafetySettings": "alsrwe.analytics.analyses.safety",
    "safety_incidence": "alsrwe.analytics.analyses.safety",
    "SurvivalResult": "alsrwe.analytics.analyses.survival",
    "SurvivalSettings": "alsrwe.analytics.analyses.survival",
    "survival": "alsrwe.analytics.analyses.survival",
    "Cohort": "alsrwe.analytics.cohort.cohort",
    "CohortError": "alsrwe.analytics.cohort.schema",
    "LmmResult": "alsrwe.analytics.lmm.fit",
    "evaluate_lmm": "alsrwe.analytics.lmm.fit",
    "fit_lmm": "alsrwe.analytics.lmm.fit",
    "fit_lmm_stats": "alsrwe.analytics.lmm.fit",
    "LmmError": "alsrwe.analytics.lmm.sufficient",
    "SufficientStats": "alsrwe.analytics.lmm.sufficient",
    "sufficient_stats": "alsrwe.analytics.lmm.sufficient",
    "ReportSettings": "alsrwe.analytics.report.builder",
    "build_report": "alsrwe.analytics.report.builder",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])


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
