"""The registry's tables, one per tidy-CSV entity (docs/data-format.md).

Design choices, shared by every table:

- Integer surrogate keys; the CSV's natural keys are UNIQUE constraints.
- Every child row belongs to a patient and goes with it (``ON DELETE CASCADE``).
- Vocabularies are stored as plain strings with a CHECK listing the domain enum's values:
  portable (SQLite and PostgreSQL), readable in any SQL client, and extended by a migration
  rather than an ``ALTER TYPE``. The ORM hands the values back as the domain ``StrEnum``.
- Constraint names follow one naming convention, so Alembic sees the same names on both
  backends and later migrations can address them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from alsrwe.domain.access import Role
from alsrwe.domain.alsfrs import ITEM_COLUMNS, AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.flags import FlagKind
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.domain.treatments import TreatmentEnd

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MAX_ID = 2**31 - 1
"""The largest surrogate key (INTEGER is 32-bit on PostgreSQL): bigger ids cannot exist."""

VOCABULARY_LENGTH = 32
"""Width of every vocabulary column (the longest value today is 28 characters)."""

ALSFRS_ITEMS = ITEM_COLUMNS


def utc_now() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so values are normalised to UTC on the way in and tagged as UTC
    on the way out; PostgreSQL stores ``timestamptz``. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


E = TypeVar("E", bound=StrEnum)


class Vocabulary(TypeDecorator[E]):
    """A domain ``StrEnum`` stored as its string value (VARCHAR), read back as the enum."""

    impl = String(VOCABULARY_LENGTH)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def one_of(column: str, enum: type[StrEnum], name: str | None = None) -> CheckConstraint:
    """CHECK that ``column`` holds one of the enum's values (NULL passes; see nullable)."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name or column)


def boolean(name: str) -> Boolean:
    """A boolean; on SQLite (integer storage) a named CHECK keeps it to 0 and 1."""
    return Boolean(create_constraint=True, name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def patient_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)


ConfirmedWarnings = list[dict[str, str]]
"""``[{"code": …, "message": …}, …]``: the soft rules a record broke, confirmed on entry."""


def warnings_column() -> Mapped[ConfirmedWarnings | None]:
    """The plausibility warnings confirmed for the row (migration 0006); SQL NULL when none."""
    return mapped_column(JSON(none_as_null=True))


