"""Alembic environment for alsrwe: run with a connection handed over by ``alsrwe.store.db``.

``alsrwe.store.db.migrate`` passes an open connection in ``config.attributes["connection"]``;
without one (e.g. the ``alembic`` command with ``-x url=...``) an engine is built from that URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from alsrwe.store.db import make_engine
from alsrwe.store.models import Base

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass a connection or -x url=...")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
