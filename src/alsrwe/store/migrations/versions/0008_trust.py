"""Trust: a sealed, append-only audit trail; record versions; import provenance.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

- ``audit_log`` gains ``patient_id`` (the patient an entry is about), ``prev_hash`` and ``hash``
  (the chain of :mod:`alsrwe.domain.audit_chain`); existing entries are sealed here, in id
  order. ``audit_chain_head`` holds the chain's end; writers lock it, so the chain stays linear
  under concurrent writers on PostgreSQL (SQLite writers hold the database's write lock).
- Triggers refuse UPDATE and DELETE of audit entries on both databases, and TRUNCATE on
  PostgreSQL, for every role including the owner unless it drops them (which only the owner
  may do). On PostgreSQL the group role ``alsrwe_app`` (created if the migrating role may)
  gets the rights an application needs and no UPDATE, DELETE or TRUNCATE on the trail: the
  web app logs in as a role that joins it, the migrations run as the owner
  (docs/reliability.md, "Two roles").
- ``imports``: one row per import; every record written by an import carries its id and row.
- Each clinical table (patients and their records, treatments) gains ``version``,
  ``changed_at``, ``changed_by``, ``import_id`` and ``import_row``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alsrwe.domain.audit_chain import GENESIS, ChainEntry, entry_hash

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = ("patients", "alsfrs_assessments", "measurements", "administrations",
             "medications", "adverse_events", "milestones", "treatments")

PG_REFUSE = """
CREATE FUNCTION alsrwe_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries cannot be changed or removed (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$
"""


def _seal_existing_entries() -> None:
    """Seal the entries written before 0008, oldest first, and write the chain's head."""
    bind = op.get_bind()
    log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime(True)),
                   sa.column("actor", sa.String), sa.column("action", sa.String),
                   sa.column("entity", sa.String), sa.column("detail", sa.JSON),
                   sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    previous, last_id, count = GENESIS, None, 0
    rows = bind.execute(sa.select(log.c.id, log.c.at, log.c.actor, log.c.action, log.c.entity,
                                  log.c.detail).order_by(log.c.id)).all()
    for row in rows:
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
        sealed = entry_hash(previous, ChainEntry(row.id, at, row.actor, row.action, row.entity,
                                                 None, row.detail))
        bind.execute(sa.update(log).where(log.c.id == row.id).values(
            prev_hash=previous, hash=sealed))
        previous, last_id, count = sealed, row.id, count + 1
    bind.execute(sa.text("INSERT INTO audit_chain_head (id, entries, last_id, last_hash) "
                         "VALUES (1, :entries, :last_id, :last_hash)"),
                 {"entries": count, "last_id": last_id,
                  "last_hash": previous if count else None})


APP_ROLE = "alsrwe_app"
"""The group role an application's login role joins on PostgreSQL (docs/reliability.md)."""

PG_APP_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'no CREATEROLE right: create role {APP_ROLE} yourself (docs/reliability.md)';
END $$
"""
PG_APP_GRANTS = f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        GRANT USAGE ON SCHEMA public TO {APP_ROLE};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {APP_ROLE};
        REVOKE DELETE, TRUNCATE ON audit_chain_head FROM {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
    END IF;
END $$
"""


def _refuse_changes(postgresql: bool) -> None:
    if postgresql:
        op.execute(PG_REFUSE)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION alsrwe_refuse_audit_change()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION alsrwe_refuse_audit_change()")
        op.execute("ALTER TABLE audit_log ALTER COLUMN id DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_log_id_seq")
        op.execute(PG_APP_ROLE)
        op.execute(PG_APP_GRANTS)
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed or removed'); "
                   "END")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=True),
        sa.Column("last_hash", sa.String(64), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("files", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.add_column("audit_log", sa.Column("patient_id", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(64), nullable=True))
    _seal_existing_entries()
    with op.batch_alter_table("audit_log") as batch:  # no triggers on it yet: safe to rebuild
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
    op.create_index(op.f("ix_audit_log_patient_id"), "audit_log", ["patient_id"])
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"])
    _refuse_changes(postgresql)
    for table in VERSIONED:
        # Plain ADD COLUMN: on SQLite a rebuilt table would lose its revision triggers.
        op.add_column(table, sa.Column("version", sa.Integer(), server_default=sa.text("1"),
                                       nullable=False))
        op.add_column(table, sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("changed_by", sa.String(100), nullable=True))
        op.add_column(table, sa.Column("import_id", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("import_row", sa.Integer(), nullable=True))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in reversed(VERSIONED):
        with op.batch_alter_table(table, recreate="never") as batch:
            for column in ("import_row", "import_id", "changed_by", "changed_at", "version"):
                batch.drop_column(column)
    if postgresql:
        op.execute(f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') "
                   f"THEN ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM "
                   f"{APP_ROLE}; ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON "
                   f"SEQUENCES FROM {APP_ROLE}; REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "
                   f"{APP_ROLE}; REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}; "
                   f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}; END IF; END $$")
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION alsrwe_refuse_audit_change()")
        op.execute("CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id")
        op.execute("SELECT setval('audit_log_id_seq', COALESCE(MAX(id), 0) + 1, false) "
                   "FROM audit_log")
        op.execute("ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT "
                   "nextval('audit_log_id_seq')")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    op.drop_index(op.f("ix_audit_log_actor"), "audit_log")
    op.drop_index(op.f("ix_audit_log_patient_id"), "audit_log")
    with op.batch_alter_table("audit_log", recreate="never" if postgresql else "always") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("patient_id")
    op.drop_table("imports")
    op.drop_table("audit_chain_head")
