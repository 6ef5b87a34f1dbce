"""Benchmark the web cohort page: the first view (every analysis computed) and a cached one.

    .venv/bin/python benchmarks/bench_cohort_page.py --patients 300 --repeat 5

A demo registry (``alsrwe demo``: 3 sites, ``--patients`` patients, 40 carriers per 300) is
created once in a temporary SQLite file. Each run starts a new app in this process (an empty
cohort cache), signs in the demo's admin and asks for ``/cohort?wait=30``: the seconds until
the page holds every analysis, then the milliseconds of the next view, served from the cache.
Prints each run and the medians as JSON. Record results, with the command and date, in
docs/benchmarks.md ("Everyday speed").
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench_report import demo_registry  # the benchmarks' folder is on sys.path
from fastapi.testclient import TestClient

from alsrwe.cli.registry import DEMO_PASSWORD
from alsrwe.web.app import create_app
from alsrwe.web.settings import WebSettings


def _one(url: str) -> tuple[float, float]:
    with TestClient(create_app(WebSettings(database_url=url)),
                    base_url="http://127.0.0.1") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        assert token
        client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD,
                                    "csrf_token": token.group(1)})
        start = time.perf_counter()
        first = client.get("/cohort?wait=30")
        computed = time.perf_counter() - start
        assert first.status_code == 200 and "Table 1" in first.text, "the page did not finish"
        start = time.perf_counter()
        assert client.get("/cohort").status_code == 200
        return computed, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = demo_registry(Path(scratch), args.patients)
        runs = [_one(url) for _ in range(args.repeat)]
    first = [round(f, 2) for f, _ in runs]
    cached = [round(c * 1000, 1) for _, c in runs]
    print(json.dumps({"patients": args.patients, "first_view_s": first,
                      "first_view_median_s": statistics.median(first),
                      "cached_view_ms": cached,
                      "cached_view_median_ms": statistics.median(cached)}))


if __name__ == "__main__":
    main()
