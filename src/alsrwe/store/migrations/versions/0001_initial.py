"""Initial schema: sites, patients and their assessments, measurements, doses, medications,
adverse events and milestones, plus the audit log.

The vocabularies are written out here as they were at this revision (a migration is a
snapshot; it must not change when a domain enum grows). ``tests/store/test_migrations.py``
fails when a domain enum and the migrated CHECK constraints disagree: extend a vocabulary
with a new migration that replaces the constraint.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEX = ("F", "M")
PATIENT_STATUS = ("patient", "carrier")
ZYGOSITY = ("heterozygous", "homozygous")
ONSET_REGION = ("bulbar", "upper_limb", "lower_limb", "respiratory", "generalized")
ASSESSMENT_SOURCE = ("clinic", "self")
MEASUREMENT_KIND = (
    "nfl_serum",
    "nfl_plasma",
    "nfl_csf",
    "pnfh_csf",
    "svc_percent",
    "fvc_percent",
    "hhd_megascore",
    "weight_kg",
    "csf_wbc",
    "csf_protein",
    "csf_sod1",
)
ADMINISTRATION_STATUS = ("given", "missed", "deferred")
AE_TERM = (
    "myelitis",
    "radiculitis",
    "papilledema",
    "raised_intracranial_pressure",
    "aseptic_meningitis",
    "pain",
    "fatigue",
    "arthralgia",
    "csf_wbc_increased",
    "myalgia",
    "csf_protein_increased",
    "musculoskeletal_stiffness",
    "neuralgia",
    "other",
)
AE_OUTCOME = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)
AE_ACTION = ("none", "interrupted", "withdrawn", "not_applicable", "unknown")
MILESTONE_KIND = ("gastrostomy", "niv", "tracheostomy", "permanent_ventilation", "death")

PATIENT_TABLES = (
    "alsfrs_assessments",
    "measurements",
    "administrations",
    "medications",
    "adverse_events",
    "milestones",
)


def vocabulary() -> sa.String:
    return sa.String(length=32)


def one_of(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def boolean(table: str, column: str) -> sa.Column[bool]:
    kind = sa.Boolean(create_constraint=True, name=op.f(f"ck_{table}_{column}_bool"))
    return sa.Column(column, kind, nullable=False)


def patient_table(table: str, *items: sa.schema.SchemaItem, natural_key: Sequence[str]) -> None:
    """A table whose rows belong to one patient; its natural key starts with ``patient_id``."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        *items,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f(f"fk_{table}_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(*natural_key, name=op.f(f"uq_{table}_{'_'.join(natural_key)}")),
    )


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
        check("sites", "code_not_empty", "code <> ''"),
    )
    create_patients()
    create_patient_tables()
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )


def create_patients() -> None:
    t = "patients"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=40), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("sex", vocabulary(), nullable=False),
        sa.Column("birth_year", sa.SmallInteger(), nullable=False),
        sa.Column("status", vocabulary(), nullable=False),
        sa.Column("sod1_hgvs", sa.String(length=64), nullable=False),
        sa.Column("sod1_legacy", sa.String(length=64), nullable=False),
        sa.Column("sod1_input", sa.String(length=64), nullable=False),
        sa.Column("zygosity", vocabulary(), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("onset_region", vocabulary(), nullable=True),
        sa.Column("diagnosis_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_patients_pseudonym")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_patients_site_id_sites"), ondelete="RESTRICT"
        ),
        check(t, "pseudonym_not_empty", "pseudonym <> ''"),
        check(t, "birth_year_range", "birth_year BETWEEN 1900 AND 2100"),
        one_of(t, "sex", SEX),
        one_of(t, "status", PATIENT_STATUS),
        one_of(t, "zygosity", ZYGOSITY),
        one_of(t, "onset_region", ONSET_REGION),
        check(
            t,
            "carrier_has_no_onset",
            "status <> 'carrier' OR (onset_date IS NULL"
            " AND onset_region IS NULL AND diagnosis_date IS NULL)",
        ),
        check(t, "patient_has_onset", "status <> 'patient' OR onset_date IS NOT NULL"),
        check(t, "diagnosis_after_onset", "diagnosis_date >= onset_date"),
    )
    op.create_index(op.f("ix_patients_site_id"), t, ["site_id"])


def create_patient_tables() -> None:
    t = "alsfrs_assessments"
    items = [f"q{i}" for i in range(1, 13)]
    patient_table(
        t,
        sa.Column("date", sa.Date(), nullable=False),
        *(sa.Column(q, sa.SmallInteger(), nullable=False) for q in items),
        boolean(t, "gastrostomy"),
        sa.Column("source", vocabulary(), nullable=False),
        *(check(t, f"{q}_range", f"{q} BETWEEN 0 AND 4") for q in items),
        one_of(t, "source", ASSESSMENT_SOURCE),
        natural_key=("patient_id", "date", "source"),
    )
    t = "measurements"
    patient_table(
        t,
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", vocabulary(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("assay", sa.String(length=40), nullable=True),
        sa.Column("lab", sa.String(length=100), nullable=True),
        one_of(t, "kind", MEASUREMENT_KIND),
        check(t, "value_not_negative", "value >= 0 OR kind = 'hhd_megascore'"),
        check(t, "unit_not_empty", "unit <> ''"),
        natural_key=("patient_id", "date", "kind"),
    )
    t = "administrations"
    patient_table(
        t,
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("dose_mg", sa.Float(), nullable=True),
        sa.Column("status", vocabulary(), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("csf_removed_ml", sa.Float(), nullable=True),
        check(t, "drug_not_empty", "drug <> ''"),
        check(t, "dose_positive", "dose_mg > 0"),
        one_of(t, "status", ADMINISTRATION_STATUS),
        check(t, "given_has_dose", "status <> 'given' OR dose_mg IS NOT NULL"),
        check(t, "csf_removed_not_negative", "csf_removed_ml >= 0"),
        natural_key=("patient_id", "date", "drug"),
    )
    t = "medications"
    patient_table(
        t,
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("stop_date", sa.Date(), nullable=True),
        check(t, "drug_not_empty", "drug <> ''"),
        check(t, "stop_after_start", "stop_date >= start_date"),
        natural_key=("patient_id", "drug", "start_date"),
    )
    t = "adverse_events"
    patient_table(
        t,
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("term", vocabulary(), nullable=False),
        sa.Column("term_text", sa.String(length=200), nullable=True),
        sa.Column("grade", sa.SmallInteger(), nullable=False),
        boolean(t, "serious"),
        boolean(t, "related"),
        sa.Column("outcome", vocabulary(), nullable=False),
        sa.Column("action", vocabulary(), nullable=True),
        sa.Column("resolved_date", sa.Date(), nullable=True),
        one_of(t, "term", AE_TERM),
        check(t, "other_has_text", "term <> 'other' OR term_text IS NOT NULL"),
        check(t, "grade_range", "grade BETWEEN 1 AND 5"),
        one_of(t, "outcome", AE_OUTCOME),
        one_of(t, "action", AE_ACTION),
        check(t, "resolved_after_onset", "resolved_date >= onset_date"),
        natural_key=("patient_id", "onset_date", "term"),
    )
    t = "milestones"
    patient_table(
        t,
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", vocabulary(), nullable=False),
        one_of(t, "kind", MILESTONE_KIND),
        natural_key=("patient_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    for table in reversed(PATIENT_TABLES):
        op.drop_table(table)
    op.drop_index(op.f("ix_patients_site_id"), table_name="patients")
    op.drop_table("patients")
    op.drop_table("sites")
