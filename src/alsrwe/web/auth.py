"""Passwords, logins, server-side sessions and CSRF tokens.

- Passwords are stored as argon2id hashes (:mod:`alsrwe.store.passwords`).
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
import secrets

from sqlalchemy.orm import Session

from alsrwe.domain.access import normalize_username
from alsrwe.store.models import User, WebSession
from alsrwe.store.passwords import (
    hash_password,
    needs_rehash,
    spend_verification_time,
    verify_password,
)
from alsrwe.store.reads.users import get_user, get_web_session
from alsrwe.store.writes.accounts import (
    add_web_session,
    delete_expired_sessions,
    delete_web_session,
    record_failed_login,
    record_refused_login,
    record_successful_login,
)
from alsrwe.web.settings import WebSettings

SESSION_COOKIE = "alsrwe_session"
LOGIN_CSRF_COOKIE = "alsrwe_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_REFUSED = "invalid username or password"
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)
"""``last_seen`` is written at most once a minute per session, not on every request."""

def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_hash(token: str, settings: WebSettings) -> str:
    """How a session token is stored: HMAC-SHA256 under the secret key, hex (64 chars)."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def authenticate(
    session: Session, username: str, password: str, settings: WebSettings, now: dt.datetime
) -> User | None:
    """The user if the password is right and the account active and not locked, else ``None``.

    Failed attempts on an existing account are counted (and may lock it) in ``session``'s
    transaction, so the caller must let that transaction commit even when login fails.
    """
    user = get_user(session, normalize_username(username))
    if user is None or not user.active:
        spend_verification_time(password)
        record_refused_login(session, user, "unknown user" if user is None else "inactive")
        return None
    if user.locked_until is not None and user.locked_until > now:
        spend_verification_time(password)
        record_refused_login(session, user, "locked")
        return None
    if not verify_password(user.password_hash, password):
        lock_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
        record_failed_login(session, user, lock_after=settings.login_max_failures,
                            locked_until=lock_until)
        record_refused_login(session, user, "wrong password")
        return None
    if needs_rehash(user.password_hash):
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


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_CSRF_COOKIE",
    "LOGIN_REFUSED",
    "SESSION_COOKIE",
    "authenticate",
    "csrf_matches",
    "end_session",
    "new_csrf_token",
    "resolve_session",
    "start_session",
    "token_hash",
    "touch_due",
]
