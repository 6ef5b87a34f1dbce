"""What a registry holds (schema revision, rows per table, audit chain head) and the checks a
restored registry must pass against the manifest."""

from __future__ import annotations

import json
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select, table
from sqlalchemy.orm import Session

from alsrwe.store.backup.manifest import BackupRefused, Manifest, Snapshot
from alsrwe.store.db import head_revision, migrate, migrations_config, unit_of_work
from alsrwe.store.reads.audit_log import chain_head, verify_chain


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows in every table of the database's default schema (``alembic_version`` included)."""
    names = sorted(inspect(connection).get_table_names())
    return {name: connection.execute(select(func.count()).select_from(table(name)))
            .scalar_one() for name in names}


def _chain(session: Session) -> dict[str, Any]:
    head: dict[str, Any] = json.loads(json.dumps(chain_head(session).as_dict()))
    return head


def take_snapshot(connection: Connection, where: str) -> Snapshot:
    """Describe the registry as ``connection``'s transaction sees it (one snapshot)."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise BackupRefused(f"{where} holds no registry (no schema): nothing to back up")
    counts = row_counts(connection)
    chain = None
    if revision == head_revision():
        with Session(bind=connection) as session:
            chain = _chain(session)
    return Snapshot(revision, counts, chain)


def check_compatible(manifest: Manifest, backend: str, source: str) -> None:
    """Refuse a backup of another backend, or of a schema newer than this alsrwe knows."""
    if manifest.backend != backend:
        raise BackupRefused(f"{source} is a {manifest.backend} backup; the target is a "
                            f"{backend} database (restore it into a {manifest.backend} one)")
    known = {script.revision for script in
             ScriptDirectory.from_config(migrations_config()).walk_revisions()}
    if manifest.snapshot.schema_revision not in known:
        raise BackupRefused(
            f"{source} has schema revision {manifest.snapshot.schema_revision}, newer than "
            f"this alsrwe's {head_revision()} (alsrwe {manifest.alsrwe_version} made it): "
            "restore it with that version or a later one")


def _differences(found: dict[str, int], expected: dict[str, int], limit: int = 5) -> str:
    names = sorted(set(found) | set(expected))
    diffs = [f"{name} {found.get(name, 'absent')} (manifest {expected.get(name, 'absent')})"
             for name in names if found.get(name) != expected.get(name)]
    more = f" and {len(diffs) - limit} more" if len(diffs) > limit else ""
    return ", ".join(diffs[:limit]) + more


def check_restored(engine: Engine, manifest: Manifest, where: str) -> None:
    """The restored registry must hold what the manifest says; older schemas are migrated.

    Row counts and the revision are compared as restored; then the schema is migrated to
    head if it was older; then the audit chain must verify and its head equal the manifest's.
    """
    expected = manifest.snapshot
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        counts = row_counts(connection)
    if revision != expected.schema_revision:
        raise BackupRefused(f"{where}: restored schema revision {revision}, the manifest says "
                            f"{expected.schema_revision}")
    if counts != expected.row_counts:
        raise BackupRefused(f"{where}: restored row counts differ from the manifest: "
                            f"{_differences(counts, expected.row_counts)}")
    if revision != head_revision():
        migrate(engine)
    with unit_of_work(engine, read_only=True) as session:
        broken = verify_chain(session)
        if broken is not None:
            raise BackupRefused(f"{where}: the restored audit chain is broken at entry "
                                f"{broken.entry_id}: {broken.reason}")
        if expected.audit_chain is not None and _chain(session) != expected.audit_chain:
            raise BackupRefused(f"{where}: the restored audit chain head {_chain(session)} "
                                f"differs from the manifest's {expected.audit_chain}")


__all__ = ["check_compatible", "check_restored", "row_counts", "take_snapshot"]
