"""Sites, patients and their records: one table per tidy-CSV entity (docs/data-format.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alsrwe.domain.alsfrs import ITEM_COLUMNS, AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.store.models.base import (
    Base,
    ConfirmedWarnings,
    UtcDateTime,
    Versioned,
    Vocabulary,
    boolean,
    one_of,
    patient_fk,
    utc_now,
    warnings_column,
)


class Site(Base):
    """A participating centre; patients' pseudonyms are usually prefixed with its code."""

    __tablename__ = "sites"
    __table_args__ = (CheckConstraint("code <> ''", name="code_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))

    patients: Mapped[list[Patient]] = relationship(back_populates="site")


class Patient(Versioned, Base):
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


class AlsfrsAssessment(Versioned, Base):
    """One ALSFRS-R rating: twelve items 0-4; q5 is 5b when ``gastrostomy`` is set."""

    __tablename__ = "alsfrs_assessments"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "source"),
        *(CheckConstraint(f"{q} BETWEEN 0 AND 4", name=f"{q}_range") for q in ITEM_COLUMNS),
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
        return tuple(getattr(self, q) for q in ITEM_COLUMNS)


class Measurement(Versioned, Base):
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


class Administration(Versioned, Base):
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


class Medication(Versioned, Base):
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


class AdverseEvent(Versioned, Base):
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


class Milestone(Versioned, Base):
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


PATIENT_TABLES = (
    AlsfrsAssessment,
    Measurement,
    Administration,
    Medication,
    AdverseEvent,
    Milestone,
)
"""Tables whose rows belong to one patient (and are deleted with it)."""

RECORD_MODELS: Mapping[str, type[Base]] = MappingProxyType({
    "alsfrs": AlsfrsAssessment, "measurements": Measurement, "administrations": Administration,
    "medications": Medication, "adverse_events": AdverseEvent, "milestones": Milestone,
})
"""The model of each tidy table of records (docs/data-format.md)."""
