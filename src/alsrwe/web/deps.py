"""FastAPI dependencies: settings, one transaction per request, the user, roles and scope.

Route modules declare what they need (``Db``, ``CurrentUser``, ``Today``, ``ActiveRegimen``);
routers that show record-level data add ``Depends(require_record_access)`` once, at the router,
so a route added later cannot forget it. ``csrf_protect`` runs on every route of the app.
Dependencies that do no I/O are ``async def``: FastAPI then runs them in the event loop instead
of hopping to the thread pool for each (a measurable share of a request's cost under load).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alsrwe.domain.regimens import REGIMENS, Regimen
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Role, WebSession
from alsrwe.store.scope import SiteScope
from alsrwe.store.users import site_scope
from alsrwe.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
    resolve_session,
    utc_now,
)
from alsrwe.web.errors import CsrfRejected, Forbidden, NotAuthenticated
from alsrwe.web.settings import WebSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
RECORD_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN, Role.DATA_MANAGER})
"""Roles that see record-level patient data (within their scope)."""
AGGREGATE_ROLES = frozenset({Role.ADMIN, Role.ANALYST})
"""Roles that see cross-site aggregate views."""
COHORT_ROLES = RECORD_ROLES | AGGREGATE_ROLES
"""Roles that see aggregate views of their scope (the cohort page, counts, the site list)."""
_UNRESOLVED = object()
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def get_settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_db(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back if it raises.

    The connection is taken lazily, at the first query, so routes that never query cost nothing.
    """
    with unit_of_work(engine) as session:
        yield session


async def get_today() -> dt.date:
    """The clinic's 'today' (tests override this dependency to pin the date)."""
    return dt.date.today()


async def get_regimen(settings: Annotated[WebSettings, Depends(get_settings)]) -> Regimen:
    return REGIMENS[settings.regimen]


Settings = Annotated[WebSettings, Depends(get_settings)]
Db = Annotated[Session, Depends(get_db, scope="function")]
Today = Annotated[dt.date, Depends(get_today)]
ActiveRegimen = Annotated[Regimen, Depends(get_regimen)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the user, their role, their sites and their session's CSRF token.

    A plain snapshot (no ORM object), so it stays usable after the request's transaction
    ended, e.g. when an error page is rendered.
    """

    user_id: int
    username: str
    role: Role
    scope: SiteScope
    csrf_token: str

    @property
    def sees_records(self) -> bool:
        return self.role in RECORD_ROLES


def live_session(request: Request, db: Db, settings: Settings) -> WebSession | None:
    """The request's live login session, or ``None``; resolved once and kept on the request.

    Also keeps the :class:`Principal` snapshot as ``request.state.principal``.
    """
    cached: WebSession | None | object = getattr(request.state, "web_session", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        assert cached is None or isinstance(cached, WebSession)
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    found = resolve_session(db, token, settings, utc_now()) if token else None
    request.state.web_session = found
    request.state.principal = None if found is None else _principal(found)
    return found


def _principal(web_session: WebSession) -> Principal:
    user = web_session.user
    return Principal(user.id, user.username, user.role, site_scope(user), web_session.csrf_token)


def request_principal(request: Request) -> Principal | None:
    """The principal resolved for this request so far, if any (for error pages)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


async def current_user(
    request: Request, web_session: Annotated[WebSession | None, Depends(live_session)]
) -> Principal:
    """The logged-in user; NotAuthenticated otherwise (pages redirect to the login form)."""
    principal = request_principal(request)
    if web_session is None or principal is None:
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
require_aggregate_access = require_roles(*AGGREGATE_ROLES)
require_cohort_access = require_roles(*COHORT_ROLES)
"""Aggregates within the user's scope: own sites for clinicians, every site for analysts."""


async def _submitted_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def csrf_protect(
    request: Request, db: Db, settings: Settings
) -> None:
    """Refuse a state-changing request that does not echo its CSRF token.

    With a session, the token is the session's (form field ``csrf_token`` or header
    ``X-CSRF-Token``). Without one (the login form, later the self-report link), it is the
    pre-session double-submit cookie; no such cookie means the user must log in first.
    """
    if request.method in SAFE_METHODS:
        return
    web_session = live_session(request, db, settings)
    if web_session is not None:
        expected: str | None = web_session.csrf_token
    else:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
        if expected is None:
            raise NotAuthenticated()
    if not csrf_matches(expected, await _submitted_token(request)):
        raise CsrfRejected()


__all__ = [
    "AGGREGATE_ROLES",
    "COHORT_ROLES",
    "RECORD_ROLES",
    "ActiveRegimen",
    "CurrentUser",
    "Db",
    "Principal",
    "Settings",
    "Today",
    "csrf_protect",
    "current_user",
    "get_db",
    "get_regimen",
    "get_settings",
    "get_today",
    "live_session",
    "require_aggregate_access",
    "require_cohort_access",
    "require_record_access",
    "require_roles",
]
