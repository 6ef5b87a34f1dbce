"""Plausibility warnings confirmed for a record, kept with it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

A record that breaks a soft rule of the rulebook (``alsrwe.domain.rulebook``: a dose other
than the label's, a value outside its plausible range …) is stored only once someone
confirmed the warning; ``confirmed_warnings`` keeps each warning's code and message (JSON),
so the patient page can show it and export can carry it. Plain added columns: on SQLite
anything more would rebuild the tables and drop their revision triggers (0004).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("patients", "alsfrs_assessments", "measurements", "administrations", "medications",
          "adverse_events", "milestones")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("confirmed_warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.drop_column("confirmed_warnings")
