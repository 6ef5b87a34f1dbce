"""The triage dashboard in the web app: filters, paging links, acknowledging flags, bulk review
of self-reports and the infusion-day list, from the hand-made registry of conftest.py."""

from __future__ import annotations

import datetime as dt
import html
import re

import httpx
import pytest
from sqlalchemy import insert, select

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AlsfrsAssessment, AuditEntry, FlagAcknowledgement
from tests.web.conftest import Registry, csrf_of, login, section_html

pytestmark = pytest.mark.anyio

D = dt.date


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _section(page: str, heading_id: str) -> str:
    return _text(section_html(page, heading_id))


def _links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


def _items(total: int) -> dict[str, int]:
    """Twelve item scores adding up to ``total``, the lowest items first."""
    missing, items = 48 - total, {}
    for i in range(1, 13):
        items[f"q{i}"] = 4 - min(4, missing)
        missing -= min(4, missing)
    return items


def _self_reports(registry: Registry, pseudonym: str, *days: dt.date,
                  total: int = 36) -> list[int]:
    """Self-reports totalling ``total`` on ``days``."""
    with unit_of_work(registry.engine) as session:
        return list(session.execute(
            insert(AlsfrsAssessment).returning(AlsfrsAssessment.id),
            [{"patient_id": registry.ids[pseudonym], "date": day,
              "source": AssessmentSource.SELF, "gastrostomy": False, **_items(total)}
             for day in days],
        ).scalars())


def _audits(registry: Registry, action: str) -> list[AuditEntry]:
    with unit_of_work(registry.engine, read_only=True) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))


async def test_filters_choose_the_site_the_queue_and_the_age(client: httpx.AsyncClient) -> None:
    await login(client, "admin")
    every = (await client.get("/dashboard")).text
    for control in ("filter-site", "filter-queue", "filter-age"):
        assert f'<label for="{control}">' in every and f'id="{control}"' in every
    assert 'method="get" action="/dashboard"' in every
    assert "PAD-001" in every and "BER-001" in every

    padova = (await client.get("/dashboard?site=PAD")).text
    assert "PAD-001" in _section(padova, "ae-heading") and "BER-0" not in _text(padova)
    assert '<option selected>PAD</option>' in padova

    only_csf = (await client.get("/dashboard?queue=csf")).text
    assert 'id="csf-heading"' in only_csf
    for other in ("overdue-heading", "due-heading", "ae-heading", "review-heading",
                  "nfl-heading"):
        assert f'id="{other}"' not in only_csf

    # BER-001's open pain began 2025-01-14, 65 days before today (2025-03-20).
    assert "pain" in _section((await client.get("/dashboard?age=90")).text, "ae-heading")
    recent = (await client.get("/dashboard?age=30")).text
    assert "pain" not in _section(recent, "ae-heading")
    assert "myalgia" not in _section(recent, "ae-heading")

    client.cookies.clear()
    await login(client, "clin")
    assert (await client.get("/dashboard?site=PAD")).status_code == 422
    assert (await client.get("/dashboard?age=12")).status_code == 422
    assert (await client.get("/dashboard?review_page=0")).status_code == 422


