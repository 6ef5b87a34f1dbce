"""Data-entry pages of a patient: ALSFRS-R, measurement, dose, adverse event, milestone.

Each form is ``GET``/``POST /patients/{patient_id}/<kind>/new``. A valid submission is built
by the domain and written by the store's write path (one transaction, one audit entry), then
redirects to the patient page. An invalid one is shown again with the submitted values and
each message next to its field, and nothing is written; a plausibility warning is shown next
to its field with a box that confirms it (the confirmation is kept with the record).
Record-level: admins, clinicians and data managers, own sites only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from alsrwe.domain import cells
from alsrwe.domain.alsfrs import ITEMS, AssessmentSource
from alsrwe.domain.errors import InvalidInput, NotFound, Problem
from alsrwe.domain.records import alsfrs_entry
from alsrwe.store.models import MAX_ID, Patient
from alsrwe.store.writes import add_record
from alsrwe.store.writes.flags import acknowledge_flag
from alsrwe.store.writes.self_reports import review_self_report
from alsrwe.web.auth import utc_now
from alsrwe.web.deps import (
    ActiveRegimen,
    CurrentUser,
    Db,
    PatientInScope,
    Plausibility,
    SelfReportReviewer,
    Today,
    require_record_access,
)
from alsrwe.web.form_reader import FormReader, confirmed_codes, form_values
from alsrwe.web.record_forms import ITEM_FIELDS, RECORD_FORMS, RecordForm, item5_fields, read_alsfrs
from alsrwe.web.templating import render

router = APIRouter(
    prefix="/patients/{patient_id}", include_in_schema=False,
    dependencies=[Depends(require_record_access)],
)
INVALID = 422


async def submitted(request: Request) -> dict[str, str]:
    """The submitted form's text fields (already parsed once by the CSRF check)."""
    return form_values(await request.form())


async def confirmations(request: Request) -> frozenset[str]:
    """The warning codes whose confirm box the user ticked."""
    return confirmed_codes(await request.form())


Submitted = Annotated[dict[str, str], Depends(submitted)]
Confirmed = Annotated[frozenset[str], Depends(confirmations)]


def _saved(patient: Patient, what: str) -> Response:
    return RedirectResponse(f"/patients/{patient.id}?saved={what}#saved", status_code=303)


# --- ALSFRS-R -----------------------------------------------------------------------------------


def _alsfrs_page(request: Request, user: CurrentUser, patient: Patient, values: dict[str, str],
                 reader: FormReader | None = None, confirmed: frozenset[str] = frozenset(),
                 status_code: int = 200) -> Response:
    return render(request, "alsfrs_form.html", user=user, patient=patient, items=ITEMS,
                  values=values, problems=reader.problems if reader else {},
                  warnings=reader.warnings if reader else {}, confirmed=confirmed,
                  status_code=status_code)


@router.get("/alsfrs/new")
def alsfrs_form(request: Request, user: CurrentUser, patient: PatientInScope,
                today: Today) -> Response:
    return _alsfrs_page(request, user, patient, {"date": today.isoformat()})


@router.post("/alsfrs/new")
def alsfrs_submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
                  today: Today, values: Submitted, confirmed: Confirmed,
                  rules: Plausibility) -> Response:
    reader = FormReader(values)
    when = reader.cell("date", cells.iso_date)
    read = read_alsfrs(reader)
    if read is not None and when is not None:
        items, gastrostomy = read
        try:
            entry = alsfrs_entry(date=when, items=items, gastrostomy=gastrostomy,
                                 source=AssessmentSource.CLINIC)
            add_record(db, user.scope, patient.id, entry, actor=user.username, today=today,
                       confirmed=confirmed, settings=rules)
        except InvalidInput as error:
            reader.take(error, {"q5": item5_fields(gastrostomy)[0]},
                        frozenset({"date", "gastrostomy", *ITEM_FIELDS}))
        else:
            return _saved(patient, "alsfrs")
    return _alsfrs_page(request, user, patient, values, reader, confirmed, INVALID)


# --- The other forms, from their descriptions ---------------------------------------------------


def _record_page(request: Request, user: CurrentUser, patient: Patient, form: RecordForm,
                 values: dict[str, str], reader: FormReader | None = None,
                 confirmed: frozenset[str] = frozenset(), status_code: int = 200) -> Response:
    return render(request, "record_form.html", user=user, patient=patient, form=form,
                  values=values, problems=reader.problems if reader else {},
                  warnings=reader.warnings if reader else {}, confirmed=confirmed,
                  status_code=status_code)


def _add_form_routes(form: RecordForm) -> None:
    path = f"/{form.slug}/new"

    def show(request: Request, user: CurrentUser, patient: PatientInScope, today: Today,
             regimen: ActiveRegimen) -> Response:
        return _record_page(request, user, patient, form, form.defaults(today, regimen))

    def submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
               today: Today, values: Submitted, confirmed: Confirmed,
               rules: Plausibility) -> Response:
        reader = FormReader(values)
        read: dict[str, Any] | None = form.read(reader)
        if read is not None:
            try:
                add_record(db, user.scope, patient.id, form.build(**read), actor=user.username,
                           today=today, confirmed=confirmed, settings=rules)
            except InvalidInput as error:
                reader.take(error, known=form.field_names)
            else:
                return _saved(patient, form.slug)
        return _record_page(request, user, patient, form, values, reader, confirmed, INVALID)

    name = form.slug.replace("-", "_")
    router.add_api_route(path, show, methods=["GET"], name=f"{name}_form")
    router.add_api_route(path, submit, methods=["POST"], name=f"{name}_submit")


for _form in RECORD_FORMS.values():
    _add_form_routes(_form)


# --- Self-report review -------------------------------------------------------------------------


@router.post("/self-reports/review")
def review_self_report_submit(db: Db, patient: PatientInScope, user: SelfReportReviewer,
                              values: Submitted) -> Response:
    """Mark one of the patient's self-reported ratings (form field ``assessment_id``) reviewed;
    only the roles of ``self_report_reviewers`` may (a clinician by default)."""
    assessment_id = FormReader(values).cell("assessment_id", cells.integer, low=1, high=MAX_ID)
    if assessment_id is None:
        raise NotFound("no such self-report")
    review_self_report(db, user.scope, assessment_id, actor=user.username, now=utc_now(),
                       patient_id=patient.id)
    return _saved(patient, "self-report-reviewed")


# --- Flag acknowledgement -----------------------------------------------------------------------


@router.post("/flags/acknowledge")
def acknowledge_flag_submit(db: Db, user: CurrentUser, patient: PatientInScope,
                            values: Submitted) -> Response:
    """Acknowledge the header's CSF or NfL flag of one sample (fields ``flag``,
    ``sample_date``): it leaves the header and the dashboard until a newer sample is flagged."""
    reader = FormReader(values)
    sample_date = reader.cell("sample_date", cells.iso_date)
    flag = reader.text("flag")
    if sample_date is None:
        raise InvalidInput([Problem("sample_date", reader.problems.get("sample_date",
                                                                       "is required"))])
    acknowledge_flag(db, user.scope, patient.id, flag, sample_date, actor=user.username,
                     now=utc_now())
    return _saved(patient, "flag-acknowledged")
