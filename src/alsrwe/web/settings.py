"""Web configuration from ``ALSRWE_*`` environment variables, read once at the edge.

Extends the store's :class:`~alsrwe.store.db.Settings` (``ALSRWE_DATABASE_URL``), so one object
configures the whole app. Outside ``ALSRWE_ENVIRONMENT=development`` the app refuses to start
with the default secret key (as full-stack-fastapi-template does).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from alsrwe.domain.access import DEFAULT_SELF_REPORT_REVIEWERS, RECORD_ROLES, Role
from alsrwe.domain.regimens import REGIMENS
from alsrwe.store.db import Settings

DEVELOPMENT_SECRET_KEY = "development-only-not-secret"  # refused outside development
MIN_SECRET_KEY_LENGTH = 32


class WebSettings(Settings):
    """Settings of ``alsrwe serve``; every field is ``ALSRWE_<NAME>`` in the environment.

    - ``environment``: ``development`` (default), ``test`` or ``production``.
    - ``secret_key``: keys the hash under which session tokens are stored (a leaked table
      cannot be replayed as cookies) and, later, self-report links; at least 32 characters
      outside development. Changing it logs everybody out.
    - ``session_lifetime_minutes``: absolute lifetime of a login (default 8 hours).
    - ``session_idle_minutes``: a session unused this long ends (default 60).
    - ``cookie_secure``: send the session cookie only over HTTPS; default on outside
      development.
    - ``login_max_failures`` / ``login_lockout_minutes``: after this many failed logins in a
      row, the account is locked for that many minutes (defaults 5 and 15).
    - ``regimen``: the regimen whose schedule the dashboard and patient pages use.
    - ``page_size``: rows per page of lists (API ``limit`` default).
    - ``max_requests_in_flight``: requests handled at once per process (more wait in the
      event loop); also the size of the database connection pool (default 10, at most 15:
      SQLAlchemy's default pool capacity, used for engines handed to ``create_app``).
    - ``session_cache_seconds``: how long each process remembers a resolved login session
      (default 5; 0 asks the database on every request). Logout applies at once in the
      process that handles it and within this time in the others (``alsrwe.web.principal``).
    - ``page_cache_entries``: rendered patient pages each process keeps, keyed by the
      patient's revision (default 500; 0 renders every time; ``alsrwe.web.page_cache``).
    - ``self_report_link_days``: how long a patient's self-report link stays valid (default 7).
    - ``self_report_reviewers``: roles that may sign off a patient's self-report as reviewed
      (default: clinicians only, as the README says; e.g. ``["clinician", "admin"]``).
    - ``forwarded_allow_ips``: addresses of the reverse proxies whose ``X-Forwarded-For`` and
      ``X-Forwarded-Proto`` headers are believed (comma-separated, ``*`` for any); unset,
      uvicorn's default: ``FORWARDED_ALLOW_IPS``, else loopback. Through them the app sees the
      client's address and ``https``, so the links it builds (self-report) start with https.
    """

    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    session_lifetime_minutes: int = Field(default=480, ge=1)
    session_idle_minutes: int = Field(default=60, ge=1)
    cookie_secure: bool | None = None
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    regimen: str = "tofersen_us"
    page_size: int = Field(default=25, ge=1, le=200)
    max_requests_in_flight: int = Field(default=10, ge=1, le=15)
    self_report_link_days: int = Field(default=7, ge=1, le=90)
    page_cache_entries: int = Field(default=500, ge=0, le=100_000)
    session_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    forwarded_allow_ips: str | None = None
    self_report_reviewers: frozenset[Role] = Field(default=DEFAULT_SELF_REPORT_REVIEWERS,
                                                   min_length=1)

    @field_validator("self_report_reviewers")
    @classmethod
    def _record_roles_review(cls, value: frozenset[Role]) -> frozenset[Role]:
        if not value <= RECORD_ROLES:
            allowed = ", ".join(sorted(r.value for r in RECORD_ROLES))
            raise ValueError(f"only roles that see records may review self-reports: {allowed}")
        return value

    @field_validator("regimen")
    @classmethod
    def _known_regimen(cls, value: str) -> str:
        if value not in REGIMENS:
            raise ValueError(f"unknown regimen {value!r}; known: {', '.join(sorted(REGIMENS))}")
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret_outside_development(self) -> WebSettings:
        if self.environment == "development":
            return self
        key = self.secret_key.get_secret_value()
        if key == DEVELOPMENT_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"ALSRWE_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters when ALSRWE_ENVIRONMENT is "
                f"{self.environment!r} (e.g. python -c 'import secrets; "
                f"print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry the Secure flag (explicit setting, else not in development)."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment != "development"


__all__ = ["DEVELOPMENT_SECRET_KEY", "MIN_SECRET_KEY_LENGTH", "WebSettings"]
