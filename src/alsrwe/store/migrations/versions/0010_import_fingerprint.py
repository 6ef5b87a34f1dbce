"""An import's fingerprint: what it read and the registry it left, to skip an unchanged re-import.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

``imports.fingerprint`` digests the files an import read (their bytes), its settings and
date, and the registry version its write left (:mod:`alsrwe.store.writes.reimport`);
``imports.summary`` counts the records it read per table and the warnings it confirmed.
A re-import whose fingerprint equals an earlier one's would judge the same rows against
the same registry: the earlier verdict stands and nothing needs reading, judging or
writing. Both columns are nullable: imports before this revision, and imports from FHIR,
REDCap or OMOP, have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=True))
        batch.add_column(sa.Column("summary", sa.JSON(), nullable=True))
        batch.create_index("ix_imports_fingerprint", ["fingerprint"])


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch:
        batch.drop_index("ix_imports_fingerprint")
        batch.drop_column("summary")
        batch.drop_column("fingerprint")
