"""Self-report links as the patient's page reads them: found by token hash, open or closed.

The store keeps only the token's keyed hash (made at the edge, like session ids) and the
link's life: expiry and use. Writes: :mod:`alsrwe.store.writes.self_reports`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.store.models import SelfReportLink


class LinkState(StrEnum):
    """What a self-report link allows now."""

    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"


def find_link(session: Session, token_hash: str) -> SelfReportLink | None:
    """The link with this token hash, or ``None``."""
    query = select(SelfReportLink).where(SelfReportLink.token_hash == token_hash)
    return session.scalars(query).one_or_none()


def link_state(link: SelfReportLink, now: dt.datetime) -> LinkState:
    if link.used_at is not None:
        return LinkState.USED
    if link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.OPEN


__all__ = ["LinkState", "find_link", "link_state"]
