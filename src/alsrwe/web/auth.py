"""Passwords, logins, server-side sessions and CSRF tokens.

- Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher`` defaults, RFC 9106).
- After ``login_max_failures`` failed logins in a row an account is locked for
  ``login_lockout_minutes``; every refusal has the same message, and unknown users cost the
  same hashing time, so a login form does not reveal which usernames exist.
- A session is a row in ``web_sessions``; the browser's cookie holds only a random token,
  stored as its HMAC under the secret key. Logout deletes the row; sessions also end after
  their absolute lifetime or when idle.
- Each session has a CSRF token that every POST/PUT/PATCH/DELETE must echo, as the
  ``csrf_token`` form field (pages) or the ``X-CSRF-Token`` header (JSON API). Before login,
  a double-submit cookie protects the login form itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Role, User, WebSession
from alsrwe.store.queries import record_audit
from alsrwe.store.users import (
    ALL_SITE_ROLES,
    add_user,
    add_web_session,
    delete_expired_sessions,
    delete_web_session,
    get_user,
    get_web_session,
    record_failed_login,
    record_successful_login,
    sites_by_code,
)
from alsrwe.web.errors import AccountError
from alsrwe.web.settings import WebSettings

SESSION_COOKIE = "alsrwe_session"
LOGIN_CSRF_COOKIE = "alsrwe_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_REFUSED = "invalid username or password"
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024
USERNAME_PATTERN = re.compile(r"[a-z0-9._@-]{3,64}")
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)
"""``last_seen`` is written at most once a minute per session, not on every request."""

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; PHC string format)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash; a malformed hash never matches."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_hash(token: str, settings: WebSettings) -> str:
    """How a session token is stored: HMAC-SHA256 under the secret key, hex (64 chars)."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def normalize_username(username: str) -> str:
    return username.strip().lower()


def authenticate(
    session: Session, username: str, password: str, settings: WebSettings, now: dt.datetime
) -> User | None:
    """The user if the password is right and the account active and not locked, else ``None``.

    Failed attempts on an existing account are counted (and may lock it) in ``session``'s
    transaction, so the caller must let that transaction commit even when login fails.
    """
    user = get_user(session, normalize_username(username))
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        lock_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
        if record_failed_login(
            session, user, lock_after=settings.login_max_failures, locked_until=lock_until
        ):
            record_audit(session, user.username, "account_locked", "users")
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_successful_login(session, user)
    return user


def start_session(
    session: Session, user: User, settings: WebSettings, now: dt.datetime
) -> tuple[str, WebSession]:
    """Open a session for ``user``; returns the token for the cookie and the stored row."""
    delete_expired_sessions(session, now, now - dt.timedelta(minutes=settings.session_idle_minutes))
    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(minutes=settings.session_lifetime_minutes)
    row = add_web_session(
        session, user, token_hash(token, settings), secrets.token_urlsafe(32), now, expires
    )
    record_audit(session, user.username, "login", "web_sessions")
    return token, row


def resolve_session(
    session: Session, session_id: str, settings: WebSettings, now: dt.datetime
) -> WebSession | None:
    """The live session stored under ``session_id`` (a token's hash), or ``None`` (unknown,
    expired, idle, user inactive). Reads only: see :func:`touch_due` for ``last_seen``.

    Dead sessions are refused here and purged at the next login (``start_session``).
    """
    row = get_web_session(session, session_id)
    if row is None:
        return None
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    if row.expires_at <= now or row.last_seen + idle <= now or not row.user.active:
        return None
    return row


def touch_due(row: WebSession, now: dt.datetime) -> bool:
    """Whether the session's ``last_seen`` should be written now (at most once a minute)."""
    return now - row.last_seen >= LAST_SEEN_RESOLUTION


def end_session(session: Session, token: str, settings: WebSettings) -> None:
    """Log out: the session row is deleted, so the cookie's token is worthless from now on."""
    delete_web_session(session, token_hash(token, settings))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, submitted: str | None) -> bool:
    """Constant-time comparison of a CSRF token; missing tokens never match."""
    if not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def _check_account(username: str, password: str, role: str, sites: Sequence[str]) -> Role:
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            "username", "must be 3-64 characters: lower-case letters, digits, '.', '_', '@', '-'"
        )
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise AccountError(
            "password", f"must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long"
        )
    try:
        chosen = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise AccountError("role", f"{role!r} is not a role; use one of {roles}") from None
    if chosen in ALL_SITE_ROLES and sites:
        raise AccountError("sites", f"a user with role {chosen.value} sees every site; give none")
    if chosen not in ALL_SITE_ROLES and not sites:
        raise AccountError("sites", f"a user with role {chosen.value} needs at least one site")
    return chosen


def create_user(
    engine: Engine, username: str, password: str, role: str, sites: list[str]
) -> None:
    """Create a web user (for ``alsrwe user add``); raises AccountError on any broken rule.

    Rules: username 3-64 of ``[a-z0-9._@-]`` (stored lower-case, unique); password at least
    12 characters; role one of admin, clinician, data_manager, analyst, patient; admins and
    analysts get no sites (they see all), every other role at least one existing site code.
    """
    name = normalize_username(username)
    chosen = _check_account(name, password, role, sites)
    password_hash = hash_password(password)
    try:
        with unit_of_work(engine) as session:
            if get_user(session, name) is not None:
                raise AccountError("username", f"{name!r} already exists")
            found = sites_by_code(session, sites)
            missing = sorted(set(sites) - set(found))
            if missing:
                raise AccountError("sites", f"unknown site code(s): {', '.join(missing)}")
            add_user(session, name, password_hash, chosen, [found[c] for c in sorted(found)])
            record_audit(session, "cli", "user_add", "users", {"username": name, "role": role})
    except IntegrityError:
        raise AccountError("username", f"{name!r} already exists") from None


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_CSRF_COOKIE",
    "LOGIN_REFUSED",
    "PASSWORD_MIN_LENGTH",
    "SESSION_COOKIE",
    "authenticate",
    "create_user",
    "csrf_matches",
    "end_session",
    "hash_password",
    "new_csrf_token",
    "resolve_session",
    "start_session",
    "token_hash",
    "touch_due",
    "verify_password",
]
