"""SQLite: a consistent copy with the online backup API; a restore checked before it replaces.

``sqlite3.Connection.backup`` reads the registry in one read transaction, so the copy is one
consistent snapshot and includes the changes committed but still in the ``-wal`` file (which a
plain ``cp alsrwe.db`` misses), while a served registry goes on working. A restore is built in
a hidden file beside the target, checked and migrated there, and only then renamed over the
target: a failed check or a crash leaves the target as it was.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from alsrwe.store.backup.archive import BackupArchive, fsync_folder
from alsrwe.store.backup.manifest import BackupRefused, Snapshot
from alsrwe.store.backup.snapshot import check_restored, take_snapshot
from alsrwe.store.db import SQLITE_BUSY_TIMEOUT_S, make_engine

IN_USE_TIMEOUT_S = 2.0
"""How long a restore waits for other connections to the target to go before refusing."""


def _connect(path: Path, timeout: float = SQLITE_BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection to an existing file (``mode=rw`` never creates one)."""
    return sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=timeout,
                           isolation_level=None)


def _siblings(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _to_rollback_journal(path: Path) -> None:
    """Leave ``path`` one self-contained file (no ``-wal``), flushed to disk."""
    with closing(_connect(path)) as connection:
        mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()
    if mode is None or mode[0] != "delete":
        raise BackupRefused(f"{path}: could not leave WAL mode ({mode})")
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def dump_sqlite(source: Path, payload: Path) -> Snapshot:
    """Copy the registry at ``source`` to ``payload`` and describe that copy."""
    if not source.is_file():
        raise BackupRefused(f"no registry at {source}")
    with closing(_connect(source)) as live, closing(sqlite3.connect(payload)) as copy:
        live.backup(copy)  # all pages in one step: one read transaction, one snapshot
    _to_rollback_journal(payload)
    engine = create_engine(f"sqlite:///{payload}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return take_snapshot(connection, str(source))
    finally:
        engine.dispose()


def _refuse_occupied(target: Path, replace: bool) -> None:
    if not target.exists() or target.stat().st_size == 0:
        return
    try:
        with closing(_connect(target)) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"{target} is not a usable SQLite database ({error}); restore "
                            "into a new file") from None
    if tables and tables[0] and not replace:
        raise BackupRefused(f"{target} already holds a registry ({tables[0]} tables): restore "
                            "into a new file, or pass --replace to replace it")


@contextmanager
def _sole_user(target: Path) -> Iterator[None]:
    """Hold ``target`` exclusively (refuse if a served registry has it open) while it is
    replaced: leaving WAL mode needs every other connection gone, and the exclusive lock keeps
    new ones out until the rename."""
    if not target.exists():
        yield
        return
    in_use = BackupRefused(f"{target} is in use (is alsrwe serve running on it?): stop "
                           "every program using it, then restore; it was not changed")
    with closing(_connect(target, IN_USE_TIMEOUT_S)) as connection:
        try:
            mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()
            if mode is None or mode[0] != "delete":
                raise in_use
            connection.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            raise in_use from None
        for leftover in _siblings(target)[:2]:
            leftover.unlink(missing_ok=True)
        yield


def restore_sqlite(archive: BackupArchive, target: Path, *, replace: bool) -> None:
    """Restore ``archive`` to the SQLite file ``target`` (absent or empty unless ``replace``)."""
    _refuse_occupied(target, replace)
    staged = target.with_name(f".{target.name}.restore-{secrets.token_hex(4)}")
    try:
        archive.extract_payload(staged)
        if target.exists():  # a replaced registry keeps its permissions
            os.chmod(staged, stat.S_IMODE(target.stat().st_mode))
        try:
            with closing(_connect(staged)) as connection:
                problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as error:
            problems = [str(error)]
        if problems != ["ok"]:
            raise BackupRefused(f"{archive.file}: the database in it fails SQLite's integrity "
                                f"check ({problems[0]}); nothing was restored")
        engine = make_engine(f"sqlite:///{staged}", poolclass=NullPool)
        try:
            check_restored(engine, archive.manifest, str(archive.file))
        except BackupRefused as error:
            raise BackupRefused(f"{error}; {target} was not changed") from None
        finally:
            engine.dispose()
        _to_rollback_journal(staged)
        with _sole_user(target):
            os.replace(staged, target)
        fsync_folder(target.parent)
    finally:
        for path in (staged, *_siblings(staged)):
            path.unlink(missing_ok=True)


__all__ = ["dump_sqlite", "restore_sqlite"]
