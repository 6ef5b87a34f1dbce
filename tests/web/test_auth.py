"""Login, lock-out, logout, session expiry, cookie flags and CSRF."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from alsrwe.store.db import unit_of_work
from alsrwe.store.models import User, WebSession
from alsrwe.web.auth import LOGIN_REFUSED, SESSION_COOKIE, token_hash
from alsrwe.web.settings import WebSettings
from tests.web.conftest import PASSWORD, Registry, csrf_of, form_token, login

pytestmark = pytest.mark.anyio


async def test_login_opens_a_session_and_redirects_home(client: httpx.AsyncClient) -> None:
    response = await login(client, "clin")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/", follow_redirects=True)
    assert home.url.path == "/dashboard"
    assert "clin (clinician)" in home.text


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    wrong = await login(client, "clin", "not the password at all")
    unknown = await login(client, "nobody", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert LOGIN_REFUSED in response.text
        assert SESSION_COOKIE not in response.cookies
    assert (await client.get("/dashboard")).status_code == 303


async def test_lock_out_after_repeated_failures(
    client: httpx.AsyncClient, registry: Registry, settings: WebSettings
) -> None:
    for _ in range(settings.login_max_failures):
        assert (await login(client, "clin", "wrong password!!")).status_code == 400
    refused = await login(client, "clin")
    assert refused.status_code == 400
    assert LOGIN_REFUSED in refused.text
    with unit_of_work(registry.engine) as session:
        user = session.scalars(select(User).where(User.username == "clin")).one()
        assert user.locked_until is not None
        user.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert (await login(client, "clin")).status_code == 303


async def test_failures_are_counted_per_user(
    client: httpx.AsyncClient, settings: WebSettings
) -> None:
    for _ in range(settings.login_max_failures):
        await login(client, "clin", "wrong password!!")
    assert (await login(client, "datamgr")).status_code == 303


async def test_logout_deletes_the_session(client: httpx.AsyncClient) -> None:
    await login(client, "clin")
    token = client.cookies[SESSION_COOKIE]
    csrf = await csrf_of(client)
    response = await client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    client.cookies.set(SESSION_COOKIE, token)  # replaying the old cookie does not help
    assert (await client.get("/dashboard")).headers["location"].startswith("/login")
    assert (await client.get("/api/v1/me")).status_code == 401


@pytest.mark.parametrize("column", ["expires_at", "last_seen"])
async def test_an_expired_or_idle_session_ends(
    client: httpx.AsyncClient, registry: Registry, settings: WebSettings, column: str
) -> None:
    await login(client, "clin")
    session_id = token_hash(client.cookies[SESSION_COOKIE], settings)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.session_lifetime_minutes + 1)
    with unit_of_work(registry.engine) as session:
        session.execute(update(WebSession).where(WebSession.id == session_id)
                        .values({column: past}))
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/dashboard")).headers["location"] == "/login?next=%2Fdashboard"
    await login(client, "datamgr")  # any login purges dead sessions
    with unit_of_work(registry.engine) as session:
        assert session.get(WebSession, session_id) is None


async def test_the_cookie_holds_only_a_token_and_is_httponly_and_lax(
    client: httpx.AsyncClient, registry: Registry, settings: WebSettings
) -> None:
    response = await login(client, "clin")
    header = next(h for h in response.headers.get_list("set-cookie")
                  if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header
    token = client.cookies[SESSION_COOKIE]
    with unit_of_work(registry.engine) as session:
        stored = session.scalars(select(WebSession.id)).all()
    assert token not in stored and token_hash(token, settings) in stored


async def test_cookie_secure_flag_is_configurable(registry: Registry) -> None:
    from alsrwe.web.app import create_app
    from tests.web.conftest import SECRET

    secure = create_app(WebSettings(environment="test", secret_key=SECRET), registry.engine)
    transport = httpx.ASGITransport(app=secure)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        response = await login(c, "clin")
    header = next(h for h in response.headers.get_list("set-cookie")
                  if h.startswith(SESSION_COOKIE))
    assert "Secure" in header


async def test_login_form_itself_needs_its_csrf_token(client: httpx.AsyncClient) -> None:
    no_cookie = await client.post("/login", data={"username": "clin", "password": PASSWORD})
    assert no_cookie.status_code == 303 and no_cookie.headers["location"].startswith("/login")
    page = await client.get("/login")
    wrong = await client.post("/login", data={"username": "clin", "password": PASSWORD,
                                              "csrf_token": form_token(page.text) + "x"})
    assert wrong.status_code == 403


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_page_posts_without_the_session_token_are_refused(
    client: httpx.AsyncClient, token: str | None
) -> None:
    await login(client, "clin")
    data = {} if token is None else {"csrf_token": token}
    assert (await client.post("/logout", data=data)).status_code == 403
    assert (await client.get("/api/v1/me")).status_code == 200  # still logged in


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_api_writes_need_the_csrf_header(
    app: FastAPI, client: httpx.AsyncClient, method: str
) -> None:
    """Any route added later, API or page, gets the check: it is an app-wide dependency."""
    app.add_api_route("/api/v1/probe", lambda: {"ok": True}, methods=[method])
    await login(client, "clin")
    token = await csrf_of(client)
    assert (await client.request(method, "/api/v1/probe")).status_code == 403
    wrong = await client.request(method, "/api/v1/probe", headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    right = await client.request(method, "/api/v1/probe", headers={"X-CSRF-Token": token})
    assert right.status_code == 200


async def test_after_login_old_session_is_replaced(client: httpx.AsyncClient) -> None:
    await login(client, "clin")
    first = client.cookies[SESSION_COOKIE]
    await client.post("/logout", data={"csrf_token": await csrf_of(client)})
    await login(client, "clin")
    assert client.cookies[SESSION_COOKIE] != first


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/"])
async def test_login_does_not_redirect_off_site(client: httpx.AsyncClient, target: str) -> None:
    page = await client.get("/login")
    response = await client.post("/login", data={
        "username": "clin", "password": PASSWORD, "csrf_token": form_token(page.text),
        "next": target})
    assert response.headers["location"] == "/"


async def test_refused_logins_and_logouts_are_audited(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    from alsrwe.store.models import AuditEntry

    def trail() -> list[tuple[str, str, dict[str, object]]]:
        with unit_of_work(registry.engine) as session:
            return [(e.actor, e.action, e.detail or {}) for e in session.scalars(
                select(AuditEntry).where(AuditEntry.action.in_(
                    ("login", "login_refused", "logout"))).order_by(AuditEntry.id))]

    await login(client, "clin", password="not the password")
    await login(client, "no.such.person", password="correct horse battery staple")
    await login(client, "clin")
    await client.post("/logout", data={"csrf_token": await csrf_of(client)})
    assert trail() == [
        ("clin", "login_refused", {"reason": "wrong password", "failed_logins": 1}),
        ("anonymous", "login_refused", {"reason": "unknown user"}),
        ("clin", "login", {}),
        ("clin", "logout", {}),
    ]
    assert "no.such.person" not in str(trail())
