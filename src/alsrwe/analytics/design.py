"""Derived tables every progression analysis starts from, as Ibis expressions in the engine.

Time is in months of 365.25/12 days (convention 1 of ../shared/domain.md); ALSFRS-R totals
and domain subscores are the sums of domain.md §1.1 (the same arithmetic as
:class:`alsrwe.domain.alsfrs.AlsfrsR`, here in the engine over millions of rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis

from alsrwe.analytics.data import Cohort
from alsrwe.domain.alsfrs import DAYS_PER_MONTH, DOMAIN_ITEMS

DOMAINS: dict[str, tuple[str, ...]] = {
    name: tuple(f"q{n}" for n in items) for name, items in DOMAIN_ITEMS.items()
}
"""The domain's ALSFRS-R domains as item columns (q1 … q12) of the tidy table."""


def months_between(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    """Months (365.25/12 days) from ``earlier`` to ``later``; negative when before."""
    return later.delta(earlier, unit="day").cast("float64") / DAYS_PER_MONTH


def treatment_starts(cohort: Cohort, drug: str = "tofersen") -> ibis.Table:
    """First *given* dose of ``drug`` per patient: (patient_id, start_date, doses_given)."""
    doses = cohort.table("administrations")
    given = doses.filter((doses.drug == drug) & (doses.status == "given"))
    return given.group_by("patient_id").aggregate(
        start_date=given.date.min(), last_dose_date=given.date.max(), doses_given=given.count()
    )


def alsfrs_scores(cohort: Cohort, sources: Sequence[str] = ("clinic",)) -> ibis.Table:
    """ALSFRS-R assessments with total and the four domain subscores, from chosen sources."""
    a = cohort.table("alsfrs")
    a = a.filter(a.source.isin(list(sources)))
    domains = {name: sum((a[q] for q in items[1:]), a[items[0]])
               for name, items in DOMAINS.items()}
    total = domains["bulbar"] + domains["fine_motor"] + domains["gross_motor"] \
        + domains["respiratory"]
    return a.select("patient_id", "date", "source", "gastrostomy", total=total, **domains)


def progression_table(cohort: Cohort, drug: str = "tofersen",
                      sources: Sequence[str] = ("clinic",)) -> ibis.Table:
    """One row per assessment of a patient with ALS, with its time axes.

    Columns: patient_id, date, total (+ domains), onset_date, start_date (NULL when never
    treated), months_from_onset, t (months from treatment start, negative before; NULL when
    never treated), t_post = max(0, t) (the on-treatment part of a piecewise slope), on_treatment.
    """
    scores = alsfrs_scores(cohort, sources)
    patients = cohort.table("patients")
    patients = patients.filter(patients.status == "patient").select(
        "patient_id", "site", "onset_date", "onset_region", "birth_year", "sod1_variant",
        "zygosity", "diagnosis_date")
    starts = treatment_starts(cohort, drug).select("patient_id", "start_date")
    joined = scores.join(patients, "patient_id").left_join(starts, "patient_id")
    t = months_between(joined.date, joined.start_date)
    return joined.select(
        "patient_id", "site", "date", "total", *DOMAINS, "onset_date", "onset_region",
        "birth_year", "sod1_variant", "zygosity", "diagnosis_date", "start_date",
        months_from_onset=months_between(joined.date, joined.onset_date),
        t=t,
        t_post=ibis.greatest(t, 0.0),
        on_treatment=joined.date >= joined.start_date,
    )
