"""The web's errors, raised anywhere in a request and rendered once, at the edge (app.py).

    Exception
     ├── WebError                 an HTTP answer other than success
     │    ├── NotAuthenticated    401 for the API; pages redirect to the login form
     │    ├── Forbidden           403: the role may not do this
     │    ├── CsrfRejected        403: missing or wrong CSRF token
     │    └── NotFound            404: absent, or outside the user's sites (never a 403)
     └── ValueError
          └── AccountError        a user account that breaks a rule (CLI ``alsrwe user add``)

Domain errors (``alsrwe.domain.errors.DomainError``) become 422 with the field and rule.
"""

from __future__ import annotations


class WebError(Exception):
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


class NotFound(WebError):
    status_code = 404
    message = "not found"


class AccountError(ValueError):
    """A user account that breaks a rule; ``field`` names the input, ``rule`` what it broke."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


__all__ = [
    "AccountError",
    "CsrfRejected",
    "Forbidden",
    "NotAuthenticated",
    "NotFound",
    "WebError",
]
