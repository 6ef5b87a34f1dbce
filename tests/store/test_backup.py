"""`alsrwe backup` / `alsrwe restore` on both backends: every row comes back, the audit chain
verifies, and a tampered file, another backend or a newer schema are refused (one line, exit 2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, make_url, select, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from alsrwe.cli import app
from alsrwe.interop.tidy_csv import import_tidy, write_frames
from alsrwe.store.backup import BackupRefused, create_backup, read_manifest, restore_backup
from alsrwe.store.backup.archive import sha256_file, write_backup
from alsrwe.store.backup.manifest import PAYLOAD_NAMES, Manifest
from alsrwe.store.backup.postgres import dump_postgres, libpq
from alsrwe.store.backup.sqlite import dump_sqlite
from alsrwe.store.db import (
    current_revision,
    head_revision,
    make_engine,
    migrate,
    migrations_config,
    unit_of_work,
)
from alsrwe.store.reads.audit_log import AuditFilter, audit_entries, chain_head, verify_chain
from alsrwe.store.writes.accounts import add_web_session, create_account
from alsrwe.synth import CohortParams, generate_cohort
from tests.conftest import DEFAULT_POSTGRES_ADMIN_URL, _empty_postgres_schema

runner = CliRunner()
TODAY = dt.date.today()


@contextmanager
def extra_postgres_database(suffix: str) -> Iterator[str]:
    """Another database on the test server (restore targets), dropped afterwards."""
    admin = create_engine(os.environ.get("ALSRWE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL),
                          isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"alsrwe_test_{secrets.token_hex(6)}_{suffix}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_target(postgres_url: str) -> Iterator[str]:
    with extra_postgres_database("target") as url:
        yield url


@pytest.fixture
def target_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty restore target: a SQLite file not there yet, or an empty PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.db'}"
    url: str = request.getfixturevalue("postgres_target")
    _empty_postgres_schema(url)
    return url


@pytest.fixture(scope="session")
def cohort_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic cohort as tidy CSV (made once per session)."""
    folder = tmp_path_factory.mktemp("cohort")
    write_frames(generate_cohort(CohortParams(seed=7, n_patients=8, n_carriers=2, as_of=TODAY))
                 .tables(), folder)
    return folder


def populate(engine: Engine, folder: Path) -> None:
    """Patients and their records, a user with a web session: rows in most tables, audited."""
    import_tidy(engine, folder, today=TODAY)
    now = dt.datetime.now(dt.UTC)
    with unit_of_work(engine) as session:
        user = create_account(session, "dr.backup", "correct horse battery", "clinician",
                              ["BER"], actor="test")
        add_web_session(session, user, secrets.token_hex(16), "csrf", now,
                        now + dt.timedelta(hours=8))


@pytest.fixture
def source(engine: Engine, cohort_folder: Path) -> str:
    """The URL of a populated registry on each backend."""
    populate(engine, cohort_folder)
    return engine.url.render_as_string(hide_password=False)


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = {}
            for name in sorted(inspect(connection).get_table_names()):
                table = Table(name, MetaData(), autoload_with=connection)
                order = list(table.primary_key.columns) or list(table.columns)
                found[name] = [tuple(row) for row in
                               connection.execute(select(table).order_by(*order))]
            return found
    finally:
        engine.dispose()


def rewrite(file: Path, manifest: Callable[[dict[str, Any]], None] | None = None,
            payload: Callable[[bytes], bytes] | None = None, *, reseal: bool = False) -> None:
    """Change a backup file's manifest or payload (as a tamperer or a newer alsrwe would);
    ``reseal`` writes the changed payload's sha256 and size into the manifest."""
    with tarfile.open(file) as tar:
        names = tar.getnames()
        data = {name: tar.extractfile(name).read() for name in names}  # type: ignore[union-attr]
    meta = json.loads(data["manifest.json"])
    if payload is not None:
        data[names[1]] = payload(data[names[1]])
    if reseal:
        meta["payload"].update(sha256=hashlib.sha256(data[names[1]]).hexdigest(),
                               bytes=len(data[names[1]]))
    if manifest is not None:
        manifest(meta)
    data["manifest.json"] = json.dumps(meta).encode()
    with tarfile.open(file, "w") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = len(data[name])
            tar.addfile(info, io.BytesIO(data[name]))


def flip_last_byte(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] ^ 1])


