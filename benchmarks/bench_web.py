"""Load benchmark of the web app: patient page and API list under 50 concurrent clients.

    .venv/bin/python benchmarks/bench_web.py --patients 10000 --workers 2 --duration 20

Creates a dedicated PostgreSQL database (``alsrwe_bench`` on the server of
``ALSRWE_BENCH_POSTGRES_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``),
seeds it with a synthetic cohort (``generate_cohort`` → tidy CSV → ``import_tidy``, timed),
starts the app on 127.0.0.1 (``alsrwe serve --workers 2``; ``--server uvicorn`` runs ``uvicorn
--workers`` instead), logs in an admin, and drives each
target with ``wrk`` (Debian package ``wrk``; C, so the load generator costs little CPU) for a
fixed duration: (a) the patient page of random treated patients (500 of them), rendered
afresh on every request (``patient_page_uncached``: ``ALSRWE_PAGE_CACHE_ENTRIES=0``) and with
the per-revision page cache (``patient_page``), (b) ``GET /api/v1/patients?limit=25``. Each
run starts with a closed-loop warm-up (5 s; 15 s for the cached page, to fill the caches).
Prints p50/p95/p99 latency and requests/s per target as JSON.

Clients send their next request as soon as the last answer arrives (a closed loop), so the
latency is mostly queueing: 50 clients at R requests/s wait 50/R s on average. ``--think-ms
T`` makes each client pause a random 0-2T ms between requests instead (clinicians reading).
The database is dropped at the end unless ``--keep``; ``--reuse`` skips seeding when it exists.
Not a test: record the figures, with the command and date, in docs/benchmarks.md ("Web app").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.store.db import make_engine, migrate, unit_of_work
from alsrwe.store.models import Administration, Patient

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB_NAME = "alsrwe_bench"
HOST, PORT = "127.0.0.1", 8765
USER, PASSWORD = "bench-admin", "bench-password-not-secret"
SECRET = "bench-secret-key-0123456789-0123456789-0123456789"
WRK_SCRIPT = """
local ids = {%s}
local cookie = "%s"
local think = %d
delay = function()
  if think > 0 then return math.random(0, 2 * think) end
  return 0
