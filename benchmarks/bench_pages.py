"""Bytes over the wire and time to the first chart of a patient page, in a real browser.

    .venv/bin/python benchmarks/bench_pages.py --runs 5 --compare-uncompressed

Seeds a demo registry (``alsrwe demo``, SQLite in a temporary folder), serves it with uvicorn on
127.0.0.1 in this process, and drives Debian's Chromium (/usr/bin/chromium) with Playwright.
Each run logs in through the form in a new browser context (an empty cache), then opens a
treated patient's page twice:

- **first**: the browser's cache is cold (Plotly.js, the CSS and the scripts are fetched);
- **repeat**: the same page again in the same context (what the cache headers save).

For each load it records the bytes received (the sum of Chromium's ``encodedDataLength`` over
``Network.loadingFinished`` events: bodies as sent, compressed or not, with their headers) and
the time to the first chart (``performance.now()`` when the first ``.js-plotly-plot`` element
exists, i.e. from the navigation's start). ``--compare-uncompressed`` repeats every run with
``Accept-Encoding: identity`` on every request, the figures without compression, in the same
process. ``--mbps`` adds runs over a throttled link (Chromium's network emulation) on top of
loopback. The server's caches (the rendered page, the compressed Plotly.js) are warmed first,
so the figures are the browser's and the wire's. Prints medians (and all runs) as JSON.
Not a test: record the figures in docs/benchmarks.md ("Page weight and first chart").
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Response, sync_playwright
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from alsrwe.cli import DEMO_PASSWORD, app
from alsrwe.web.app import create_app
from alsrwe.web.settings import WebSettings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
USER = "clinician.ber"
FIRST_CHART = """(() => {
  const seen = () => {
    if (!window.__firstChart && document.querySelector(".js-plotly-plot")) {
      window.__firstChart = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
})();"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed(folder: Path, patients: int) -> str:
    url = f"sqlite:///{folder / 'demo.db'}"
    seeded = CliRunner().invoke(app, ["demo", "--database", url, "--patients", str(patients),
                                      "--carriers", "4"])
    if seeded.exit_code != 0:
        raise SystemExit(seeded.output)
    return url


def treated_patients(url: str, count: int) -> list[int]:
    """Living BER patients with tofersen doses (their pages have charts), most data first."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT p.id FROM patients p JOIN sites s ON s.id = p.site_id"
                " WHERE s.code = 'BER' AND EXISTS (SELECT 1 FROM administrations a"
                " WHERE a.patient_id = p.id AND a.status = 'given') AND NOT EXISTS (SELECT 1"
                " FROM milestones m WHERE m.patient_id = p.id AND m.kind = 'death')"
                " ORDER BY (SELECT count(*) FROM alsfrs_assessments f"
                " WHERE f.patient_id = p.id) DESC, p.id LIMIT :n"), {"n": count}).all()
    finally:
        engine.dispose()
    return [int(row[0]) for row in rows]


class Server:
    """The app on a free loopback port, in a thread of this process."""

    def __init__(self, url: str) -> None:
        settings = WebSettings(database_url=url, environment="development")
        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning",
            lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 30 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _context(browser: Browser, *, compressed: bool, mbps: float, latency_ms: float
             ) -> tuple[BrowserContext, Page, Any, list[dict[str, Any]]]:
    headers = {} if compressed else {"Accept-Encoding": "identity"}
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  extra_http_headers=headers)
    context.add_init_script(FIRST_CHART)
    page = context.new_page()
    page.set_default_timeout(60_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if mbps:
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": latency_ms,
            "downloadThroughput": mbps * 1_000_000 / 8, "uploadThroughput": mbps * 1_000_000 / 8,
        })
    finished: list[dict[str, Any]] = []
    def loaded(event: dict[str, Any]) -> None:
        finished.append(event)

    cdp.on("Network.loadingFinished", loaded)
    return context, page, cdp, finished


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_load_state("networkidle")


def _load(page: Page, url: str, finished: list[dict[str, Any]]) -> dict[str, float]:
    """Open ``url``: bytes received until the network is idle, ms to the first chart."""
    finished.clear()
    encodings: list[str] = []

    def seen(response: Response) -> None:
        encodings.append(response.headers.get("content-encoding", ""))

    page.on("response", seen)
    answer = page.goto(url, wait_until="load")
    if answer is None or answer.status != 200:
        raise RuntimeError(f"{url} answered {answer and answer.status}")
    page.wait_for_function("() => window.__firstChart !== undefined")
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", seen)
    first_chart = float(page.evaluate("() => window.__firstChart"))
    received = sum(float(event["encodedDataLength"]) for event in finished)
    return {"kb": round(received / 1000, 1), "first_chart_ms": round(first_chart),
            "requests": len(finished), "compressed_responses": sum(1 for e in encodings if e)}


def run_once(browser: Browser, base: str, patient_id: int, *, compressed: bool, mbps: float,
             latency_ms: float) -> dict[str, dict[str, float]]:
    context, page, _, finished = _context(browser, compressed=compressed, mbps=mbps,
                                          latency_ms=latency_ms)
    try:
        _log_in(page, base)
        url = f"{base}/patients/{patient_id}"
        return {"first": _load(page, url, finished), "repeat": _load(page, url, finished)}
    finally:
        context.close()


def _medians(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {visit: {name: statistics.median(run[visit][name] for run in runs)
                    for name in runs[0][visit]}
            for visit in runs[0]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (median shown)")
    parser.add_argument("--patients", type=int, default=40, help="demo patients with ALS")
    parser.add_argument("--compare-uncompressed", action="store_true",
                        help="also measure with Accept-Encoding: identity (no compression)")
    parser.add_argument("--mbps", type=float, nargs="*", default=[0.0],
                        help="link speeds to emulate (0: loopback, unthrottled)")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="round-trip latency added on a throttled link")
    args = parser.parse_args(argv)
    modes = [True, False] if args.compare_uncompressed else [True]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="alsrwe-bench-pages-") as folder:
        url = seed(Path(folder), args.patients)
        patients = treated_patients(url, args.runs)
        with Server(url) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            try:
                for patient_id in patients:  # warm the server: pages rendered, JS compressed
                    for compressed in (True, False):
                        run_once(browser, server.base, patient_id, compressed=compressed,
                                 mbps=0, latency_ms=0)
                for mbps in args.mbps:
                    for compressed in modes:
                        runs = [run_once(browser, server.base, patients[n % len(patients)],
                                         compressed=compressed, mbps=mbps,
                                         latency_ms=args.latency_ms if mbps else 0)
                                for n in range(args.runs)]
                        link = f"{mbps:g} Mbit/s, {args.latency_ms:g} ms" if mbps else "loopback"
                        name = f"{link}, {'compressed' if compressed else 'uncompressed'}"
                        results[name] = {"median": _medians(runs), "runs": runs}
                        print(name, json.dumps(results[name]["median"]), file=sys.stderr)
            finally:
                browser.close()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
