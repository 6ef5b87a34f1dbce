"""A cohort restricted to some sites' patients, for per-site reports and site-scoped pages."""

from __future__ import annotations

from collections.abc import Sequence

import ibis

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.schema import SCHEMAS, CohortError


def restrict_to_sites(cohort: Cohort, sites: Sequence[str], *,
                      allow_empty: bool = False) -> Cohort:
    """The same cohort with only the patients of ``sites`` (filtered in the engine).

    A site without any patient is refused (a mistyped site code would otherwise give an empty
    report) unless ``allow_empty``: a user's own sites may not have patients yet.
    """
    patients = cohort.table("patients")
    chosen = patients.filter(patients.site.isin(list(sites)))
    if not allow_empty:
        present = set(chosen.select("site").distinct().execute()["site"])
        missing = [site for site in sites if site not in present]
        if missing:
            raise CohortError("site", f"no patient of site '{missing[0]}' in the cohort")
    ids = chosen.select("patient_id")
    tables: dict[str, ibis.Table] = {}
    for name in SCHEMAS:
        table = cohort.table(name)
        tables[name] = table.filter(table.patient_id.isin(ids.patient_id))
    label = f"site {sites[0]}" if len(sites) == 1 else f"sites {', '.join(sites)}"
    return Cohort(cohort.con, tables, source=f"{cohort.source} ({label})")


__all__ = ["restrict_to_sites"]
