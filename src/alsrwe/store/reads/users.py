"""Web users, their sites and their sessions, as the login and every request read them.

Hashing and the login policy live at the edge (``alsrwe.web.auth``); the account rules in the
domain (``alsrwe.domain.access``); writes in :mod:`alsrwe.store.writes.accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from alsrwe.domain.access import ALL_SITE_ROLES
from alsrwe.store.models import Site, User, WebSession
from alsrwe.store.scope import SiteScope


def get_user(session: Session, username: str) -> User | None:
    """The user with this username (exact match), or ``None``."""
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def sites_by_code(session: Session, codes: Sequence[str]) -> dict[str, Site]:
    """The sites among ``codes`` that exist, by code."""
    if not codes:
        return {}
    found = session.scalars(select(Site).where(Site.code.in_(sorted(set(codes)))))
    return {site.code: site for site in found}


def site_scope(user: User) -> SiteScope:
    """The sites whose patients ``user`` may see: all for admins and analysts, else theirs."""
    if user.role in ALL_SITE_ROLES:
        return SiteScope.every_site()
    return SiteScope.only(site.id for site in user.sites)


def get_web_session(session: Session, session_id: str) -> WebSession | None:
    """The session with this id (token hash) and its user, or ``None``; expiry is not checked.

    The user comes with it (one join): every request needs it. Their sites are loaded when
    asked for, i.e. only for roles scoped to sites (admins and analysts see every site).
    """
    return session.get(WebSession, session_id, options=[joinedload(WebSession.user)])


__all__ = ["get_user", "get_web_session", "site_scope", "sites_by_code"]
