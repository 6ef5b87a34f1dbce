"""The web's own errors: answers of HTTP that the domain's tree has no word for.

    AlsrweError (alsrwe.domain.errors)
     ├── InvalidInput      → 422: next to the field on a form, a JSON list in the API
     │    └── InvalidParameters   the same, for the path or query string (``loc`` says where)
     ├── NotFound          → 404 (absent, or outside the user's sites: never a 403)
     ├── Conflict          → 409
     └── WebError          an HTTP answer of the web alone
          ├── NotAuthenticated    401 for the API; pages redirect to the login form
          ├── Forbidden           403: the role may not do this
          └── CsrfRejected        403: missing or wrong CSRF token

Each is rendered once, by the handlers of ``alsrwe.web.app``.
"""

from __future__ import annotations

from collections.abc import Iterable

from alsrwe.domain.errors import AlsrweError, InvalidInput, Problem

Location = tuple[str, ...]
"""Where a problem is in the request, as FastAPI spells it: ``("query", "q")``, ``("path",)``."""


class WebError(AlsrweError):
    """An error with an HTTP status and a message safe to show to the user."""

    status_code = 500
    message = "something went wrong"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or type(self).message
        super().__init__(self.message)


class NotAuthenticated(WebError):
    status_code = 401
    message = "please log in"


class Forbidden(WebError):
    status_code = 403
    message = "your role does not give access to this page"


class CsrfRejected(WebError):
    status_code = 403
    message = "the form expired or did not come from this site; reload the page and try again"


class InvalidParameters(InvalidInput):
    """Broken rules in the path or the query string rather than the body: the API's 422 names
    each problem's place (``loc``), as it does for the body."""

    def __init__(self, located: Iterable[tuple[Location, Problem]]) -> None:
        pairs = tuple(located)
        super().__init__(problem for _, problem in pairs)
        self.locations: tuple[Location, ...] = tuple(location for location, _ in pairs)


__all__ = ["CsrfRejected", "Forbidden", "InvalidParameters", "Location", "NotAuthenticated",
           "WebError"]
