"""The web app factory: ``create_app(settings)`` builds it (``alsrwe.web.server`` runs it).

Nothing connects at import time: the engine is made (or handed in) by the factory, and the
settings are read once by the caller. Errors are rendered here, once: pages get an HTML page
(or a redirect to the login form), ``/api/`` gets JSON.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alsrwe.domain.errors import (
    Conflict,
    InvalidInput,
    MissingExtra,
    NotFound,
    StaleVersion,
    VersionRequired,
)
from alsrwe.store.db import head_revision, make_engine
from alsrwe.web.cohort_view import CohortCache
from alsrwe.web.deps import csrf_protect, refuse_control_characters, request_principal
from alsrwe.web.errors import InvalidParameters, NotAuthenticated, WebError
from alsrwe.web.page_cache import PageCache
from alsrwe.web.principal import PrincipalCache
from alsrwe.web.routes import (
    api,
    assets,
    audit_pages,
    auth,
    cohort,
    corrections,
    dashboard,
    fhir,
    patients,
    record_pages,
    registration,
    self_report,
)
from alsrwe.web.settings import WebSettings
from alsrwe.web.templating import make_templates, render
from alsrwe.web.versions import etag
from alsrwe.web.viewing import ViewLog

API_PREFIX = "/api/v1"
logger = logging.getLogger(__name__)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data: blob:; object-src 'none'; base-uri 'self'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
"""Production only: browsers then refuse plain HTTP to this host for a year (behind TLS)."""
GZIP_MINIMUM_BYTES = 500
"""Smaller bodies (redirects, short JSON answers) fit in one packet either way."""
GZIP_LEVEL = 6
"""zlib's default. A 75 KB patient page: 7.1 KB in 0.65 ms, against level 9's 6.9 KB in 1.1 ms
(the full record, 130 KB: 9.9 KB in 0.9 ms against 9.5 KB in 3.0 ms)."""


def security_headers(settings: WebSettings) -> tuple[tuple[bytes, bytes], ...]:
    """The protective headers of every response; HSTS only in production (development and
    tests run on plain HTTP, where HSTS would lock a browser out of localhost)."""
    return (*SECURITY_HEADERS, HSTS) if settings.environment == "production" else SECURITY_HEADERS


class SecurityHeaders:
    """Adds the same protective headers to every response (pure ASGI, no body buffering)."""

    def __init__(self, app: ASGIApp,
                 headers: tuple[tuple[bytes, bytes], ...] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestLimit:
    """At most ``limit`` requests inside the app at once; the others wait, without a thread.

    Sync routes and dependencies run on a thread pool (40 threads) and hold a pooled database
    connection from their first query to the end of the request. With more requests in flight
    than connections, every thread can end up waiting for a connection held by a request that
    needs a thread to finish: the pool times out after 30 s (seen at 50 concurrent clients).
    Queueing requests here, in the event loop, up to the pool's size avoids that.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", user=request_principal(request), status_code=status_code,
                  status=status_code, message=message)


async def web_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, WebError)
    if _is_api(request):
        return JSONResponse({"detail": error.message}, status_code=error.status_code)
    if isinstance(error, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return _error_page(request, error.status_code, error.message)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if _is_api(request):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code,
                            headers=error.headers)
    return _error_page(request, error.status_code, str(error.detail).lower())


async def validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, error)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()
    )
    return _error_page(request, 422, problems)


def problem_details(error: InvalidInput) -> list[dict[str, object]]:
    """The API's 422 ``detail``: one item per problem, in the words the pages show.

    ``type`` is ``hard_rule`` (refused) or ``soft_rule`` (a warning: send the request again
    with its ``code`` in ``confirm_warnings`` to confirm it).
    """
    if isinstance(error, InvalidParameters):
        locations = [list(location) for location in error.locations]
    else:
        locations = [["body", p.field] if p.field else ["body"] for p in error.problems]
    return [{"loc": location, "msg": p.rule, "type": "soft_rule" if p.soft else "hard_rule",
             "code": p.code}
            for location, p in zip(locations, error.problems, strict=True)]


async def invalid_input(request: Request, error: Exception) -> Response:
    """Input that breaks rules (forms re-render themselves; this is the API's answer)."""
    assert isinstance(error, InvalidInput)
    if _is_api(request):
        return JSONResponse({"detail": problem_details(error)}, status_code=422)
    return _error_page(request, 422, "; ".join(str(p) for p in error.problems))


async def not_found(request: Request, error: Exception) -> Response:
    assert isinstance(error, NotFound)
    if _is_api(request):
        return JSONResponse({"detail": error.message}, status_code=404)
    return _error_page(request, 404, error.message)


async def stale_version(request: Request, error: Exception) -> Response:
    """409 for a change made on an old version: who changed the record, when, and its
    current values (a form shows them beside the user's; this is the API's answer)."""
    assert isinstance(error, StaleVersion)
    if _is_api(request):
        return JSONResponse({"detail": error.message, "current_version": error.current,
                             "changed_by": error.changed_by, "changed_at": error.changed_at,
                             "current": error.current_values}, status_code=409,
                            headers={"ETag": etag(error.current)})
    return _error_page(request, 409, error.message)


