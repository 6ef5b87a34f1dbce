"""Self-report links as pages read them: found by token hash, open or closed, listed per patient.

The store keeps only the token's keyed hash (made at the edge, like session ids) and the
link's life: expiry, use and revocation. Writes: :mod:`alsrwe.store.writes.self_reports`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.store.models import SelfReportLink, User


class LinkState(StrEnum):
    """What a self-report link allows now."""

    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


def find_link(session: Session, token_hash: str) -> SelfReportLink | None:
    """The link with this token hash, or ``None``."""
    query = select(SelfReportLink).where(SelfReportLink.token_hash == token_hash)
    return session.scalars(query).one_or_none()


def _state(used_at: dt.datetime | None, revoked_at: dt.datetime | None,
           expires_at: dt.datetime, now: dt.datetime) -> LinkState:
    # Use wins over revocation (the answers were stored), revocation over expiry (the clinic
    # closed it on purpose: the patient is told so rather than "expired").
    if used_at is not None:
        return LinkState.USED
    if revoked_at is not None:
        return LinkState.REVOKED
    if expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.OPEN


def link_state(link: SelfReportLink, now: dt.datetime) -> LinkState:
    return _state(link.used_at, link.revoked_at, link.expires_at, now)


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """One of a patient's links as the clinic lists it (never its token: only a hash is kept).

    ``issued_by`` is ``None`` when the issuing account was deleted since.
    """

    id: int
    issued_at: dt.datetime
    issued_by: str | None
    expires_at: dt.datetime
    used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None

    def state_at(self, now: dt.datetime) -> LinkState:
        return _state(self.used_at, self.revoked_at, self.expires_at, now)


def links_for(session: Session, patient_id: int) -> list[IssuedLink]:
    """Every link issued to the patient, newest first (the caller has checked the scope)."""
    query = (
        select(SelfReportLink.id, SelfReportLink.created_at, User.username,
               SelfReportLink.expires_at, SelfReportLink.used_at, SelfReportLink.revoked_at,
               SelfReportLink.revoked_by)
        .outerjoin(User, User.id == SelfReportLink.created_by)
        .where(SelfReportLink.patient_id == patient_id)
        .order_by(SelfReportLink.created_at.desc(), SelfReportLink.id.desc())
    )
    return [IssuedLink(*row) for row in session.execute(query)]


__all__ = ["IssuedLink", "LinkState", "find_link", "link_state", "links_for"]
