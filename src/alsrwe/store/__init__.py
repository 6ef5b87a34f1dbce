"""The registry's storage: models, migrations, units of work, reads and the one write path.

SQLite (a file, the default) or PostgreSQL; the schema always comes from the migrations.
``reads`` holds the read models (pages, API, CLI, export, analytics); ``writes`` is the only
way in (records, corrections, imports, accounts, self-reports), each writing its audit entry
(``audit``) in the caller's transaction. See docs/architecture.md.
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
