"""Load and soak benchmark: many clients reading and writing for minutes, on PostgreSQL.

    .venv/bin/python benchmarks/soak.py --clients 50 --duration 600 --workers 2

Creates a PostgreSQL database ``alsrwe_soak`` (server of ``ALSRWE_BENCH_POSTGRES_URL``,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), seeds a synthetic cohort,
starts ``alsrwe serve --workers N`` on loopback and runs ``--clients`` concurrent clients in a
closed loop for ``--duration`` seconds. Each request is drawn from a mix: the patient page
(30 %), the API patient list (15 %), one patient (15 %), a patient's measurements (15 %) and a
read-modify-write correction of a measurement with ``If-Match`` (25 %; clients share a pool of
records, so some writes meet a newer version and must be refused with 409 — counted as
conflicts, not errors). Every other status, a 5xx or a failed connection is an error.

Every 10 s it samples the resident memory of the server's processes. At the end it checks the
audit chain and that every accepted write is in the trail, and prints JSON: requests,
throughput, p50/p95/p99 per kind, errors, conflicts, accepted writes, memory samples (MiB)
and their growth from the first minute to the last. The database is dropped unless
``--keep``. Not a test: record the figures in docs/reliability.md; CI runs a short form
(tests/web/test_soak.py).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from alsrwe.interop.tidy_csv import import_tidy, write_frames
from alsrwe.store.db import make_engine, migrate, unit_of_work
from alsrwe.store.models import AuditEntry, Measurement, Patient
from alsrwe.store.reads.audit_log import verify_chain
from alsrwe.store.writes.accounts import create_account
from alsrwe.synth import CohortParams, generate_cohort

HOST = "127.0.0.1"
PORT = 8077
USER, PASSWORD = "soak.admin", "soak-password-2026"
DATABASE = "alsrwe_soak"
MIX = (("patient_page", 30), ("api_list", 15), ("api_patient", 15), ("api_measurements", 15),
       ("write", 25))


def _admin_url() -> str:
    return os.environ.get("ALSRWE_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _recreate(admin_url: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{DATABASE}"')
    admin.dispose()
    return make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


def _drop(admin_url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    admin.dispose()


def seed(url: str, patients: int) -> tuple[list[int], list[int]]:
    """A migrated registry with a synthetic cohort and an admin; patient and record ids."""
    engine = make_engine(url)
    migrate(engine)
    cohort = generate_cohort(CohortParams(seed=2026, n_patients=patients, n_carriers=0,
                                          as_of=dt.date.today()))
    with tempfile.TemporaryDirectory() as folder:
        write_frames(cohort.tables(), Path(folder))
        import_tidy(engine, Path(folder), today=dt.date.today(), actor="soak seed")
    with unit_of_work(engine) as session:
        create_account(session, USER, PASSWORD, "admin", [], actor="soak")
    with unit_of_work(engine, read_only=True) as session:
        patient_ids = list(session.scalars(select(Patient.id)))
        record_ids = list(session.scalars(select(Measurement.id).limit(200)))
    engine.dispose()
    return patient_ids, record_ids


def start_server(url: str, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ALSRWE_DATABASE_URL": url}
    command = [str(Path(sys.executable).with_name("alsrwe")), "serve", "--host", HOST,
               "--port", str(PORT), "--workers", str(workers), "--no-access-log",
               "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    for _ in range(120):
        try:
            if httpx.get(f"http://{HOST}:{PORT}/login", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("the server did not start")


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (the workers), from /proc."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
        pending += [int(child) for child in children]
    return total / 1024


async def login(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert token is not None
    await client.post("/login", data={"username": USER, "password": PASSWORD,
                                      "csrf_token": token.group(1)})
    me = await client.get("/api/v1/me")
    me.raise_for_status()
    return str(me.json()["csrf_token"])


class Tally:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {name: [] for name, _ in MIX}
        self.errors: list[str] = []
        self.conflicts = 0
        self.accepted_writes = 0


async def one_request(client: httpx.AsyncClient, kind: str, rng: random.Random,
                      patients: list[int], records: list[int], versions: dict[int, int],
                      csrf: str, tally: Tally) -> None:
    patient = rng.choice(patients)
    if kind == "patient_page":
        response = await client.get(f"/patients/{patient}")
    elif kind == "api_list":
        response = await client.get("/api/v1/patients", params={"limit": 25,
                                                                "offset": rng.randrange(200)})
    elif kind == "api_patient":
        response = await client.get(f"/api/v1/patients/{patient}")
    elif kind == "api_measurements":
        response = await client.get(f"/api/v1/patients/{patient}/measurements")
    else:
        record = rng.choice(records)
        response = await client.patch(
            f"/api/v1/measurements/{record}", json={"lab": f"Lab {rng.randrange(1000)}"},
            headers={"If-Match": f'"{versions.get(record, 1)}"', "X-CSRF-Token": csrf})
        if response.status_code == 409:
            tally.conflicts += 1
            versions[record] = int(response.json()["current_version"])
            return
        if response.status_code == 200:
            tally.accepted_writes += 1
            versions[record] = int(response.json()["version"])
            return
    if response.status_code != 200:
        tally.errors.append(f"{kind} {response.status_code}")


async def client_loop(number: int, deadline: float, patients: list[int], records: list[int],
                      versions: dict[int, int], tally: Tally) -> None:
    rng = random.Random(number)
    kinds = [name for name, weight in MIX for _ in range(weight)]
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{PORT}", timeout=30) as client:
        csrf = await login(client)
        while time.monotonic() < deadline:
            kind = rng.choice(kinds)
            started = time.perf_counter()
            try:
                await one_request(client, kind, rng, patients, records, versions, csrf, tally)
            except httpx.HTTPError as error:
                tally.errors.append(f"{kind} {type(error).__name__}")
            tally.latency[kind].append(time.perf_counter() - started)


async def sample_memory(pid: int, deadline: float, samples: list[float]) -> None:
    while time.monotonic() < deadline:
        samples.append(round(rss_mib(pid), 1))
        await asyncio.sleep(10)


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100)
    return {"p50_ms": round(cuts[49] * 1000, 1), "p95_ms": round(cuts[94] * 1000, 1),
            "p99_ms": round(cuts[98] * 1000, 1), "n": len(values)}


async def drive(pid: int, clients: int, duration: float, patients: list[int],
                records: list[int]) -> tuple[Tally, list[float], float]:
    tally, samples, versions = Tally(), [], {}  # type: ignore[var-annotated]
    deadline = time.monotonic() + duration
    started = time.monotonic()
    await asyncio.gather(sample_memory(pid, deadline, samples),
                         *(client_loop(n, deadline, patients, records, versions, tally)
                           for n in range(clients)))
    return tally, samples, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=600, help="Seconds of load.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--database", default=DATABASE, help="Name of the database made.")
    args = parser.parse_args()
    globals().update(PORT=args.port, DATABASE=args.database)
    admin_url = _admin_url()
    url = _recreate(admin_url)
    try:
        patients, records = seed(url, args.patients)
        server = start_server(url, args.workers)
        try:
            tally, samples, seconds = asyncio.run(
                drive(server.pid, args.clients, args.duration, patients, records))
        finally:
            server.terminate()
            server.wait(30)
        engine = make_engine(url)
        with unit_of_work(engine, read_only=True) as session:
            broken = verify_chain(session)
            audited = session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "measurement_update")) or 0
        engine.dispose()
    finally:
        if not args.keep:
            _drop(admin_url)
    everything = [v for values in tally.latency.values() for v in values]
    per_minute = max(1, int(60 // 10))
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "clients": args.clients, "workers": args.workers,
        "duration_s": round(seconds, 1), "patients": args.patients,
        "requests": len(everything), "requests_per_s": round(len(everything) / seconds, 1),
        "overall": _percentiles(everything),
        "by_kind": {kind: _percentiles(values) for kind, values in tally.latency.items()},
        "errors": len(tally.errors), "error_kinds": sorted(set(tally.errors))[:20],
        "conflicts_409": tally.conflicts, "accepted_writes": tally.accepted_writes,
        "audited_writes": audited, "audit_chain": "intact" if broken is None else str(broken),
        "rss_mib": samples,
        "rss_growth_mib": round(statistics.mean(samples[-per_minute:])
                                - statistics.mean(samples[:per_minute]), 1) if samples else None,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
