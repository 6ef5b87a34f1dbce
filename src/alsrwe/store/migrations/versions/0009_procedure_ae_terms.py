"""Adverse-event terms of the lumbar puncture: post-lumbar puncture headache, procedural pain.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

The CHECK on ``adverse_events.term`` gains the two terms (docs/domain-rules.md §3.2). On
PostgreSQL the constraint is replaced in place. SQLite cannot alter a CHECK, so the table is
rebuilt the way SQLite documents (create the new table, copy, drop, rename), inside the
migration's transaction, and its triggers are re-created from their saved SQL. The downgrade
refuses while any row uses a new term, so that nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TERMS = ("myelitis", "radiculitis", "papilledema", "raised_intracranial_pressure",
             "aseptic_meningitis", "pain", "fatigue", "arthralgia", "csf_wbc_increased",
             "myalgia", "csf_protein_increased", "musculoskeletal_stiffness", "neuralgia",
             "other")
NEW_TERMS = (*OLD_TERMS, "post_lumbar_puncture_headache", "procedural_pain")
NAME = "ck_adverse_events_term"


def _check(terms: Sequence[str]) -> str:
    return "term IN (" + ", ".join(f"'{term}'" for term in terms) + ")"


def _sqlite_rebuild(old: Sequence[str], new: Sequence[str]) -> None:
    bind = op.get_bind()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'adverse_events'"
    ).scalar_one()
    triggers = [row[0] for row in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'adverse_events'")]
    before = f"CONSTRAINT {NAME} CHECK ({_check(old)})"
    if before not in table_sql:
        raise RuntimeError(f"adverse_events: {NAME} is not the expected CHECK; not rebuilt")
    created = re.sub(r'^CREATE TABLE "?adverse_events"?', "CREATE TABLE adverse_events_rebuilt",
                     table_sql.replace(before, f"CONSTRAINT {NAME} CHECK ({_check(new)})"))
    bind.exec_driver_sql(created)
    bind.exec_driver_sql("INSERT INTO adverse_events_rebuilt SELECT * FROM adverse_events")
    bind.exec_driver_sql("DROP TABLE adverse_events")
    bind.exec_driver_sql("ALTER TABLE adverse_events_rebuilt RENAME TO adverse_events")
    for trigger in triggers:
        bind.exec_driver_sql(trigger)


def _replace(old: Sequence[str], new: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(NAME), "adverse_events", type_="check")
        op.create_check_constraint(op.f(NAME), "adverse_events", sa.text(_check(new)))
    else:
        _sqlite_rebuild(old, new)


def upgrade() -> None:
    _replace(OLD_TERMS, NEW_TERMS)


def downgrade() -> None:
    added = ", ".join(f"'{term}'" for term in NEW_TERMS if term not in OLD_TERMS)
    used = op.get_bind().exec_driver_sql(
        f"SELECT COUNT(*) FROM adverse_events WHERE term IN ({added})").scalar_one()
    if used:
        raise RuntimeError(f"{used} adverse event(s) use a term added by 0009; recode them "
                           "before downgrading")
    _replace(NEW_TERMS, OLD_TERMS)
