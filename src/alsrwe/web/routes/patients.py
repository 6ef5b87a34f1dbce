"""Patient pages: the list, the patient page and its printable one-page summary.

Every route here is record-level: the router admits admins, clinicians and data managers
only, and every read model is scoped to the user's sites (another site's patient is a 404).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from alsrwe.domain.alsfrs import item_definitions
from alsrwe.domain.flags import FlagCode, FlagKind
from alsrwe.domain.patient import PatientStatus
from alsrwe.store.reads.directory import filter_choices, list_patients
from alsrwe.store.reads.patient_file import PatientFile, patient_file
from alsrwe.store.reads.patients import PatientStamp, patient_stamp
from alsrwe.store.reads.self_reports import links_for
from alsrwe.web.auth import utc_now
from alsrwe.web.charts import patient_figures
from alsrwe.web.deps import (
    ActiveRegimen,
    CurrentUser,
    Db,
    RecordId,
    Settings,
    Today,
    require_record_access,
    reviews_self_reports,
)
from alsrwe.web.page_cache import PageCache, RenderedPatient, page_key
from alsrwe.web.schemas import PatientListQuery
from alsrwe.web.templating import render, render_fragment
from alsrwe.web.viewing import log_view

router = APIRouter(
    prefix="/patients", include_in_schema=False, dependencies=[Depends(require_record_access)]
)


ACKNOWLEDGED = {FlagCode.CSF_FLAG: FlagKind.CSF, FlagCode.RISING_NFL: FlagKind.NFL}
"""Header flags a clinician acknowledges, and the kind the acknowledgement is kept under."""

ITEM_TITLES = tuple(
    "Cutting food and handling utensils (5a; 5b with gastrostomy)" if item.number == 5
    else item.label
    for item in item_definitions(gastrostomy=False)
)
"""Column titles of the twelve items in the assessments table (5a and 5b share a column)."""


@router.get("")
def patient_list(
    request: Request, db: Db, user: CurrentUser, query: Annotated[PatientListQuery, Query()]
) -> Response:
    page = list_patients(db, user.scope, query.to_filter(), limit=query.limit,
                         offset=query.offset)
    return render(request, "patients.html", user=user, page=page, query=query,
                  choices=filter_choices(db, user.scope), statuses=list(PatientStatus),
                  previous_url=_page_url(query, page.offset - page.limit)
                  if page.has_previous else None,
                  next_url=_page_url(query, page.offset + page.limit) if page.has_next else None)


def _page_url(query: PatientListQuery, offset: int) -> str:
    """The list's URL with the same filters, starting at ``offset``."""
    params = query.model_dump(mode="json", exclude={"offset"}, exclude_none=True)
    return f"/patients?{urlencode({**params, 'offset': max(0, offset)})}"


def _file(db: Db, user: CurrentUser, patient_id: RecordId, today: Today,
          regimen: ActiveRegimen) -> PatientFile:
    return patient_file(db, user.scope, patient_id, today=today, regimen=regimen)


PatientRecord = Annotated[PatientFile, Depends(_file)]


@router.get("/{patient_id}")
def patient_page(request: Request, db: Db, user: CurrentUser, patient_id: RecordId, today: Today,
                 regimen: ActiveRegimen, settings: Settings) -> Response:
    """The patient page; its record part is rendered once per patient revision (page_cache).

    The self-report links (which change no revision) and the review buttons (which carry the
    session's token and depend on the role) are rendered on every request.
    """
    stamp = patient_stamp(db, user.scope, patient_id)
    cache: PageCache = request.app.state.page_cache
    key = page_key(stamp, today, regimen.id)
    page = cache.get(key)
    if page is None:
        page = _rendered(request, stamp, _file(db, user, patient_id, today, regimen))
        cache.put(key, page)
    log_view(request, user, "patient_page", patient_id)
    return render(request, "patient.html", user=user, page=page,
                  can_review=reviews_self_reports(user, settings),
                  self_report_links=links_for(db, patient_id), now=utc_now(),
                  patient_id=patient_id)


def _rendered(request: Request, stamp: PatientStamp, record: PatientFile) -> RenderedPatient:
    figures = patient_figures(record)
    return RenderedPatient(
        patient=stamp,
        header=render_fragment(request, "_patient_header.html", record=record),
        course=render_fragment(request, "_patient_course.html", record=record, figures=figures,
                               item_titles=ITEM_TITLES),
        has_figures=bool(figures),
        to_review=tuple(record.to_review),
        deceased=record.deceased,
        carrier=record.patient.status is PatientStatus.CARRIER,
        acknowledgeable=tuple((ACKNOWLEDGED[f.code].value, f.date.isoformat(), f.text)
                              for f in record.flags if f.code in ACKNOWLEDGED and f.date),
        open_treatment=record.open_treatment.id if record.open_treatment else None,
    )


@router.get("/{patient_id}/record")
def patient_record_page(request: Request, user: CurrentUser, record: PatientRecord) -> Response:
    """Every row of every table (the patient page shows the latest ten of each)."""
    log_view(request, user, "patient_record", record.patient.id)
    return render(request, "patient_record.html", user=user, record=record,
                  item_titles=ITEM_TITLES)


@router.get("/{patient_id}/summary")
def patient_summary_page(request: Request, user: CurrentUser, record: PatientRecord) -> Response:
    """One printable page: header, latest scores, dosing, open adverse events, milestones."""
    log_view(request, user, "patient_summary", record.patient.id)
    return render(request, "patient_summary.html", user=user, record=record)
