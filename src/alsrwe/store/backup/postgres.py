"""PostgreSQL: ``pg_dump`` of one exported snapshot, ``pg_restore`` in a single transaction.

The row counts and audit chain head of the manifest are read in the same REPEATABLE READ
snapshot that ``pg_dump --snapshot`` dumps, so they describe the payload exactly even while
the registry is served. The programs are found on ``PATH`` and get the host, port, user and
database as a libpq connection string; a password goes through ``PGPASSWORD`` in their
environment, never on a command line or in a message.

``pg_restore --single-transaction --exit-on-error`` either restores everything or nothing.
A target must be empty, unless ``replace``: then ``--clean --if-exists`` drops the backup's
objects in that same transaction before recreating them, and a target holding tables or
functions the backup lacks is refused (they would survive the restore).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import Engine, make_url
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from alsrwe.store.backup.archive import BackupArchive
from alsrwe.store.backup.manifest import BackupRefused, Snapshot
from alsrwe.store.backup.snapshot import check_restored, take_snapshot
from alsrwe.store.db import make_engine

_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema') "
                 "AND n.nspname !~ '^pg_(toast|temp)'")
OBJECTS = f"""
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
         WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
       n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_USER_SCHEMAS}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'FUNCTION', n.nspname, p.proname, p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_SCHEMAS}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
"""
"""The user's objects in a database: (kind, schema, name, identity for DROP)."""

_LISTED = re.compile(r"^\d+; \d+ \d+ (TABLE(?! DATA)|SEQUENCE(?! SET| OWNED BY)|VIEW|"
                     r"MATERIALIZED VIEW(?! DATA)|FOREIGN TABLE|FUNCTION) (\S+) ([^\s(]+)")

Key = tuple[str, str, str]


def program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(f"{name} not found on PATH: install the PostgreSQL client programs "
                            "of the server's major version (Debian: postgresql-client)")
    return found


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A connection string without the password, and the environment that carries it."""
    params: dict[str, object] = {"host": url.host, "port": url.port, "user": url.username,
                                 "dbname": url.database}
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    conninfo = " ".join(f"{key}={_quoted(str(value))}" for key, value in params.items()
                        if value not in (None, ""))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if "error:" in line] or lines
        reason = errors[0] if errors else f"exit status {result.returncode}"
        raise BackupRefused(f"{Path(command[0]).name} failed: {reason}")
    return result.stdout


def dump_postgres(url: str, payload: Path, where: str) -> Snapshot:
    """``pg_dump --format=custom`` the database at ``url`` to ``payload``; describe that dump."""
    binary = program("pg_dump")
    conninfo, env = libpq(make_url(url))
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                exported = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                snapshot = take_snapshot(connection, where)
                _run([binary, "--format=custom", f"--snapshot={exported}", f"--file={payload}",
                      f"--dbname={conninfo}"], env)
    finally:
        engine.dispose()
    return snapshot


def _objects(engine: Engine) -> dict[Key, str]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(OBJECTS).all()
    return {(kind, schema, name): identity for kind, schema, name, identity in rows}


def _listed(binary: str, payload: Path, env: dict[str, str]) -> set[Key]:
    """The tables, sequences, views and functions a custom-format archive creates."""
    found = set()
    for line in _run([binary, "--list", str(payload)], env).splitlines():
        match = _LISTED.match(line)
        if match:
            kind, schema, name = match.groups()
            found.add((kind, schema, name))
    return found


def _drop(engine: Engine, objects: dict[Key, str]) -> None:
    with engine.begin() as connection:
        for (kind, _, _), identity in objects.items():
            connection.exec_driver_sql(f"DROP {kind} IF EXISTS {identity} CASCADE")


def restore_postgres(archive: BackupArchive, url: str, *, replace: bool) -> None:
    """Restore ``archive`` into the database at ``url`` (empty, unless ``replace``)."""
    binary = program("pg_restore")
    where = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url, poolclass=NullPool)
    try:
        existing = _objects(engine)
        if existing and not replace:
            raise BackupRefused(f"{where} is not empty ({len(existing)} tables, sequences or "
                                "functions): restore into an empty database, or pass --replace "
                                "to replace its registry")
        conninfo, env = libpq(make_url(url))
        with tempfile.TemporaryDirectory(prefix="alsrwe-restore-") as folder:
            payload = Path(folder) / archive.manifest.payload_name
            archive.extract_payload(payload)
            extra = sorted(set(existing) - _listed(binary, payload, env)) if existing else []
            if extra:
                names = ", ".join(f"{kind.lower()} {schema}.{name}" for kind, schema, name
                                  in extra[:5])
                raise BackupRefused(f"{where} holds objects the backup does not ({names}"
                                    f"{' …' if len(extra) > 5 else ''}): --replace would leave "
                                    "them; restore into an empty database; nothing was changed")
            try:
                _run([binary, "--single-transaction", "--exit-on-error", "--no-owner",
                      "--no-privileges", *(["--clean", "--if-exists"] if existing else []),
                      f"--dbname={conninfo}", str(payload)], env)
            except BackupRefused as error:
                raise BackupRefused(f"{error}; its single transaction was rolled back: {where} "
                                    "was not changed") from None
        try:
            check_restored(engine, archive.manifest, str(archive.file))
        except BackupRefused as error:
            if existing:
                raise BackupRefused(f"{error}; the registry at {where} was replaced but failed "
                                    "this check: do not use it, restore a good backup") from None
            _drop(engine, _objects(engine))
            raise BackupRefused(f"{error}; {where} was emptied again") from None
    finally:
        engine.dispose()


__all__ = ["dump_postgres", "libpq", "program", "restore_postgres"]
