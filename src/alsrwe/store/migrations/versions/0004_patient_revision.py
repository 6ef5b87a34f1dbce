"""A revision number per patient, raised by the database on every change to their record.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

``patients.revision`` lets a reader tell, with one indexed lookup, whether anything about a
patient changed since it last looked (the web app keys its patient-page cache on it). The
database raises it, by triggers, so no writer can forget: the app's forms and API, the
importer, and hand-written SQL alike. PostgreSQL uses statement-level triggers with
transition tables (one UPDATE per statement, however many rows an import writes); SQLite,
which has only row-level triggers, one per row.

Once per transaction is enough (no reader sees a transaction's changes before its commit),
so on PostgreSQL a patient row this transaction already wrote (``xmin`` is the current
transaction) is not written again: a driver's executemany sends one statement per row, and
a bump per statement bloated ``patients`` to 129 MB (61,000 dead row versions) in a
960,000-row import, making ``count(*)`` 50× slower until vacuumed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TABLES = ("alsfrs_assessments", "measurements", "administrations", "medications",
                 "adverse_events", "milestones")
"""Tables whose rows belong to one patient (``patient_id``)."""
EVENTS = {"INSERT": ("new_rows",), "UPDATE": ("old_rows", "new_rows"), "DELETE": ("old_rows",)}

PG_FUNCTION = """
CREATE FUNCTION alsrwe_raise_patient_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE patients SET revision = revision + 1
    WHERE id IN (SELECT DISTINCT patient_id FROM new_rows)
      AND xmin <> pg_current_xact_id()::xid;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE patients SET revision = revision + 1
    WHERE id IN (SELECT DISTINCT patient_id FROM old_rows)
      AND xmin <> pg_current_xact_id()::xid;
  END IF;
  RETURN NULL;
END $$
"""
PG_PATIENT_FUNCTION = """
CREATE FUNCTION alsrwe_raise_own_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.revision = OLD.revision THEN
    NEW.revision := OLD.revision + 1;
  END IF;
  RETURN NEW;
END $$
"""


def _name(table: str, event: str) -> str:
    return f"{table}_revision_{event.lower()}"


def _upgrade_postgresql() -> None:
    op.execute(PG_FUNCTION)
    op.execute(PG_PATIENT_FUNCTION)
    for table in RECORD_TABLES:
        for event, transitions in EVENTS.items():
            referencing = " ".join(
                f"{'OLD' if name == 'old_rows' else 'NEW'} TABLE AS {name}" for name in transitions
            )
            op.execute(
                f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION alsrwe_raise_patient_revision()"
            )
    op.execute(
        "CREATE TRIGGER patients_revision_update BEFORE UPDATE ON patients "
        "FOR EACH ROW EXECUTE FUNCTION alsrwe_raise_own_revision()"
    )


def _upgrade_sqlite() -> None:
    bump = "UPDATE patients SET revision = revision + 1 WHERE id = {}.patient_id;"
    for table in RECORD_TABLES:
        for event, transitions in EVENTS.items():
            body = " ".join(bump.format(name.split("_")[0].upper()) for name in transitions)
            op.execute(
                f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} "
                f"FOR EACH ROW BEGIN {body} END"
            )
    op.execute(
        "CREATE TRIGGER patients_revision_update AFTER UPDATE ON patients "
        "FOR EACH ROW WHEN NEW.revision = OLD.revision BEGIN "
        "UPDATE patients SET revision = revision + 1 WHERE id = NEW.id; END"
    )


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(
            sa.Column("revision", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    suffix = " ON patients" if postgresql else ""
    op.execute(f"DROP TRIGGER patients_revision_update{suffix}")
    for table in RECORD_TABLES:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {_name(table, event)}{' ON ' + table if postgresql else ''}")
    if postgresql:
        op.execute("DROP FUNCTION alsrwe_raise_own_revision()")
        op.execute("DROP FUNCTION alsrwe_raise_patient_revision()")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("revision")
