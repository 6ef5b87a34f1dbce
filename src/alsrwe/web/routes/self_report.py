"""Patient self-report: a clinician issues a link; the patient completes the ALSFRS-R through it.

``POST /patients/{patient_id}/self-report-links`` (record-level) makes a random token, stores
only its keyed hash (as for sessions) with an expiry of ``self_report_link_days``, and shows the
link once, as text and as a QR code for the patient's phone. ``GET`` on the same path lists the
patient's links (issued when, by whom, until when, open / used / expired / revoked) and
``POST …/{link_id}/revoke`` closes an open one.

``/self-report/{token}`` needs no login: it shows the questionnaire while the link is open,
stores the answers as an assessment with source ``self`` dated today, and spends the link in
the same transaction; a used, expired, revoked or unknown link gets a plain page saying so.
Only the "Send my answers" button sends: it is the one submit button with a name, and Enter
(the browser's implicit submission) reaches a nameless one first, which shows the form again.

Without a login the form is protected by the pre-session double-submit CSRF cookie, as the
login form is. When that check refuses a submission (the cookie expired or is missing, the
token does not match) the answers are not saved, but neither are they lost: the questionnaire
comes back with them and a fresh token (:class:`KeepAnswersRoute`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from alsrwe.domain.alsfrs import ITEMS, AssessmentSource
from alsrwe.domain.errors import InvalidInput
from alsrwe.domain.records import alsfrs_entry
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Patient, SelfReportLink
from alsrwe.store.reads.self_reports import LinkState, find_link, link_state, links_for
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import add_record
from alsrwe.store.writes.self_reports import issue_link, revoke_link, spend_link
from alsrwe.web.auth import LOGIN_CSRF_COOKIE, new_csrf_token, token_hash, utc_now
from alsrwe.web.deps import (
    CurrentUser,
    Db,
    PatientInScope,
    Plausibility,
    RecordId,
    Settings,
    Today,
    request_principal,
    require_record_access,
)
from alsrwe.web.errors import CsrfRejected, NotAuthenticated, WebError
from alsrwe.web.form_reader import FormReader, form_values
from alsrwe.web.record_forms import item5_fields, read_alsfrs
from alsrwe.web.routes.record_pages import Submitted
from alsrwe.web.settings import WebSettings
from alsrwe.web.templating import render

SELF_REPORT_CSRF_MAX_AGE_S = 12 * 60 * 60
"""The pre-session CSRF cookie outlives a slow questionnaire (the login form's lasts 2 h)."""
SEND_FIELD = "send"
"""The name of the "Send my answers" button: a submission without it was not meant to send."""
ANSWERS_KEPT = ("Nothing was sent yet: the page had been open for a long time and had to be "
                "renewed. Your answers are kept; please press Send again.")
NOT_SENT_YET = ("Nothing was sent yet. When you have answered every question, press "
                "“Send my answers” at the end.")
QR_NAME = "QR code of the self-report link"
Token = Annotated[str, Path(min_length=16, max_length=128)]
CLOSED = {
    LinkState.USED: (410, "This link has already been used",
                     "Your answers were already sent with this link. Thank you."),
    LinkState.EXPIRED: (410, "This link has expired",
                        "Links stay open for a few days only, to keep your answers safe."),
    LinkState.REVOKED: (410, "This link was cancelled by your clinic",
                        "Your clinic revoked this link, so answers can no longer be sent "
                        "with it."),
    None: (404, "This link is not valid",
           "Please check that the whole link was copied, or ask your clinic for a new one."),
}


class KeepAnswersRoute(APIRoute):
    """A self-report route whose POST, when the app's CSRF check (``csrf_protect``) refuses it,
    shows the questionnaire again with the submitted answers and a fresh token.

    The check still runs first and still refuses: the route's function never runs, so nothing
    is saved; only the answer to the refusal differs (the patient's questionnaire, not the staff
    login page).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def keep_answers_on_csrf_refusal(request: Request) -> Response:
            try:
                return await handle(request)
            except (CsrfRejected, NotAuthenticated):
                if request.method != "POST":
                    raise
                values = form_values(await request.form())
                return await run_in_threadpool(_answers_kept, request, values)

        return keep_answers_on_csrf_refusal


issuer = APIRouter(
    prefix="/patients/{patient_id}", include_in_schema=False,
    dependencies=[Depends(require_record_access)],
)
public = APIRouter(prefix="/self-report", include_in_schema=False, route_class=KeepAnswersRoute)


class LinkSpent(WebError):
    status_code = 410
    message = "this self-report link has already been used"


def qr_svg(url: str) -> Markup:
    """The URL as an inline SVG QR code (no image request, so the page's CSP stays closed)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=6, dark="#000", light="#fff", title=QR_NAME, svgclass="qr-code",
                          lineclass=None)
    # An image named by its <title> (segno writes no role; axe checks svg[role=img] names).
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


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
                  link_id=link.id, expires_at=link.expires_at, qr_code=qr_svg(url))


