"""Aggregate counts of the registry within a site scope: no identifiers, small cells suppressed.

Counts from 1 to ``suppress_below - 1`` come back as ``None`` (suppressed, by the domain's
rule :func:`alsrwe.domain.privacy.suppress`, threshold 5 by default), so that an aggregate
view cannot single out a person in a small site. Zero stays zero. Totals are not suppressed,
so a suppressed cell can be bounded but not recovered when it is the only one of its group.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from alsrwe.domain.drugs import Drug
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.privacy import SUPPRESS_BELOW, suppress
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.store.models import (
    PATIENT_TABLES,
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    AuditEntry,
    Milestone,
    Patient,
    Site,
)
from alsrwe.store.scope import SiteScope


def visible_sites(session: Session, scope: SiteScope) -> list[Site]:
    """The sites in ``scope`` (every site for admins and analysts), by code."""
    query = select(Site).order_by(Site.code)
    if not scope.all_sites:
        query = query.where(Site.id.in_(sorted(scope.site_ids)))
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class RegistryCounts:
    """Headline counts of the patients in a scope; ``None`` marks a suppressed cell."""

    people: int
    by_status: dict[str, int | None]
    by_site: dict[str, int | None]
    variants: list[tuple[str, str, int | None]]
    on_treatment: int | None
    assessments: int
    deaths: int | None
    adverse_events_by_term: dict[str, int | None]
    suppress_below: int


def registry_counts(
    session: Session, scope: SiteScope, *, drug: str = Drug.TOFERSEN.value,
    suppress_below: int = SUPPRESS_BELOW,
) -> RegistryCounts:
    """Counts of the patients whose site is in ``scope`` and of their records."""
    in_scope = scope.patients(select(Patient.id))

    def cell(count: int) -> int | None:
        return suppress(count, suppress_below)

    by_status = dict.fromkeys((s.value for s in PatientStatus), 0)
    for status, count in session.execute(
        scope.patients(select(Patient.status, func.count()).group_by(Patient.status))
    ):
        by_status[status.value] = count
    site_query = select(Site.code, func.count(Patient.id)).outerjoin(
        Patient, Patient.site_id == Site.id).group_by(Site.code).order_by(Site.code)
    if not scope.all_sites:
        site_query = site_query.where(Site.id.in_(sorted(scope.site_ids)))
    per_variant = func.count().label("n")
    variants = session.execute(scope.patients(
        select(Patient.sod1_hgvs, Patient.sod1_legacy, per_variant)
        .group_by(Patient.sod1_hgvs, Patient.sod1_legacy)
        .order_by(per_variant.desc(), Patient.sod1_hgvs)
    ))
    treated = session.scalar(select(func.count(distinct(Administration.patient_id))).where(
        Administration.drug == drug, Administration.status == AdministrationStatus.GIVEN,
        Administration.patient_id.in_(in_scope))) or 0
    assessments = session.scalar(select(func.count()).select_from(AlsfrsAssessment).where(
        AlsfrsAssessment.patient_id.in_(in_scope))) or 0
    deaths = session.scalar(select(func.count()).select_from(Milestone).where(
        Milestone.kind == MilestoneKind.DEATH, Milestone.patient_id.in_(in_scope))) or 0
    terms = session.execute(
        select(AdverseEvent.term, func.count()).where(AdverseEvent.patient_id.in_(in_scope))
        .group_by(AdverseEvent.term).order_by(AdverseEvent.term))
    return RegistryCounts(
        people=sum(by_status.values()),
        by_status={k: cell(v) for k, v in by_status.items()},
        by_site={code: cell(n) for code, n in session.execute(site_query)},
        variants=[(hgvs, legacy, cell(n)) for hgvs, legacy, n in variants],
        on_treatment=cell(treated),
        assessments=assessments,
        deaths=cell(deaths),
        adverse_events_by_term={term.value: cell(n) for term, n in terms},
        suppress_below=suppress_below,
    )


def data_version(session: Session) -> str:
    """A fingerprint of the registry's contents, cheap to compute (one round trip).

    Row counts and highest ids of the patient tables, and the newest audit entry: every write
    use case adds an audit entry in its transaction, so an edit in place changes it too.
    """
    parts = []
    for model in (Patient, *PATIENT_TABLES):
        table = model.__table__
        parts += [select(func.count()).select_from(table).scalar_subquery(),
                  select(func.max(table.c.id)).scalar_subquery()]
    parts.append(select(func.max(AuditEntry.id)).scalar_subquery())
    values = session.execute(select(*parts)).one()
    return "-".join("0" if v is None else str(v) for v in values)


__all__ = ["RegistryCounts", "data_version", "registry_counts", "visible_sites"]
