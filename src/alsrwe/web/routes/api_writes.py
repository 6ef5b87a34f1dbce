"""Writes of the JSON API: create a patient's records, correct them, follow an adverse event up.

The same records and write path as the pages (:mod:`alsrwe.domain.records`,
:mod:`alsrwe.store.writes`): the same rules, scoping (a patient or record at another site is
a 404, checked before the body is read) and audit. A broken rule is a 422 whose ``detail``
lists ``{"loc": ["body", field], "msg": rule, "type": "hard_rule" | "soft_rule", "code"}``
per problem, in the words the pages show next to the field; a request that breaks only soft
rules is accepted when sent again with their codes in ``confirm_warnings``. Send the
session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from alsrwe.domain import records as entries
from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.store.models import AlsfrsAssessment
from alsrwe.store.reads.patient_file import score
from alsrwe.store.reads.records import scoped_record
from alsrwe.store.writes import MODELS, add_record, correct_record
from alsrwe.store.writes.self_reports import review_self_report
from alsrwe.web.auth import utc_now
from alsrwe.web.deps import (
    CurrentUser,
    Db,
    PatientInScope,
    Plausibility,
    RecordId,
    SelfReportReviewer,
    Today,
    require_record_access,
)
from alsrwe.web.schemas import ErrorPublic
from alsrwe.web.schemas_records import (
    AdministrationPublic,
    AdverseEventPublic,
    AlsfrsPublic,
    MeasurementPublic,
    MilestonePublic,
)
from alsrwe.web.schemas_writes import (
    AdministrationCreate,
    AdministrationUpdate,
    AdverseEventCreate,
    AdverseEventUpdate,
    AlsfrsCreate,
    AlsfrsUpdate,
    MeasurementCreate,
    MeasurementUpdate,
    MilestoneCreate,
    MilestoneUpdate,
)
from alsrwe.web.versions import VERSIONED, IfMatch, etag, stated_version

P = TypeVar("P", bound=BaseModel)
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such patient or record, or at another site"},
    422: {"description": "A field breaks a rule: detail lists each field and its rule"},
}
CONFIRM = "confirm_warnings"
VERSION = "version"

router = APIRouter(
    tags=["record writes"], responses=RESPONSES, dependencies=[Depends(require_record_access)]
)


async def record_in_scope(db: Db, user: CurrentUser, table: str, record_id: int) -> int:
    """The record's id if its patient is in the user's sites; NotFound (a 404) otherwise,
    before the body is read."""
    row = await run_in_threadpool(scoped_record, db, user.scope, MODELS[table], record_id)
    return int(getattr(row, "id"))  # noqa: B009 (Base declares no columns)


async def assessment_in_scope(db: Db, user: CurrentUser, assessment_id: RecordId) -> int:
    return await record_in_scope(db, user, "alsfrs", assessment_id)


async def measurement_in_scope(db: Db, user: CurrentUser, measurement_id: RecordId) -> int:
    return await record_in_scope(db, user, "measurements", measurement_id)


async def administration_in_scope(db: Db, user: CurrentUser,
                                  administration_id: RecordId) -> int:
    return await record_in_scope(db, user, "administrations", administration_id)


async def event_in_scope(db: Db, user: CurrentUser, event_id: RecordId) -> int:
    return await record_in_scope(db, user, "adverse_events", event_id)


async def milestone_in_scope(db: Db, user: CurrentUser, milestone_id: RecordId) -> int:
    return await record_in_scope(db, user, "milestones", milestone_id)


def _create(build: Callable[..., entries.RecordEntry], public: type[P], db: Db,
            user: CurrentUser, patient_id: int, today: Today, rules: Plausibility,
            body: BaseModel) -> P:
    values = body.model_dump(exclude={CONFIRM})
    row = add_record(db, user.scope, patient_id, build(**values), actor=user.username,
                     today=today, confirmed=getattr(body, CONFIRM), settings=rules)
    return public.model_validate(row, from_attributes=True)


@router.post("/patients/{patient_id}/alsfrs", status_code=201)
def create_alsfrs(db: Db, user: CurrentUser, patient: PatientInScope, today: Today,
                  rules: Plausibility, body: AlsfrsCreate) -> AlsfrsPublic:
    """Record a clinic ALSFRS-R rating (one per patient, date and source)."""
    entry = entries.alsfrs_entry(date=body.date, items=body.items(),
                                 gastrostomy=body.gastrostomy, source=AssessmentSource.CLINIC)
    row = add_record(db, user.scope, patient.id, entry, actor=user.username, today=today,
                     confirmed=body.confirm_warnings, settings=rules)
    return AlsfrsPublic.model_validate(score(cast(AlsfrsAssessment, row)), from_attributes=True)


@router.post("/patients/{patient_id}/measurements", status_code=201)
def create_measurement(db: Db, user: CurrentUser, patient: PatientInScope, today: Today,
                       rules: Plausibility, body: MeasurementCreate) -> MeasurementPublic:
    """Record a measurement; the answer holds it in the kind's canonical unit."""
    return _create(entries.measurement_entry, MeasurementPublic, db, user, patient.id, today,
                   rules, body)


@router.post("/patients/{patient_id}/administrations", status_code=201)
def create_administration(db: Db, user: CurrentUser, patient: PatientInScope, today: Today,
                          rules: Plausibility,
                          body: AdministrationCreate) -> AdministrationPublic:
    """Record a dose given, missed or deferred (the next due date moves with a given dose)."""
    return _create(entries.administration_entry, AdministrationPublic, db, user, patient.id,
                   today, rules, body)