def untouched(url: str) -> bool:
    """The target is still what it was before a refused restore: absent, or empty."""
    path = make_url(url).database or ""
    if url.startswith("sqlite"):
        return not Path(path).exists()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names() == []
    finally:
        engine.dispose()


def test_restore_reproduces_every_row_and_the_chain(source: str, target_url: str,
                                                     tmp_path: Path) -> None:
    before = contents(source)
    file = tmp_path / "registry.backup"
    manifest = create_backup(source, file)
    assert manifest.snapshot.row_counts == {name: len(rows) for name, rows in before.items()}
    assert manifest.snapshot.row_counts["patients"] == 10
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    restore_backup(file, target_url)
    assert contents(target_url) == before
    engine = make_engine(target_url)
    try:
        with unit_of_work(engine, read_only=True) as session:
            assert verify_chain(session) is None
            assert chain_head(session).as_dict() == manifest.snapshot.audit_chain
        with unit_of_work(engine) as session:  # the restored registry goes on: ids, chain
            create_account(session, "after.restore", "correct horse battery", "analyst", [],
                           actor="test")
        with unit_of_work(engine, read_only=True) as session:
            assert verify_chain(session) is None
    finally:
        engine.dispose()
    # The backup is audited in the registry it copied, after the snapshot (so not inside it).
    assert len(contents(source)["audit_log"]) == len(before["audit_log"]) + 1
    engine = make_engine(source)
    try:
        with unit_of_work(engine, read_only=True) as session:
            entry = audit_entries(session, AuditFilter(action="backup"))[0]
    finally:
        engine.dispose()
    assert entry.actor == "alsrwe backup"
    assert entry.detail == {"destination": str(file), "counts": manifest.snapshot.row_counts,
                            "sha256": manifest.payload_sha256,
                            "schema_revision": manifest.snapshot.schema_revision}


def test_replace_needs_the_flag(source: str, target_url: str, tmp_path: Path) -> None:
    file = tmp_path / "registry.backup"
    create_backup(source, file)
    restore_backup(file, target_url)
    with pytest.raises(BackupRefused, match="--replace"):
        restore_backup(file, target_url)
    restore_backup(file, target_url, replace=True)
    assert contents(target_url)["patients"] == contents(source)["patients"]


@pytest.mark.postgres
def test_replace_refuses_objects_the_backup_lacks(postgres_url: str, postgres_target: str,
                                                  cohort_folder: Path, tmp_path: Path) -> None:
    _empty_postgres_schema(postgres_url)
    engine = make_engine(postgres_url)
    migrate(engine)
    engine.dispose()
    create_backup(postgres_url, tmp_path / "b")
    _empty_postgres_schema(postgres_target)
    restore_backup(tmp_path / "b", postgres_target)
    target = create_engine(postgres_target, poolclass=NullPool)
    with target.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE local_notes (id integer)")
    target.dispose()
    with pytest.raises(BackupRefused, match="table public.local_notes"):
        restore_backup(tmp_path / "b", postgres_target, replace=True)


@pytest.mark.parametrize("change", ["payload", "row_counts"])
def test_a_tampered_file_is_refused(source: str, target_url: str, tmp_path: Path,
                                    change: str) -> None:
    file = tmp_path / "registry.backup"
    create_backup(source, file)
    if change == "payload":
        rewrite(file, payload=flip_last_byte)
        message = "does not match its manifest"
    else:
        rewrite(file, manifest=lambda m: m["row_counts"].update(patients=11))
        message = "row counts differ from the manifest: patients 10 \\(manifest 11\\)"
    with pytest.raises(BackupRefused, match=message):
        restore_backup(file, target_url)
    assert untouched(target_url)


