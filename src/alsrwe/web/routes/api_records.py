"""Read-only JSON API of a patient's records, the visible sites and the cohort's counts.

Record lists (``/patients/{patient_id}/<entity>``) are record-level: admins, clinicians and
data managers, scoped to their sites (another site's patient is a 404, as a missing one).
``/sites`` and ``/cohort/summary`` are aggregate views of the user's scope, open to analysts
too: site codes and counts, no identifiers, small cells suppressed. Every handler calls a
store read model; no query here.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from alsrwe.store.reads.counts import registry_counts, visible_sites
from alsrwe.store.reads.record_pages import (
    RecordPage,
    administrations_page,
    adverse_events_page,
    alsfrs_page,
    measurements_page,
    medications_page,
    milestones_page,
)
from alsrwe.web.deps import (
    CurrentUser,
    Db,
    RecordId,
    require_cohort_access,
    require_record_access,
)
from alsrwe.web.schemas import ErrorPublic
from alsrwe.web.schemas_records import (
    AdministrationListQuery,
    AdministrationPublic,
    AdministrationsPublic,
    AdverseEventPublic,
    AdverseEventsPublic,
    AlsfrsListPublic,
    AlsfrsListQuery,
    AlsfrsPublic,
    CohortSummaryPublic,
    MeasurementListQuery,
    MeasurementPublic,
    MeasurementsPublic,
    MedicationPublic,
    MedicationsPublic,
    MilestonePublic,
    MilestonesPublic,
    RecordListQuery,
    SitePublic,
    SitesPublic,
    VariantCountPublic,
)
from alsrwe.web.viewing import viewed_patient_records

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such patient, or at another site"},
}
router = APIRouter()
records = APIRouter(
    prefix="/patients/{patient_id}", tags=["patient records"], responses=NOT_FOUND,
    dependencies=[Depends(require_record_access), Depends(viewed_patient_records)],
)
aggregates = APIRouter(tags=["aggregates"], dependencies=[Depends(require_cohort_access)])

P = TypeVar("P", bound=BaseModel)


def _found(page: RecordPage[Any], item: type[BaseModel], out: type[P]) -> P:
    data = [item.model_validate(row, from_attributes=True) for row in page.rows]
    return out(data=data, count=page.total, limit=page.limit, offset=page.offset)


@records.get("/alsfrs")
def read_alsfrs(
    db: Db, user: CurrentUser, patient_id: RecordId, query: Annotated[AlsfrsListQuery, Query()]
) -> AlsfrsListPublic:
    """ALSFRS-R ratings with totals, domains and stages, oldest first."""
    page = alsfrs_page(db, user.scope, patient_id, query.paging(), source=query.source)
    return _found(page, AlsfrsPublic, AlsfrsListPublic)


@records.get("/measurements")
def read_measurements(
    db: Db, user: CurrentUser, patient_id: RecordId, query: Annotated[MeasurementListQuery, Query()]
) -> MeasurementsPublic:
    """Biomarkers, labs and function tests in canonical units; filter by kind and dates."""
    page = measurements_page(db, user.scope, patient_id, query.paging(), kind=query.kind)
    return _found(page, MeasurementPublic, MeasurementsPublic)


@records.get("/administrations")
def read_administrations(
    db: Db, user: CurrentUser, patient_id: RecordId,
    query: Annotated[AdministrationListQuery, Query()],
) -> AdministrationsPublic:
    """Planned doses (given, missed, deferred); filter by drug, status and dates."""
    page = administrations_page(db, user.scope, patient_id, query.paging(), drug=query.drug,
                                status=query.status)
    return _found(page, AdministrationPublic, AdministrationsPublic)


@records.get("/adverse-events")
def read_adverse_events(
    db: Db, user: CurrentUser, patient_id: RecordId, query: Annotated[RecordListQuery, Query()]
) -> AdverseEventsPublic:
    """Adverse events by onset date (the date range filters the onset)."""
    page = adverse_events_page(db, user.scope, patient_id, query.paging())
    return _found(page, AdverseEventPublic, AdverseEventsPublic)


@records.get("/milestones")
def read_milestones(
    db: Db, user: CurrentUser, patient_id: RecordId, query: Annotated[RecordListQuery, Query()]
) -> MilestonesPublic:
    """Disease milestones (gastrostomy, ventilation, tracheostomy, death …) by date."""
    page = milestones_page(db, user.scope, patient_id, query.paging())
    return _found(page, MilestonePublic, MilestonesPublic)


@records.get("/medications")
def read_medications(
    db: Db, user: CurrentUser, patient_id: RecordId, query: Annotated[RecordListQuery, Query()]
) -> MedicationsPublic:
    """Concomitant medication courses by start date (the date range filters the start)."""
    page = medications_page(db, user.scope, patient_id, query.paging())
    return _found(page, MedicationPublic, MedicationsPublic)


@aggregates.get("/sites")
def read_sites(db: Db, user: CurrentUser) -> SitesPublic:
    """The sites whose data the user may see (every site for admins and analysts)."""
    sites = [SitePublic.model_validate(s) for s in visible_sites(db, user.scope)]
    return SitesPublic(data=sites, count=len(sites))


@aggregates.get("/cohort/summary")
def read_cohort_summary(db: Db, user: CurrentUser) -> CohortSummaryPublic:
    """Counts of the patients in the user's sites; counts of 1-4 are suppressed (null)."""
    counts = registry_counts(db, user.scope)
    return CohortSummaryPublic(
        people=counts.people,
        by_status=counts.by_status,
        by_site=counts.by_site,
        variants=[VariantCountPublic(hgvs=h, legacy=lg, people=n) for h, lg, n in counts.variants],
        on_treatment=counts.on_treatment,
        assessments=counts.assessments,
        deaths=counts.deaths,
        adverse_events_by_term=counts.adverse_events_by_term,
        suppress_below=counts.suppress_below,
    )


router.include_router(records)
router.include_router(aggregates)
