"""Writes of the JSON API: create a patient's records, correct them, follow an adverse event up.

The same use cases as the pages (``alsrwe.store.records``): the same validation, scoping (a
patient or event at another site is a 404, checked before the body is read) and audit. A
broken rule is a 422 whose ``detail`` lists ``{"loc": ["body", field], "msg": rule}`` per
field, in the words the pages show next to the field. Send the session's CSRF token in
``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.store import record_updates, records
from alsrwe.store.models import Administration, AlsfrsAssessment, Base, Measurement, Milestone
from alsrwe.store.patient_file import score
from alsrwe.store.records import RecordInvalid, RecordNotFound
from alsrwe.store.self_reports import review_self_report
from alsrwe.web.auth import utc_now
from alsrwe.web.deps import CurrentUser, Db, Today, require_record_access
from alsrwe.web.errors import NotFound
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

P = TypeVar("P", bound=BaseModel)
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such patient or record, or at another site"},
    422: {"description": "A field breaks a rule: detail lists each field and its rule"},
}
API_FIELDS = {"q5a": "q5", "q5b": "q5"}
"""Domain field names that the API spells differently."""

router = APIRouter(
    tags=["record writes"], responses=RESPONSES, dependencies=[Depends(require_record_access)]
)


def patient_in_scope(db: Db, user: CurrentUser, patient_id: int) -> int:
    """The patient's id if in the user's sites; 404 otherwise, before the body is validated."""
    try:
        return records.load_patient(db, user.scope, patient_id).id
    except RecordNotFound:
        raise NotFound("no such patient") from None


PatientId = Annotated[int, Depends(patient_in_scope)]


@contextmanager
def _as_api_fields() -> Iterator[None]:
    try:
        yield
    except RecordInvalid as error:
        renamed = {API_FIELDS.get(name, name): rule for name, rule in error.problems.items()}
        raise RecordInvalid(renamed) from error


def _create(save: Callable[..., Any], public: type[P], db: Db, user: CurrentUser,
            patient_id: int, today: Today, body: BaseModel) -> P:
    with _as_api_fields():
        row = save(db, user.scope, patient_id, **body.model_dump(), actor=user.username,
                   today=today)
    return public.model_validate(row, from_attributes=True)


@router.post("/patients/{patient_id}/alsfrs", status_code=201)
def create_alsfrs(db: Db, user: CurrentUser, patient_id: PatientId, today: Today,
                  body: AlsfrsCreate) -> AlsfrsPublic:
    """Record a clinic ALSFRS-R rating (one per patient, date and source)."""
    with _as_api_fields():
        row = records.record_alsfrs(db, user.scope, patient_id, body.date, body.items(),
                                    body.gastrostomy, AssessmentSource.CLINIC, user.username,
                                    today=today)
    return AlsfrsPublic.model_validate(score(row), from_attributes=True)


@router.post("/patients/{patient_id}/measurements", status_code=201)
def create_measurement(db: Db, user: CurrentUser, patient_id: PatientId, today: Today,
                       body: MeasurementCreate) -> MeasurementPublic:
    """Record a measurement; the answer holds it in the kind's canonical unit."""
    return _create(records.record_measurement, MeasurementPublic, db, user, patient_id, today,
                   body)


@router.post("/patients/{patient_id}/administrations", status_code=201)
def create_administration(db: Db, user: CurrentUser, patient_id: PatientId, today: Today,
                          body: AdministrationCreate) -> AdministrationPublic:
    """Record a dose given, missed or deferred (the next due date moves with a given dose)."""
    return _create(records.record_administration, AdministrationPublic, db, user, patient_id,
                   today, body)


@router.post("/patients/{patient_id}/adverse-events", status_code=201)
def create_adverse_event(db: Db, user: CurrentUser, patient_id: PatientId, today: Today,
                         body: AdverseEventCreate) -> AdverseEventPublic:
    """Record an adverse event."""
    return _create(records.record_adverse_event, AdverseEventPublic, db, user, patient_id,
                   today, body)


@router.post("/patients/{patient_id}/milestones", status_code=201)
def create_milestone(db: Db, user: CurrentUser, patient_id: PatientId, today: Today,
                     body: MilestoneCreate) -> MilestonePublic:
    """Record a milestone (gastrostomy, NIV, tracheostomy, permanent ventilation, death)."""
    return _create(records.record_milestone, MilestonePublic, db, user, patient_id, today, body)


def event_in_scope(db: Db, user: CurrentUser, event_id: int) -> int:
    """The adverse event's id if its patient is in the user's sites; 404 otherwise."""
    try:
        return records.scoped_adverse_event(db, user.scope, event_id).id
    except RecordNotFound:
        raise NotFound("no such adverse event") from None


