"""Patient self-report: a clinician issues a link; the patient completes the ALSFRS-R through it.

``POST /patients/{patient_id}/self-report-links`` (record-level) makes a random token, stores
only its keyed hash (as for sessions) with an expiry of ``self_report_link_days``, and shows the
link once. ``/self-report/{token}`` needs no login: it shows the questionnaire while the link
is open, stores the answers as an assessment with source ``self`` dated today, and spends the
link in the same transaction; a used, expired or unknown link gets a plain page saying so.
Without a login the form is protected by the pre-session double-submit CSRF cookie, as the
login form is.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from alsrwe.domain.alsfrs import ITEMS, AssessmentSource
from alsrwe.domain.errors import InvalidInput
from alsrwe.domain.records import alsfrs_entry
from alsrwe.store.models import Patient, SelfReportLink
from alsrwe.store.reads.self_reports import LinkState, find_link, link_state
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import add_record
from alsrwe.store.writes.self_reports import issue_link, spend_link
from alsrwe.web.auth import LOGIN_CSRF_COOKIE, new_csrf_token, token_hash, utc_now
from alsrwe.web.deps import (
    CurrentUser,
    Db,
    PatientInScope,
    Plausibility,
    Settings,
    Today,
    request_principal,
    require_record_access,
)
from alsrwe.web.errors import WebError
from alsrwe.web.form_reader import FormReader
from alsrwe.web.record_forms import item5_fields, read_alsfrs
from alsrwe.web.routes.record_pages import Submitted
from alsrwe.web.settings import WebSettings
from alsrwe.web.templating import render

issuer = APIRouter(
    prefix="/patients/{patient_id}", include_in_schema=False,
    dependencies=[Depends(require_record_access)],
)
public = APIRouter(prefix="/self-report", include_in_schema=False)

SELF_REPORT_CSRF_MAX_AGE_S = 12 * 60 * 60
"""The pre-session CSRF cookie outlives a slow questionnaire (the login form's lasts 2 h)."""
Token = Annotated[str, Path(min_length=16, max_length=128)]
CLOSED = {
    LinkState.USED: (410, "This link has already been used",
                     "Your answers were already sent with this link. Thank you."),
    LinkState.EXPIRED: (410, "This link has expired",
                        "Links stay open for a few days only, to keep your answers safe."),
    None: (404, "This link is not valid",
           "Please check that the whole link was copied, or ask your clinic for a new one."),
}


class LinkSpent(WebError):
    status_code = 410
    message = "this self-report link has already been used"


@issuer.post("/self-report-links")
def issue_self_report_link(
    request: Request, db: Db, user: CurrentUser, settings: Settings, patient: PatientInScope
) -> Response:
    """A new single-use link for the patient; the token is shown here once and never stored."""
    token = secrets.token_urlsafe(32)
    link = issue_link(db, user.scope, patient.id, token_hash(token, settings),
                      created_by=user.user_id, actor=user.username, now=utc_now(),
                      lifetime=dt.timedelta(days=settings.self_report_link_days))
    url = str(request.url_for("self_report_form", token=token))
    return render(request, "self_report_link.html", user=user, patient=patient, url=url,
                  expires_at=link.expires_at)


def _closed(request: Request, state: LinkState | None) -> Response:
    status, title, text = CLOSED[state]
    return render(request, "self_report_closed.html", user=None, status_code=status,
                  title=title, text=text)


def _open_link(db: Db, settings: WebSettings, token: str) -> tuple[SelfReportLink | None,
                                                                   LinkState | None]:
    link = find_link(db, token_hash(token, settings))
    return link, None if link is None else link_state(link, utc_now())


def _questionnaire(request: Request, settings: WebSettings, values: dict[str, str],
                   problems: dict[str, str], today: dt.date, status_code: int = 200) -> Response:
    web_session = request_principal(request)  # resolved by csrf_protect, on every route
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    csrf = web_session.csrf_token if web_session is not None else (cookie or new_csrf_token())
    response = render(request, "self_report.html", user=None, csrf_token=csrf, items=ITEMS,
                      values=values, problems=problems, today=today, status_code=status_code,
                      action=request.url.path)
    if web_session is None:
        response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=SELF_REPORT_CSRF_MAX_AGE_S,
                            httponly=True, samesite="lax", secure=settings.secure_cookies)
    return response


@public.get("/{token}", name="self_report_form")
def self_report_form(
    request: Request, db: Db, settings: Settings, token: Token, today: Today
) -> Response:
    link, state = _open_link(db, settings, token)
    if link is None or state is not LinkState.OPEN:
        return _closed(request, state)
    return _questionnaire(request, settings, {}, {}, today)


@public.post("/{token}")
def self_report_submit(
    request: Request, db: Db, settings: Settings, token: Token, today: Today, values: Submitted,
    rules: Plausibility,
) -> Response:
    link, state = _open_link(db, settings, token)
    if link is None or state is not LinkState.OPEN:
        return _closed(request, state)
    reader = FormReader(values)
    read = read_alsfrs(reader)
    if read is not None:
        patient: Patient = link.patient
        items, gastrostomy = read
        try:
            entry = alsfrs_entry(date=today, items=items, gastrostomy=gastrostomy,
                                 source=AssessmentSource.SELF)
            # The patient cannot judge a plausibility warning: it is kept with the rating for
            # the clinician who reviews it (docs/domain-rules.md §11).
            add_record(db, SiteScope.only([patient.site_id]), patient.id, entry,
                       actor=f"self-report link {link.id}", today=today, accept_warnings=True,
                       settings=rules)
        except InvalidInput as error:
            reader.take(error, {"q5": item5_fields(gastrostomy)[0]})
        else:
            if not spend_link(db, link, utc_now()):
                raise LinkSpent()  # a concurrent submission won: roll this one back
            return render(request, "self_report_done.html", user=None, today=today)
    return _questionnaire(request, settings, values, reader.problems, today, 422)
