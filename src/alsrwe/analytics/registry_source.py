"""Reading the registry (SQLite or PostgreSQL) as a cohort of tidy tables.

``duckdb``: the tidy SELECTs of :mod:`alsrwe.store.tidy_views` are read once through
SQLAlchemy into DuckDB (no DuckDB scanner extensions are needed). ``native``: the same SELECTs,
compiled for PostgreSQL, become Ibis views, so the analyses run inside the server.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from alsrwe.analytics.data import SCHEMAS, Cohort, CohortError
from alsrwe.store.db import READ_ONLY_OPTION, make_engine
from alsrwe.store.tidy_views import TIDY_VIEWS

ENGINES = ("duckdb", "native")


def _read_frames(engine: Engine) -> dict[str, pd.DataFrame]:
    frames = {}
    with engine.execution_options(**{READ_ONLY_OPTION: True}).connect() as connection:
        for name in SCHEMAS:
            result = connection.execute(TIDY_VIEWS[name])
            rows = [tuple(getattr(v, "value", v) for v in row) for row in result]
            frames[name] = pd.DataFrame(rows, columns=list(result.keys()), dtype=object)
    return frames


def registry_cohort(database_url: str, engine: str = "duckdb") -> Cohort:
    """See :meth:`Cohort.from_registry`."""
    if engine not in ENGINES:
        raise CohortError("engine", f"'{engine}' is not one of: {', '.join(ENGINES)}")
    url = make_url(database_url)
    if engine == "native":
        return _native(url.render_as_string(hide_password=False), url.get_backend_name())
    sql_engine = make_engine(url)
    try:
        frames = _read_frames(sql_engine)
    finally:
        sql_engine.dispose()
    return Cohort.from_frames(frames, source=url.render_as_string(hide_password=True))


def _native(database_url: str, backend: str) -> Cohort:
    import ibis

    if backend != "postgresql":
        raise CohortError("engine", "native analysis needs a PostgreSQL registry; "
                          "use engine='duckdb' for SQLite")
    url = make_url(database_url)
    con = ibis.postgres.connect(
        host=url.host or "localhost", port=url.port or 5432, user=url.username,
        password=url.password, database=url.database,
    )
    tables = {}
    for name in SCHEMAS:
        sql = str(TIDY_VIEWS[name].order_by(None).compile(
            dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True}))
        view = con.sql(sql)
        cast = {c: t for c, t in SCHEMAS[name].items() if c in view.columns}
        tables[name] = view.cast(cast)
    return Cohort(con, tables, source=url.render_as_string(hide_password=True))
