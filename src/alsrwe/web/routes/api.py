"""The JSON API, version 1, under ``/api/v1``: same read models, scoping and rules as pages.

Authentication: the session cookie ``alsrwe_session`` from ``POST /login`` (form fields
``username``, ``password``, ``csrf_token`` = the ``alsrwe_login_csrf`` cookie set by
``GET /login``). Every POST/PUT/PATCH/DELETE must also send the session's CSRF token in the
``X-CSRF-Token`` header (the token is in ``GET /api/v1/me``), so a cross-site page cannot
use the cookie to write.

Adding an entity: a ``<Entity>Public`` schema in ``schemas.py``, a scoped read model in
``alsrwe.store.reads`` (writes go through ``alsrwe.store.writes``), and handlers here (or in
``api_<entity>.py`` mounted on ``router``) that
call them; never a query in the handler. Another site's record is a 404, as for patients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.security import APIKeyCookie, APIKeyHeader
from pydantic import BaseModel

from alsrwe.domain.access import Role
from alsrwe.store.reads.directory import PatientListRow, list_patients
from alsrwe.store.reads.patient_file import patient_file
from alsrwe.web.auth import CSRF_HEADER, SESSION_COOKIE
from alsrwe.web.deps import (
    ActiveRegimen,
    CurrentUser,
    Db,
    RecordId,
    Today,
    require_record_access,
)
from alsrwe.web.routes import api_clinic, api_records, api_writes
from alsrwe.web.schemas import (
    ErrorPublic,
    PatientDetailPublic,
    PatientListQuery,
    PatientPublic,
    PatientsPublic,
)
from alsrwe.web.versions import etag
from alsrwe.web.viewing import log_view

session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Session cookie set by POST /login"
)
csrf_header = APIKeyHeader(
    name=CSRF_HEADER, auto_error=False,
    description="The session's CSRF token; required on POST, PUT, PATCH and DELETE",
)

API_PREFIX = "/api/v1"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def security_requirements(method: str) -> list[dict[str, list[str]]]:
    """What an operation needs: the session cookie, and for a write the CSRF header as well.

    FastAPI lists each security dependency as an alternative (cookie *or* header), which would
    tell a client that either one is enough; one requirement naming both means both.
    """
    needed: dict[str, list[str]] = {session_cookie.scheme_name: []}
    if method in WRITE_METHODS:
        needed[csrf_header.scheme_name] = []
    return [needed]


UNREADABLE_BODY = {
    "description": "The body cannot be read: not UTF-8, or not the declared content type",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}},
}
"""FastAPI's own answer (400, ``{"detail": "There was an error parsing the body"}``) to a body
it cannot decode, before any schema applies."""


def as_served(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``, completed with what FastAPI does not declare by itself for every
    ``/api/v1`` operation: its real security requirement, and the 400 of an unreadable body
    for an operation that reads one."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for path, operations in document.get("paths", {}).items():
                if path.startswith(API_PREFIX):
                    for method, operation in operations.items():
                        operation["security"] = security_requirements(method)
                        if "requestBody" in operation:
                            operation["responses"].setdefault("400", UNREADABLE_BODY)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "Not logged in"},
    403: {"model": ErrorPublic, "description": "Role not allowed, or CSRF token missing"},
    503: {"model": ErrorPublic, "description": "The database is unavailable just now; nothing "
                                              "was saved; retry after Retry-After seconds"},
}

router = APIRouter(
    prefix=API_PREFIX,
    dependencies=[Depends(session_cookie), Depends(csrf_header)],
    responses=ERRORS,
)
records = APIRouter(tags=["patients"], dependencies=[Depends(require_record_access)])


class MePublic(BaseModel):
    username: str
    role: Role
    csrf_token: str


@router.get("/me", tags=["session"])
def me(user: CurrentUser) -> MePublic:
    """Who is logged in, and the CSRF token to send with writes."""
    return MePublic(username=user.username, role=user.role, csrf_token=user.csrf_token)


def _public(row: PatientListRow) -> PatientPublic:
    return PatientPublic.model_validate(row, from_attributes=True)


@records.get("/patients")
def read_patients(
    db: Db, user: CurrentUser, query: Annotated[PatientListQuery, Query()]
) -> PatientsPublic:
    """Patients of the user's sites matching the filters, by pseudonym, one page."""
    page = list_patients(db, user.scope, query.to_filter(), limit=query.limit,
                         offset=query.offset)
    return PatientsPublic(data=[_public(r) for r in page.rows], count=page.total,
                          limit=page.limit, offset=page.offset)


@records.get("/patients/{patient_id}", responses={404: {"model": ErrorPublic}})
def read_patient(
    request: Request, response: Response, db: Db, user: CurrentUser, patient_id: RecordId,
    today: Today, regimen: ActiveRegimen,
) -> PatientDetailPublic:
    """One patient with stages, ΔFRS and next dose; 404 if absent or at another site. The
    ETag is the version of the patient's details (send it in If-Match to change them)."""
    record = patient_file(db, user.scope, patient_id, today=today, regimen=regimen)
    log_view(request, user, "api_patient", patient_id)
    response.headers["ETag"] = etag(record.patient.version)
    return PatientDetailPublic.of(record)


router.include_router(records)
router.include_router(api_records.router)
router.include_router(api_writes.router)
router.include_router(api_clinic.router)
