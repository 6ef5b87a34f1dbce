"""The registry's storage: SQLAlchemy models, Alembic migrations, transactions and queries.

SQLite (a file, the default) or PostgreSQL; the schema always comes from the migrations.
"""

from alsrwe.store.db import (
    Settings,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    migrate,
    unit_of_work,
)

__all__ = [
    "Settings",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "migrate",
    "unit_of_work",
]
