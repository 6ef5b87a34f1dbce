"""Real-browser flows of a clinic: log in, find a patient, enter data, self-report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.xdist_group("browser")


def test_login_dashboard_and_patient_page(page: Page, live_server: str,
                                          screenshots: Path) -> None:
    log_in(page, live_server, "clinician.ber")
    page.goto(f"{live_server}/dashboard")
    assert page.get_by_role("heading", level=1).first.is_visible()
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    page.goto(f"{live_server}/patients")
    page.get_by_label("Pseudonym contains").fill("BER-0001")
    page.get_by_label("Pseudonym contains").press("Enter")
    page.get_by_role("link", name="BER-0001").first.click()
    page.wait_for_load_state("networkidle")
    body = page.content()
    assert "BER-0001" in body and "King" in body
    page.screenshot(path=str(screenshots / "patient.png"), full_page=True)
    assert (screenshots / "dashboard.png").stat().st_size > 10_000


def test_wrong_password_is_refused(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("clinician.ber")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text().lower().startswith("invalid username")
