"""The self-report as a patient meets it, in Chromium: on a phone, with the keyboard only.

A clinician issues a link (shown with its QR code); the patient, on a 390×844 screen, presses
Enter on the feeding-tube box (nothing is sent), answers with Tab, the arrow keys, Space and
Enter, sends with one question unanswered and is told which one in plain words, comes back to
a kept draft, survives an expired cookie and finishes. Without JavaScript, Enter sends nothing
either. The clinician then revokes another link, whose page then says so.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from tests.browser.conftest import Live, assert_accessible, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request, ViewportSize

pytestmark = pytest.mark.xdist_group("browser")

CLINICIAN = "clinician.ber"
PHONE: ViewportSize = {"width": 390, "height": 844}
QUESTIONS = ("q1", "q2", "q3", "q4", "q5a", "q6", "q7", "q8", "q9", "q10", "q11", "q12")
SKIPPED = "q7"
"""The question the patient first leaves unanswered."""
FOCUS = """() => { const e = document.activeElement;
  return {tag: e.tagName, type: e.type || "", name: e.name || "", value: e.value || "",
          text: (e.textContent || "").trim()}; }"""


def _own_patient(live: Live) -> int:
    """A living BER patient other than the one the other browser tests rate today (a second
    self-report of one patient on one day would be refused as a duplicate)."""
    shared, _ = live.treated_patient()
    engine = create_engine(live.database_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(text(
                "SELECT p.id FROM patients p JOIN sites s ON s.id = p.site_id"
                " WHERE s.code = 'BER' AND p.status = 'patient' AND p.id <> :shared"
                " AND NOT EXISTS (SELECT 1 FROM"
                " milestones m WHERE m.patient_id = p.id AND m.kind = 'death')"
                " ORDER BY p.pseudonym DESC LIMIT 1"), {"shared": shared}).scalar_one()
    finally:
        engine.dispose()
    return int(found)


def _phone(browser: Browser, *, javascript: bool = True) -> BrowserContext:
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                               bypass_csp=True, java_script_enabled=javascript)


def _issue(axe_page: Page, live: Live, patient_id: int) -> tuple[int, str]:
    """(id, URL) of a new link, issued from the patient's list of links."""
    axe_page.goto(f"{live.base}/patients/{patient_id}/self-report-links")
    axe_page.get_by_role("button", name="Send a new self-report link").click()
    axe_page.wait_for_load_state("networkidle")
    url = axe_page.locator("#self-report-url").inner_text().strip()
    found = re.search(r"Link #(\d+) works once", axe_page.locator("main").inner_text())
    assert found and re.search(r"/self-report/[\w-]{16,}$", url), url
    return int(found[1]), url


def _focus(page: Page) -> dict[str, str]:
    focused: dict[str, str] = page.evaluate(FOCUS)
    return focused


