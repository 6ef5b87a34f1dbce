"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from alsrwe.web.auth import (
    LOGIN_CSRF_COOKIE,
    LOGIN_REFUSED,
    SESSION_COOKIE,
    authenticate,
    end_session,
    new_csrf_token,
    start_session,
    token_hash,
    utc_now,
)
from alsrwe.web.deps import Db, OptionalUser, Settings
from alsrwe.web.settings import WebSettings
from alsrwe.web.templating import render

router = APIRouter(include_in_schema=False)

PRE_SESSION_MAX_AGE_S = 2 * 60 * 60


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _login_form(
    request: Request, settings: WebSettings, *, error: str | None = None, username: str = "",
    next_path: str = "/", status_code: int = 200,
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_csrf_token()
    response = render(
        request, "login.html", user=None, csrf_token=token, error=error, username=username,
        next_path=safe_next(next_path), status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=PRE_SESSION_MAX_AGE_S, httponly=True,
        samesite="lax", secure=settings.secure_cookies,
    )
    return response


@router.get("/login")
def login_page(request: Request, user: OptionalUser, settings: Settings,
               next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, settings, next_path=next)


@router.post("/login")
def login(
    request: Request,
    db: Db,
    settings: Settings,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    now = utc_now()
    user = authenticate(db, username, password, settings, now)
    if user is None:
        return _login_form(request, settings, error=LOGIN_REFUSED, username=username,
                           next_path=next, status_code=400)
    old_token = request.cookies.get(SESSION_COOKIE)
    if old_token:
        _end(request, db, old_token, settings)
    token, _ = start_session(db, user, settings, now)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=settings.session_lifetime_minutes * 60, httponly=True,
        samesite="lax", secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _end(request: Request, db: Db, token: str, settings: WebSettings) -> None:
    """End the session of ``token``, and forget it in this process's principal cache."""
    end_session(db, token, settings)
    request.app.state.principals.forget(token_hash(token, settings))


@router.post("/logout")
def logout(request: Request, db: Db, settings: Settings) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        _end(request, db, token, settings)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax",
                           secure=settings.secure_cookies)
    return response
