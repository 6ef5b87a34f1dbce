"""A week of a tofersen service in the browser: register, convert, treat, correct, void, follow up.

A clinician registers a presymptomatic carrier (the SOD1 name is checked as it is typed),
converts them to ALS, starts tofersen, records the three loading doses and sees the first
maintenance dose due 28 days after the third; corrects a dose and voids an ALSFRS-R with
reasons; reports a label-warning adverse event, sees its flag, and resolves it. axe-core
checks every page on the way; screenshots go to the test's output folder.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import Live, assert_accessible, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.xdist_group("browser")

TODAY = dt.date.today()
DUE = re.compile(r"Next dose: #(\d+) \((\w+)\) due\s+(\d{4}-\d{2}-\d{2})")


def _next_due(page: Page) -> tuple[int, str, dt.date]:
    found = DUE.search(" ".join(page.locator("#next-dose").inner_text().split()))
    assert found is not None, "the header shows no next dose"
    return int(found[1]), found[2], dt.date.fromisoformat(found[3])


def _save(page: Page, button: str, patient_id: int | None = None) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".error-summary").count() == 0, page.locator("main").inner_text()[:800]
    if patient_id is not None:
        assert re.search(rf"/patients/{patient_id}\b", page.url), page.url


def _record_dose(page: Page, base: str, patient_id: int, day: dt.date) -> None:
    page.goto(f"{base}/patients/{patient_id}")
    page.get_by_role("link", name="Record a dose").click()
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Lot number").fill(f"LOT-{day:%m%d}")
    page.get_by_label("CSF removed").fill("10")
    _save(page, "Save", patient_id)


def test_a_week_of_tofersen_in_the_web_app(axe_page: Page, live_server: Live,
                                           screenshots: Path) -> None:
    page, base = axe_page, live_server.base
    log_in(page, base, "clinician.ber")
    pseudonym = f"BER-W{secrets.token_hex(3).upper()}"

    # Register a carrier; the SOD1 name is normalised as it is typed.
    page.goto(f"{base}/patients")
    page.get_by_role("link", name="Register a patient or carrier").click()
    assert_accessible(page, "registration form")
    page.get_by_label("Pseudonym").fill(pseudonym)
    page.get_by_label("Status").select_option("carrier")
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Birth year").fill("1984")
    page.get_by_label("SOD1 variant").fill("c.14C>T")
    normalised = page.locator("#sod1_variant-normalised")
    normalised.filter(has_text="Stored as A4V (p.Ala5Val)").wait_for()
    page.get_by_label("SOD1 result reported").fill((TODAY - dt.timedelta(days=400)).isoformat())
    page.screenshot(path=str(screenshots / "register_carrier.png"), full_page=True)
    _save(page, "Register")
    patient_id = int(re.search(r"/patients/(\d+)", page.url)[1])  # type: ignore[index]
    assert "presymptomatic carrier" in page.locator("h1").inner_text()
    assert_accessible(page, "new carrier's page")

    # The carrier develops symptoms: convert to ALS, keeping the record.
    page.get_by_role("link", name=re.compile("record ALS onset")).click()
    page.get_by_label("Status").select_option("patient")
    page.get_by_label("Symptom onset").fill((TODAY - dt.timedelta(days=200)).isoformat())
    page.get_by_label("Onset region").select_option("lower_limb")
    assert_accessible(page, "details form")
    _save(page, "Save details", patient_id)
    assert "patient with ALS" in page.locator("h1").inner_text()

    # Start tofersen four weeks ago; record the three loading doses 14 days apart.
    page.get_by_role("link", name="Start a treatment").click()
    page.get_by_label("Regimen").select_option("tofersen_us")
    page.get_by_label("Start date").fill((TODAY - dt.timedelta(days=28)).isoformat())
    assert_accessible(page, "treatment form")
    _save(page, "Start treatment", patient_id)
    for number, days_ago in ((1, 28), (2, 14), (3, 0)):
        _record_dose(page, base, patient_id, TODAY - dt.timedelta(days=days_ago))
        due_number, phase, due = _next_due(page)
        assert due_number == number + 1
    assert (phase, due) == ("maintenance", TODAY + dt.timedelta(days=28))
    page.screenshot(path=str(screenshots / "loading_done.png"), full_page=True)
    assert_accessible(page, "patient page after loading")

    # Correct the second dose (lot re-read) with a reason.
    page.goto(f"{base}/patients/{patient_id}/record")
    assert_accessible(page, "full record")
    second = (TODAY - dt.timedelta(days=14)).isoformat()
    page.get_by_role("link", name=f"Edit dose of {second}").click()
    page.get_by_label("Lot number").fill("LOT-CORRECTED")
    page.get_by_label("Reason for the correction").fill("lot re-read from the vial label")
    assert_accessible(page, "dose correction form")
    _save(page, "Save correction", patient_id)
    assert "Saved: corrected" in page.locator("#saved").inner_text()

    # An ALSFRS-R entered on the wrong day: void it with a reason.
    page.get_by_role("link", name="Enter ALSFRS-R").click()
    page.get_by_label("Date of the assessment").fill(TODAY.isoformat())
    for code in [f"q{i}" for i in (1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12)] + ["q5a"]:
        page.locator(f"input[name='{code}'][value='3']").check()
    _save(page, "Save assessment", patient_id)
    page.goto(f"{base}/patients/{patient_id}/record")
    page.get_by_role("link", name=f"Void ALSFRS-R of {TODAY.isoformat()}").click()
    assert_accessible(page, "void form")
    page.get_by_label("Reason for voiding").fill("rated at the wrong visit")
    _save(page, "Void the record", patient_id)
    page.goto(f"{base}/patients/{patient_id}/record")
    voided = page.locator("section[aria-labelledby='voided-heading']")
    assert "rated at the wrong visit" in voided.inner_text()
    assert voided.locator("del").count() >= 1
    page.screenshot(path=str(screenshots / "voided_record.png"), full_page=True)

    # A label-warning adverse event: flagged in the header, then resolved by follow-up.
    page.goto(f"{base}/patients/{patient_id}")
    page.get_by_role("link", name="Report adverse event").click()
    page.get_by_label("Onset date").fill(TODAY.isoformat())
    page.get_by_label("Term").select_option("radiculitis")
    page.get_by_label("Grade").select_option("2")
    page.get_by_label("Outcome").select_option("recovering")
    _save(page, "Save", patient_id)
    flags = page.locator("section.flags")
    assert "label-warning event: radiculitis" in flags.inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "patient_flags.png"))
    page.get_by_role("link", name=f"Follow up radiculitis of {TODAY.isoformat()}").click()
    page.get_by_label("Outcome").select_option("recovered")
    page.get_by_label("Resolved date").fill(TODAY.isoformat())
    page.get_by_label("Reason for the correction").fill("resolved at review")
    assert_accessible(page, "adverse event follow-up")
    _save(page, "Save correction", patient_id)
    events = page.locator("section[aria-labelledby='ae-heading']").inner_text()
    assert "recovered" in events and TODAY.isoformat() in events
