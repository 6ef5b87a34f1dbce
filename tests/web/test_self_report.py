"""Patient self-report: a single-use, time-limited link, no login, stored with source "self"."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AlsfrsAssessment, SelfReportLink
from alsrwe.web.auth import LOGIN_CSRF_COOKIE
from tests.web.conftest import TODAY, Registry, csrf_of, form_token, login

pytestmark = pytest.mark.anyio


@pytest.fixture
async def phone(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The patient's browser: never logged in."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def answers(**changes: str) -> dict[str, str]:
    chosen = {f"q{n}": "3" for n in range(1, 13) if n != 5} | {"q5a": "2"}
    return chosen | changes


def self_reports(registry: Registry) -> int:
    with unit_of_work(registry.engine) as session:
        return session.scalar(select(func.count()).select_from(AlsfrsAssessment).where(
            AlsfrsAssessment.source == AssessmentSource.SELF)) or 0


async def issue(client: httpx.AsyncClient, registry: Registry, pseudonym: str = "BER-001") -> str:
    """Issue a link as the logged-in clinician; returns its path."""
    response = await client.post(f"/patients/{registry.ids[pseudonym]}/self-report-links",
                                 data={"csrf_token": await csrf_of(client)})
    assert response.status_code == 200
    found = re.search(r"http://testserver(/self-report/[A-Za-z0-9_-]+)", response.text)
    assert found
    return found.group(1)


async def test_a_patient_completes_the_questionnaire_once(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    page = await phone.get(path)
    assert page.status_code == 200
    assert phone.cookies.get(LOGIN_CSRF_COOKIE)
    assert page.text.count("<fieldset") == 13 and "Normal speech" in page.text
    assert '<label class="check"><input type="checkbox" id="gastrostomy"' in page.text
    assert "BER-001" not in page.text
    done = await phone.post(path, data={**answers(), "csrf_token": form_token(page.text)})
    assert done.status_code == 200 and "Thank you" in done.text
    with unit_of_work(registry.engine) as session:
        row = session.scalars(select(AlsfrsAssessment).where(
            AlsfrsAssessment.source == AssessmentSource.SELF)).one()
        assert (row.patient_id, row.date, row.q1, row.q5, row.gastrostomy) == (
            registry.ids["BER-001"], TODAY, 3, 2, False)
        link = session.scalars(select(SelfReportLink)).one()
        assert link.used_at is not None
    again = await phone.get(path)
    assert again.status_code == 410 and "already been used" in again.text
    resent = await phone.post(path, data={**answers(), "csrf_token": form_token(page.text)})
    assert resent.status_code == 410
    assert self_reports(registry) == 1
    patient_page = (await client.get(f"/patients/{registry.ids['BER-001']}")).text
    assert "<strong>self-report</strong>" in patient_page


async def test_an_expired_link_says_so(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    with unit_of_work(registry.engine) as session:
        link = session.scalars(select(SelfReportLink)).one()
        lifetime = link.expires_at - link.created_at
        session.execute(update(SelfReportLink).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert lifetime == dt.timedelta(days=7)
    page = await phone.get(path)
    assert page.status_code == 410 and "expired" in page.text
    assert 'type="radio"' not in page.text


async def test_an_unknown_link_is_404(phone: httpx.AsyncClient) -> None:
    page = await phone.get("/self-report/" + "x" * 43)
    assert page.status_code == 404 and "not valid" in page.text


async def test_invalid_answers_are_shown_and_the_link_stays_open(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    token = form_token((await phone.get(path)).text)
    data = answers(q5b="1")
    del data["q9"]
    response = await phone.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 422
    assert 'id="q9-error"' in response.text and 'aria-describedby="q9-error"' in response.text
    assert 'id="q5b-error"' in response.text
    assert 'name="q1" value="3" checked' in response.text
    assert self_reports(registry) == 0
    fixed = answers()
    ok = await phone.post(path, data={**fixed, "csrf_token": form_token(response.text)})
    assert ok.status_code == 200 and self_reports(registry) == 1


async def test_csrf_is_required_without_a_login(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    await phone.get(path)
    assert (await phone.post(path, data=answers())).status_code == 403
    forged = await phone.post(path, data={**answers(), "csrf_token": "forged"})
    assert forged.status_code == 403
    assert self_reports(registry) == 0
    with unit_of_work(registry.engine) as session:
        assert session.scalars(select(SelfReportLink)).one().used_at is None


async def test_issuing_needs_csrf_and_own_site(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    own = f"/patients/{registry.ids['BER-001']}/self-report-links"
    foreign = f"/patients/{registry.ids['PAD-001']}/self-report-links"
    assert (await client.post(own)).status_code == 403
    token = await csrf_of(client)
    assert (await client.post(foreign, data={"csrf_token": token})).status_code == 404
    with unit_of_work(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(SelfReportLink)) == 0


async def test_only_the_token_hash_is_stored(client: httpx.AsyncClient,
                                            registry: Registry) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    token = path.rsplit("/", 1)[1]
    with unit_of_work(registry.engine) as session:
        stored = session.scalars(select(SelfReportLink)).one().token_hash
    assert token not in stored and len(stored) == 64
