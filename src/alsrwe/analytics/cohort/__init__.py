"""Cohort access: the tidy tables on an Ibis engine, read from frames, CSV or the registry.

``schema`` derives the analytic schema from the exchange format, ``cohort`` holds the
:class:`Cohort` and its constructors, ``registry`` reads the registry (copied or in place),
``design`` the derived tables the analyses start from, ``sites`` restricts a cohort to sites.
"""

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.schema import SCHEMAS, CohortError, coerce_frame
from alsrwe.analytics.cohort.sites import restrict_to_sites

__all__ = ["SCHEMAS", "Cohort", "CohortError", "coerce_frame", "restrict_to_sites"]