class Site(Base):
    """A participating centre; patients' pseudonyms are usually prefixed with its code."""

    __tablename__ = "sites"
    __table_args__ = (CheckConstraint("code <> ''", name="code_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))

    patients: Mapped[list[Patient]] = relationship(back_populates="site")


class Patient(Base):
    """A pseudonymous person: a symptomatic patient or a presymptomatic SOD1 carrier."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("pseudonym <> ''", name="pseudonym_not_empty"),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year_range"),
        one_of("sex", Sex),
        one_of("status", PatientStatus),
        one_of("zygosity", Zygosity),
        one_of("onset_region", OnsetRegion),
        CheckConstraint(
            f"status <> '{PatientStatus.CARRIER}' OR (onset_date IS NULL"
            " AND onset_region IS NULL AND diagnosis_date IS NULL)",
            name="carrier_has_no_onset",
        ),
        CheckConstraint(
            f"status <> '{PatientStatus.PATIENT}' OR onset_date IS NOT NULL",
            name="patient_has_onset",
        ),
        CheckConstraint("diagnosis_date >= onset_date", name="diagnosis_after_onset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    sex: Mapped[Sex] = mapped_column(Vocabulary(Sex))
    birth_year: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[PatientStatus] = mapped_column(Vocabulary(PatientStatus))
    sod1_hgvs: Mapped[str] = mapped_column(String(64))
    sod1_legacy: Mapped[str] = mapped_column(String(64))
    sod1_input: Mapped[str] = mapped_column(String(64))
    zygosity: Mapped[Zygosity] = mapped_column(Vocabulary(Zygosity))
    onset_date: Mapped[dt.date | None] = mapped_column(Date)
    onset_region: Mapped[OnsetRegion | None] = mapped_column(Vocabulary(OnsetRegion))
    diagnosis_date: Mapped[dt.date | None] = mapped_column(Date)
    genetic_test_date: Mapped[dt.date | None] = mapped_column(Date)
    """When the SOD1 result was reported (migration 0007)."""
    counselling_date: Mapped[dt.date | None] = mapped_column(Date)
    """When genetic counselling took place (migration 0007)."""
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)
    revision: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    """Raised by database triggers on every change to the patient or their record (0004)."""
    confirmed_warnings: Mapped[ConfirmedWarnings | None] = warnings_column()

    site: Mapped[Site] = relationship(back_populates="patients")

    def __repr__(self) -> str:
        return f"Patient(pseudonym={self.pseudonym!r}, status={self.status!r})"


class AlsfrsAssessment(Base):
    """One ALSFRS-R rating: twelve items 0-4; q5 is 5b when ``gastrostomy`` is set."""

    __tablename__ = "alsfrs_assessments"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "source"),
        *(CheckConstraint(f"{q} BETWEEN 0 AND 4", name=f"{q}_range") for q in ALSFRS_ITEMS),
        one_of("source", AssessmentSource),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    date: Mapped[dt.date] = mapped_column(Date)
    q1: Mapped[int] = mapped_column(SmallInteger)
    q2: Mapped[int] = mapped_column(SmallInteger)
    q3: Mapped[int] = mapped_column(SmallInteger)
    q4: Mapped[int] = mapped_column(SmallInteger)
    q5: Mapped[int] = mapped_column(SmallInteger)
    q6: Mapped[int] = mapped_column(SmallInteger)
    q7: Mapped[int] = mapped_column(SmallInteger)
    q8: Mapped[int] = mapped_column(SmallInteger)
    q9: Mapped[int] = mapped_column(SmallInteger)
    q10: Mapped[int] = mapped_column(SmallInteger)
    q11: Mapped[int] = mapped_column(SmallInteger)
    q12: Mapped[int] = mapped_column(SmallInteger)
    gastrostomy: Mapped[bool] = mapped_column(boolean("gastrostomy_bool"))
    source: Mapped[AssessmentSource] = mapped_column(Vocabulary(AssessmentSource))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    """When a clinician reviewed this self-report (migration 0005); clinic ratings: never."""
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    confirmed_warnings: Mapped[ConfirmedWarnings | None] = warnings_column()

    @property
    def items(self) -> tuple[int, ...]:
        """The twelve item scores in order q1 … q12."""
        return tuple(getattr(self, q) for q in ALSFRS_ITEMS)


class Measurement(Base):
    """A biomarker, lab or function value in its kind's canonical unit."""

    __tablename__ = "measurements"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "kind"),
        one_of("kind", MeasurementKind),
        CheckConstraint(
            f"value >= 0 OR kind = '{MeasurementKind.HHD_MEGASCORE}'", name="value_not_negative"
        ),
        CheckConstraint("unit <> ''", name="unit_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[MeasurementKind] = mapped_column(Vocabulary(MeasurementKind))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    assay: Mapped[str | None] = mapped_column(String(40))
    lab: Mapped[str | None] = mapped_column(String(100))
    confirmed_warnings: Mapped[ConfirmedWarnings | None] = warnings_column()


class Administration(Base):
    """A planned dose of a drug and what happened to it (given, missed, deferred)."""

    __tablename__ = "administrations"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "drug"),
        CheckConstraint("drug <> ''", name="drug_not_empty"),
        CheckConstraint("dose_mg > 0", name="dose_positive"),
        one_of("status", AdministrationStatus),
        CheckConstraint(
            f"status <> '{AdministrationStatus.GIVEN}' OR dose_mg IS NOT NULL",
            name="given_has_dose",
        ),
        CheckConstraint("csf_removed_ml >= 0", name="csf_removed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    date: Mapped[dt.date] = mapped_column(Date)
    drug: Mapped[str] = mapped_column(String(64))
    dose_mg: Mapped[float | None] = mapped_column(Float)
    status: Mapped[AdministrationStatus] = mapped_column(Vocabulary(AdministrationStatus))
    lot: Mapped[str | None] = mapped_column(String(64))
    csf_removed_ml: Mapped[float | None] = mapped_column(Float)
    confirmed_warnings: Mapped[ConfirmedWarnings | None] = warnings_column()


class Medication(Base):
    """A concomitant medication course; ``stop_date`` is NULL while ongoing."""

    __tablename__ = "medications"
    __table_args__ = (
        UniqueConstraint("patient_id", "drug", "start_date"),
        CheckConstraint("drug <> ''", name="drug_not_empty"),
        CheckConstraint("stop_date >= start_date", name="stop_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    drug: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[dt.date] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    confirmed_warnings: Mapped[ConfirmedWarnings | None] = warnings_column()


class AdverseEvent(Base):
    """An adverse event with a controlled term (or ``other`` plus free text) and CTCAE grade."""

    __tablename__ = "adverse_events"
    __table_args__ = (
        UniqueConstraint("patient_id", "onset_date", "term"),
        one_of("term", AeTerm),
        CheckConstraint(
            f"term <> '{AeTerm.OTHER}' OR term_text IS NOT NULL", name="other_has_text"
        ),
        CheckConstraint("grade BETWEEN 1 AND 5", name="grade_range"),
        one_of("outcome", AeOutcome),
        one_of("action", AeAction),
        CheckConstraint("resolved_date >= onset_date", name="resolved_after_onset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    onset_date: Mapped[dt.date] = mapped_column(Date)
    term: Mapped[AeTerm] = mapped_column(Vocabulary(AeTerm))
    term_text: Mapped[str | None] = mapped_column(String(200))
    grade: Mapped[int] = mapped_column(SmallInteger)
    serious: Mapped[bool] = mapped_column(boolean("serious_bool"))
    related: Mapped[bool] = mapped_column(boolean("related_bool"))
    outcome: Mapped[AeOutcome] = mapped_column(Vocabulary(AeOutcome))
    action: Mapped[AeAction | None] = mapped_column(Vocabulary(AeAction))
    resolved_date: Mapped[dt.date | None] = mapped_column(Date)
    confirmed_warnings: Mapped[ConfirmedWarnings | None] = warnings_column()


class Milestone(Base):
    """A disease milestone after onset; each kind happens at most once per patient."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind"),
        one_of("kind", MilestoneKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = patient_fk()
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[MilestoneKind] = mapped_column(Vocabulary(MilestoneKind))
    confirmed_warnings: Mapped[ConfirmedWarnings | None] = warnings_column()


class Treatment(Base):
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


class AuditEntry(Base):
    """Who changed what, when: one row per import or form, written in the same transaction."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utc_now)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


PATIENT_TABLES = (
    AlsfrsAssessment,
    Measurement,
    Administration,
    Medication,
    AdverseEvent,
    Milestone,
)
"""Tables whose rows belong to one patient (and are deleted with it)."""


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
