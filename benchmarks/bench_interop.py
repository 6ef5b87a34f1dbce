"""Benchmark the interop formats: FHIR import (resources/s), REDCap import (rows/s), OMOP export.

    .venv/bin/python benchmarks/bench_interop.py --patients 10000 --backends sqlite postgres

For each backend a seeded synthetic cohort (the demo's generator, 1 carrier per 8 patients) is
imported by tidy CSV into a registry (its plausibility warnings confirmed, as a data manager
would after review; every export carries the confirmations). That registry is exported as FHIR
(NDJSON, one file per resource type) and as a REDCap project, and each export is imported into
a new, empty registry on the same backend (every rule of the rulebook on, as in any import);
the OMOP CDM export is timed as CSV and as Parquet. Each step is timed alone (wall clock,
``time.perf_counter``) and the counts come from the files written. Record the results, with the
command and date, in docs/benchmarks.md ("Interoperability").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

TODAY = dt.date(2026, 12, 1)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def _registry(backend: str, scratch: Path, name: str, pg_admin: str) -> Iterator[Engine]:
    """A new, migrated registry on ``backend``, removed afterwards."""
    from alsrwe.store.db import make_engine, migrate

    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{scratch / f'{name}.db'}")
        try:
            migrate(engine)
            yield engine
        finally:
            engine.dispose()
        return
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    database = f"alsrwe_bench_{name}_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    engine = make_engine(make_url(pg_admin).set(database=database))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


def _timed(step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = step()
    return result, time.perf_counter() - start


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _bench_backend(backend: str, patients: int, pg_admin: str) -> dict[str, Any]:
    from alsrwe.interop.fhir import export_fhir, import_fhir
    from alsrwe.interop.omop import export_omop
    from alsrwe.interop.redcap import export_redcap, import_redcap_folder
    from alsrwe.interop.tidy_csv import import_tidy, write_frames
    from alsrwe.synth import CohortParams, generate_cohort

    result: dict[str, Any] = {"backend": backend, "patients": patients}
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        cohort = generate_cohort(CohortParams(seed=2026, n_patients=patients,
                                              n_carriers=patients // 8, as_of=TODAY))
        tables = cohort.tables()
        write_frames(tables, scratch / "tidy")
        result["tidy_rows"] = sum(len(frame) for frame in tables.values())
        with _registry(backend, scratch, "source", pg_admin) as source:
            _, seconds = _timed(lambda: import_tidy(source, scratch / "tidy", today=TODAY,
                                                    accept_warnings=True))
            result["tidy_import_s"] = round(seconds, 1)

            counts, seconds = _timed(lambda: export_fhir(source, scratch / "fhir", ndjson=True))
            resources = sum(counts.values())
            result |= {"fhir_resources": resources, "fhir_export_s": round(seconds, 1),
                       "fhir_export_per_s": round(resources / seconds)}
            with _registry(backend, scratch, "fhir", pg_admin) as target:
                _, seconds = _timed(lambda: import_fhir(target, scratch / "fhir", today=TODAY))
            result |= {"fhir_import_s": round(seconds, 1),
                       "fhir_import_resources_per_s": round(resources / seconds)}

            _, seconds = _timed(lambda: export_redcap(source, scratch / "redcap"))
            records = next((scratch / "redcap").glob("*ecords*.csv"))
            rows = _lines(records) - 1
            result |= {"redcap_rows": rows, "redcap_export_s": round(seconds, 1)}
            with _registry(backend, scratch, "redcap", pg_admin) as target:
                _, seconds = _timed(lambda: import_redcap_folder(target, scratch / "redcap",
                                                                 today=TODAY))
            result |= {"redcap_import_s": round(seconds, 1),
                       "redcap_import_rows_per_s": round(rows / seconds)}

            for file_format in ("csv", "parquet"):
                counts, seconds = _timed(lambda f=file_format: export_omop(  # type: ignore[misc]
                    source, scratch / f"omop-{f}", file_format=f))
                rows = sum(counts.values())
                result |= {"omop_rows": rows, f"omop_{file_format}_export_s": round(seconds, 1),
                           f"omop_{file_format}_rows_per_s": round(rows / seconds)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"],
                        choices=["sqlite", "postgres"])
    parser.add_argument("--postgres", default=PG_ADMIN,
                        help="admin URL of the PostgreSQL server (a database is created)")
    args = parser.parse_args()
    for backend in args.backends:
        print(json.dumps(_bench_backend(backend, args.patients, args.postgres)), flush=True)


if __name__ == "__main__":
    main()