def forge_audit_entry(raw: bytes, scratch: Path) -> bytes:
    """Change who wrote audit entry 1 in a SQLite payload, past its append-only triggers."""
    scratch.write_bytes(raw)
    with closing(sqlite3.connect(scratch, isolation_level=None)) as connection:
        triggers = connection.execute("SELECT name, sql FROM sqlite_master WHERE "
                                      "type = 'trigger' AND tbl_name = 'audit_log'").fetchall()
        for name, _ in triggers:
            connection.execute(f"DROP TRIGGER {name}")
        connection.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = 1")
        for _, sql in triggers:
            connection.execute(sql)
    return scratch.read_bytes()


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(("forgery", "message"), [
    ("audit", "audit chain is broken at entry 1"),
    ("garbage", "fails SQLite's integrity check"),
])
def test_a_forged_payload_resealed_in_its_manifest_is_refused(
        source: str, tmp_path: Path, forgery: str, message: str) -> None:
    file = tmp_path / "registry.backup"
    create_backup(source, file)
    rewrite(file, payload=(lambda raw: forge_audit_entry(raw, tmp_path / "forged.db"))
            if forgery == "audit" else (lambda raw: os.urandom(len(raw))), reseal=True)
    target = tmp_path / "target.db"
    with pytest.raises(BackupRefused, match=message):
        restore_backup(file, f"sqlite:///{target}")
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_newer_schema_is_refused(source: str, target_url: str, tmp_path: Path) -> None:
    file = tmp_path / "registry.backup"
    create_backup(source, file)
    rewrite(file, manifest=lambda m: m.update(schema_revision="9999_future"))
    with pytest.raises(BackupRefused, match="9999_future, newer than this alsrwe's"):
        restore_backup(file, target_url)
    assert untouched(target_url)


def backup_as_an_older_alsrwe(url: str, file: Path) -> Manifest:
    """The backup an alsrwe of the registry's older schema makes (without its audit entry)."""
    backend = make_url(url).get_backend_name()
    with tempfile.TemporaryDirectory() as folder:
        payload = Path(folder) / PAYLOAD_NAMES[backend]
        snapshot = (dump_sqlite(Path(make_url(url).database or ""), payload)
                    if backend == "sqlite" else dump_postgres(url, payload, "old"))
        manifest = Manifest(backend, snapshot, sha256_file(payload), payload.stat().st_size,
                            dt.datetime.now(dt.UTC).isoformat(), alsrwe_version="0.0.9")
        write_backup(file, manifest, payload)
    return manifest