async def test_each_queue_pages_with_its_count_and_keeps_the_filters(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    days = [D(2025, 3, 1) + dt.timedelta(days=i) for i in range(12)]
    _self_reports(registry, "BER-001", *days)
    await login(client, "clin")
    first = (await client.get("/dashboard?age=365")).text
    review = section_html(first, "review-heading")
    assert "Self-reports to review (12)" in _text(review)
    assert review.count('name="assessment_id"') == 10
    assert "2025-03-12" in review and "2025-03-02" not in review  # newest first
    assert "Showing 1–10 of 12." in _text(review)
    following = [link for link in _links(review) if "review_page=2" in link]
    assert following and "age=365" in following[0] and following[0].endswith("#review-heading")
    assert any("review_page=all" in link for link in _links(review))

    second = (await client.get(following[0].split("#")[0])).text
    review = section_html(second, "review-heading")
    assert review.count('name="assessment_id"') == 2
    assert "2025-03-01" in review and "Showing 11–12 of 12." in _text(review)
    assert any(link.startswith("/dashboard?age=365") and "review_page" not in link
               for link in _links(review))  # back to the first page
    everything = section_html((await client.get("/dashboard?review_page=all")).text,
                              "review-heading")
    assert everything.count('name="assessment_id"') == 12
    # The other queues stay on their first page, with their own counts.
    assert "Overdue doses (1)" in _text(second)


async def test_acknowledging_a_csf_flag_is_audited_and_moves_it_aside(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    page = (await client.get("/dashboard?queue=csf")).text
    csf = section_html(page, "csf-heading")
    assert "CSF flags on the latest sample (1)" in _text(csf)
    assert 'action="/dashboard/flags/acknowledge?queue=csf"' in csf
    token = await csrf_of(client)
    form = {"csrf_token": token, "patient_id": str(registry.ids["BER-001"]), "flag": "csf",
            "sample_date": "2025-02-24", "note": "LP tolerated; recheck next dose"}
    answer = await client.post("/dashboard/flags/acknowledge?queue=csf", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard?queue=csf#csf-heading"

    after = (await client.get("/dashboard?queue=csf")).text
    csf = _section(after, "csf-heading")
    assert "CSF flags on the latest sample (0)" in csf and "1 acknowledged" in csf
    shown = _section((await client.get("/dashboard?queue=csf&csf_acknowledged=1")).text,
                     "csf-heading")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"BER-001 2025-02-24 12 — clin on {today}" in shown
    assert "LP tolerated; recheck next dose" in shown
    (audit,) = _audits(registry, "flag_acknowledge")
    assert audit.actor == "clin" and audit.detail is not None
    assert {k: audit.detail[k] for k in ("patient", "flag", "sample_date")} == {
        "patient": "BER-001", "flag": "csf", "sample_date": "2025-02-24"}

    again = await client.post("/dashboard/flags/acknowledge", data={**form, "note": "again"})
    assert again.status_code == 303 and len(_audits(registry, "flag_acknowledge")) == 1


async def test_acknowledging_another_sites_or_an_unflagged_sample_is_refused(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    token = await csrf_of(client)
    foreign = await client.post("/dashboard/flags/acknowledge", data={
        "csrf_token": token, "patient_id": str(registry.ids["PAD-001"]), "flag": "csf",
        "sample_date": "2025-01-16"})
    assert foreign.status_code == 404 and "PAD-001" not in foreign.text
    for flag, day in (("csf", "2025-02-23"), ("nfl", "2025-02-24"), ("csf", "not a date")):
        refused = await client.post("/dashboard/flags/acknowledge", data={
            "csrf_token": token, "patient_id": str(registry.ids["BER-001"]), "flag": flag,
            "sample_date": day})
        assert refused.status_code == 422, (flag, day)
    without_token = await client.post("/dashboard/flags/acknowledge", data={
        "patient_id": str(registry.ids["BER-001"]), "flag": "csf", "sample_date": "2025-02-24"})
    assert without_token.status_code == 403
    with unit_of_work(registry.engine, read_only=True) as session:
        assert session.scalars(select(FlagAcknowledgement)).all() == []
    assert _audits(registry, "flag_acknowledge") == []


async def test_a_clinician_reviews_several_self_reports_at_once(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    # BER-001's clinic rating of 2025-02-24 totals 42: a self-report of 36 is 6 points off.
    low = _self_reports(registry, "BER-001", D(2025, 2, 24), total=36)[0]
    close = _self_reports(registry, "BER-001", D(2025, 3, 15), total=37)[0]
    other = _self_reports(registry, "BER-002", D(2025, 3, 16))[0]
    await login(client, "clin")
    review = section_html((await client.get("/dashboard")).text, "review-heading")
    assert "Mark selected reviewed" in review and review.count('type="checkbox"') == 3
    rows = _text(review)
    assert "BER-001 2025-02-24 36 42 on 2025-02-24 -6 points: check this rating" in rows
    assert "BER-001 2025-03-15 37 42 on 2025-02-24 -5 " in rows
    assert 'class="badge"' in review and review.count('class="badge"') == 1

    token = await csrf_of(client)
    answer = await client.post("/dashboard/self-reports/review?age=90", data={
        "csrf_token": token, "assessment_id": [str(low), str(close)]})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard?age=90#review-heading"
    review = _section((await client.get("/dashboard")).text, "review-heading")
    assert "Self-reports to review (1)" in review and "BER-002" in review
    with unit_of_work(registry.engine, read_only=True) as session:
        reviewed = {row.id: row.reviewed_by for row in session.scalars(select(AlsfrsAssessment)
                    .where(AlsfrsAssessment.source == AssessmentSource.SELF))}
    assert reviewed == {low: "clin", close: "clin", other: None}
    audits = _audits(registry, "self_report_review")
    assert sorted(a.detail["id"] for a in audits if a.detail) == sorted([low, close])
    assert {a.actor for a in audits} == {"clin"}


async def test_a_bad_id_rolls_the_whole_review_back(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    mine = _self_reports(registry, "BER-001", D(2025, 3, 15))[0]
    foreign = _self_reports(registry, "PAD-001", D(2025, 3, 15))[0]
    await login(client, "clin")
    token = await csrf_of(client)
    answer = await client.post("/dashboard/self-reports/review", data={
        "csrf_token": token, "assessment_id": [str(mine), str(foreign)]})
    assert answer.status_code == 404
    with unit_of_work(registry.engine, read_only=True) as session:
        row = session.get(AlsfrsAssessment, mine)
        assert row is not None and row.reviewed_at is None
    assert _audits(registry, "self_report_review") == []


async def test_a_data_manager_sees_the_queue_but_may_not_review(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    assessment = _self_reports(registry, "BER-001", D(2025, 3, 15))[0]
    await login(client, "datamgr")
    review = section_html((await client.get("/dashboard")).text, "review-heading")
    assert "BER-001" in review and 'type="checkbox"' not in review
    assert "Mark selected reviewed" not in review
    answer = await client.post("/dashboard/self-reports/review", data={
        "csrf_token": await csrf_of(client), "assessment_id": str(assessment)})
    assert answer.status_code == 403
    with unit_of_work(registry.engine, read_only=True) as session:
        row = session.get(AlsfrsAssessment, assessment)
        assert row is not None and row.reviewed_at is None
    assert _audits(registry, "self_report_review") == []


async def test_the_infusion_list_of_a_day_and_of_a_week(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    dashboard = (await client.get("/dashboard")).text
    assert 'href="/dashboard/infusions"' in dashboard.split('id="overdue-heading"')[0]

    today = await client.get("/dashboard/infusions")
    assert today.status_code == 200
    day = _text(today.text)
    assert "Infusion list for Thursday 2025-03-20" in day
    # BER-002 is overdue (dose 3 was due 2025-01-30); BER-001 is due on 2025-03-24.
    assert "2025-01-30 overdue 49 days BER-002 BER #3 (loading dose 3) 2025-01-16" in day
    assert "BER-001" not in day and "PAD-001" not in day

    week = _text((await client.get("/dashboard/infusions?start=2025-03-18&days=7")).text)
    assert "Infusion list for the week 2025-03-18 to 2025-03-24" in week
    assert "overdue 47 days BER-002" in week  # counted to the window's first day
    assert ("2025-03-24 BER-001 BER #5 (maintenance dose 2) 2025-02-24 "
            "WBC 12/µL, protein — mg/dL on 2025-02-24 flagged "
            "pain (grade 1, since 2025-01-14)") in week
    assert week.index("BER-002") < week.index("BER-001") and "PAD-001" not in week

    later = _text((await client.get("/dashboard/infusions?start=2025-03-24&days=1")).text)
    assert "BER-001" in later and "BER-002" in later
    assert (await client.get("/dashboard/infusions?days=3")).status_code == 422
    css = await client.get("/static/dashboard.css")
    assert css.status_code == 200 and "@media print" in css.text
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in today.text