@issuer.get("/self-report-links", name="self_report_links")
def self_report_links(request: Request, db: Db, user: CurrentUser,
                      patient: PatientInScope) -> Response:
    """The patient's links, newest first, each open one with its revoke button."""
    revoked = request.query_params.get("revoked", "")
    return render(request, "self_report_links.html", user=user, patient=patient,
                  patient_id=patient.id, self_report_links=links_for(db, patient.id),
                  now=utc_now(), revoked=revoked if revoked.isdigit() else None)


@issuer.post("/self-report-links/{link_id}/revoke")
def revoke_self_report_link(db: Db, user: CurrentUser, patient: PatientInScope,
                            link_id: RecordId) -> Response:
    """Close one of the patient's links (a 404 for another patient's, a 422 for a used one)."""
    revoke_link(db, user.scope, patient.id, link_id, user.username, utc_now())
    return RedirectResponse(f"/patients/{patient.id}/self-report-links?revoked={link_id}"
                            "#revoked", status_code=303)


def _closed(request: Request, state: LinkState | None) -> Response:
    status, title, text = CLOSED[state]
    return render(request, "self_report_closed.html", user=None, status_code=status,
                  title=title, text=text)


def _open_link(db: Session, settings: WebSettings, token: str) -> tuple[SelfReportLink | None,
                                                                        LinkState | None]:
    link = find_link(db, token_hash(token, settings))
    return link, None if link is None else link_state(link, utc_now())


def _questionnaire(request: Request, settings: WebSettings, values: dict[str, str],
                   problems: dict[str, str], *, status_code: int = 200,
                   notice: str | None = None, fresh_token: bool = False) -> Response:
    """The form; ``fresh_token`` replaces a pre-session token the CSRF check refused."""
    web_session = request_principal(request)  # resolved by csrf_protect, on every route
    cookie = None if fresh_token else request.cookies.get(LOGIN_CSRF_COOKIE)
    csrf = web_session.csrf_token if web_session is not None else (cookie or new_csrf_token())
    response = render(request, "self_report.html", user=None, csrf_token=csrf, items=ITEMS,
                      values=values, problems=problems, notice=notice, status_code=status_code,
                      action=request.url.path)
    if web_session is None:
        response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=SELF_REPORT_CSRF_MAX_AGE_S,
                            httponly=True, samesite="lax", secure=settings.secure_cookies)
    return response


def _answers_kept(request: Request, values: dict[str, str]) -> Response:
    """The answer to a submission the CSRF check refused: nothing saved, nothing lost.

    Still 403 (the submission was refused), and only while the link is open.
    """
    settings: WebSettings = request.app.state.settings
    with unit_of_work(request.app.state.engine, read_only=True) as db:
        _, state = _open_link(db, settings, str(request.path_params.get("token", "")))
    if state is not LinkState.OPEN:
        return _closed(request, state)
    return _questionnaire(request, settings, values, {}, status_code=403, notice=ANSWERS_KEPT,
                          fresh_token=True)


def _in_plain_words(reader: FormReader) -> None:
    """The patient's words for the one item-5 message that speaks of the clinic's form."""
    gastrostomy = reader.checkbox("gastrostomy")
    used, unused = item5_fields(gastrostomy)
    if unused in reader.problems:
        ticked = "ticked" if gastrostomy else "did not tick"
        reader.problems[unused] = (f"leave this question empty: you {ticked} “I have a feeding "
                                   f"tube”, so please answer question {used.removeprefix('q')} "
                                   "instead")


@public.get("/{token}", name="self_report_form")
def self_report_form(request: Request, db: Db, settings: Settings, token: Token) -> Response:
    link, state = _open_link(db, settings, token)
    if link is None or state is not LinkState.OPEN:
        return _closed(request, state)
    return _questionnaire(request, settings, {}, {})


@public.post("/{token}")
def self_report_submit(
    request: Request, db: Db, settings: Settings, token: Token, today: Today, values: Submitted,
    rules: Plausibility,
) -> Response:
    link, state = _open_link(db, settings, token)
    if link is None or state is not LinkState.OPEN:
        return _closed(request, state)
    if SEND_FIELD not in values:  # Enter in the form, not the "Send my answers" button
        return _questionnaire(request, settings, values, {}, notice=NOT_SENT_YET)
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
                raise LinkSpent()  # a concurrent submission or a revocation won: roll back
            return render(request, "self_report_done.html", user=None, today=today)
    _in_plain_words(reader)
    return _questionnaire(request, settings, values, reader.problems, status_code=422)
