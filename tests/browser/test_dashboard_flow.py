"""The clinician's morning in a real browser: triage the dashboard, acknowledge a CSF flag,
review self-reports in bulk, open the week's infusion list.

Run in Debian's Chromium through Playwright against the live demo server (shared with the other
browser tests, which add data of their own: nothing here relies on exact counts of the demo).
Screenshots ``dashboard_triage.png`` and ``infusions_week.png`` go to the output folder.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.store.db import make_engine, unit_of_work
from alsrwe.store.models import AlsfrsAssessment, Measurement, Site
from alsrwe.store.reads.dashboard import flagged_csf, self_reports_to_review
from alsrwe.store.scope import SiteScope
from tests.browser.conftest import Live, assert_accessible, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.xdist_group("browser")

CLINICIAN = "clinician.ber"
COUNT = re.compile(r"\((\d+)\)\s*$")


def _ensure_triage_work(live: Live) -> None:
    """At least one CSF flag and two self-reports awaiting the BER clinician.

    The demo is generated relative to today and usually has both; when it has not, they are
    added (synthetic values) to a living BER patient, as a lab import and two self-reports
    would add them.
    """
    engine = make_engine(live.database_url)
    try:
        with unit_of_work(engine) as session:
            ber = session.scalars(select(Site).where(Site.code == "BER")).one()
            scope = SiteScope.only([ber.id])
            patient_id, _ = live.treated_patient()
            today = dt.date.today()
            if not [row for row in flagged_csf(session, scope) if row.acknowledged is None]:
                session.add(Measurement(patient_id=patient_id, date=today, value=18,
                                        kind=MeasurementKind.CSF_WBC, unit="/uL"))
            waiting = self_reports_to_review(session, scope).total
            for days_ago in range(3, 3 + max(0, 2 - waiting)):
                session.add(AlsfrsAssessment(
                    patient_id=patient_id, date=today - dt.timedelta(days=days_ago),
                    source=AssessmentSource.SELF, gastrostomy=False,
                    **{f"q{i}": 3 for i in range(1, 13)}))
    finally:
        engine.dispose()


def _count(page: Page, heading_id: str) -> int:
    found = COUNT.search(page.locator(f"#{heading_id}").inner_text())
    assert found is not None, f"#{heading_id} shows no count"
    return int(found[1])


def test_a_clinician_triages_the_dashboard(axe_page: Page, live_server: Live,
                                           screenshots: Path) -> None:
    page = axe_page
    _ensure_triage_work(live_server)
    log_in(page, live_server.base, CLINICIAN)
    page.goto(f"{live_server.base}/dashboard")
    assert page.get_by_role("heading", level=1).inner_text() == "Site dashboard"
    page.screenshot(path=str(screenshots / "dashboard_triage.png"), full_page=True)
    assert_accessible(page, "the triage dashboard")

    # Filter to the CSF queue with the keyboard only.
    page.get_by_label("Queue", exact=True).focus()
    page.get_by_label("Queue", exact=True).select_option("csf")
    page.get_by_role("button", name="Apply filters").press("Enter")
    page.wait_for_url(re.compile(r"/dashboard\?.*queue=csf"))
    assert page.locator("#review-heading").count() == 0

    flags = page.locator("section[aria-labelledby='csf-heading'] tbody tr")
    before = _count(page, "csf-heading")
    assert before >= 1, "no CSF flag to acknowledge"
    first = flags.first
    pseudonym, sample_date = first.locator("td").nth(0).inner_text(), \
        first.locator("td").nth(1).inner_text()
    first.get_by_label(re.compile("^Note on the CSF flag")).fill("seen in clinic")
    first.get_by_role("button", name=re.compile("^Acknowledge")).click()
    page.wait_for_url(re.compile(r"/dashboard\?.*queue=csf"))
    assert _count(page, "csf-heading") == before - 1
    remaining = [" ".join(row.split()) for row in flags.all_inner_texts()]
    assert not any(row.startswith(f"{pseudonym} {sample_date}") for row in remaining)
    page.get_by_role("link", name="show them").click()
    acknowledged = page.locator("#csf-acknowledged").inner_text()
    assert pseudonym in acknowledged and f"{CLINICIAN} on" in acknowledged
    assert "seen in clinic" in acknowledged

    # Review two self-reports at once.
    page.goto(f"{live_server.base}/dashboard?queue=review")
    pending = _count(page, "review-heading")
    assert pending >= 2, "fewer than two self-reports to review"
    boxes = page.locator("section[aria-labelledby='review-heading'] input[type='checkbox']")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Mark selected reviewed").click()
    page.wait_for_url(re.compile(r"/dashboard\?queue=review"))
    assert _count(page, "review-heading") == pending - 2


def test_the_infusion_list_for_the_week(axe_page: Page, live_server: Live,
                                        screenshots: Path) -> None:
    page = axe_page
    log_in(page, live_server.base, CLINICIAN)
    page.goto(f"{live_server.base}/dashboard")
    page.get_by_role("link", name="This week's infusions").first.click()
    page.wait_for_url(re.compile(r"/dashboard/infusions\?days=7"))
    today = dt.date.today()
    end = today + dt.timedelta(days=6)
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == f"Infusion list for the week {today.isoformat()} to {end.isoformat()}"
    rows = page.locator("table.infusions tbody tr")
    assert rows.count() >= 1
    assert all(cell.startswith("BER") for cell in
               page.locator("table.infusions tbody tr td:nth-child(3)").all_inner_texts()
               if cell), "another site's patient on the list"
    page.screenshot(path=str(screenshots / "infusions_week.png"), full_page=True)
    assert_accessible(page, "the infusion list of a week")

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator("form.filters").is_visible()
    assert page.locator("table.infusions").is_visible()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Next week").click()
    later = today + dt.timedelta(days=7)
    assert page.get_by_role("heading", level=1).inner_text().startswith(
        f"Infusion list for the week {later.isoformat()}")
    assert (screenshots / "dashboard_triage.png").stat().st_size > 10_000
    assert (screenshots / "infusions_week.png").stat().st_size > 10_000