async def version_required(request: Request, error: Exception) -> Response:
    assert isinstance(error, VersionRequired)
    if _is_api(request):
        return JSONResponse({"detail": error.message}, status_code=428)
    return _error_page(request, 428, error.message)


async def conflict(request: Request, error: Exception) -> Response:
    assert isinstance(error, Conflict)
    if _is_api(request):
        return JSONResponse({"detail": error.message}, status_code=409)
    return _error_page(request, 409, error.message)


async def missing_extra(request: Request, error: Exception) -> Response:
    """501: this installation lacks the optional packages of the feature asked for; the
    message names the extra to install."""
    assert isinstance(error, MissingExtra)
    if _is_api(request):
        return JSONResponse({"detail": error.message}, status_code=501)
    return _error_page(request, 501, error.message)


DATABASE_UNAVAILABLE = ("the registry's database is unavailable just now; nothing was saved. "
                        "Please try again in a minute")
RETRY_AFTER_S = 30


def database_unavailable_error(error: Exception) -> bool:
    """Whether ``error`` means the database cannot be reached or used just now (a server gone,
    a connection dropped, the pool exhausted, a locked or unreadable file), not a bug."""
    if isinstance(error, IntegrityError | ProgrammingError | DataError):
        return False
    return isinstance(error, DatabaseError | InterfaceError | PoolTimeout)


async def database_unavailable(request: Request, error: Exception) -> Response:
    """503 with ``Retry-After``, JSON for the API and a page for people; the engine's pool
    drops broken connections by itself, so the next request reconnects (no restart)."""
    if not database_unavailable_error(error):
        return await server_error(request, error)
    logger.warning("database unavailable: %s", str(error).splitlines()[0])
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if _is_api(request):
        return JSONResponse({"detail": DATABASE_UNAVAILABLE}, status_code=503, headers=headers)
    response = _error_page(request, 503, DATABASE_UNAVAILABLE)
    response.headers.update(headers)
    return response


async def server_error(request: Request, error: Exception) -> Response:
    """A bug: a plain answer that gives nothing away, with the same protective headers (it is
    sent outside the middleware that adds them)."""
    protective = security_headers(request.app.state.settings)
    headers = {name.decode(): value.decode() for name, value in protective}
    if _is_api(request):
        return JSONResponse({"detail": "internal error"}, status_code=500, headers=headers)
    return Response("internal error: the problem has been logged", status_code=500,
                    media_type="text/plain", headers=headers)


def create_app(settings: WebSettings, engine: Engine | None = None) -> FastAPI:
    """The web app over ``engine`` (or a new engine on ``settings.database_url``, owned here)."""
    owned = engine is None
    the_engine = _engine(settings) if engine is None else engine

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        gc.freeze()
        app.state.view_log.start()
        yield
        app.state.view_log.stop()
        app.state.cohort_cache.close()
        if owned:
            the_engine.dispose()

    app = FastAPI(
        title="alsrwe",
        summary="Registry of ALS clinics giving tofersen (SOD1-ALS): JSON API",
        description=api.__doc__ or "",
        version=head_revision() or "0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(refuse_control_characters), Depends(csrf_protect)],
    )
    app.openapi = api.as_served(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.plausibility = settings.plausibility()
    app.state.engine = the_engine
    app.state.templates = make_templates(reload=settings.environment == "development")
    app.state.plotly_src = assets.PLOTLY_PATH
    app.state.cohort_cache = CohortCache()
    app.state.principals = PrincipalCache(settings.session_cache_seconds)
    app.state.page_cache = PageCache(settings.page_cache_entries)
    app.state.view_log = ViewLog(the_engine)
    for router in (auth.router, dashboard.router, registration.router, patients.router,
                   record_pages.router, corrections.router, self_report.issuer,
                   self_report.public, cohort.router, audit_pages.router, assets.router,
                   api.router, fhir.router):
        app.include_router(router)
    app.mount("/static", assets.StaticAssets(directory=str(files("alsrwe.web") / "static")),
              name="static")
    app.add_exception_handler(WebError, web_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(StaleVersion, stale_version)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(VersionRequired, version_required)
    app.add_exception_handler(MissingExtra, missing_extra)
    for unavailable in (DatabaseError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unavailable, database_unavailable)
    app.add_exception_handler(Exception, server_error)
    # Innermost first: compression (HTML, CSS, JSON, scripts; Plotly.js comes compressed
    # already and is left alone), then the headers, then the queue.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(SecurityHeaders, headers=security_headers(settings))
    app.add_middleware(RequestLimit, limit=settings.max_requests_in_flight)
    return app


def _engine(settings: WebSettings) -> Engine:
    """The app's engine; its pool holds a connection for every request allowed in flight."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return make_engine(settings.database_url)
    return make_engine(settings.database_url, pool_size=settings.max_requests_in_flight,
                       max_overflow=0, pool_pre_ping=False)


def app_from_environment() -> FastAPI:
    """The app configured from ``ALSRWE_*`` variables: the factory for ``uvicorn --factory``
    (needed to run several worker processes, e.g. ``--workers 2``)."""
    return create_app(WebSettings())


__all__ = ["API_PREFIX", "HSTS", "app_from_environment", "create_app", "security_headers"]
