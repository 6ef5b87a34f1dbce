"""The clinic's API writes beyond records: patients, treatments, medications, voids, SOD1 names.

The same rules, scoping and audit as the pages (:mod:`alsrwe.store.writes`): a patient,
treatment or record at another site is a 404, checked before the body is read; a broken rule
is a 422 whose ``detail`` names the field (the format of :mod:`.api_writes`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from alsrwe.domain import records as entries
from alsrwe.domain.sod1 import parse_sod1_variant
from alsrwe.store.models import Treatment
from alsrwe.store.reads.patient_file import patient_file
from alsrwe.store.reads.records import scoped_record
from alsrwe.store.reads.treatments import treatment_rows
from alsrwe.store.writes import add_record, correct_record
from alsrwe.store.writes.patients import register_patient, update_patient
from alsrwe.store.writes.treatments import end_treatment, start_treatment
from alsrwe.store.writes.voids import void_record
from alsrwe.web.auth import utc_now
from alsrwe.web.deps import (
    ActiveRegimen,
    CurrentUser,
    Db,
    PatientInScope,
    Plausibility,
    RecordId,
    Today,
    require_record_access,
)
from alsrwe.web.routes.api_writes import CONFIRM, RESPONSES, record_in_scope
from alsrwe.web.schemas import (
    NoControlCharacters,
    PatientDetailPublic,
    Sod1Public,
    TreatmentPublic,
    TreatmentsPublic,
    VoidedPublic,
)
from alsrwe.web.schemas_records import MedicationPublic
from alsrwe.web.schemas_writes import (
    SOD1,
    MedicationCreate,
    MedicationUpdate,
    PatientCreate,
    PatientUpdate,
    TreatmentCreate,
    TreatmentEndRequest,
    VoidRequest,
)
from alsrwe.web.versions import VERSIONED, IfMatch, etag, stated_version

router = APIRouter(
    tags=["clinic writes"], responses=RESPONSES, dependencies=[Depends(require_record_access)]
)
VOID_PATHS = {"alsfrs": "alsfrs", "measurements": "measurements",
              "administrations": "administrations", "medications": "medications",
              "adverse_events": "adverse-events", "milestones": "milestones"}
"""The API path of each kind of record, as its create and update routes spell it."""


def _detail(db: Db, user: CurrentUser, patient_id: int, today: Today,
            regimen: ActiveRegimen) -> PatientDetailPublic:
    return PatientDetailPublic.of(patient_file(db, user.scope, patient_id, today=today,
                                               regimen=regimen))


@router.get("/sod1-variants/normalised", tags=["reference"])
def normalise_sod1_variant(
    name: Annotated[str, NoControlCharacters,
                    Query(min_length=1, max_length=64, description=SOD1)],
) -> Sod1Public:
    """The stored form of an SOD1 variant name (HGVS protein and legacy), or a 422 naming the
    rule it breaks; the registration form checks the name with it as it is typed."""
    variant = parse_sod1_variant(entries.clean_text("sod1_variant", name) or "")
    return Sod1Public(input=name, hgvs=variant.hgvs, legacy=variant.legacy)


@router.post("/patients", status_code=201, tags=["patients"])
def create_patient(db: Db, user: CurrentUser, today: Today, regimen: ActiveRegimen,
                   body: PatientCreate) -> PatientDetailPublic:
    """Register a patient or a presymptomatic carrier at one of your sites."""
    values = body.model_dump(exclude={CONFIRM, "genetic_test_date", "counselling_date"})
    entry = entries.patient_entry(current_year=today.year, **values)
    patient = register_patient(db, user.scope, entry, actor=user.username, today=today,
                               genetic_test_date=body.genetic_test_date,
                               counselling_date=body.counselling_date,
                               confirmed=body.confirm_warnings)
    return _detail(db, user, patient.id, today, regimen)


@router.patch("/patients/{patient_id}", tags=["patients"], responses=VERSIONED)
def update_patient_details(response: Response, db: Db, user: CurrentUser,
                           patient: PatientInScope, today: Today, regimen: ActiveRegimen,
                           body: PatientUpdate, if_match: IfMatch = None) -> PatientDetailPublic:
    """Change a patient's details; a carrier converts to ALS with ``status`` patient and an
    ``onset_date``, keeping their record and history."""
    changes = body.model_dump(exclude_unset=True, exclude={CONFIRM, "version"})
    expected = stated_version(if_match, body.version, f"patient {patient.pseudonym}")
    update_patient(db, user.scope, patient.id, changes, actor=user.username, today=today,
                   confirmed=body.confirm_warnings, expected_version=expected)
    detail = _detail(db, user, patient.id, today, regimen)
    response.headers["ETag"] = etag(detail.version)
    return detail


@router.get("/patients/{patient_id}/treatments", tags=["treatments"])
def read_treatments(db: Db, patient: PatientInScope) -> TreatmentsPublic:
    """The patient's treatment periods, oldest first."""
    return TreatmentsPublic(data=[TreatmentPublic.model_validate(t)
                                  for t in treatment_rows(db, patient.id)])


