"""The RWE analyses, one module each, and what they share (``results``).

Every analysis takes a :class:`~alsrwe.analytics.cohort.Cohort` and a frozen settings object
and returns a typed result with its attrition and diagnostics; it refuses with
:class:`~alsrwe.analytics.analyses.results.AnalysisError` when the data cannot support it.
"""
