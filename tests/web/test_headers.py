"""Response headers and encodings: HSTS in production only, gzip for pages, scripts and JSON,
Plotly.js compressed once and kept, a short Cache-Control on /static."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import NamedTuple

import brotli
import httpx
import pytest
from fastapi import FastAPI
from plotly.offline import get_plotlyjs
from starlette.responses import StreamingResponse

from alsrwe.web import server
from alsrwe.web.app import create_app
from alsrwe.web.routes import assets
from alsrwe.web.settings import WebSettings
from tests.web.conftest import SECRET, Registry, login

pytestmark = pytest.mark.anyio

HSTS = "max-age=31536000; includeSubDomains"


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class Sent(NamedTuple):
    """A response as it was sent: its body still encoded."""

    status_code: int
    headers: httpx.Headers
    content: bytes


async def _raw(client: httpx.AsyncClient, url: str, encoding: str) -> Sent:
    async with client.stream("GET", url, headers={"Accept-Encoding": encoding}) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return Sent(response.status_code, response.headers, body)


@pytest.fixture
async def production(registry: Registry) -> AsyncIterator[httpx.AsyncClient]:
    settings = WebSettings(environment="production", secret_key=SECRET)
    app = create_app(settings, registry.engine)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    async with _client(app) as client:
        yield client


async def test_production_sends_hsts_on_every_response(production: httpx.AsyncClient) -> None:
    for url in ("/login", "/dashboard", "/static/alsrwe.css", "/api/v1/me", "/nowhere",
                "/boom"):
        response = await production.get(url)
        assert response.headers.get("strict-transport-security") == HSTS, url
        assert response.headers["x-content-type-options"] == "nosniff", url
    assert (await production.get("/boom")).status_code == 500


async def test_development_and_tests_send_no_hsts(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    assert "strict-transport-security" not in (await client.get("/login")).headers
    development = create_app(WebSettings(environment="development"), registry.engine)
    async with _client(development) as plain:
        assert "strict-transport-security" not in (await plain.get("/login")).headers


async def test_pages_css_and_json_are_gzipped_to_the_same_bytes(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    for url in (f"/patients/{registry.ids['BER-001']}", "/static/alsrwe.css",
                "/static/charts.js", "/static/cohort.js", "/api/v1/patients"):
        plain = await _raw(client, url, "identity")
        packed = await _raw(client, url, "gzip, deflate, br")
        assert plain.status_code == packed.status_code == 200, url
        assert "content-encoding" not in plain.headers, url
        assert packed.headers["content-encoding"] == "gzip", url
        assert "accept-encoding" in packed.headers["vary"].lower(), url
        assert len(packed.content) < len(plain.content), url
        assert gzip.decompress(packed.content) == plain.content, url
        assert packed.headers["x-frame-options"] == "DENY", url


async def test_small_answers_and_redirects_are_sent_as_they_are(
    client: httpx.AsyncClient,
) -> None:
    redirect = await _raw(client, "/dashboard", "gzip")
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/login")
    assert "content-encoding" not in redirect.headers
    assert redirect.headers["content-security-policy"].startswith("default-src 'self'")
    small = await _raw(client, "/api/v1/me", "gzip")
    assert small.status_code == 401 and "content-encoding" not in small.headers


async def test_streamed_responses_are_compressed_chunk_by_chunk(app: FastAPI) -> None:
    chunks = [f"line {n}: {'x' * 200}\n".encode() for n in range(50)]

    async def lines() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    app.add_api_route("/stream", lambda: StreamingResponse(lines(), media_type="text/plain"))
    async with _client(app) as client:
        response = await _raw(client, "/stream", "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert gzip.decompress(response.content) == b"".join(chunks)


async def test_plotly_is_compressed_once_and_served_from_memory(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counted(name: str, encode: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
        def encoder(data: bytes) -> bytes:
            calls.append(name)
            return encode(data)
        return encoder

    monkeypatch.setattr(assets, "_encoded", {})
    monkeypatch.setattr(assets, "ENCODERS",
                        {name: counted(name, f) for name, f in assets.ENCODERS.items()})
    script = get_plotlyjs().encode()
    for _ in range(2):
        br = await _raw(client, app.state.plotly_src, "gzip, deflate, br")
        assert br.headers["content-encoding"] == "br"
        assert brotli.decompress(br.content) == script
        packed = await _raw(client, app.state.plotly_src, "gzip")
        assert packed.headers["content-encoding"] == "gzip"
        assert gzip.decompress(packed.content) == script
        assert len(br.content) < len(packed.content) < len(script) // 3
        for response in (br, packed):
            assert response.headers["vary"] == "Accept-Encoding"
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert calls == ["br", "gzip"]  # one compression per encoding, whatever the requests
    plain = await _raw(client, app.state.plotly_src, "identity")
    assert plain.content == script and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize(("header", "chosen"), [
    ("gzip, deflate, br, zstd", "br"),
    ("gzip, deflate", "gzip"),
    ("br;q=0, gzip;q=0.5", "gzip"),
    ("*", "br"),
    ("*, br;q=0", "gzip"),
    ("identity", None),
    ("gzip;q=0", None),
    ("", None),
])
def test_the_encoding_is_the_best_the_client_accepts(header: str, chosen: str | None) -> None:
    assert assets.preferred_encoding(header) == chosen


async def test_static_files_may_be_cached_for_ten_minutes(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/alsrwe.css")
    assert css.headers["cache-control"] == "public, max-age=600"
    again = await client.get("/static/alsrwe.css", headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "public, max-age=600"
    assert "max-age" not in (await client.get("/static/missing.css")).headers.get(
        "cache-control", "")


def test_forwarded_headers_are_believed_from_the_configured_proxies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alsrwe.db'}"
    default = server._config(WebSettings(database_url=url), access_log=False, log_level="warning")
    assert default.proxy_headers and "127.0.0.1" in str(default.forwarded_allow_ips)
    proxied = server._config(WebSettings(database_url=url, forwarded_allow_ips="192.0.2.7"),
                             access_log=False, log_level="warning")
    assert proxied.proxy_headers and proxied.forwarded_allow_ips == "192.0.2.7"
