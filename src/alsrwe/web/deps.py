"""FastAPI dependencies: settings, one transaction per request, the user, roles and scope.

Route modules declare what they need (``Db``, ``CurrentUser``, ``Today``, ``ActiveRegimen``);
routers that show record-level data add ``Depends(require_record_access)`` once, at the router,
so a route added later cannot forget it. ``csrf_protect`` runs on every route of the app.

Every dependency is ``async def`` and does its blocking work in one explicit hop to the thread
pool (or none): a sync dependency costs a hop each, and a sync generator two, which under load
was a measurable share of a request (docs/benchmarks.md, "Web app").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request
from pydantic import AfterValidator
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from alsrwe.domain.access import AGGREGATE_ROLES, COHORT_ROLES, RECORD_ROLES, Role
from alsrwe.domain.cells import CONTROL_CHARACTER, control_characters
from alsrwe.domain.errors import NotFound, Problem
from alsrwe.domain.plausibility import PlausibilitySettings
from alsrwe.domain.regimens import REGIMENS, Regimen
from alsrwe.store.db import begin_unit, end_unit, unit_of_work
from alsrwe.store.models import MAX_ID, Patient, WebSession
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.reads.users import site_scope
from alsrwe.store.writes.accounts import touch_web_session
from alsrwe.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
    resolve_session,
    token_hash,
    touch_due,
    utc_now,
)
from alsrwe.web.errors import (
    CsrfRejected,
    Forbidden,
    InvalidParameters,
    Location,
    NotAuthenticated,
)
from alsrwe.web.principal import Principal, PrincipalCache
from alsrwe.web.settings import WebSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def get_settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_db(
    request: Request, engine: Annotated[Engine, Depends(get_engine)]
) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back if it raises.

    The connection is taken lazily, at the first query. GET and HEAD are readers (on SQLite a
    deferred ``BEGIN``: pages never take the write lock). Ending the unit is shielded from
    cancellation (a client that hangs up), so the connection always goes back to the pool.
    """
    session = begin_unit(engine, read_only=request.method in SAFE_METHODS)
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(end_unit, session, commit=False)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(end_unit, session, commit=True)


async def get_today() -> dt.date:
    """The clinic's 'today' (tests override this dependency to pin the date)."""
    return dt.date.today()


async def get_regimen(settings: Annotated[WebSettings, Depends(get_settings)]) -> Regimen:
    return REGIMENS[settings.regimen]


async def get_plausibility(request: Request) -> PlausibilitySettings:
    """The rulebook's settings, read once when the app was made (``ALSRWE_PLAUSIBILITY_FILE``)."""
    rules: PlausibilitySettings = request.app.state.plausibility
    return rules


def existing_id(value: int) -> int:
    """``value`` if a record could have it; NotFound (a 404) for an id below 1 or beyond the
    database's integer column, without asking the database (PostgreSQL refuses such a
    parameter outright, SQLite would overflow)."""
    if not 1 <= value <= MAX_ID:
        raise NotFound("no record has this id")
    return value


RecordId = Annotated[int, Path(description="A record's id: any integer (one that no record "
                                           "can have is a 404, as an unknown one)"),
                     AfterValidator(existing_id)]
"""Ids in a path. Any integer is a well-formed id, so one outside the database's integer range
is not a 422 but a 404 like any id that names no record (and never a 500). ``existing_id``
raises NotFound, which pydantic lets through (it wraps only ValueError and AssertionError)."""

Settings = Annotated[WebSettings, Depends(get_settings)]
Db = Annotated[Session, Depends(get_db, scope="function")]
Today = Annotated[dt.date, Depends(get_today)]
ActiveRegimen = Annotated[Regimen, Depends(get_regimen)]
Plausibility = Annotated[PlausibilitySettings, Depends(get_plausibility)]


def _resolve(engine: Engine, session_id: str, settings: WebSettings,
             now: dt.datetime) -> Principal | None:
    """Read the session (and its user's sites); write ``last_seen`` at most once a minute."""
    with unit_of_work(engine, read_only=True) as session:
        row = resolve_session(session, session_id, settings, now)
        if row is None:
            return None
        principal = _principal(row)
        touch = touch_due(row, now)
    if touch:
        with unit_of_work(engine) as session:
            touch_web_session(session, session_id, now)
    return principal


def _principal(web_session: WebSession) -> Principal:
    user = web_session.user
    return Principal(user.id, user.username, user.role, site_scope(user),
                     web_session.csrf_token, web_session.expires_at)


