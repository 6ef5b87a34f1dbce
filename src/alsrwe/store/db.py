"""Engine, schema migration and transactions: everything that touches a connection.

Nothing here connects at import time. The edge (CLI, web app) reads :class:`Settings` once,
builds an engine with :func:`make_engine`, brings the schema to the newest revision with
:func:`migrate`, and runs each use case inside one :func:`unit_of_work`.
"""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from alsrwe.domain.errors import DomainError
from alsrwe.domain.plausibility import DEFAULT_SETTINGS, PlausibilitySettings
from alsrwe.extras import needs

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for the write lock before giving up."""


class Settings(BaseSettings):
    """Store configuration from ``ALSRWE_*`` environment variables.

    ``ALSRWE_DATABASE_URL`` is any SQLAlchemy URL; the default is a SQLite file
    ``alsrwe.db`` in the working directory. PostgreSQL: ``postgresql+psycopg://user@host/db``.
    ``ALSRWE_PLAUSIBILITY_FILE`` names a TOML file of a site's own plausibility ranges (keys
    of :class:`~alsrwe.domain.plausibility.PlausibilitySettings`; docs/domain-rules.md §11).
    """

    model_config = SettingsConfigDict(env_prefix="ALSRWE_", extra="ignore")

    database_url: str = "sqlite:///alsrwe.db"
    plausibility_file: Path | None = None

    def plausibility(self) -> PlausibilitySettings:
        """The rulebook's settings: the defaults, overridden by the plausibility file."""
        if self.plausibility_file is None:
            return DEFAULT_SETTINGS
        with self.plausibility_file.open("rb") as handle:
            try:
                data = tomllib.load(handle)
            except tomllib.TOMLDecodeError as error:
                raise DomainError("ALSRWE_PLAUSIBILITY_FILE", f"{self.plausibility_file}: "
                                                              f"{error}") from None
        return PlausibilitySettings.from_mapping(data)


READ_ONLY_OPTION = "alsrwe_read_only"
"""Execution option that marks a transaction as a reader (SQLite: deferred BEGIN)."""


def make_engine(url: str | URL, **engine_kwargs: Any) -> Engine:
    """Build an engine for ``url``; SQLite gets foreign keys, WAL and ``BEGIN IMMEDIATE``.

    SQLite only enforces foreign keys (and so ``ON DELETE CASCADE``) when the pragma is set on
    each connection. Every transaction starts with ``BEGIN IMMEDIATE``, taking the write lock
    up front, so two writers queue (up to :data:`SQLITE_BUSY_TIMEOUT_S`) instead of failing
    half-way with "database is locked"; WAL lets readers in other processes continue
    meanwhile. This also makes Alembic's DDL transactional on SQLite.
    """
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        with needs("postgres"):  # psycopg, imported by the dialect
            return create_engine(url, **engine_kwargs)
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, **engine_kwargs.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **engine_kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Readers (unit_of_work(..., read_only=True)) take no write lock: with WAL they see a
        # consistent snapshot while one writer works.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def migrations_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the migrations shipped inside the package (no alembic.ini).

    Alembic is imported here and in the functions below, not with the module: reading the
    registry (``alsrwe patient``, the web app's requests) needs no migration tooling."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("alsrwe.store") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create the schema, or bring an existing one up to ``revision``, in one transaction."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(migrations_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to ``revision`` (``"base"`` removes every table)."""
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(migrations_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema's Alembic revision, or ``None`` for an empty (never migrated) database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of alsrwe."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrations_config()).get_current_head()


def begin_unit(engine: Engine, *, read_only: bool = False) -> Session:
    """Start a unit of work; no connection is taken until the first query.

    For callers that cannot use a ``with`` block (the web app opens the unit in one thread and
    ends it in another); end it with :func:`end_unit`. ``read_only``: see :func:`unit_of_work`.
    """
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
    session = Session(bind, expire_on_commit=False)
    session.begin()
    return session


def end_unit(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) a unit of work started by :func:`begin_unit`, then close it."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


@contextmanager
def unit_of_work(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction for one use case: commit if the block succeeds, roll back if it raises.

    Objects stay readable after the commit (``expire_on_commit=False``), so a use case can
    return what it wrote. ``read_only`` use cases take no write lock on SQLite (a deferred
    ``BEGIN``), so reports and pages never wait for, or block, each other.
    """
    session = begin_unit(engine, read_only=read_only)
    try:
        yield session
    except BaseException:
        end_unit(session, commit=False)
        raise
    end_unit(session, commit=True)


__all__ = [
    "Settings",
    "begin_unit",
    "current_revision",
    "downgrade",
    "end_unit",
    "head_revision",
    "make_engine",
    "migrate",
    "migrations_config",
    "unit_of_work",
]
