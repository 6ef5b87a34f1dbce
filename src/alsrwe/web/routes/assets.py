"""Plotly's JavaScript, served from the installed ``plotly`` package (nothing is vendored)."""

from __future__ import annotations

from functools import cache

import plotly
from fastapi import APIRouter
from plotly.offline import get_plotlyjs
from starlette.responses import Response

router = APIRouter(include_in_schema=False)

PLOTLY_PATH = f"/assets/plotly-{plotly.__version__}.min.js"
"""Versioned, so browsers may cache it for a year and still pick up an upgrade."""


@cache
def _plotly_js() -> bytes:
    script: str = get_plotlyjs()
    return script.encode()


@router.get(PLOTLY_PATH, name="plotly_js")
def plotly_js() -> Response:
    return Response(
        _plotly_js(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