end
request = function()
  local path = string.gsub("%s", "{id}", ids[math.random(#ids)])
  return wrk.format("GET", path, {["Cookie"] = cookie})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout))
end
"""
TARGETS = {"patient_page_uncached": "/patients/{id}", "patient_page": "/patients/{id}",
           "api_list": "/api/v1/patients?limit=25"}
UNCACHED = {"patient_page_uncached"}
WARM_UP_S = 5
"""Closed-loop warm-up before each measurement (connections open, code paths warm)."""
CACHED_WARM_UP_S = 15
"""The cached page's warm-up: each worker must have seen nearly all 500 patients (at ~300
requests/s, 15 s are ~2,250 random requests per worker of 2: 99% of the pages cached; 5 s left
a quarter of them cold, so the "cached" figure measured misses too)."""


def _admin(url: str):  # type: ignore[no-untyped-def]
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _exists(admin_url: str) -> bool:
    with _admin(admin_url).connect() as c:
        return bool(c.exec_driver_sql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'").scalar())


def _drop(admin_url: str) -> None:
    with _admin(admin_url).connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def seed(admin_url: str, url: str, patients: int, carriers: int) -> dict[str, float]:
    """Create, migrate and fill the benchmark database; returns the seconds of each step."""
    from alsrwe.interop.tidy_csv import import_tidy, write_frames
    from alsrwe.store.writes.accounts import create_account
    from alsrwe.synth import CohortParams, generate_cohort

    _drop(admin_url)
    with _admin(admin_url).connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{DB_NAME}"')
    engine = make_engine(url)
    times: dict[str, float] = {}
    try:
        start = time.perf_counter()
        migrate(engine)
        cohort = generate_cohort(CohortParams(seed=1, n_patients=patients, n_carriers=carriers,
                                              as_of=dt.date.today()))
        times["generate_s"] = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            write_frames(cohort.tables(), Path(folder))
            times["write_csv_s"] = time.perf_counter() - start
            start = time.perf_counter()
            import_tidy(engine, Path(folder), today=dt.date.today())
            times["import_s"] = time.perf_counter() - start
        with engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
        with unit_of_work(engine) as session:
            create_account(session, USER, PASSWORD, "admin", [], actor="bench")
    finally:
        engine.dispose()
    return {k: round(v, 1) for k, v in times.items()}


def treated_ids(url: str, count: int = 500) -> list[int]:
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            query = (select(Patient.id)
                     .join(Administration, Administration.patient_id == Patient.id)
                     .where(Administration.status == AdministrationStatus.GIVEN)
                     .distinct().order_by(Patient.id).limit(count))
            return list(session.scalars(query))
    finally:
        engine.dispose()


def start_server(url: str, workers: int, page_cache: bool = True,
                 server: str = "alsrwe") -> subprocess.Popen[bytes]:
    """``alsrwe serve --workers N`` (one SO_REUSEPORT socket per worker), or for comparison
    ``uvicorn --workers N`` (one shared socket)."""
    env = {**os.environ, "ALSRWE_DATABASE_URL": url, "ALSRWE_ENVIRONMENT": "production",
           "ALSRWE_SECRET_KEY": SECRET, "ALSRWE_COOKIE_SECURE": "false"}
    if not page_cache:
        env["ALSRWE_PAGE_CACHE_ENTRIES"] = "0"
    if server == "alsrwe":
        command = [str(Path(sys.executable).with_name("alsrwe")), "serve", "--host", HOST,
                   "--port", str(PORT), "--workers", str(workers), "--no-access-log",
                   "--log-level", "warning"]
    else:
        command = [sys.executable, "-m", "uvicorn", "--factory",
                   "alsrwe.web.app:app_from_environment", "--host", HOST, "--port", str(PORT),
                   "--workers", str(workers), "--log-level", "warning", "--no-access-log",
                   "--no-server-header"]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{PORT}/login", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the server did not start")


def login() -> str:
    with httpx.Client(base_url=f"http://{HOST}:{PORT}") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        assert token
        client.post("/login", data={"username": USER, "password": PASSWORD,
                                    "csrf_token": token.group(1)})
        session = client.cookies.get("alsrwe_session")
        assert session, "login failed"
        assert client.get("/api/v1/me").status_code == 200
        return f"alsrwe_session={session}"


def drive(path: str, ids: list[int], cookie: str, connections: int, duration: int,
          threads: int, think_ms: int = 0) -> dict[str, float]:
    script = WRK_SCRIPT % (",".join(map(str, ids)), cookie, think_ms, path)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
             "--timeout", "10s", "-s", handle.name, f"http://{HOST}:{PORT}"],
            check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(handle.name)
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    requests, micros, p50, p95, p99, status, socket, timeouts = map(int, fields)
    return {"requests": requests, "rps": round(requests / (micros / 1e6), 1),
            "p50_ms": round(p50 / 1000, 1), "p95_ms": round(p95 / 1000, 1),
            "p99_ms": round(p99 / 1000, 1), "non_2xx": status, "socket_errors": socket,
            "timeouts": timeouts}


def _run(url: str, workers: int, page_cache: bool, names: list[str], ids: list[int],
         args: argparse.Namespace) -> dict[str, object]:
    """Start a server, drive each target (after a warm-up), stop the server."""
    results: dict[str, object] = {}
    server = start_server(url, workers, page_cache, args.server)
    try:
        cookie = login()
        for name in names:
            warm_up = CACHED_WARM_UP_S if name == "patient_page" else WARM_UP_S
            drive(TARGETS[name], ids, cookie, args.connections, warm_up, args.wrk_threads)
            result = drive(TARGETS[name], ids, cookie, args.connections, args.duration,
                           args.wrk_threads, args.think_ms)
            result["load_average"] = round(os.getloadavg()[0], 2)
            results[f"{name}_workers_{workers}"] = result
            print(name, workers, json.dumps(result), flush=True)
    finally:
        server.terminate()
        server.wait(30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--carriers", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=20, help="seconds per target")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--server", choices=["alsrwe", "uvicorn"], default="alsrwe",
                        help="alsrwe serve (SO_REUSEPORT per worker) or uvicorn --workers")
    parser.add_argument("--think-ms", type=int, default=0,
                        help="mean pause of each client between requests (0: none)")
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a seeded database")
    parser.add_argument("--seed-only", action="store_true", help="seed, keep, and stop")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    admin_url = os.environ.get("ALSRWE_BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)
    url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    report: dict[str, object] = {"date": dt.datetime.now().isoformat(timespec="seconds"),
                                 "patients": args.patients, "carriers": args.carriers,
                                 "think_ms": args.think_ms, "server": args.server}
    try:
        if not (args.reuse and _exists(admin_url)):
            report["seed"] = seed(admin_url, url, args.patients, args.carriers)
            print(json.dumps(report["seed"]), flush=True)
        if args.seed_only:
            args.keep = True
            return
        ids = treated_ids(url)
        for workers in args.workers:
            for cached in (False, True):
                names = [n for n in args.targets if (n not in UNCACHED) == cached]
                if names:
                    report.update(_run(url, workers, cached, names, ids, args))
    finally:
        if not args.keep:
            _drop(admin_url)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