def _tab_to(page: Page, name: str) -> None:
    """Tab until the control named ``name`` has the focus."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if _focus(page)["name"] == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def _checked(page: Page) -> dict[str, str]:
    values: dict[str, str] = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('input:checked')]"
        ".map(e => [e.name, e.value]))")
    return values


def _fits_the_screen(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"


def test_a_patient_completes_the_questionnaire_with_the_keyboard_on_a_phone(
    axe_page: Page, browser: Browser, live_server: Live, screenshots: Path
) -> None:
    patient_id = _own_patient(live_server)
    log_in(axe_page, live_server.base, CLINICIAN)
    _, url = _issue(axe_page, live_server, patient_id)
    assert axe_page.get_by_role("img", name="QR code of the self-report link").is_visible()
    assert axe_page.locator("figure.qr svg path").count() > 0
    assert axe_page.get_by_role("button", name="Print").is_visible()  # shown by the script
    axe_page.screenshot(path=str(screenshots / "self_report_qr.png"), full_page=True)
    assert_accessible(axe_page, "self-report link with its QR code")

    context = _phone(browser)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        posts: list[Request] = []
        page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
        page.goto(url)
        _fits_the_screen(page)
        assert page.locator("form button:not([name])").is_hidden()  # Enter's "not yet"
        assert_accessible(page, "self-report questionnaire")

        # Enter on the feeding-tube box ticks it (and shows 5b); it never sends the form.
        _tab_to(page, "gastrostomy")
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        assert posts == [] and page.url == url
        assert page.locator("#gastrostomy").is_checked()
        assert page.locator("#field-q5b").is_visible()
        assert not page.locator("#field-q5a").is_visible()
        page.keyboard.press("Space")
        assert not page.locator("#gastrostomy").is_checked()
        assert page.locator("#field-q5a").is_visible()

        # One answer, then the link is opened again: the draft brings the answer back.
        page.keyboard.press("Tab")
        assert _focus(page) | {"text": ""} == {"tag": "INPUT", "type": "radio", "name": "q1",
                                               "value": "4", "text": ""}
        page.keyboard.press("ArrowDown")  # moves to, and chooses, the next answer: 3
        assert _checked(page) == {"q1": "3"}
        page.goto(url)
        assert _checked(page) == {"q1": "3"}

        # Every other question but one, with Tab and Space, an arrow key or Enter.
        _tab_to(page, "gastrostomy")
        for code in QUESTIONS:
            if _focus(page)["name"] != code:
                page.keyboard.press("Tab")
            assert _focus(page)["name"] == code
            if code in ("q1", SKIPPED):
                continue
            if code == "q12":
                page.keyboard.press("Enter")  # picks the answer and moves on: no sending
            elif code in ("q3", "q9"):
                page.keyboard.press("ArrowDown")
            else:
                page.keyboard.press("Space")
        assert posts == []
        assert _focus(page)["name"] == "send"  # Enter on the last question moved on
        chosen = _checked(page)
        assert set(chosen) == set(QUESTIONS) - {SKIPPED}
        assert chosen["q3"] == chosen["q9"] == "3" and chosen["q12"] == "4"
        page.screenshot(path=str(screenshots / "self_report_mobile.png"), full_page=True)

        # Sent with question 7 unanswered: named in plain words, the answers kept.
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert len(posts) == 1
        summary = page.locator("#errors")
        assert "Question 7 (Turning in bed and adjusting bed clothes): choose one of the " \
               "answers" in summary.inner_text()
        assert not re.search(r"\bq\d", summary.inner_text())
        assert (page.locator("#q7-error").text_content() or "").startswith("Error: Question 7 (")
        assert page.evaluate("() => document.activeElement.id") == "errors"
        assert _checked(page) == chosen
        _fits_the_screen(page)
        page.screenshot(path=str(screenshots / "self_report_error.png"), full_page=True)

        # The summary's link leads into question 7; Space answers it.
        page.keyboard.press("Tab")
        assert _focus(page)["tag"] == "A"
        page.keyboard.press("Enter")
        assert _focus(page)["name"] == SKIPPED
        page.keyboard.press("Space")
        assert _checked(page)[SKIPPED] == "4"

        # The cookie expired meanwhile: the answers come back, not the login page.
        context.clear_cookies()
        _tab_to(page, "send")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Your answers are kept; please press Send again" in page.locator(
            "#notice").inner_text()
        assert "/login" not in page.url
        assert _checked(page) == chosen | {SKIPPED: "4"}

        _tab_to(page, "send")
        with page.expect_navigation():
            page.keyboard.press("Space")
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Thank you: your answers were sent")
        assert page.evaluate(
            "() => sessionStorage.getItem('alsrwe-self-report-draft:' + location.pathname)"
        ) is None
        assert len(posts) == 3
        page.goto(url)
        assert "already been used" in page.locator("main").inner_text()
    finally:
        context.close()


def test_enter_sends_nothing_without_javascript_and_a_revoked_link_says_so(
    axe_page: Page, browser: Browser, live_server: Live, screenshots: Path
) -> None:
    patient_id = _own_patient(live_server)
    log_in(axe_page, live_server.base, CLINICIAN)
    link_id, url = _issue(axe_page, live_server, patient_id)

    context = _phone(browser, javascript=False)
    try:
        page = context.new_page()
        page.goto(url)
        assert page.locator("form button:not([name])").is_hidden()
        _tab_to(page, "gastrostomy")
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Space")  # question 1: the first answer
        with page.expect_navigation():
            page.keyboard.press("Enter")  # the browser's implicit submission
        main = page.locator("main").inner_text()
        assert "Nothing was sent yet" in main and "Nothing was saved" not in main
        assert _checked(page) == {"gastrostomy": "on", "q1": "4"}

        axe_page.goto(f"{live_server.base}/patients/{patient_id}/self-report-links")
        row = axe_page.locator("tbody tr", has_text=f"#{link_id}")
        assert "open" in row.inner_text()
        axe_page.screenshot(path=str(screenshots / "self_report_links.png"), full_page=True)
        assert_accessible(axe_page, "self-report links of a patient")
        axe_page.get_by_role("button", name=f"Revoke link #{link_id}").click()
        axe_page.wait_for_load_state("networkidle")
        assert f"Link #{link_id} was revoked" in axe_page.get_by_role("status").inner_text()
        assert "revoked" in row.inner_text() and CLINICIAN in row.inner_text()
        assert row.get_by_role("button").count() == 0

        page.goto(url)
        assert page.get_by_role("heading", level=1).inner_text() == (
            "This link was cancelled by your clinic")
        assert page.locator("input[type=radio]").count() == 0
    finally:
        context.close()