def test_an_older_schema_is_restored_then_migrated(db_url: str, target_url: str,
                                                   tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(migrations_config())
    older = script.get_revision(head_revision() or "head").down_revision
    assert isinstance(older, str)
    engine = make_engine(db_url)
    migrate(engine, older)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO sites (code, name) VALUES ('OLD', 'Old site')"))
    engine.dispose()
    # This alsrwe backs up only its own schema: it could not write the backup's audit entry.
    with pytest.raises(BackupRefused, match=f"is at schema revision {older}"):
        create_backup(db_url, tmp_path / "refused.backup")
    file = tmp_path / "old.backup"
    manifest = backup_as_an_older_alsrwe(db_url, file)
    assert manifest.snapshot.schema_revision == older
    assert manifest.snapshot.audit_chain is None  # this alsrwe reads its own schema's chain
    restore_backup(file, target_url)
    assert contents(target_url)["sites"][0][1:3] == ("OLD", "Old site")
    restored = make_engine(target_url)
    try:
        assert current_revision(restored) == head_revision()
        with unit_of_work(restored, read_only=True) as session:
            assert verify_chain(session) is None
    finally:
        restored.dispose()


@pytest.mark.postgres
def test_another_backend_is_refused(source: str, postgres_target: str, tmp_path: Path) -> None:
    file = tmp_path / "registry.backup"
    create_backup(source, file)
    other = (postgres_target if source.startswith("sqlite")
             else f"sqlite:///{tmp_path / 'other.db'}")
    _empty_postgres_schema(postgres_target)
    with pytest.raises(BackupRefused, match="backup; the target is a"):
        restore_backup(file, other)
    assert untouched(other)


def test_a_change_still_in_the_wal_is_in_the_backup(tmp_path: Path) -> None:
    path = tmp_path / "served.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    served = sqlite3.connect(path, isolation_level=None)  # stays open, as a served app's does
    try:
        served.execute("PRAGMA journal_mode=WAL")
        served.execute("PRAGMA wal_autocheckpoint=0")
        served.execute("INSERT INTO sites (code, name) VALUES ('WAL', 'Only in the WAL')")
        assert Path(f"{path}-wal").stat().st_size > 0
        shutil.copyfile(path, tmp_path / "cp.db")  # what `cp alsrwe.db` gets: not the row
        with sqlite3.connect(tmp_path / "cp.db") as copy:
            assert copy.execute("SELECT count(*) FROM sites").fetchone() == (0,)
        create_backup(f"sqlite:///{path}", tmp_path / "served.backup")
    finally:
        served.close()
    restore_backup(tmp_path / "served.backup", f"sqlite:///{tmp_path / 'restored.db'}")
    with sqlite3.connect(tmp_path / "restored.db") as restored:
        assert restored.execute("SELECT code FROM sites").fetchall() == [("WAL",)]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_served_sqlite_target_is_not_replaced(source: str, tmp_path: Path) -> None:
    create_backup(source, tmp_path / "b")
    target = tmp_path / "target.db"
    restore_backup(tmp_path / "b", f"sqlite:///{target}")
    served = sqlite3.connect(target)
    try:
        served.execute("PRAGMA journal_mode=WAL")
        served.execute("SELECT count(*) FROM sites").fetchone()
        with pytest.raises(BackupRefused, match="is in use"):
            restore_backup(tmp_path / "b", f"sqlite:///{target}", replace=True)
    finally:
        served.close()


def test_a_failed_backup_leaves_the_old_file(source: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "registry.backup"
    file.write_bytes(b"yesterday's backup")
    before = sorted(tmp_path.iterdir())

    def refuse(*_: object, **__: object) -> None:
        raise RuntimeError("audit write failed")

    monkeypatch.setattr("alsrwe.store.backup.record_export", refuse)
    with pytest.raises(RuntimeError):
        create_backup(source, file)
    assert file.read_bytes() == b"yesterday's backup"
    assert sorted(tmp_path.iterdir()) == before


def test_the_password_stays_out_of_command_lines() -> None:
    conninfo, env = libpq(make_url("postgresql+psycopg://alsrwe:s3cr'et@db.example:5433/reg"
                                   "?sslmode=require"))
    assert conninfo == ("host='db.example' port='5433' user='alsrwe' dbname='reg' "
                        "sslmode='require'")
    assert env["PGPASSWORD"] == "s3cr'et"


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def test_cli_backup_and_restore(source: str, target_url: str, tmp_path: Path) -> None:
    file = str(tmp_path / "registry.backup")
    code, said = cli("backup", file, "--database", source)
    assert code == 0, said
    assert f"to{file}" in said.replace(" ", "") and "schema " in said
    code, said = cli("restore", file, "--database", target_url)
    assert code == 0, said
    assert "audit chain verified" in said
    assert read_manifest(Path(file)).backend == make_url(source).get_backend_name()
    code, said = cli("restore", file, "--database", target_url)
    assert (code, said.count("error")) == (2, 1)
    assert "pass --replace" in said


@pytest.mark.parametrize("backend", ["sqlite"])
def test_cli_user_errors_are_one_line_and_exit_2(source: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'new.db'}"
    (tmp_path / "junk.backup").write_bytes(os.urandom(2048))
    file = tmp_path / "registry.backup"
    create_backup(source, file)
    rewrite(file, payload=flip_last_byte)
    cases = {
        ("restore", str(tmp_path / "missing.backup")): "No such file or directory",
        ("restore", str(tmp_path / "junk.backup")): "not an alsrwe backup",
        ("restore", str(file)): "does not match its manifest",
        ("backup", str(tmp_path / "b"), "--database",
         f"sqlite:///{tmp_path / 'none.db'}"): "no registry at",
        ("backup", str(tmp_path / "nodir" / "b"), "--database", source):
            "No such file or directory",
        ("backup", str(tmp_path / "b"), "--database", f"sqlite:///{tmp_path / 'junk.backup'}"):
            "cannot use the database: file is not a database",
    }
    for args, message in cases.items():
        code, said = cli(*args, "--database", target) if "--database" not in args else cli(*args)
        assert code == 2, said
        assert said.startswith("error") and said.count("error ") == 1, said
        assert message in said, said
    assert not (tmp_path / "new.db").exists()


@pytest.mark.postgres
def test_cli_without_pg_dump_is_one_line(postgres_url: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(postgres_url)
    migrate(engine)
    engine.dispose()
    monkeypatch.setenv("PATH", str(tmp_path))
    password_url = make_url(postgres_url).set(password="n0t-printed")
    code, said = cli("backup", str(tmp_path / "b"), "--database",
                     password_url.render_as_string(hide_password=False))
    assert code == 2
    assert "pg_dump not found on PATH" in said
    assert "n0t-printed" not in said
    assert list(tmp_path.iterdir()) == []
