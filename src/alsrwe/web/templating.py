"""Jinja2 rendering for the pages: autoescaped templates shipped in the package.

``render`` adds what every page needs (the user, the CSRF token, the chart script's URL) and
marks the response uncacheable, since pages show patient data.
"""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from alsrwe.web.principal import Principal

NO_STORE = {"Cache-Control": "no-store"}


def make_templates(*, reload: bool = True) -> Jinja2Templates:
    """The template set; autoescaping on for every template, undefined names are errors.

    ``reload`` (development) checks each template's file for changes whenever it is used;
    elsewhere the installed templates do not change while the app runs, so the two file
    look-ups per template per request are left out.
    """
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("alsrwe.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=reload,
    )
    return Jinja2Templates(env=environment)


def render(
    request: Request,
    template: str,
    *,
    user: Principal | None,
    csrf_token: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """Render a page; forms on it carry ``csrf_token`` (the session's when logged in)."""
    templates: Jinja2Templates = request.app.state.templates
    page = {
        "user": user,
        "csrf_token": user.csrf_token if user is not None else (csrf_token or ""),
        "plotly_src": request.app.state.plotly_src,
        **context,
    }
    return templates.TemplateResponse(
        request, template, page, status_code=status_code, headers=NO_STORE
    )


def render_fragment(request: Request, template: str, **context: Any) -> Markup:
    """A partial template rendered on its own (to be kept, then placed into a page)."""
    templates: Jinja2Templates = request.app.state.templates
    return Markup(templates.env.get_template(template).render(**context))


__all__ = ["NO_STORE", "make_templates", "render", "render_fragment"]
