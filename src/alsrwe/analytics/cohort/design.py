"""Derived tables the analyses start from, as Ibis expressions in the engine.

Time is in months of 365.25/12 days (docs/domain-rules.md convention 1); ALSFRS-R totals and
domain subscores are the sums of docs/domain-rules.md §1.1 (the same arithmetic as
:class:`alsrwe.domain.alsfrs.AlsfrsR`, here in the engine over millions of rows). Treatment
starts, registry entry and last contact, and "the assessment nearest a time point" are shared
by several analyses, so they are defined here once.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.domain.alsfrs import DAYS_PER_MONTH, DOMAIN_ITEMS, ITEM_COLUMNS

DOMAINS: dict[str, tuple[str, ...]] = {
    name: tuple(ITEM_COLUMNS[number - 1] for number in items)
    for name, items in DOMAIN_ITEMS.items()
}
"""The domain's ALSFRS-R domains as item columns (q1 … q12) of the tidy table."""

_ENCOUNTERS = (("alsfrs", "date"), ("measurements", "date"), ("administrations", "date"))
_CONTACTS = (*_ENCOUNTERS, ("milestones", "date"), ("adverse_events", "onset_date"),
             ("adverse_events", "resolved_date"))  # fmt: skip


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


def treated_patient_count(cohort: Cohort, drug: str) -> int:
    """Patients with ALS (not carriers) with at least one given dose of ``drug``."""
    patients = cohort.table("patients")
    ids = patients.filter(patients.status == "patient").select("patient_id")
    return int(treatment_starts(cohort, drug).semi_join(ids, "patient_id").count().execute())


def registry_dates(cohort: Cohort) -> ibis.Table:
    """Per patient: ``entry_date`` (first clinical encounter: ALSFRS-R, measurement or dose)
    and ``last_contact`` (latest dated record, milestones and adverse events included)."""
    parts = []
    for name, column in _CONTACTS:
        t = cohort.table(name)
        t = t.filter(t[column].notnull())
        encounter = ibis.literal((name, column) in _ENCOUNTERS)
        parts.append(t.select("patient_id", when=t[column], encounter=encounter))
    rows = ibis.union(*parts)
    return rows.group_by("patient_id").aggregate(
        entry_date=rows.when.min(where=rows.encounter), last_contact=rows.when.max())


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


def nearest_to(rows: ibis.Table, value: str, target_months: float, tolerance_days: float,
               prefix: str) -> ibis.Table:
    """Per patient, the row whose ``t`` (months from the first dose) is nearest
    ``target_months`` within ± ``tolerance_days`` (ties: the earlier date), in the engine.

    Returns patient_id, ``{prefix}_date``, ``{prefix}_t`` and ``{prefix}_{value}``.
    """
    dist = (rows.t * DAYS_PER_MONTH - target_months * DAYS_PER_MONTH).abs()
    near = rows.filter(rows.t.notnull() & (dist <= tolerance_days)).mutate(dist_days=dist)
    rank = ibis.row_number().over(group_by=near.patient_id, order_by=[near.dist_days, near.date])
    near = near.mutate(rank_=rank)
    near = near.filter(near.rank_ == 0)
    return near.select("patient_id", **{f"{prefix}_date": near.date, f"{prefix}_t": near.t,
                                        f"{prefix}_{value}": near[value]})


__all__ = ["DOMAINS", "alsfrs_scores", "months_between", "nearest_to", "progression_table",
           "registry_dates", "treated_patient_count", "treatment_starts"]