@router.post("/patients/{patient_id}/adverse-events", status_code=201)
def create_adverse_event(db: Db, user: CurrentUser, patient: PatientInScope, today: Today,
                         rules: Plausibility, body: AdverseEventCreate) -> AdverseEventPublic:
    """Record an adverse event."""
    return _create(entries.adverse_event_entry, AdverseEventPublic, db, user, patient.id,
                   today, rules, body)


@router.post("/patients/{patient_id}/milestones", status_code=201)
def create_milestone(db: Db, user: CurrentUser, patient: PatientInScope, today: Today,
                     rules: Plausibility, body: MilestoneCreate) -> MilestonePublic:
    """Record a milestone (gastrostomy, NIV, tracheostomy, permanent ventilation, death)."""
    return _create(entries.milestone_entry, MilestonePublic, db, user, patient.id, today,
                   rules, body)


def _correct(table: str, db: Db, user: CurrentUser, record_id: int, today: Today,
             rules: Plausibility, body: BaseModel, if_match: str | None,
             response: Response) -> Any:
    """Correct a record on the version the client read; the new version is the ETag."""
    changes = body.model_dump(exclude_unset=True, exclude={CONFIRM, VERSION})
    expected = stated_version(if_match, getattr(body, VERSION), f"this {table} record")
    row = correct_record(db, user.scope, table, record_id, changes, actor=user.username,
                         today=today, confirmed=getattr(body, CONFIRM), settings=rules,
                         expected_version=expected)
    response.headers["ETag"] = etag(getattr(row, VERSION))
    return row


AlsfrsId = Annotated[int, Depends(assessment_in_scope)]
MeasurementId = Annotated[int, Depends(measurement_in_scope)]
AdministrationId = Annotated[int, Depends(administration_in_scope)]
AdverseEventId = Annotated[int, Depends(event_in_scope)]
MilestoneId = Annotated[int, Depends(milestone_in_scope)]


@router.patch("/adverse-events/{event_id}", responses=VERSIONED)
def update_adverse_event(
    response: Response, db: Db, user: CurrentUser, record_id: AdverseEventId, today: Today,
    rules: Plausibility, body: AdverseEventUpdate, if_match: IfMatch = None,
) -> AdverseEventPublic:
    """Follow an adverse event up: outcome, resolved date, action, grade, seriousness."""
    row = _correct("adverse_events", db, user, record_id, today, rules, body, if_match,
                   response)
    return AdverseEventPublic.model_validate(row, from_attributes=True)


@router.patch("/alsfrs/{assessment_id}", responses=VERSIONED)
def update_alsfrs(
    response: Response, db: Db, user: CurrentUser, record_id: AlsfrsId, today: Today,
    rules: Plausibility, body: AlsfrsUpdate, if_match: IfMatch = None,
) -> AlsfrsPublic:
    """Correct an ALSFRS-R rating (date, items, item 5 scale); the rating is checked again."""
    row = _correct("alsfrs", db, user, record_id, today, rules, body, if_match,
                   response)
    return AlsfrsPublic.model_validate(score(row), from_attributes=True)


@router.post("/alsfrs/{assessment_id}/review")
def review_alsfrs(db: Db, record_id: AlsfrsId, user: SelfReportReviewer) -> AlsfrsPublic:
    """Mark a self-reported rating reviewed by the caller (a second review changes nothing);
    422 for a clinic rating; 403 unless the caller's role reviews self-reports (clinicians,
    by default)."""
    row = review_self_report(db, user.scope, record_id, actor=user.username, now=utc_now())
    return AlsfrsPublic.model_validate(score(row), from_attributes=True)


@router.patch("/measurements/{measurement_id}", responses=VERSIONED)
def update_measurement(
    response: Response, db: Db, user: CurrentUser, record_id: MeasurementId, today: Today,
    rules: Plausibility, body: MeasurementUpdate, if_match: IfMatch = None,
) -> MeasurementPublic:
    """Correct a measurement; a new value is read in ``unit`` and stored canonically."""
    row = _correct("measurements", db, user, record_id, today, rules, body, if_match,
                   response)
    return MeasurementPublic.model_validate(row, from_attributes=True)


@router.patch("/administrations/{administration_id}", responses=VERSIONED)
def update_administration(
    response: Response, db: Db, user: CurrentUser, record_id: AdministrationId, today: Today,
    rules: Plausibility, body: AdministrationUpdate, if_match: IfMatch = None,
) -> AdministrationPublic:
    """Correct a dose (date, drug, status, dose, lot, CSF removed)."""
    row = _correct("administrations", db, user, record_id, today, rules, body, if_match,
                   response)
    return AdministrationPublic.model_validate(row, from_attributes=True)


@router.patch("/milestones/{milestone_id}", responses=VERSIONED)
def update_milestone(
    response: Response, db: Db, user: CurrentUser, record_id: MilestoneId, today: Today,
    rules: Plausibility, body: MilestoneUpdate, if_match: IfMatch = None,
) -> MilestonePublic:
    """Correct a milestone, checked again with the patient's other milestones."""
    row = _correct("milestones", db, user, record_id, today, rules, body, if_match,
                   response)
    return MilestonePublic.model_validate(row, from_attributes=True)
