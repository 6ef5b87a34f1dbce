"""Shared analytics fixtures: one small synthetic cohort, and the same cohort on three engines.

* ``synthetic_cohort``: a seeded :func:`~alsrwe.synth.generate_cohort` (session scope).
* ``spark_session``: one local Spark per test session (~12 s to start); tests that use it
  belong in ``@pytest.mark.xdist_group("spark")`` so that only one xdist worker starts it.
* ``cohorts``: that cohort on DuckDB (from the frames), on PostgreSQL in place (imported into
  a migrated registry, read with ``engine="native"``) and on Spark (``Cohort.from_ibis``).

Warnings are errors in this suite; the few known, harmless ones raised inside Ibis, DuckDB and
PySpark (not by alsrwe) are ignored narrowly, for the analytics tests only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dtypes
import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from alsrwe.analytics.cohort import SCHEMAS, Cohort, coerce_frame
from alsrwe.interop.tidy_csv import import_tidy, write_frames
from alsrwe.store.db import make_engine, migrate
from alsrwe.synth import CohortParams, SyntheticCohort, generate_cohort

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SEED = 7
KNOWN_WARNINGS = (
    # ibis 12 calls DuckDB 2.0's deprecated fetch_arrow_table() to read a table's schema.
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning",
    # PySpark's py4j gateway leaves sockets to the garbage collector.
    "ignore:unclosed <socket.socket:ResourceWarning",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the known third-party warnings in the analytics tests (and nowhere else)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            for spec in KNOWN_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


@pytest.fixture(scope="session")
def synthetic_cohort() -> SyntheticCohort:
    """60 patients and 6 carriers at 3 sites; ~650 clinic assessments of patients."""
    return generate_cohort(CohortParams(seed=SEED, n_patients=60, n_carriers=6))


def spark_cohort(session: SparkSession, frames: dict[str, pd.DataFrame]) -> Cohort:
    """The tidy frames as Spark temporary views, read back through ``Cohort.from_ibis``."""
    con = ibis.pyspark.connect(session)
    for name in SCHEMAS:
        schema = ibis.schema({c: dtypes.dtype(t) for c, t in SCHEMAS[name].items()})
        data = ibis.memtable(coerce_frame(name, frames[name]), schema=schema)
        con.create_view(name, data, overwrite=True)
    return Cohort.from_ibis(con)


def load_registry(url: str, frames: dict[str, pd.DataFrame], folder: Path) -> None:
    """Empty the database at ``url``, migrate it, and import the frames as tidy CSV.

    Uses the worker's PostgreSQL test database the way ``tests/conftest.py`` does: whoever
    uses it next starts by emptying it, so tests only need it to hold still while they run.
    """
    if url.startswith("postgresql"):
        admin = create_engine(url, poolclass=NullPool)
        try:
            with admin.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        finally:
            admin.dispose()
    write_frames(frames, folder)
    engine = make_engine(url)
    try:
        migrate(engine)
        import_tidy(engine, folder, today=dt.date(2026, 7, 1))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def cohorts(
    synthetic_cohort: SyntheticCohort,
    spark_session: SparkSession,
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Cohort]]:
    """The synthetic cohort on ``duckdb``, ``postgres`` (in place) and ``spark``.

    Module scope: the PostgreSQL database holds the cohort while the module's tests run, so a
    module using this fixture must not also use the ``engine``/``db_url`` fixtures, which
    empty the same database.
    """
    frames = synthetic_cohort.tables()
    load_registry(postgres_url, frames, tmp_path_factory.mktemp("tidy"))
    loaded = {
        "duckdb": Cohort.from_frames(frames),
        "postgres": Cohort.from_registry(postgres_url, engine="native"),
        "spark": spark_cohort(spark_session, frames),
    }
    try:
        yield loaded
    finally:
        for name in ("duckdb", "postgres"):
            loaded[name].con.disconnect()
