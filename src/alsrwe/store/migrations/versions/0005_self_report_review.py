"""Who reviewed a patient's ALSFRS-R self-report, and when.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Self-reports arrive through single-use links; a clinician then reviews each one. Plain added
columns (no CHECK): on SQLite a CHECK would rebuild the table and drop its revision triggers
(0004); the rule "only a self-report is reviewed" is the store's (``review_self_report``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alsfrs_assessments",
                  sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("alsfrs_assessments",
                  sa.Column("reviewed_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alsfrs_assessments", recreate="never") as batch:
        batch.drop_column("reviewed_by")
        batch.drop_column("reviewed_at")
