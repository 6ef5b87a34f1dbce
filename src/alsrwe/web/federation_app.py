"""A site's federation server (``alsrwe federate serve``): one route that answers requests.

Apart from the clinic app on purpose: it has no sessions, no pages and no database of
users; it only hands the bytes of a request to the site (:class:`alsrwe.federation.site.Site`),
which checks the coordinator's signature and its disclosure rules and logs everything, and
sends back the signed answer. A request that is not the coordinator's is a 403 with the
rule it broke; nothing is signed for it.

* ``POST /federation/v1/answer``: the request's JSON in, the answer's JSON out.
* ``GET /federation/v1/health``: the site's name and network, for the coordinator to check.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from alsrwe.federation.errors import FederationError
from alsrwe.federation.site import Site
from alsrwe.federation.transport import ANSWER_PATH

HEALTH_PATH = "/federation/v1/health"
MAX_REQUEST_BYTES = 1 << 20
"""A request is a few kilobytes (its parameters and the signed refusals); 1 MB is plenty."""
_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _too_large() -> JSONResponse:
    return JSONResponse({"field": "request", "rule": f"must be at most {MAX_REQUEST_BYTES} "
                                                     "bytes", "code": "federation.request.size"},
                        status_code=413, headers=_HEADERS)


async def _body(request: Request) -> bytes | None:
    """The raw body, or None once it exceeds MAX_REQUEST_BYTES (never read further)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            return None
    return bytes(body)


def create_federation_app(site_dir: Path) -> FastAPI:
    """The app of the site in ``site_dir``; one Site (and its caches) for the app's life."""
    site = Site(site_dir)
    # One request at a time: the ledger's rules (replays, rounds) read then append.
    lock = threading.Lock()

    def answer_locked(data: bytes) -> bytes:
        with lock:
            return site.answer_bytes(data)

    app = FastAPI(title=f"alsrwe federation site {site.name}", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.post(ANSWER_PATH)
    async def answer(request: Request) -> Response:
        data = await _body(request)
        if data is None:
            return _too_large()
        try:
            body = await run_in_threadpool(answer_locked, data)
        except FederationError as error:
            return JSONResponse({"field": error.field, "rule": error.rule, "code": error.code},
                                status_code=403, headers=_HEADERS)
        return Response(body, media_type="application/json", headers=_HEADERS)

    @app.get(HEALTH_PATH)
    async def health() -> JSONResponse:
        return JSONResponse({"site": site.name, "network": site.manifest.network},
                            headers=_HEADERS)

    return app


__all__ = ["HEALTH_PATH", "MAX_REQUEST_BYTES", "create_federation_app"]
