"""Pages of a patient's details and treatment: register, change details, start, pause, stop.

``/patients/new`` registers a patient or presymptomatic carrier at one of the user's sites
(the SOD1 variant is checked as it is typed, and the stored name shown back);
``/patients/{id}/edit`` changes their details — a carrier converts to ALS there, keeping their
record. ``/patients/{id}/treatments/new`` starts a regimen and ``…/{treatment_id}/end``
pauses or stops it with a reason. Each submission is one transaction through the store's write
path; an invalid one is shown again with every message next to its field, nothing written.
Record-level roles only, own sites only. This router is mounted before the patient pages so
that ``/patients/new`` is not read as a patient id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from alsrwe.domain import cells
from alsrwe.domain.errors import InvalidInput, NotFound, StaleVersion
from alsrwe.domain.records import patient_entry
from alsrwe.domain.sod1 import parse_sod1_variant
from alsrwe.store.models import Patient, Treatment
from alsrwe.store.reads.directory import filter_choices
from alsrwe.store.reads.records import scoped_record
from alsrwe.store.writes.patients import register_patient, update_patient
from alsrwe.store.writes.treatments import end_treatment, start_treatment
from alsrwe.web.deps import (
    CurrentUser,
    Db,
    PatientInScope,
    RecordId,
    Today,
    require_record_access,
)
from alsrwe.web.form_reader import FormReader
from alsrwe.web.patient_forms import END_FIELDS, START_FIELDS, details_fields, details_values
from alsrwe.web.patient_forms import read_details as read_patient_details
from alsrwe.web.record_forms import FormField
from alsrwe.web.routes.record_pages import INVALID, Confirmed, Submitted
from alsrwe.web.templating import render
from alsrwe.web.versions import CONFLICT, VERSION_FIELD, conflict_text, form_version

router = APIRouter(prefix="/patients", include_in_schema=False,
                   dependencies=[Depends(require_record_access)])
GENETIC = ("genetic_test_date", "counselling_date")


def _names(fields: tuple[FormField, ...]) -> frozenset[str]:
    return frozenset(f.name for f in fields)


def _normalised(values: dict[str, str]) -> str | None:
    """The stored name of the variant typed, shown back after a submission (None if unread)."""
    try:
        variant = parse_sod1_variant(values.get("sod1_variant", "").strip())
    except InvalidInput:
        return None
    return f"{variant.legacy} ({variant.hgvs})"


def _page(request: Request, user: CurrentUser, *, title: str, action: str,
          fields: tuple[FormField, ...], values: dict[str, str], submit: str,
          back: tuple[str, str], reader: FormReader | None = None,
          confirmed: frozenset[str] = frozenset(), status_code: int = 200,
          **extra: Any) -> Response:
    return render(request, "form_page.html", user=user, title=title, action=action,
                  fields=fields, values=values, submit=submit, back=back,
                  problems=reader.problems if reader else {},
                  warnings=reader.warnings if reader else {}, confirmed=confirmed,
                  status_code=status_code, **extra)


def _redirect(patient_id: int, saved: str) -> Response:
    return RedirectResponse(f"/patients/{patient_id}?saved={saved}#saved", status_code=303)


# --- Registration ------------------------------------------------------------------------------


def _registration(request: Request, db: Db, user: CurrentUser, values: dict[str, str],
                  reader: FormReader | None = None, confirmed: frozenset[str] = frozenset(),
                  status_code: int = 200) -> Response:
    sites = filter_choices(db, user.scope).sites
    return _page(request, user, title="Register a patient or carrier", action="/patients/new",
                 fields=details_fields(sites), values=values, submit="Register",
                 back=("/patients", "Patients"), reader=reader, confirmed=confirmed,
                 status_code=status_code, live_sod1=True,
                 normalised=_normalised(values) if reader else None,
                 intro="Pseudonymous: the registry keeps a study code and the birth year, "
                       "never a name or a full date of birth.")


@router.get("/new")
def registration_form(request: Request, db: Db, user: CurrentUser) -> Response:
    sites = filter_choices(db, user.scope).sites
    values = {"zygosity": "heterozygous", "status": "patient"}
    if len(sites) == 1:
        values["site"] = sites[0]
    return _registration(request, db, user, values)


@router.post("/new")
def registration_submit(request: Request, db: Db, user: CurrentUser, today: Today,
                        values: Submitted, confirmed: Confirmed) -> Response:
    reader = FormReader(values)
    read = read_patient_details(reader, registering=True)
    if read is not None:
        dates = {name: read.pop(name) for name in GENETIC}
        try:
            entry = patient_entry(current_year=today.year, **read)
            patient = register_patient(db, user.scope, entry, actor=user.username, today=today,
                                       confirmed=confirmed, **dates)
        except InvalidInput as error:
            reader.take(error, known=_names(details_fields([])))
        else:
            return _redirect(patient.id, "registered")
    return _registration(request, db, user, values, reader, confirmed, INVALID)


# --- Details -------------------------------------------------------------------------------------


def _details(request: Request, user: CurrentUser, patient: Patient, values: dict[str, str],
             reader: FormReader | None = None, confirmed: frozenset[str] = frozenset(),
             status_code: int = 200) -> Response:
    return _page(request, user, title=f"Details of {patient.pseudonym}",
                 action=f"/patients/{patient.id}/edit", fields=details_fields(None),
                 values=values, submit="Save details",
                 back=(f"/patients/{patient.id}", patient.pseudonym), reader=reader,
                 confirmed=confirmed, status_code=status_code, live_sod1=True,
                 normalised=_normalised(values),
                 record_rows=(("Pseudonym", patient.pseudonym), ("Site", patient.site.code)))


@router.get("/{patient_id}/edit")
def details_form(request: Request, user: CurrentUser, patient: PatientInScope) -> Response:
    return _details(request, user, patient,
                    {**details_values(patient), VERSION_FIELD: str(patient.version)})


@router.post("/{patient_id}/edit")
def details_submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
                   today: Today, values: Submitted, confirmed: Confirmed) -> Response:
    reader = FormReader(values)
    read = read_patient_details(reader, registering=False)
    if read is not None:
        try:
            update_patient(db, user.scope, patient.id, read, actor=user.username, today=today,
                           confirmed=confirmed, expected_version=form_version(values))
        except StaleVersion as error:
            reader.fail("", conflict_text(error, read))
            return _details(request, user, patient, {**values, VERSION_FIELD: str(error.current)},
                            reader, confirmed, CONFLICT)
        except InvalidInput as error:
            reader.take(error, known=_names(details_fields(None)))
        else:
            return _redirect(patient.id, "details")
    return _details(request, user, patient, values, reader, confirmed, INVALID)


# --- Treatment -------------------------------------------------------------------------------


def _start(request: Request, user: CurrentUser, patient: Patient, values: dict[str, str],
           reader: FormReader | None = None, status_code: int = 200) -> Response:
    return _page(request, user, title=f"Start a treatment for {patient.pseudonym}",
                 action=f"/patients/{patient.id}/treatments/new", fields=START_FIELDS,
                 values=values, submit="Start treatment",
                 back=(f"/patients/{patient.id}", patient.pseudonym), reader=reader,
                 status_code=status_code)


@router.get("/{patient_id}/treatments/new")
def treatment_form(request: Request, user: CurrentUser, patient: PatientInScope,
                   today: Today) -> Response:
    return _start(request, user, patient, {"regimen": "tofersen_us",
                                           "start_date": today.isoformat()})


@router.post("/{patient_id}/treatments/new")
def treatment_submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
                     today: Today, values: Submitted) -> Response:
    reader = FormReader(values)
    start = reader.cell("start_date", cells.iso_date)
    regimen = reader.text("regimen")
    if reader.ok:
        try:
            start_treatment(db, user.scope, patient.id, regimen, start, actor=user.username,
                            today=today)
        except InvalidInput as error:
            reader.take(error, known=_names(START_FIELDS))
        else:
            return _redirect(patient.id, "treatment-started")
    return _start(request, user, patient, values, reader, INVALID)


def _period(db: Db, user: CurrentUser, patient: Patient, treatment_id: int) -> Treatment:
    row = scoped_record(db, user.scope, Treatment, treatment_id)
    if row.patient_id != patient.id:
        raise NotFound("no such treatment")
    return row


def _end(request: Request, user: CurrentUser, patient: Patient, row: Treatment,
         values: dict[str, str], reader: FormReader | None = None,
         status_code: int = 200) -> Response:
    return _page(request, user, title=f"Pause or stop {row.regimen} for {patient.pseudonym}",
                 action=f"/patients/{patient.id}/treatments/{row.id}/end", fields=END_FIELDS,
                 values=values, submit="Save", back=(f"/patients/{patient.id}",
                                                     patient.pseudonym),
                 reader=reader, status_code=status_code,
                 record_rows=(("Regimen", row.regimen),
                              ("Started", row.start_date.isoformat())))


@router.get("/{patient_id}/treatments/{treatment_id}/end")
def end_form(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
             treatment_id: RecordId, today: Today) -> Response:
    row = _period(db, user, patient, treatment_id)
    return _end(request, user, patient, row, {"end_kind": "paused",
                                              "end_date": today.isoformat(),
                                              VERSION_FIELD: str(row.version)})


@router.post("/{patient_id}/treatments/{treatment_id}/end")
def end_submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
               treatment_id: RecordId, today: Today, values: Submitted) -> Response:
    row = _period(db, user, patient, treatment_id)
    reader = FormReader(values)
    end_date = reader.cell("end_date", cells.iso_date)
    kind, reason = reader.text("end_kind"), reader.text("end_reason")
    if reader.ok:
        try:
            end_treatment(db, user.scope, row.id, kind, end_date, reason, actor=user.username,
                          today=today, patient_id=patient.id,
                          expected_version=form_version(values))
        except StaleVersion as error:
            reader.fail("", conflict_text(error, {}))
            return _end(request, user, patient, row, {**values, VERSION_FIELD: str(error.current)},
                        reader, CONFLICT)
        except InvalidInput as error:
            reader.take(error, known=_names(END_FIELDS))
        else:
            return _redirect(patient.id, f"treatment-{kind}")
    return _end(request, user, patient, row, values, reader, INVALID)
