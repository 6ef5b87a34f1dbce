"""A clinician reviews a patient's self-reported ALSFRS-R: dashboard, patient page, API."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import insert, select

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AlsfrsAssessment, AuditEntry
from tests.web.conftest import Registry, csrf_of, form_token, login, section_html

pytestmark = pytest.mark.anyio


def _add_self_report(registry: Registry, pseudonym: str = "BER-001") -> int:
    with unit_of_work(registry.engine) as session:
        return session.execute(
            insert(AlsfrsAssessment).returning(AlsfrsAssessment.id),
            [{"patient_id": registry.ids[pseudonym], "date": dt.date(2025, 3, 15),
              "source": AssessmentSource.SELF, "gastrostomy": False,
              **{f"q{i}": 3 for i in range(1, 13)}}],
        ).scalar_one()


async def test_a_self_report_is_listed_until_a_clinician_marks_it_reviewed(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    assessment = _add_self_report(registry)
    patient = registry.ids["BER-001"]
    await login(client, "clin")
    dashboard = (await client.get("/dashboard")).text
    assert "Self-reports to review (1)" in dashboard
    assert "BER-001" in section_html(dashboard, "review-heading")
    page = (await client.get(f"/patients/{patient}")).text
    review = section_html(page, "review-heading")
    assert "2025-03-15 (total 36)" in review and f'value="{assessment}"' in review
    assert "not reviewed" in section_html(page, "assessments-heading")

    answer = await client.post(f"/patients/{patient}/self-reports/review",
                               data={"csrf_token": form_token(review),
                                     "assessment_id": str(assessment)})
    assert answer.status_code == 303
    page = (await client.get(answer.headers["location"])).text
    assert "Saved: self-report marked reviewed." in page
    assert 'id="review-heading"' not in page
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"reviewed by clin on {today}" in section_html(page, "assessments-heading")
    assert "Self-reports to review (0)" in (await client.get("/dashboard")).text
    with unit_of_work(registry.engine) as session:
        audit = session.scalars(select(AuditEntry)
                                .where(AuditEntry.action == "self_report_review")).one()
        assert audit.actor == "clin" and audit.detail == {
            "patient": "BER-001", "id": assessment, "date": "2025-03-15"}


async def test_the_review_form_needs_the_csrf_token_and_the_patients_own_rating(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    assessment = _add_self_report(registry, "BER-002")
    await login(client, "clin")
    url = f"/patients/{registry.ids['BER-001']}/self-reports/review"
    refused = await client.post(url, data={"assessment_id": str(assessment)})
    assert refused.status_code == 403
    token = await csrf_of(client)
    for value in (str(assessment), "not-a-number", ""):  # BER-002's rating on BER-001's page
        answer = await client.post(url, data={"csrf_token": token, "assessment_id": value})
        assert answer.status_code == 404, value
    with unit_of_work(registry.engine) as session:
        row = session.get(AlsfrsAssessment, assessment)
        assert row is not None and row.reviewed_at is None


async def test_the_api_reviews_once_and_refuses_a_clinic_rating(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    assessment = _add_self_report(registry)
    await login(client, "clin")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    ratings = (await client.get(f"/api/v1/patients/{registry.ids['BER-001']}/alsfrs")).json()
    listed = {r["id"]: r for r in ratings["data"]}
    assert listed[assessment]["source"] == "self" and listed[assessment]["reviewed_at"] is None
    clinic = next(r["id"] for r in ratings["data"] if r["source"] == "clinic")

    first = await client.post(f"/api/v1/alsfrs/{assessment}/review", headers=headers)
    assert first.status_code == 200 and first.json()["reviewed_by"] == "clin"
    again = await client.post(f"/api/v1/alsfrs/{assessment}/review", headers=headers)
    assert again.json()["reviewed_by"] == "clin"
    assert again.json()["reviewed_at"] == first.json()["reviewed_at"]
    assert re.match(r"\d{4}-\d\d-\d\dT", first.json()["reviewed_at"])

    refused = await client.post(f"/api/v1/alsfrs/{clinic}/review", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "assessment_id"]
    client.cookies.clear()
    await login(client, "datamgr")  # only clinicians review self-reports (by default)
    headers = {"X-CSRF-Token": await csrf_of(client)}
    forbidden = await client.post(f"/api/v1/alsfrs/{assessment}/review", headers=headers)
    assert forbidden.status_code == 403
