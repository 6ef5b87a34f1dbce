"""Data-entry pages of a patient: ALSFRS-R, measurement, dose, adverse event, milestone.

Each form is ``GET``/``POST /patients/{patient_id}/<kind>/new``. A valid submission is saved
by the store's use case (one transaction, one audit entry) and redirects to the patient page;
an invalid one is shown again with the submitted values and each message next to its field,
and nothing is written. Record-level: admins, clinicians and data managers, own sites only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from alsrwe.domain.alsfrs import ITEMS, AssessmentSource
from alsrwe.interop import cells
from alsrwe.store.models import Patient
from alsrwe.store.records import RecordInvalid, RecordNotFound, load_patient, record_alsfrs
from alsrwe.store.self_reports import review_self_report
from alsrwe.web.auth import utc_now
from alsrwe.web.deps import ActiveRegimen, CurrentUser, Db, Today, require_record_access
from alsrwe.web.errors import NotFound
from alsrwe.web.form_reader import FormReader, form_values
from alsrwe.web.record_forms import RECORD_FORMS, RecordForm, read_alsfrs
from alsrwe.web.templating import render

router = APIRouter(
    prefix="/patients/{patient_id}", include_in_schema=False,
    dependencies=[Depends(require_record_access)],
)
INVALID = 422


def scoped_patient_or_404(db: Db, user: CurrentUser, patient_id: int) -> Patient:
    try:
        return load_patient(db, user.scope, patient_id)
    except RecordNotFound:
        raise NotFound("no such patient") from None


async def submitted(request: Request) -> dict[str, str]:
    """The submitted form's text fields (already parsed once by the CSRF check)."""
    return form_values(await request.form())


PatientInScope = Annotated[Patient, Depends(scoped_patient_or_404)]
Submitted = Annotated[dict[str, str], Depends(submitted)]


def _saved(patient: Patient, what: str) -> Response:
    return RedirectResponse(f"/patients/{patient.id}?saved={what}#saved", status_code=303)


# --- ALSFRS-R -----------------------------------------------------------------------------------


def _alsfrs_page(request: Request, user: CurrentUser, patient: Patient, values: dict[str, str],
                 problems: dict[str, str], status_code: int = 200) -> Response:
    return render(request, "alsfrs_form.html", user=user, patient=patient, items=ITEMS,
                  values=values, problems=problems, status_code=status_code)


@router.get("/alsfrs/new")
def alsfrs_form(request: Request, user: CurrentUser, patient: PatientInScope,
                today: Today) -> Response:
    return _alsfrs_page(request, user, patient, {"date": today.isoformat()}, {})


@router.post("/alsfrs/new")
def alsfrs_submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
                  today: Today, values: Submitted) -> Response:
    reader = FormReader(values)
    when = reader.cell("date", cells.iso_date)
    read = read_alsfrs(reader)
    if read is not None and when is not None:
        items, gastrostomy = read
        try:
            record_alsfrs(db, user.scope, patient.id, when, items, gastrostomy,
                          AssessmentSource.CLINIC, user.username, today=today)
        except RecordInvalid as error:
            reader.problems.update(error.problems)
        else:
            return _saved(patient, "alsfrs")
    return _alsfrs_page(request, user, patient, values, reader.problems, INVALID)


# --- The other forms, from their descriptions ---------------------------------------------------


def _record_page(request: Request, user: CurrentUser, patient: Patient, form: RecordForm,
                 values: dict[str, str], problems: dict[str, str],
                 status_code: int = 200) -> Response:
    return render(request, "record_form.html", user=user, patient=patient, form=form,
                  values=values, problems=problems, status_code=status_code)


def _add_form_routes(form: RecordForm) -> None:
    path = f"/{form.slug}/new"

    def show(request: Request, user: CurrentUser, patient: PatientInScope, today: Today,
             regimen: ActiveRegimen) -> Response:
        return _record_page(request, user, patient, form, form.defaults(today, regimen), {})

    def submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope,
               today: Today, values: Submitted) -> Response:
        reader = FormReader(values)
        read: dict[str, Any] | None = form.read(reader)
        if read is not None:
            try:
                form.save(db, user.scope, patient.id, **read, actor=user.username, today=today)
            except RecordInvalid as error:
                reader.problems.update(error.problems)
            else:
                return _saved(patient, form.slug)
        return _record_page(request, user, patient, form, values, reader.problems, INVALID)

    name = form.slug.replace("-", "_")
    router.add_api_route(path, show, methods=["GET"], name=f"{name}_form")
    router.add_api_route(path, submit, methods=["POST"], name=f"{name}_submit")


for _form in RECORD_FORMS.values():
    _add_form_routes(_form)


# --- Self-report review -------------------------------------------------------------------------


@router.post("/self-reports/review")
def review_self_report_submit(db: Db, user: CurrentUser, patient: PatientInScope,
                              values: Submitted) -> Response:
    """Mark one of the patient's self-reported ratings (form field ``assessment_id``) reviewed."""
    try:
        assessment_id = int(values.get("assessment_id", ""))
        review_self_report(db, user.scope, assessment_id, actor=user.username, now=utc_now(),
                           patient_id=patient.id)
    except (ValueError, RecordNotFound):
        raise NotFound("no such self-report") from None
    return _saved(patient, "self-report-reviewed")
