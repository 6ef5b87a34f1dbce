"""Web users, their sites and sessions (migration 0002), and self-report links (0003)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alsrwe.domain.access import Role
from alsrwe.store.models.base import (
    Base,
    UtcDateTime,
    Vocabulary,
    boolean,
    one_of,
    utc_now,
)
from alsrwe.store.models.records import Patient, Site

# --- Web users, their sites and their sessions (migration 0002) -------------------------------


class User(Base):
    """A person who logs in to the web app; the password is stored only as an argon2id hash."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("username <> ''", name="username_not_empty"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
        one_of("role", Role),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Vocabulary(Role))
    active: Mapped[bool] = mapped_column(boolean("active_bool"), default=True)
    failed_logins: Mapped[int] = mapped_column(SmallInteger, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)

    sites: Mapped[list[Site]] = relationship(secondary="user_sites", order_by="Site.code")

    def __repr__(self) -> str:
        return f"User(username={self.username!r}, role={self.role!r})"


class UserSite(Base):
    """Membership: the sites whose patients a clinician, data manager or patient user may see."""

    __tablename__ = "user_sites"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class WebSession(Base):
    """A server-side login session; the browser's cookie holds only the token whose hash is ``id``.

    Deleting the row is logging out; ``expires_at`` (absolute) and ``last_seen`` (idle) end it
    too. ``csrf_token`` is the secret every state-changing request of the session must echo.
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)

    user: Mapped[User] = relationship()


# --- Patient self-report links (migration 0003) -----------------------------------------------


class SelfReportLink(Base):
    """A single-use, time-limited link through which a patient self-rates the ALSFRS-R.

    As for sessions, only the HMAC of the link's token is stored (``token_hash``), so a leaked
    table cannot be turned into working links. ``used_at`` set means the link is spent.
    """

    __tablename__ = "self_report_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    """Closed by the clinic before use (migration 0007)."""
    revoked_by: Mapped[str | None] = mapped_column(String(100))

    patient: Mapped[Patient] = relationship()
