"""The static report.html in Chromium: every section there, nothing wider than 1280 px, every
figure's exported files on disk and named in its caption (opened from file://, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alsrwe.analytics.cohort import Cohort
from alsrwe.analytics.report import build_report
from alsrwe.analytics.report.presentations import ANALYSES
from alsrwe.synth import CohortParams, generate_cohort

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cohort = generate_cohort(CohortParams(seed=3, n_patients=120, n_carriers=8))
    return build_report(Cohort.from_frames(cohort.tables()), tmp_path_factory.mktemp("report"))


def test_report_in_the_browser(page: Page, report: Path, screenshots: Path) -> None:
    page.goto(report.resolve().as_uri())
    assert page.locator("h2#methods").inner_text() == "Methods"
    assert "Table 1" in page.locator("h2#table-1").inner_text()
    assert page.locator("h2#table-1 + p + div table").count() == 1
    for analysis in ANALYSES:
        assert page.locator(f"h2#{analysis.name}").inner_text() == analysis.title
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide at a 1280 px viewport"
    captions = page.locator("figure figcaption").all_inner_texts()
    assert len(captions) == page.locator("figure svg").count() >= 5
    for number, caption in enumerate(captions, start=1):
        assert caption.startswith(f"Figure {number}. ")
        named = caption.rsplit("(files: ", 1)[1].rstrip(")").split(", ")
        assert len(named) == 2 and named[0].endswith(".svg") and named[1].endswith(".png")
        for name in named:
            assert (report.parent / name).is_file(), name
    link = page.locator("a[href^='#table-s']").first
    link.click()
    assert page.evaluate("location.hash").startswith("#table-s")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "report-top.png"))
    page.locator("h2#progression").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "report-progression.png"))
    page.screenshot(path=str(screenshots / "report-full.png"), full_page=True)
