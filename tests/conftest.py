"""Shared fixtures: a fresh database per test on SQLite (a temporary file) and PostgreSQL.

PostgreSQL: each test-session worker (pytest-xdist) creates its own database
``alsrwe_test_<random>`` on the server named by ``ALSRWE_TEST_POSTGRES_URL`` (an admin URL,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and drops it at the end. When
the server cannot be reached the PostgreSQL tests are skipped, unless
``ALSRWE_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from alsrwe.store.db import current_revision, head_revision, make_engine, migrate
from alsrwe.store.models import Base

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'alsrwe.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test session (one per xdist worker)."""
    admin_url = make_url(os.environ.get("ALSRWE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL))
    admin = create_engine(
        admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    name = f"alsrwe_test_{secrets.token_hex(8)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            # Throw-away data: don't wait for the disk on every commit.
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except OperationalError as exc:
        admin.dispose()
        where = admin_url.render_as_string(hide_password=True)
        message = f"PostgreSQL unreachable at {where}: {exc.orig}"
        if os.environ.get("ALSRWE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message} (ALSRWE_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _empty_postgres_schema(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgres``: every database test runs on both."""
    name: str = request.param
    return name


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database (no tables, no revision) on each backend."""
    if backend == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    url = request.getfixturevalue("postgres_url")
    _empty_postgres_schema(url)
    return url


def _clear_postgres(engine: Engine) -> None:
    """Bring the worker's database to the newest schema with no rows, cheaply.

    Migrating takes ~0.3 s on PostgreSQL, so it happens only when the schema is not at head
    (first use, or after a test that emptied it); otherwise the rows are deleted (faster than
    TRUNCATE on tiny tables; identity sequences keep counting, so tests must not rely on ids).
    """
    if current_revision(engine) != head_revision():
        _empty_postgres_schema(engine.url.render_as_string(hide_password=False))
        migrate(engine)
        return
    with engine.begin() as connection:
        # The audit trail refuses DELETE by trigger; the test's superuser skips triggers here.
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; tests get copies (faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "alsrwe.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()  # the last connection checkpoints and removes the WAL file
    return path


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on a migrated database with no rows, on each backend; disposed afterwards."""
    url: str = request.getfixturevalue(f"{backend}_url")
    if backend == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        shutil.copyfile(template, make_url(url).database or "")
    engine = make_engine(url)
    try:
        if backend == "postgres":
            _clear_postgres(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A quiet local Spark (2 cores, no UI, Arrow transfers), stopped at the end: one per test
    worker, shared by the analytics and OMOP tests (their ``spark`` xdist group)."""
    sql = pytest.importorskip("pyspark.sql")
    logging.getLogger("py4j").setLevel(logging.ERROR)
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ResourceWarning)
        session = (
            sql.SparkSession.builder.master("local[2]")
            .appName("alsrwe-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", str(warehouse))
            .config("spark.driver.extraJavaOptions", "-Dderby.system.home=" + str(warehouse))
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ResourceWarning)
            session.stop()
