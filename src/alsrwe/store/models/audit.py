"""The audit trail's tables: one sealed entry per use case, the chain's head, the imports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from alsrwe.store.models.base import (
    Base,
    UtcDateTime,
    utc_now,
)


class AuditEntry(Base):
    """Who changed or saw what, when: one row per use case, written in the same transaction.

    Rows are never updated or deleted (database triggers refuse it, migration 0008); each
    seals its content and its predecessor's hash (:mod:`alsrwe.domain.audit_chain`).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The patient the entry is about (no foreign key: the trail outlives any row)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row that says where the chain ends; writers lock it, so the chain is linear."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    entries: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str | None] = mapped_column(String(64))


class ImportRun(Base):
    """One import: its rows carry its id and their row number (provenance)."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(500))
    files: Mapped[dict[str, str] | None] = mapped_column(JSON)
    """The file each table was read from (``{"alsfrs": "alsfrs.csv", …}``)."""
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    """The files' bytes, the import's settings and date, and the registry version it left,
    digested (migration 0010): an equal fingerprint later means an unchanged re-import."""
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What it read, for an unchanged re-import to report without reading it again: the
    records per table (``{"records": {"patients": 300, …}, "confirmed_warnings": 2}``)."""
