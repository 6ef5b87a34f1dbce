"""Plotly's JavaScript, served from the installed ``plotly`` package (nothing is vendored), and
the package's static files with a short Cache-Control.

Plotly.js is 4.8 MB: it is sent compressed (brotli, else gzip) and each encoding is made once
per process, on the first request that asks for it, then kept. The app's GZip middleware leaves
a response that already has a Content-Encoding alone, so it is never compressed per request.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from functools import cache

import brotli
import plotly
from fastapi import APIRouter, Request
from fastapi.staticfiles import StaticFiles
from plotly.offline import get_plotlyjs
from starlette.responses import Response
from starlette.types import Scope

router = APIRouter(include_in_schema=False)

PLOTLY_PATH = f"/assets/plotly-{plotly.__version__}.min.js"
"""Versioned, so browsers may cache it for a year and still pick up an upgrade."""
IMMUTABLE = "public, max-age=31536000, immutable"
STATIC_CACHE_CONTROL = "public, max-age=600"
"""/static URLs are not versioned: ten minutes, then the browser revalidates (ETag, 304), so a
deployment's new CSS and scripts reach every browser within ten minutes."""

BROTLI_QUALITY = 9
"""1.23 MB in 0.6 s for Plotly 7.1 (gzip -9: 1.47 MB in 0.2 s); quality 11 saves another 10%
but takes 9 s, which the first visitor after a restart would wait for."""
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "br": lambda data: brotli.compress(data, quality=BROTLI_QUALITY),
    "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
}
"""By preference: the first the client accepts is sent."""


@cache
def _plotly_js() -> bytes:
    script: str = get_plotlyjs()
    return script.encode()


_encoded: dict[str, bytes] = {}
_encoding_lock = threading.Lock()


def plotly_js_encoded(encoding: str) -> bytes:
    """Plotly.js in ``encoding`` (a key of :data:`ENCODERS`), compressed once per process."""
    with _encoding_lock:  # concurrent first requests wait for one compression, not make two
        if encoding not in _encoded:
            _encoded[encoding] = ENCODERS[encoding](_plotly_js())
        return _encoded[encoding]


def accepted_encodings(header: str) -> set[str]:
    """The content codings an ``Accept-Encoding`` header allows (``q=0`` refuses one)."""
    accepted: set[str] = set()
    refused: set[str] = set()
    for part in header.lower().split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        (accepted if quality > 0 else refused).add(coding)
    if "*" in accepted:
        accepted |= set(ENCODERS) - refused
    return accepted - refused


def preferred_encoding(header: str) -> str | None:
    """The best of :data:`ENCODERS` the client accepts; ``None`` for the plain bytes."""
    accepted = accepted_encodings(header)
    return next((name for name in ENCODERS if name in accepted), None)


@router.get(PLOTLY_PATH, name="plotly_js")
def plotly_js(request: Request) -> Response:
    encoding = preferred_encoding(request.headers.get("accept-encoding", ""))
    media_type = "text/javascript; charset=utf-8"
    if encoding is None:  # the app's GZip middleware adds the Vary header to this one
        return Response(_plotly_js(), media_type=media_type, headers={"Cache-Control": IMMUTABLE})
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding", "Content-Encoding": encoding}
    return Response(plotly_js_encoded(encoding), media_type=media_type, headers=headers)


class StaticAssets(StaticFiles):
    """The package's /static files, cacheable for :data:`STATIC_CACHE_CONTROL`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = STATIC_CACHE_CONTROL
        return response


__all__ = ["PLOTLY_PATH", "StaticAssets", "accepted_encodings", "plotly_js",
           "plotly_js_encoded", "preferred_encoding"]
