"""A database that goes away: 503 with Retry-After (JSON for the API, a page for people), never
a 500 or a reset connection, and the next request after it comes back works with no restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from alsrwe.store.db import make_engine
from alsrwe.web.app import DATABASE_UNAVAILABLE, create_app
from alsrwe.web.auth import SESSION_COOKIE
from alsrwe.web.settings import WebSettings
from tests.web.conftest import Registry, login

pytestmark = pytest.mark.anyio

UNREACHABLE = {
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:1/gone?connect_timeout=2",
    "sqlite": "sqlite:///{tmp}/no/such/folder/alsrwe.db",
}


@pytest.fixture(params=sorted(UNREACHABLE))
async def gone(request: pytest.FixtureRequest, tmp_path: Path,
               settings: WebSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose database cannot be reached (a server down, a missing file)."""
    engine = make_engine(UNREACHABLE[request.param].format(tmp=tmp_path))
    app = create_app(settings, engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 cookies={SESSION_COOKIE: "a-session-token"}) as client:
        yield client
    engine.dispose()


async def test_the_api_answers_503_with_json_and_retry_after(gone: httpx.AsyncClient) -> None:
    response = await gone.get("/api/v1/patients")
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": DATABASE_UNAVAILABLE}
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_pages_answer_503_with_a_page_that_says_nothing_was_saved(
    gone: httpx.AsyncClient,
) -> None:
    response = await gone.get("/dashboard")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "nothing was saved" in response.text and "Traceback" not in response.text


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_after_the_server_drops_every_connection_the_app_recovers_without_restart(
    client: httpx.AsyncClient, registry: Registry, engine: Engine
) -> None:
    await login(client, "clin")
    assert (await client.get("/api/v1/patients")).status_code == 200
    with engine.connect() as admin:  # what a PostgreSQL restart does to the app's connections
        admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        admin.commit()
    statuses = [(await client.get("/api/v1/patients")).status_code for _ in range(12)]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[-1] == 200, statuses


async def test_every_api_operation_documents_the_503(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert operations and all("503" in op["responses"] for op in operations)
