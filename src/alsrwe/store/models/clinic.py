"""The clinic's own tables (migration 0007): treatment periods, voids, acknowledgements."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alsrwe.domain.flags import FlagKind
from alsrwe.domain.treatments import TreatmentEnd
from alsrwe.store.models.base import (
    Base,
    UtcDateTime,
    Versioned,
    Vocabulary,
    one_of,
    patient_fk,
    utc_now,
)


class Treatment(Versioned, Base):
    """A period on a regimen, from its start until paused or stopped (migration 0007).

    Resuming after a pause is a new period; the reason for a pause or a stop is required.
    """

    __tablename__ = "treatments"
    __table_args__ = (
        UniqueConstraint("patient_id", "regimen", "start_date"),
        one_of("end_kind", TreatmentEnd),
        CheckConstraint("end_date >= start_date", name="end_after_start"),
        CheckConstraint("(end_date IS NULL) = (end_kind IS NULL)", name="end_has_kind"),
        CheckConstraint("end_kind IS NULL OR end_reason IS NOT NULL", name="end_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    regimen: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    end_kind: Mapped[TreatmentEnd | None] = mapped_column(Vocabulary(TreatmentEnd))
    end_reason: Mapped[str | None] = mapped_column(String(200))


class VoidedRecord(Base):
    """A record voided with a reason: out of its table (and of every analysis), kept here whole.

    ``record`` holds the row's columns as JSON text values, so the record page can show it
    struck through and an audit can tell exactly what was voided (migration 0007).
    """

    __tablename__ = "voided_records"
    __table_args__ = (
        UniqueConstraint("table_name", "record_id"),
        CheckConstraint("reason <> ''", name="reason_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"),
                                            index=True)
    table_name: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    voided_by: Mapped[str] = mapped_column(String(100))
    voided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)


class FlagAcknowledgement(Base):
    """A clinician saw a CSF or NfL flag on one sample date of a patient (migration 0007)."""

    __tablename__ = "flag_acknowledgements"
    __table_args__ = (
        UniqueConstraint("patient_id", "flag", "sample_date"),
        one_of("flag", FlagKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    flag: Mapped[FlagKind] = mapped_column(Vocabulary(FlagKind))
    sample_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
    acknowledged_by: Mapped[str] = mapped_column(String(100))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)
