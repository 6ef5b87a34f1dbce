"""Writes of web accounts: new users, login counters, server-side sessions; no commits.

Hashing and the login policy live at the edge (``alsrwe.web.auth``), the account rules in the
domain (:func:`alsrwe.domain.access.check_account`); this module stores what it is given, in
the caller's transaction. Reads: :mod:`alsrwe.store.reads.users`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alsrwe.domain.access import Role, check_account, check_role, normalize_username
from alsrwe.domain.errors import AccountError
from alsrwe.store.audit import record_audit
from alsrwe.store.models import Site, User, WebSession
from alsrwe.store.passwords import hash_password
from alsrwe.store.reads.users import get_user, sites_by_code


def add_user(
    session: Session, username: str, password_hash: str, role: Role, sites: Sequence[Site]
) -> User:
    """Add a user with these sites; validation (role, password, site codes) is the caller's."""
    user = User(
        username=username,
        password_hash=password_hash,
        role=role,
        active=True,
        failed_logins=0,
        sites=list(sites),
    )
    session.add(user)
    session.flush()
    return user


def create_account(
    session: Session, username: str, password: str, role: str, site_codes: Sequence[str],
    *, actor: str,
) -> User:
    """Add a web user, with an audit entry: the account rules are the domain's
    (:func:`~alsrwe.domain.access.check_account`; the username is stored lower case), the
    password is stored only as its argon2id hash. AccountError names the broken rule,
    including a username already taken or an unknown site code.
    """
    name = normalize_username(username)
    chosen = check_account(name, password, role, site_codes)
    if get_user(session, name) is not None:
        raise AccountError("username", f"{name!r} already exists")
    found = sites_by_code(session, site_codes)
    missing = sorted(set(site_codes) - set(found))
    if missing:
        raise AccountError("sites", f"unknown site code(s): {', '.join(missing)}")
    try:
        user = add_user(session, name, hash_password(password), chosen,
                        [found[c] for c in sorted(found)])
    except IntegrityError:  # created meanwhile by a concurrent transaction
        raise AccountError("username", f"{name!r} already exists") from None
    record_audit(session, actor, "user_add", "users", {"username": name, "role": chosen.value})
    return user


def change_role(session: Session, username: str, role: str, site_codes: Sequence[str], *,
                actor: str) -> User:
    """Give a user another role and set of sites, audited with both before and after; their
    open sessions end, so the new rights apply from their next login."""
    user = get_user(session, normalize_username(username))
    if user is None:
        raise AccountError("username", f"no user {username!r}")
    chosen = check_role(role, site_codes)
    found = sites_by_code(session, site_codes)
    missing = sorted(set(site_codes) - set(found))
    if missing:
        raise AccountError("sites", f"unknown site code(s): {', '.join(missing)}")
    before = {"role": user.role.value, "sites": sorted(site.code for site in user.sites)}
    user.role, user.sites = chosen, [found[c] for c in sorted(found)]
    delete_sessions_of(session, user)
    session.flush()
    record_audit(session, actor, "user_role_change", "users", {
        "username": user.username, "before": before,
        "after": {"role": chosen.value, "sites": sorted(found)}})
    return user


def record_failed_login(
    session: Session, user: User, *, lock_after: int, locked_until: dt.datetime
) -> bool:
    """Count a failed login (atomically, so concurrent attempts all count).

    When the count reaches ``lock_after`` the account is locked until ``locked_until`` (audited)
    and the count starts again; returns whether this attempt locked it.
    """
    count = session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    ).scalar_one()
    locked = count >= lock_after
    if locked:
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=0, locked_until=locked_until)
        )
        record_audit(session, user.username, "account_locked", "users")
    session.refresh(user)
    return locked


def record_refused_login(session: Session, user: User | None, reason: str) -> None:
    """Audit a refused login: who (an existing account) and why. For an unknown username the
    name is not kept: people type their password into that field often enough."""
    actor = user.username if user is not None else "anonymous"
    detail: dict[str, object] = {"reason": reason}
    if user is not None:
        detail["failed_logins"] = user.failed_logins
    record_audit(session, actor, "login_refused", "users", detail)


def record_successful_login(session: Session, user: User) -> None:
    """Clear the failed-login count and any expired lock."""
    user.failed_logins = 0
    user.locked_until = None
    session.flush()


def add_web_session(
    session: Session,
    user: User,
    session_id: str,
    csrf_token: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> WebSession:
    """Store a new login session (``session_id`` is the hash of the cookie's token), audited."""
    row = WebSession(
        id=session_id,
        user=user,
        csrf_token=csrf_token,
        created_at=now,
        expires_at=expires_at,
        last_seen=now,
    )
    session.add(row)
    session.flush()
    record_audit(session, user.username, "login", "web_sessions")
    return row


def touch_web_session(session: Session, session_id: str, now: dt.datetime) -> None:
    """Record that a session was used at ``now`` (its idle expiry counts from here)."""
    session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen=now))


def delete_web_session(session: Session, session_id: str) -> None:
    """Forget a session (logout), audited; nothing happens when it does not exist."""
    username = session.scalar(select(User.username).join(WebSession, WebSession.user_id == User.id)
                              .where(WebSession.id == session_id))
    if username is None:
        return
    session.execute(delete(WebSession).where(WebSession.id == session_id))
    record_audit(session, username, "logout", "web_sessions")


def delete_sessions_of(session: Session, user: User) -> None:
    """Forget every session of ``user`` (e.g. after a password change or deactivation)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def delete_expired_sessions(session: Session, now: dt.datetime, idle_since: dt.datetime) -> int:
    """Remove sessions past their lifetime or unused since ``idle_since``; returns how many."""
    result = session.execute(
        delete(WebSession).where(
            or_(WebSession.expires_at <= now, WebSession.last_seen <= idle_since)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = [
    "add_user",
    "change_role",
    "create_account",
    "add_web_session",
    "delete_expired_sessions",
    "delete_sessions_of",
    "delete_web_session",
    "record_failed_login",
    "record_refused_login",
    "record_successful_login",
    "touch_web_session",
]
