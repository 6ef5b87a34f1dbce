"""What a clinic's daily work in the web app needs: treatments, voids, acknowledgements.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- ``treatments``: a period on a regimen (tofersen US or EU label, IV edaravone), from its start
  until it is paused or stopped, with the reason. Resuming after a pause is a new period.
- ``patients.genetic_test_date`` and ``patients.counselling_date``: when the SOD1 result was
  reported and when genetic counselling took place.
- ``voided_records``: a record voided with a reason leaves its table (so no analysis, export or
  rule can see it) and is kept here whole, as JSON, with who voided it, when and why.
- ``flag_acknowledgements``: a clinician acknowledged a CSF or NfL flag of a patient's sample.
- ``self_report_links.revoked_at`` / ``revoked_by``: a link closed by the clinic before use.

Each new table of a patient's rows raises ``patients.revision`` by the triggers of 0004 (the
patient page cache depends on it). Columns are added plainly: on SQLite a rebuilt table would
lose its triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("treatments", "voided_records", "flag_acknowledgements")
EVENTS = {"INSERT": ("new_rows",), "UPDATE": ("old_rows", "new_rows"), "DELETE": ("old_rows",)}


def _patient_columns(table: str) -> list[sa.Column[int] | sa.Constraint]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                name=op.f(f"fk_{table}_patient_id_patients")),
    ]


def _create_tables() -> None:
    op.create_table(
        "treatments",
        *_patient_columns("treatments"),
        sa.Column("regimen", sa.String(32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_kind", sa.String(32), nullable=True),
        sa.Column("end_reason", sa.String(200), nullable=True),
        sa.CheckConstraint("end_kind IN ('paused', 'stopped')",
                           name=op.f("ck_treatments_end_kind")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_treatments_end_after_start")),
        sa.CheckConstraint("(end_date IS NULL) = (end_kind IS NULL)",
                           name=op.f("ck_treatments_end_has_kind")),
        sa.CheckConstraint("end_kind IS NULL OR end_reason IS NOT NULL",
                           name=op.f("ck_treatments_end_has_reason")),
        sa.UniqueConstraint("patient_id", "regimen", "start_date",
                            name=op.f("uq_treatments_patient_id_regimen_start_date")),
    )
    op.create_table(
        "voided_records",
        *_patient_columns("voided_records"),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("voided_by", sa.String(100), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason <> ''", name=op.f("ck_voided_records_reason_not_empty")),
        sa.UniqueConstraint("table_name", "record_id",
                            name=op.f("uq_voided_records_table_name_record_id")),
    )
    op.create_table(
        "flag_acknowledgements",
        *_patient_columns("flag_acknowledgements"),
        sa.Column("flag", sa.String(32), nullable=False),
        sa.Column("sample_date", sa.Date(), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("acknowledged_by", sa.String(100), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("flag IN ('csf', 'nfl')", name=op.f("ck_flag_acknowledgements_flag")),
        sa.UniqueConstraint("patient_id", "flag", "sample_date",
                            name=op.f("uq_flag_acknowledgements_patient_id_flag_sample_date")),
    )
    op.create_index(op.f("ix_voided_records_patient_id"), "voided_records", ["patient_id"])


def _name(table: str, event: str) -> str:
    return f"{table}_revision_{event.lower()}"


def _create_triggers(postgresql: bool) -> None:
    """The revision triggers of 0004 on the new tables (its functions exist on PostgreSQL)."""
    for table in NEW_TABLES:
        for event, transitions in EVENTS.items():
            if postgresql:
                referencing = " ".join(f"{name.split('_')[0].upper()} TABLE AS {name}"
                                       for name in transitions)
                op.execute(f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                           f"REFERENCING {referencing} FOR EACH STATEMENT "
                           "EXECUTE FUNCTION alsrwe_raise_patient_revision()")
            else:
                body = " ".join(f"UPDATE patients SET revision = revision + 1 WHERE id = "
                                f"{name.split('_')[0].upper()}.patient_id;"
                                for name in transitions)
                op.execute(f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                           f"FOR EACH ROW BEGIN {body} END")


def upgrade() -> None:
    _create_tables()
    _create_triggers(op.get_bind().dialect.name == "postgresql")
    op.add_column("patients", sa.Column("genetic_test_date", sa.Date(), nullable=True))
    op.add_column("patients", sa.Column("counselling_date", sa.Date(), nullable=True))
    op.add_column("self_report_links",
                  sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("self_report_links", sa.Column("revoked_by", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("self_report_links", recreate="never") as batch:
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_at")
    with op.batch_alter_table("patients", recreate="never") as batch:
        batch.drop_column("counselling_date")
        batch.drop_column("genetic_test_date")
    for table in reversed(NEW_TABLES):
        op.drop_table(table)  # its triggers go with it
