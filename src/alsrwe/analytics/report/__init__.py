"""The cohort report and the presentations it shares with the web cohort page.

``presentations`` turns each analysis result into what readers see (one presentation per
result, :data:`ANALYSES` in reading order), ``formatting`` writes numbers and tables with one
rule for missing values, ``figures`` draws inline SVG, ``builder`` writes ``report.html``.
"""

from alsrwe.analytics.report.builder import ReportSettings, build_report
from alsrwe.analytics.report.presentations import ANALYSES, Presentation, evaluate

__all__ = ["ANALYSES", "Presentation", "ReportSettings", "build_report", "evaluate"]
