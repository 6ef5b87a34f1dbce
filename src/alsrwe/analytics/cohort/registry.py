"""Reading the registry (SQLite or PostgreSQL) as the tidy tables of a cohort.

``duckdb``: the tidy SELECTs of :mod:`alsrwe.store.reads.tidy_views` are read once through
SQLAlchemy, to be copied into DuckDB (no DuckDB scanner extensions are needed); the variant
names are parsed there as in a CSV folder. ``native``: the same SELECTs, compiled for
PostgreSQL, become Ibis views, so the analyses run inside the server; there ``sod1_variant``
is the registry's normalised HGVS name (the view's ``sod1_hgvs``; its own ``sod1_variant`` is
the notation as entered), so every engine sees the same values.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, make_url

from alsrwe.analytics.cohort.schema import SCHEMAS, CohortError
from alsrwe.extras import needs
from alsrwe.store.db import READ_ONLY_OPTION, make_engine
from alsrwe.store.reads.tidy_views import TIDY_VIEWS

ENGINES = ("duckdb", "native")
"""How a cohort reads the registry: copied into DuckDB, or in place (PostgreSQL only)."""

NATIVE_COLUMNS = {"patients": {"sod1_variant": "sod1_hgvs"}}
"""Per table: analytic column ← registry view column, where the two differ."""


def _source(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _read_frames(engine: Engine) -> dict[str, pd.DataFrame]:
    frames = {}
    with engine.execution_options(**{READ_ONLY_OPTION: True}).connect() as connection:
        for name in SCHEMAS:
            result = connection.execute(TIDY_VIEWS[name])
            rows = [tuple(getattr(v, "value", v) for v in row) for row in result]
            frames[name] = pd.DataFrame(rows, columns=list(result.keys()), dtype=object)
    return frames


def copied_frames(database_url: str) -> tuple[dict[str, pd.DataFrame], str]:
    """Every tidy table of the registry as a pandas frame, and the registry's safe name."""
    url = make_url(database_url)
    engine = make_engine(url)
    try:
        frames = _read_frames(engine)
    finally:
        engine.dispose()
    return frames, _source(url)


def _analytic_view(con: BaseBackend, name: str) -> ibis.Table:
    sql = str(TIDY_VIEWS[name].order_by(None).compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True}))
    view = con.sql(sql)
    renamed = NATIVE_COLUMNS.get(name, {})
    return view.select(**{column: view[renamed.get(column, column)].cast(kind)
                          for column, kind in SCHEMAS[name].items()
                          if renamed.get(column, column) in view.columns})


def native_tables(database_url: str) -> tuple[BaseBackend, dict[str, ibis.Table], str]:
    """The registry's PostgreSQL connection, its tidy tables as Ibis views, its safe name."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise CohortError("engine", "native analysis needs a PostgreSQL registry; "
                          "use engine='duckdb' for SQLite")
    with needs("postgres"):
        con = ibis.postgres.connect(
            host=url.host or "localhost", port=url.port or 5432, user=url.username,
            password=url.password, database=url.database,
        )
    return con, {name: _analytic_view(con, name) for name in SCHEMAS}, _source(url)


__all__ = ["ENGINES", "copied_frames", "native_tables"]
