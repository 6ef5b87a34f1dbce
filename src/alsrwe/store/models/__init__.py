"""The registry's tables, one per tidy-CSV entity (docs/data-format.md).

Design choices, shared by every table:

- Integer surrogate keys; the CSV's natural keys are UNIQUE constraints.
- Every child row belongs to a patient and goes with it (``ON DELETE CASCADE``).
- Vocabularies are stored as plain strings with a CHECK listing the domain enum's values:
  portable (SQLite and PostgreSQL), readable in any SQL client, and extended by a migration
  rather than an ``ALTER TYPE``. The ORM hands the values back as the domain ``StrEnum``.
- Constraint names follow one naming convention, so Alembic sees the same names on both
  backends and later migrations can address them.

One module per concept: ``base`` (column types, the base, the naming convention), ``records``
(sites, patients and their records), ``clinic`` (treatment periods, voids, acknowledgements),
``audit`` (the trail) and ``accounts`` (users, sessions, self-report links). Import them from
here.
"""

from alsrwe.store.models.accounts import SelfReportLink, User, UserSite, WebSession
from alsrwe.store.models.audit import AuditChainHead, AuditEntry, ImportRun
from alsrwe.store.models.base import (
    ALSFRS_ITEMS,
    MAX_ID,
    NAMING_CONVENTION,
    VOCABULARY_LENGTH,
    Base,
    ConfirmedWarnings,
    UtcDateTime,
    Vocabulary,
    boolean,
    one_of,
    patient_fk,
    utc_now,
    warnings_column,
)
from alsrwe.store.models.clinic import FlagAcknowledgement, Treatment, VoidedRecord
from alsrwe.store.models.records import (
    PATIENT_TABLES,
    RECORD_MODELS,
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Measurement,
    Medication,
    Milestone,
    Patient,
    Site,
)

__all__ = [
    "RECORD_MODELS",
    "ALSFRS_ITEMS",
    "MAX_ID",
    "NAMING_CONVENTION",
    "PATIENT_TABLES",
    "VOCABULARY_LENGTH",
    "Administration",
    "AdverseEvent",
    "AlsfrsAssessment",
    "AuditChainHead",
    "AuditEntry",
    "ImportRun",
    "Base",
    "ConfirmedWarnings",
    "FlagAcknowledgement",
    "Measurement",
    "Medication",
    "Milestone",
    "Patient",
    "SelfReportLink",
    "Site",
    "Treatment",
    "User",
    "UserSite",
    "UtcDateTime",
    "Vocabulary",
    "VoidedRecord",
    "WebSession",
    "boolean",
    "one_of",
    "patient_fk",
    "utc_now",
    "warnings_column",
]