@router.post("/patients/{patient_id}/treatments", status_code=201, tags=["treatments"])
def create_treatment(db: Db, user: CurrentUser, patient: PatientInScope, today: Today,
                     body: TreatmentCreate) -> TreatmentPublic:
    """Start a treatment period on a regimen (one running period per drug)."""
    row = start_treatment(db, user.scope, patient.id, body.regimen, body.start_date,
                          actor=user.username, today=today)
    return TreatmentPublic.model_validate(row)


async def treatment_in_scope(db: Db, user: CurrentUser, treatment_id: RecordId) -> int:
    """The treatment's id if its patient is in the user's sites (a 404 before the body)."""
    row = await run_in_threadpool(scoped_record, db, user.scope, Treatment, treatment_id)
    return row.id


@router.post("/treatments/{treatment_id}/end", tags=["treatments"], responses=VERSIONED)
def end_treatment_period(db: Db, user: CurrentUser,
                         treatment_id: Annotated[int, Depends(treatment_in_scope)],
                         today: Today, body: TreatmentEndRequest,
                         if_match: IfMatch = None) -> TreatmentPublic:
    """Pause or stop a running treatment period, with the reason; resume by starting a new
    period on the same regimen."""
    row = end_treatment(db, user.scope, treatment_id, body.end_kind, body.end_date,
                        body.end_reason, actor=user.username, today=today,
                        expected_version=stated_version(if_match, body.version,
                                                        "this treatment"))
    return TreatmentPublic.model_validate(row)


@router.post("/patients/{patient_id}/medications", status_code=201, tags=["record writes"])
def create_medication(db: Db, user: CurrentUser, patient: PatientInScope, today: Today,
                      rules: Plausibility, body: MedicationCreate) -> MedicationPublic:
    """Record a concomitant medication course (riluzole, edaravone, …)."""
    entry = entries.medication_entry(**body.model_dump(exclude={CONFIRM}))
    row = add_record(db, user.scope, patient.id, entry, actor=user.username, today=today,
                     confirmed=body.confirm_warnings, settings=rules)
    return MedicationPublic.model_validate(row, from_attributes=True)


async def medication_in_scope(db: Db, user: CurrentUser, medication_id: RecordId) -> int:
    return await record_in_scope(db, user, "medications", medication_id)


@router.patch("/medications/{medication_id}", tags=["record writes"],
              responses=VERSIONED)
def update_medication(db: Db, user: CurrentUser,
                      record_id: Annotated[int, Depends(medication_in_scope)], today: Today,
                      rules: Plausibility, body: MedicationUpdate,
                      if_match: IfMatch = None) -> MedicationPublic:
    """Correct a medication course, e.g. record its stop date."""
    row = correct_record(db, user.scope, "medications", record_id,
                         body.model_dump(exclude_unset=True, exclude={CONFIRM, "version"}),
                         actor=user.username, today=today, confirmed=body.confirm_warnings,
                         settings=rules, expected_version=stated_version(
                             if_match, body.version, "this medication record"))
    return MedicationPublic.model_validate(row, from_attributes=True)


def _add_void_route(table: str, path: str) -> None:
    async def in_scope(db: Db, user: CurrentUser, record_id: RecordId) -> int:
        return await record_in_scope(db, user, table, record_id)

    def void(db: Db, user: CurrentUser, record_id: int, body: VoidRequest,
             if_match: IfMatch = None) -> VoidedPublic:
        voided = void_record(db, user.scope, table, record_id, body.reason,
                             actor=user.username, now=utc_now(),
                             expected_version=stated_version(if_match, body.version,
                                                             f"this {table} record"))
        return VoidedPublic.model_validate(voided)

    # The closure's dependency cannot be named in a (string) annotation: set it as an object.
    void.__annotations__["record_id"] = Annotated[int, Depends(in_scope)]
    void.__doc__ = (f"Void a {table.replace('_', ' ')} record entered in error: it leaves every "
                    "analysis, export and rule, and is kept with the reason and the audit trail.")
    router.add_api_route(f"/{path}/{{record_id}}/void", void, methods=["POST"],
                         name=f"void_{table}", tags=["record writes"],
                         responses=VERSIONED)


for _table, _path in VOID_PATHS.items():
    _add_void_route(_table, _path)
