"""axe-core on every page a clinic and a patient use: no serious or critical violation.

Each page is opened as a person would reach it (logged in as the demo's clinician, charts
drawn, cohort results shown, the self-report link opened on a phone-sized screen), checked by
axe in Chromium and saved as a screenshot in the test's output folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import Live, assert_accessible, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.xdist_group("browser")

CLINICIAN = "clinician.ber"
FORMS = ("alsfrs", "administrations", "measurements", "adverse-events", "milestones")
PHONE = {"width": 390, "height": 844}


def _check(page: Page, name: str, screenshots: Path) -> None:
    page.screenshot(path=str(screenshots / f"a11y-{name}.png"), full_page=True)
    assert_accessible(page, name)


def _open_patient(page: Page, live: Live) -> int:
    """Log in, open the treated patient's page and wait until every chart is drawn."""
    patient_id, _ = live.treated_patient()
    log_in(page, live.base, CLINICIAN)
    page.goto(f"{live.base}/patients/{patient_id}")
    charts = page.locator("[data-figure]")
    assert charts.count() > 0, "the patient page draws no chart"
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=charts.count())
    return patient_id


def test_login_page(axe_page: Page, live_server: Live, screenshots: Path) -> None:
    axe_page.goto(f"{live_server.base}/login")
    _check(axe_page, "login", screenshots)


@pytest.mark.parametrize("path", ["/dashboard", "/patients"])
def test_clinic_lists(axe_page: Page, live_server: Live, screenshots: Path, path: str) -> None:
    log_in(axe_page, live_server.base, CLINICIAN)
    axe_page.goto(f"{live_server.base}{path}")
    _check(axe_page, path.strip("/"), screenshots)


def test_patient_page_with_its_charts_and_their_data(
    axe_page: Page, live_server: Live, screenshots: Path
) -> None:
    _open_patient(axe_page, live_server)
    assert axe_page.locator(".modebar").count() == 0
    for summary in axe_page.locator("details.chart-data summary").all():
        summary.click()  # the tables behind the charts are checked open
    assert axe_page.locator("details.chart-data[open] table").count() == (
        axe_page.locator("[data-figure]").count())
    _check(axe_page, "patient", screenshots)


@pytest.mark.parametrize("part", ["record", "summary", "history", "as-of"])
def test_full_record_and_printable_summary(
    axe_page: Page, live_server: Live, screenshots: Path, part: str
) -> None:
    patient_id, _ = live_server.treated_patient()
    log_in(axe_page, live_server.base, CLINICIAN)
    axe_page.goto(f"{live_server.base}/patients/{patient_id}/{part}")
    _check(axe_page, f"patient-{part}", screenshots)


@pytest.mark.parametrize("form", FORMS)
def test_data_entry_forms(axe_page: Page, live_server: Live, screenshots: Path,
                          form: str) -> None:
    patient_id, _ = live_server.treated_patient()
    log_in(axe_page, live_server.base, CLINICIAN)
    axe_page.goto(f"{live_server.base}/patients/{patient_id}/{form}/new")
    _check(axe_page, f"form-{form}", screenshots)


def test_a_form_showing_its_errors(axe_page: Page, live_server: Live,
                                   screenshots: Path) -> None:
    patient_id, _ = live_server.treated_patient()
    log_in(axe_page, live_server.base, CLINICIAN)
    axe_page.goto(f"{live_server.base}/patients/{patient_id}/measurements/new")
    axe_page.get_by_role("button", name="Save").click()
    assert axe_page.get_by_role("alert").first.is_visible()
    _check(axe_page, "form-errors", screenshots)


def test_cohort_page_while_computing_and_with_results(
    axe_page: Page, live_server: Live, screenshots: Path
) -> None:
    log_in(axe_page, live_server.base, CLINICIAN)
    axe_page.goto(f"{live_server.base}/cohort?wait=0")
    if axe_page.locator("#computing").count():  # not computed yet by another test
        assert axe_page.locator("meta[http-equiv]").count() == 0
        _check(axe_page, "cohort-computing", screenshots)
    # The page's script reloads it when the results are ready (no meta refresh).
    axe_page.wait_for_selector("#timing", timeout=120_000)
    assert axe_page.locator("meta[http-equiv]").count() == 0
    _check(axe_page, "cohort", screenshots)


def test_self_report_link_and_questionnaire_on_a_phone(
    axe_page: Page, browser: Browser, live_server: Live, screenshots: Path
) -> None:
    _open_patient(axe_page, live_server)
    axe_page.get_by_role("button", name="Send a self-report link").click()
    url = axe_page.locator("#self-report-url").inner_text().strip()
    assert re.search(r"/self-report/[\w-]{16,}$", url), url
    _check(axe_page, "self-report-link", screenshots)

    phone = browser.new_context(viewport=PHONE, bypass_csp=True, is_mobile=True,
                                has_touch=True)
    try:
        questionnaire = phone.new_page()
        questionnaire.goto(url)
        assert questionnaire.get_by_role("heading", level=1).is_visible()
        _check(questionnaire, "self-report", screenshots)
    finally:
        phone.close()


def test_the_audit_trail_page(axe_page: Page, live_server: Live, screenshots: Path) -> None:
    log_in(axe_page, live_server.base, "admin")
    axe_page.goto(f"{live_server.base}/admin/audit")
    axe_page.get_by_role("button", name="Check the whole chain now").click()
    assert "every entry's hash and link holds" in axe_page.content()
    _check(axe_page, "audit-trail", screenshots)