@router.patch("/adverse-events/{event_id}")
def update_adverse_event(db: Db, user: CurrentUser,
                         event_id: Annotated[int, Depends(event_in_scope)], today: Today,
                         body: AdverseEventUpdate) -> AdverseEventPublic:
    """Follow an adverse event up: outcome, resolved date, action, grade, seriousness."""
    row = records.update_adverse_event(db, user.scope, event_id,
                                       body.model_dump(exclude_unset=True),
                                       actor=user.username, today=today)
    return AdverseEventPublic.model_validate(row, from_attributes=True)


def _in_scope(db: Db, user: CurrentUser, model: type[Base], record_id: int) -> int:
    try:
        row = record_updates.scoped_record(db, user.scope, model, record_id)
        return int(getattr(row, "id"))  # noqa: B009 (Base declares no columns)
    except RecordNotFound as error:
        raise NotFound(str(error)) from None


def assessment_in_scope(db: Db, user: CurrentUser, assessment_id: int) -> int:
    """The rating's id if its patient is in the user's sites; 404 otherwise."""
    return _in_scope(db, user, AlsfrsAssessment, assessment_id)


def measurement_in_scope(db: Db, user: CurrentUser, measurement_id: int) -> int:
    """The measurement's id if its patient is in the user's sites; 404 otherwise."""
    return _in_scope(db, user, Measurement, measurement_id)


def administration_in_scope(db: Db, user: CurrentUser, administration_id: int) -> int:
    """The dose's id if its patient is in the user's sites; 404 otherwise."""
    return _in_scope(db, user, Administration, administration_id)


def milestone_in_scope(db: Db, user: CurrentUser, milestone_id: int) -> int:
    """The milestone's id if its patient is in the user's sites; 404 otherwise."""
    return _in_scope(db, user, Milestone, milestone_id)


def _update(save: Callable[..., Any], db: Db, user: CurrentUser, record_id: int, today: Today,
            body: BaseModel) -> Any:
    with _as_api_fields():
        return save(db, user.scope, record_id, body.model_dump(exclude_unset=True),
                    actor=user.username, today=today)


@router.patch("/alsfrs/{assessment_id}")
def update_alsfrs(db: Db, user: CurrentUser,
                  assessment_id: Annotated[int, Depends(assessment_in_scope)], today: Today,
                  body: AlsfrsUpdate) -> AlsfrsPublic:
    """Correct an ALSFRS-R rating (date, items, item 5 scale); the rating is checked again."""
    row = _update(record_updates.update_alsfrs, db, user, assessment_id, today, body)
    return AlsfrsPublic.model_validate(score(row), from_attributes=True)


@router.post("/alsfrs/{assessment_id}/review")
def review_alsfrs(db: Db, user: CurrentUser,
                  assessment_id: Annotated[int, Depends(assessment_in_scope)]) -> AlsfrsPublic:
    """Mark a self-reported rating reviewed by the caller (a second review changes nothing);
    422 for a clinic rating."""
    row = review_self_report(db, user.scope, assessment_id, actor=user.username, now=utc_now())
    return AlsfrsPublic.model_validate(score(row), from_attributes=True)


@router.patch("/measurements/{measurement_id}")
def update_measurement(db: Db, user: CurrentUser,
                       measurement_id: Annotated[int, Depends(measurement_in_scope)],
                       today: Today, body: MeasurementUpdate) -> MeasurementPublic:
    """Correct a measurement; a new value is read in ``unit`` and stored canonically."""
    row = _update(record_updates.update_measurement, db, user, measurement_id, today, body)
    return MeasurementPublic.model_validate(row, from_attributes=True)


@router.patch("/administrations/{administration_id}")
def update_administration(db: Db, user: CurrentUser,
                          administration_id: Annotated[int, Depends(administration_in_scope)],
                          today: Today, body: AdministrationUpdate) -> AdministrationPublic:
    """Correct a dose (date, drug, status, dose, lot, CSF removed)."""
    row = _update(record_updates.update_administration, db, user, administration_id, today,
                  body)
    return AdministrationPublic.model_validate(row, from_attributes=True)


@router.patch("/milestones/{milestone_id}")
def update_milestone(db: Db, user: CurrentUser,
                     milestone_id: Annotated[int, Depends(milestone_in_scope)], today: Today,
                     body: MilestoneUpdate) -> MilestonePublic:
    """Correct a milestone, checked again with the patient's other milestones."""
    row = _update(record_updates.update_milestone, db, user, milestone_id, today, body)
    return MilestonePublic.model_validate(row, from_attributes=True)
