"""Real-browser flows of a clinic: log in, find a patient, enter data, self-report.

Run in Debian's Chromium through Playwright against a live server; screenshots of the
dashboard and the patient page are saved in the test's output folder.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import Live, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.xdist_group("browser")

DUE = re.compile(r"Next dose: #(\d+) \((\w+)\) due\s+(\d{4}-\d{2}-\d{2})")


def _next_due(page: Page) -> tuple[int, str, dt.date]:
    found = DUE.search(" ".join(page.locator("main").inner_text().split()))
    assert found is not None, "the patient page shows no next dose"
    return int(found[1]), found[2], dt.date.fromisoformat(found[3])


def test_login_find_patient_and_screenshots(page: Page, live_server: Live,
                                            screenshots: Path) -> None:
    log_in(page, live_server.base, "clinician.ber")
    page.goto(f"{live_server.base}/dashboard")
    assert page.get_by_role("heading", level=1).first.is_visible()
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    _, pseudonym = live_server.treated_patient()
    page.goto(f"{live_server.base}/patients")
    page.get_by_label("Pseudonym contains").fill(pseudonym)
    page.get_by_label("Pseudonym contains").press("Enter")
    page.get_by_role("link", name=pseudonym).first.click()
    page.wait_for_load_state("networkidle")
    assert pseudonym in page.content() and "King" in page.content()
    page.screenshot(path=str(screenshots / "patient.png"), full_page=True)
    assert (screenshots / "dashboard.png").stat().st_size > 10_000
    assert (screenshots / "patient.png").stat().st_size > 10_000


def test_wrong_password_is_refused(page: Page, live_server: Live) -> None:
    page.goto(f"{live_server.base}/login")
    page.get_by_label("Username").fill("clinician.ber")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text().lower().startswith("invalid username")


def _answer_items(page: Page, scores: dict[str, int]) -> None:
    for code, score in scores.items():
        page.locator(f"input[name='{code}'][value='{score}']").check()


def test_alsfrs_entry_invalid_then_valid(page: Page, live_server: Live) -> None:
    patient_id, _ = live_server.treated_patient()
    log_in(page, live_server.base, "clinician.ber")
    page.goto(f"{live_server.base}/patients/{patient_id}")
    page.get_by_role("link", name="Enter ALSFRS-R").click()
    page.get_by_label("Date of the assessment").fill(dt.date.today().isoformat())
    answers = {f"q{i}": 3 for i in (1, 2, 3, 4, 6, 8, 9, 10, 11, 12)} | {"q5a": 3}
    _answer_items(page, answers)  # item 7 left unanswered: invalid
    page.get_by_role("button", name="Save assessment").click()
    error = page.locator("#field-q7")
    assert "has-error" in (error.get_attribute("class") or "")
    assert page.get_by_role("alert").first.is_visible()
    _answer_items(page, {"q7": 2})
    page.get_by_role("button", name="Save assessment").click()
    page.wait_for_url(re.compile(rf"/patients/{patient_id}\b"))
    assert "Saved" in page.content()
    newest = page.locator("section[aria-labelledby='assessments-heading'] tbody tr").first
    cells = newest.locator("td").all_inner_texts()
    assert cells[0] == dt.date.today().isoformat() and cells[14] == "35"  # 11 × 3 + 2


def test_recording_a_dose_moves_the_next_due_date(page: Page, live_server: Live) -> None:
    patient_id, _ = live_server.treated_patient()
    log_in(page, live_server.base, "clinician.ber")
    page.goto(f"{live_server.base}/patients/{patient_id}")
    number, _, before = _next_due(page)
    page.get_by_role("link", name="Record a dose").click()
    today = dt.date.today()
    page.get_by_label("Date", exact=True).fill(today.isoformat())
    page.get_by_label("Lot number").fill("BROWSER-1")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/patients/{patient_id}\b"))
    new_number, phase, after = _next_due(page)
    assert new_number == number + 1
    interval = 28 if phase == "maintenance" else 14
    assert after == today + dt.timedelta(days=interval)
    assert after != before


def test_self_report_through_its_link(browser: Browser, page: Page, live_server: Live,
                                      screenshots: Path) -> None:
    patient_id, _ = live_server.treated_patient()
    log_in(page, live_server.base, "clinician.ber")
    page.goto(f"{live_server.base}/patients/{patient_id}")
    page.get_by_role("button", name="Send a self-report link").click()
    link = page.locator("#self-report-url").inner_text().strip()
    assert "/self-report/" in link

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        patient = phone.new_page()
        patient.goto(link)
        assert patient.get_by_role("heading", level=1).inner_text().startswith("How are you")
        # Keyboard only for the first item: Tab to its first answer, arrows move the choice.
        first = patient.locator("input[name='q1']").first
        first.focus()
        patient.keyboard.press("ArrowDown")
        assert patient.locator("input[name='q1']:checked").count() == 1
        _answer_items(patient, {f"q{i}": 4 for i in range(2, 13) if i != 5} | {"q5a": 4})
        patient.screenshot(path=str(screenshots / "self-report.png"), full_page=True)
        patient.get_by_role("button", name="Send my answers").click()
        assert patient.get_by_role("heading", level=1).inner_text().startswith("Thank you")
        patient.goto(link)  # single use
        assert "Thank you" not in patient.get_by_role("heading", level=1).inner_text()
    finally:
        phone.close()

    page.goto(f"{live_server.base}/patients/{patient_id}")
    assert "self" in page.locator("table").first.inner_text().lower() or \
        "self-report" in page.content().lower()