async def optional_user(
    request: Request, settings: Settings, engine: Annotated[Engine, Depends(get_engine)]
) -> Principal | None:
    """The logged-in user of this request, or ``None``; kept as ``request.state.principal``.

    Remembered per process for a few seconds (:class:`~alsrwe.web.principal.PrincipalCache`).
    """
    principal: Principal | None = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        session_id = token_hash(token, settings)
        cache: PrincipalCache = request.app.state.principals
        now = utc_now()
        principal = cache.get(session_id, now)
        if principal is None:
            principal = await run_in_threadpool(_resolve, engine, session_id, settings, now)
            if principal is not None:
                cache.put(session_id, principal)
    request.state.principal = principal
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def request_principal(request: Request) -> Principal | None:
    """The principal resolved for this request so far, if any (for error pages)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


async def current_user(principal: OptionalUser) -> Principal:
    """The logged-in user; NotAuthenticated otherwise (pages redirect to the login form)."""
    if principal is None:
        raise NotAuthenticated()
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise Forbidden()
        return user

    check.__name__ = f"require_{'_or_'.join(sorted(r.value for r in allowed))}"
    return check


require_record_access = require_roles(*RECORD_ROLES)
require_admin = require_roles(Role.ADMIN)
"""The audit trail's page: administrators only (it names every user and patient)."""
require_aggregate_access = require_roles(*AGGREGATE_ROLES)
require_cohort_access = require_roles(*COHORT_ROLES)
"""Aggregates within the user's scope: own sites for clinicians, every site for analysts."""


def reviews_self_reports(user: Principal, settings: WebSettings) -> bool:
    """Whether the user's role may sign off a self-report (``self_report_reviewers``)."""
    return user.role in settings.self_report_reviewers


async def require_self_report_reviewer(user: CurrentUser, settings: Settings) -> Principal:
    """Only a clinician (or a role the site allows) marks a patient's self-report reviewed."""
    if not reviews_self_reports(user, settings):
        raise Forbidden("only a clinician reviews a patient's self-report")
    return user


SelfReportReviewer = Annotated[Principal, Depends(require_self_report_reviewer)]


async def _submitted_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def csrf_protect(request: Request, principal: OptionalUser) -> None:
    """Refuse a state-changing request that does not echo its CSRF token.

    With a session, the token is the session's (form field ``csrf_token`` or header
    ``X-CSRF-Token``). Without one (the login form, the self-report link), it is the
    pre-session double-submit cookie; no such cookie means the user must log in first.
    Also resolves the user for every route, before any route takes a database connection.
    """
    if request.method in SAFE_METHODS:
        return
    if principal is not None:
        expected: str | None = principal.csrf_token
    else:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
        if expected is None:
            raise NotAuthenticated()
    if not csrf_matches(expected, await _submitted_token(request)):
        raise CsrfRejected()


async def refuse_control_characters(request: Request) -> None:
    """No NUL byte or other control character in a path or query string, at any route: they
    are never data, and a database may choke on them (a 422 naming the parameter, at
    ``loc`` ``["path"]`` or ``["query", name]``)."""
    parts: list[tuple[Location, str, str]] = [(("path",), "path", request.url.path)]
    parts += [(("query", name), name, value) for name, value in request.query_params.multi_items()]
    problems = [(location, Problem(name, f"contains the control character(s) {', '.join(found)}",
                                   CONTROL_CHARACTER))
                for location, name, value in parts if (found := control_characters(value))]
    if problems:
        raise InvalidParameters(problems)


async def patient_from_path(db: Db, user: CurrentUser, patient_id: RecordId) -> Patient:
    """The patient of the path if in the user's sites; NotFound (a 404) otherwise."""
    return await run_in_threadpool(patient_in_scope, db, user.scope, patient_id)


PatientInScope = Annotated[Patient, Depends(patient_from_path)]
"""The one dependency every patient route uses to find its patient within the user's sites."""


__all__ = [
    "ActiveRegimen",
    "PatientInScope",
    "Plausibility",
    "RecordId",
    "SelfReportReviewer",
    "CurrentUser",
    "Db",
    "OptionalUser",
    "Principal",
    "Settings",
    "Today",
    "csrf_protect",
    "current_user",
    "existing_id",
    "get_db",
    "get_regimen",
    "get_settings",
    "get_today",
    "optional_user",
    "patient_from_path",
    "refuse_control_characters",
    "request_principal",
    "require_aggregate_access",
    "require_cohort_access",
    "require_record_access",
    "require_roles",
    "require_self_report_reviewer",
    "reviews_self_reports",
]
