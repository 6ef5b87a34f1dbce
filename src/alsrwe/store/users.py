"""Web users, their site memberships and server-side sessions: reads and writes, no commits.

Hashing and the login policy live at the edge (``alsrwe.web.auth``); this module stores what
it is given. Every function takes an open session from ``unit_of_work``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, joinedload

from alsrwe.store.models import Role, Site, User, WebSession
from alsrwe.store.scope import SiteScope

ALL_SITE_ROLES = frozenset({Role.ADMIN, Role.ANALYST})
"""Roles that see every site (analysts only ever in aggregate; the web enforces that)."""


def get_user(session: Session, username: str) -> User | None:
    """The user with this username (exact match), or ``None``."""
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def sites_by_code(session: Session, codes: Sequence[str]) -> dict[str, Site]:
    """The sites among ``codes`` that exist, by code."""
    if not codes:
        return {}
    found = session.scalars(select(Site).where(Site.code.in_(sorted(set(codes)))))
    return {site.code: site for site in found}


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


def record_failed_login(
    session: Session, user: User, *, lock_after: int, locked_until: dt.datetime
) -> bool:
    """Count a failed login (atomically, so concurrent attempts all count).

    When the count reaches ``lock_after`` the account is locked until ``locked_until`` and the
    count starts again; returns whether this attempt locked it.
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
    session.refresh(user)
    return locked


def record_successful_login(session: Session, user: User) -> None:
    """Clear the failed-login count and any expired lock."""
    user.failed_logins = 0
    user.locked_until = None
    session.flush()


def site_scope(user: User) -> SiteScope:
    """The sites whose patients ``user`` may see: all for admins and analysts, else theirs."""
    if user.role in ALL_SITE_ROLES:
        return SiteScope.every_site()
    return SiteScope.only(site.id for site in user.sites)


def add_web_session(
    session: Session,
    user: User,
    session_id: str,
    csrf_token: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> WebSession:
    """Store a new login session (``session_id`` is the hash of the cookie's token)."""
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
    return row


def get_web_session(session: Session, session_id: str) -> WebSession | None:
    """The session with this id (token hash) and its user, or ``None``; expiry is not checked.

    The user comes with it (one join): every request needs it. Their sites are loaded when
    asked for, i.e. only for roles scoped to sites (admins and analysts see every site).
    """
    return session.get(WebSession, session_id, options=[joinedload(WebSession.user)])


def touch_web_session(session: Session, session_id: str, now: dt.datetime) -> None:
    """Record that a session was used at ``now`` (its idle expiry counts from here)."""
    session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen=now))


def delete_web_session(session: Session, session_id: str) -> None:
    """Forget a session (logout); nothing happens when it does not exist."""
    session.execute(delete(WebSession).where(WebSession.id == session_id))


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
    "ALL_SITE_ROLES",
    "add_user",
    "add_web_session",
    "delete_expired_sessions",
    "delete_sessions_of",
    "delete_web_session",
    "get_user",
    "get_web_session",
    "record_failed_login",
    "record_successful_login",
    "site_scope",
    "sites_by_code",
    "touch_web_session",
]
