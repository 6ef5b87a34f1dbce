"""Backups of the registry: one file holding a manifest and a consistent copy of the database.

``create_backup(url, file, actor=…)`` writes ``file``, a tar of ``manifest.json`` (format
version, backend, alsrwe version, schema revision, the row count of every table, the payload's
sha256 and size, the time, the audit chain head) and the payload: on SQLite a copy made with the
online backup API (``sqlite.py``), on PostgreSQL ``pg_dump --format=custom`` of one snapshot
(``postgres.py``). The manifest describes the same snapshot as the payload. The file is written
beside its name and renamed into place (``archive.py``): never seen half-written.

Each backup is audited in the registry it copies (``record_export``, kind ``backup``) just
before the rename. That entry is written after the snapshot, so it is not inside the backup
it describes: a restored registry ends with the entry before it.

``restore_backup(file, url, replace=…)`` refuses a file that is not a backup, whose payload does
not match its manifest's sha256, of another backend, or of a schema revision newer than this
alsrwe knows; a target that is not empty needs ``replace``. After restoring, the row counts must
equal the manifest's; an older schema is then migrated; the audit chain must verify and its
head equal the manifest's. A SQLite target is replaced only once all of that passed.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import tempfile
from pathlib import Path

from sqlalchemy import Engine, make_url
from sqlalchemy.pool import NullPool

from alsrwe.store.backup.archive import BackupArchive, sha256_file, write_backup
from alsrwe.store.backup.manifest import PAYLOAD_NAMES, BackupRefused, Manifest, Snapshot
from alsrwe.store.backup.postgres import dump_postgres, restore_postgres
from alsrwe.store.backup.snapshot import check_compatible
from alsrwe.store.backup.sqlite import dump_sqlite, restore_sqlite
from alsrwe.store.db import current_revision, head_revision, make_engine, unit_of_work
from alsrwe.store.writes.disclosures import record_export

BACKUP_ACTOR = "alsrwe backup"


def _backend(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in PAYLOAD_NAMES:
        raise BackupRefused(f"backups are made of SQLite and PostgreSQL registries, not "
                            f"{backend}")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if database in (None, "", ":memory:"):
        raise BackupRefused("an in-memory SQLite database cannot be backed up or restored")
    return Path(database or "").resolve()


def _where(url: str) -> str:
    if _backend(url) == "sqlite":
        return str(_sqlite_path(url))
    return make_url(url).render_as_string(hide_password=True)


def create_backup(url: str, file: Path, *, actor: str = BACKUP_ACTOR) -> Manifest:
    """Back up the registry at ``url`` into ``file`` (replacing it, atomically); audited."""
    backend, where = _backend(url), _where(url)
    file = Path(os.path.abspath(file))
    if not file.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(file.parent))
    if backend == "sqlite" and file.resolve() in {
            Path(where), *(Path(where + suffix) for suffix in ("-wal", "-shm", "-journal"))}:
        raise BackupRefused(f"{file} is the registry itself: name another file for the backup")
    if backend == "sqlite" and not Path(where).is_file():
        raise BackupRefused(f"no registry at {where}")
    engine = make_engine(url, poolclass=NullPool)
    try:
        _refuse_other_schema(engine, where)
        return _write(url, backend, where, file, engine, actor)
    finally:
        engine.dispose()


def _refuse_other_schema(engine: Engine, where: str) -> None:
    """Only a registry at this alsrwe's schema: its audit entry is written by this code."""
    revision, head = current_revision(engine), head_revision()
    if revision is None:
        raise BackupRefused(f"{where} holds no registry (no schema): nothing to back up")
    if revision != head:
        raise BackupRefused(f"{where} is at schema revision {revision}, this alsrwe writes "
                            f"{head}: back it up with the alsrwe that uses {revision}, or "
                            "migrate it first with `alsrwe init`")


def _write(url: str, backend: str, where: str, file: Path, engine: Engine,
           actor: str) -> Manifest:
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(dir=file.parent, prefix=f".{file.name}.") as folder:
        payload = Path(folder) / PAYLOAD_NAMES[backend]
        snapshot: Snapshot = (dump_sqlite(Path(where), payload) if backend == "sqlite"
                              else dump_postgres(url, payload, where))
        if snapshot.schema_revision != head_revision():
            raise BackupRefused(f"{where} changed its schema during the backup: try again")
        manifest = Manifest(backend, snapshot, sha256_file(payload), payload.stat().st_size,
                            created)

        def audit() -> None:
            with unit_of_work(engine) as session:
                record_export(session, actor, "backup", str(file), snapshot.row_counts,
                              {"sha256": manifest.payload_sha256,
                               "schema_revision": snapshot.schema_revision})

        write_backup(file, manifest, payload, before_rename=audit)
    return manifest


def read_manifest(file: Path) -> Manifest:
    """The manifest of a backup file (its payload is not checked)."""
    with BackupArchive(file) as archive:
        return archive.manifest


def restore_backup(file: Path, url: str, *, replace: bool = False) -> Manifest:
    """Restore ``file`` into the database at ``url``, checked; see the module's docstring."""
    backend = _backend(url)
    with BackupArchive(file) as archive:
        check_compatible(archive.manifest, backend, str(file))
        if backend == "sqlite":
            restore_sqlite(archive, _sqlite_path(url), replace=replace)
        else:
            restore_postgres(archive, url, replace=replace)
        return archive.manifest


__all__ = ["BACKUP_ACTOR", "BackupRefused", "Manifest", "create_backup", "read_manifest",
           "restore_backup"]
