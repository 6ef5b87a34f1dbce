"""Benchmark the tidy CSV import through the one write path: read, judge, write.

    .venv/bin/python benchmarks/bench_import.py --patients 300 3000

For each size a seeded synthetic cohort (the demo's generator, 1 carrier per 8 patients) is
written as tidy CSV once; then each run imports it into a new SQLite file in a fresh process
(so that peak RSS belongs to that import alone) and reports the seconds of the import itself,
rows per second and peak RSS, then the seconds of importing the unchanged folder again (a
re-import, recognised by its fingerprint). ``--repeat N`` runs N imports per size and reports
the median. ``--postgres URL`` imports into a new PostgreSQL database made (and dropped) on
that server instead of SQLite:

    .venv/bin/python benchmarks/bench_import.py --patients 3000 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Record results, with the command and date, in docs/benchmarks.md ("Import").
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TODAY = dt.date(2026, 12, 1)


def _write(folder: Path, patients: int) -> int:
    from alsrwe.interop.tidy_csv import write_frames
    from alsrwe.synth import CohortParams, generate_cohort

    cohort = generate_cohort(CohortParams(seed=2026, n_patients=patients,
                                          n_carriers=patients // 8, as_of=TODAY))
    write_frames(cohort.tables(), folder)
    return sum(len(frame) for frame in cohort.tables().values())


BENCH_DATABASE = "alsrwe_bench_import"


@contextlib.contextmanager
def _database(postgres: str | None) -> Iterator[str]:
    """A new, empty database: a SQLite file, or a PostgreSQL database on ``postgres``."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as scratch:
            yield f"sqlite:///{Path(scratch) / 'bench.db'}"
        return
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.pool import NullPool

    admin = create_engine(postgres, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    drop = f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(drop)
            connection.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
        yield make_url(postgres).set(database=BENCH_DATABASE).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(drop)
        admin.dispose()


def _import(folder: Path, postgres: str | None) -> dict[str, float]:
    from alsrwe.interop.tidy_csv import import_tidy
    from alsrwe.store.db import make_engine, migrate

    with _database(postgres) as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            start = time.perf_counter()
            import_tidy(engine, folder, today=TODAY)
            seconds = time.perf_counter() - start
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            again = import_tidy(engine, folder, today=TODAY)
            reimport = time.perf_counter() - start
            assert not any(inserted or updated for inserted, updated, _ in again.counts.values())
        finally:
            engine.dispose()
    return {"seconds": seconds, "reimport_seconds": reimport, "peak_rss_mib": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL server's URL (default: SQLite)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(_import(args.one, args.postgres)))
        return
    for patients in args.patients:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "in"
            rows = _write(folder, patients)
            backend = ["--postgres", args.postgres] if args.postgres else []
            runs = [json.loads(subprocess.run(
                [sys.executable, __file__, "--one", str(folder), *backend], check=True,
                capture_output=True, text=True).stdout) for _ in range(args.repeat)]
        seconds = statistics.median(r["seconds"] for r in runs)
        print(json.dumps({
            "patients": patients, "rows": rows, "runs": args.repeat,
            "import_seconds_median": round(seconds, 2),
            "import_seconds": [round(r["seconds"], 2) for r in runs],
            "rows_per_second": round(rows / seconds),
            "reimport_seconds_median": round(statistics.median(
                r["reimport_seconds"] for r in runs), 3),
            "backend": "postgresql" if args.postgres else "sqlite",
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs)),
        }))


if __name__ == "__main__":
    main()
