"""A live alsrwe server over a seeded demo registry, driven by Playwright in Debian's Chromium.

The server runs uvicorn in a thread of the test process on a free loopback port; the browser
is /usr/bin/chromium (installed by `make test` when missing), launched headless without a
sandbox and without background networking (this machine has no internet). Screenshots go to
the test's output folder (``ALSRWE_SCREENSHOTS`` or pytest's tmp path). ``assert_accessible``
runs axe-core (fetched by `make axe` into the venv, ``ALSRWE_AXE`` to use another copy) on a
page and fails on its serious and critical violations.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from alsrwe.cli import DEMO_PASSWORD, app
from alsrwe.web.app import create_app
from alsrwe.web.settings import WebSettings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(os.environ.get("ALSRWE_AXE")
           or Path(__file__).resolve().parents[2] / ".venv" / "axe" / "package" / "axe.min.js")
BLOCKING_IMPACTS = ("serious", "critical")
"""axe's two highest impacts: either fails the test (minor and moderate ones do not)."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("ALSRWE_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Live:
    """The running server's address and the registry behind it."""

    base: str
    database_url: str

    def treated_patient(self, site: str = "BER") -> tuple[int, str]:
        """(id, pseudonym) of a living patient of ``site`` who has had tofersen doses."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                row = connection.execute(text(
                    "SELECT p.id, p.pseudonym FROM patients p JOIN sites s ON s.id = p.site_id"
                    " WHERE s.code = :site AND EXISTS (SELECT 1 FROM administrations a WHERE"
                    " a.patient_id = p.id AND a.status = 'given') AND NOT EXISTS (SELECT 1 FROM"
                    " milestones m WHERE m.patient_id = p.id AND m.kind = 'death')"
                    " ORDER BY p.pseudonym LIMIT 1"), {"site": site}).one()
        finally:
            engine.dispose()
        return int(row[0]), str(row[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The demo registry (40 patients, 3 sites, one user per role) served on loopback."""
    database = tmp_path_factory.mktemp("live") / "demo.db"
    url = f"sqlite:///{database}"
    seeded = CliRunner().invoke(app, ["demo", "--database", url, "--patients", "40",
                                      "--carriers", "4"])
    assert seeded.exit_code == 0, seeded.output
    settings = WebSettings(database_url=url, environment="development")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start within 20 s")
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make test` installs it with apt-get")
        pytest.skip("Chromium is not installed (make test installs it)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def axe_page(browser: Browser) -> Iterator[Page]:
    """A desktop page whose context lets axe be injected (``bypass_csp``: the app's
    Content-Security-Policy refuses inline scripts; tests/web/test_headers.py checks it)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def log_in(page: Page, base: str, username: str) -> None:
    """Log in through the real form, with the keyboard."""
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_load_state("networkidle")


AXE_RUN = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


def axe_script() -> Path:
    """axe.min.js; missing, it fails the run under CI and skips the test elsewhere."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is missing at {AXE}: `make axe` (a step of `make test`) "
                        f"fetches it")
        pytest.skip(f"axe-core is not installed at {AXE} (run `make axe`)")
    return AXE


def assert_accessible(page: Page, name: str) -> None:
    """Fail listing every serious or critical axe violation on ``page`` (called ``name``).

    axe is injected as an inline script: the page's context needs ``bypass_csp=True``, since
    the app's Content-Security-Policy refuses inline scripts.
    """
    page.add_script_tag(path=str(axe_script()))
    violations = page.evaluate(AXE_RUN)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    report = "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']}; {v['count']} node(s), e.g. "
        + " | ".join(v["targets"])
        for v in blocking
    )
    assert not blocking, (
        f"axe found {len(blocking)} serious/critical violation(s) on {name}:\n{report}")
