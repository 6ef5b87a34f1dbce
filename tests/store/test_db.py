"""Engine factory, settings and the unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from alsrwe.store.audit import record_audit
from alsrwe.store.db import Settings, current_revision, make_engine, migrate, unit_of_work
from alsrwe.store.models import AuditEntry, ImportRun, Patient, Site

MakePatient = Callable[..., Patient]


def test_settings_default_is_a_sqlite_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ALSRWE_DATABASE_URL", raising=False)
    assert Settings().database_url == "sqlite:///alsrwe.db"


def test_settings_read_the_alsrwe_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSRWE_DATABASE_URL", "postgresql+psycopg://u@db/registry")
    assert Settings().database_url == "postgresql+psycopg://u@db/registry"


def test_make_engine_does_not_connect(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    engine = make_engine(f"sqlite:///{path}")
    engine.dispose()
    assert not path.exists()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_sqlite_writers_take_the_lock_at_begin(sqlite_url: str) -> None:
    """BEGIN IMMEDIATE: a second transaction waits for (here: times out on) the first one."""
    first = make_engine(sqlite_url)
    second = make_engine(sqlite_url, connect_args={"timeout": 0.05})
    try:
        with (
            first.begin(),
            second.connect() as connection,
            pytest.raises(OperationalError, match="locked"),
        ):
            connection.begin()
    finally:
        first.dispose()
        second.dispose()


def test_sqlite_readers_take_no_write_lock(sqlite_url: str) -> None:
    """Read-only units of work run beside a writer and beside each other (WAL snapshot)."""
    first = make_engine(sqlite_url)
    second = make_engine(sqlite_url, connect_args={"timeout": 0.05})
    try:
        migrate(first)
        with unit_of_work(first) as writer:
            writer.add(Site(code="BER", name="Berlin"))
            writer.flush()
            with unit_of_work(second, read_only=True) as reader, \
                    unit_of_work(second, read_only=True) as other:
                assert reader.scalar(select(func.count()).select_from(Site)) == 0
                assert other.scalar(select(func.count()).select_from(Site)) == 0
        with unit_of_work(second, read_only=True) as reader:
            assert reader.scalar(select(func.count()).select_from(Site)) == 1
    finally:
        first.dispose()
        second.dispose()


def test_current_revision_of_an_empty_database_is_none(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_unit_of_work_commits_on_success(engine: Engine, make_patient: MakePatient) -> None:
    with unit_of_work(engine) as session:
        patient = make_patient(session)
        record_audit(session, "tester", "create", "patient", {"pseudonym": "BER-001"})
    assert patient.pseudonym == "BER-001"  # still readable after commit
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


class Boom(Exception):
    pass


def test_unit_of_work_rolls_back_everything_on_error(
    engine: Engine, make_patient: MakePatient
) -> None:
    with pytest.raises(Boom), unit_of_work(engine) as session:
        make_patient(session)
        record_audit(session, "tester", "import", "tidy_csv", {"files": 1})
        raise Boom
    with unit_of_work(engine) as session:
        for model in (Site, Patient, AuditEntry):
            assert session.scalar(select(func.count()).select_from(model)) == 0


def test_unit_of_work_rolls_back_when_the_database_refuses(
    engine: Engine, make_patient: MakePatient
) -> None:
    with pytest.raises(IntegrityError), unit_of_work(engine) as session:
        make_patient(session, pseudonym="BER-001")
        make_patient(session, pseudonym="BER-001")
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="timezone-aware"), unit_of_work(engine) as session:
        session.add(ImportRun(at=dt.datetime(2024, 1, 1), actor="a", source="b"))
        session.flush()
