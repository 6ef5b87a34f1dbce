"""A patient's self-report links: the clinic lists them and revokes an open one.

A revoked link is closed for good (its own page to the patient, its POST refused, audited);
another site's patient's links are not found; a deceased patient's old links stay listed and
revocable, though no new one is issued.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from alsrwe.domain.errors import InvalidInput, NotFound
from alsrwe.domain.events import MilestoneKind
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AuditEntry, Milestone, Patient, SelfReportLink
from alsrwe.store.reads.self_reports import LinkState, link_state, links_for
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.self_reports import revoke_link, spend_link
from tests.web.conftest import Registry, csrf_of, form_token, login
from tests.web.test_self_report import answers, issue, self_reports

pytestmark = pytest.mark.anyio


@pytest.fixture
async def phone(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The patient's browser: never logged in."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def link_ids(registry: Registry) -> list[int]:
    """The ids of every link, in the order they were issued."""
    with unit_of_work(registry.engine) as session:
        return list(session.scalars(select(SelfReportLink.id).order_by(SelfReportLink.id)))


def audits(registry: Registry, action: str) -> list[tuple[str, dict[str, object] | None]]:
    with unit_of_work(registry.engine) as session:
        return [(a.actor, a.detail) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def rows(html: str) -> list[list[str]]:
    """The cells' words of each row of the links table."""
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split())
             for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def revoke_path(registry: Registry, link_id: int, pseudonym: str = "BER-001") -> str:
    return f"/patients/{registry.ids[pseudonym]}/self-report-links/{link_id}/revoke"


def list_path(registry: Registry, pseudonym: str = "BER-001") -> str:
    return f"/patients/{registry.ids[pseudonym]}/self-report-links"


async def test_revoking_closes_the_link_audited(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    token = form_token((await phone.get(path)).text)
    [link_id] = link_ids(registry)
    response = await client.post(revoke_path(registry, link_id),
                                 data={"csrf_token": await csrf_of(client)})
    assert response.status_code == 303
    assert response.headers["location"] == f"{list_path(registry)}?revoked={link_id}#revoked"
    assert audits(registry, "self_report_link_revoke") == [
        ("clin", {"patient": "BER-001", "id": link_id})]
    listed = (await client.get(response.headers["location"])).text
    assert f"Link #{link_id} was revoked" in listed
    page = await phone.get(path)
    assert page.status_code == 410 and "cancelled by your clinic" in page.text
    assert "revoked" in page.text and 'type="radio"' not in page.text
    sent = await phone.post(path, data={**answers(), "csrf_token": token})
    assert sent.status_code == 410 and "cancelled by your clinic" in sent.text
    assert self_reports(registry) == 0
    again = await client.post(revoke_path(registry, link_id),
                              data={"csrf_token": await csrf_of(client)})
    assert again.status_code == 303  # nothing changes: the first revocation stays
    assert len(audits(registry, "self_report_link_revoke")) == 1


async def test_revoking_needs_the_csrf_token(client: httpx.AsyncClient,
                                            registry: Registry) -> None:
    await login(client, "clin")
    await issue(client, registry)
    [link_id] = link_ids(registry)
    assert (await client.post(revoke_path(registry, link_id))).status_code == 403
    with unit_of_work(registry.engine) as session:
        assert session.scalars(select(SelfReportLink)).one().revoked_at is None


async def test_a_used_link_cannot_be_revoked(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    token = form_token((await phone.get(path)).text)
    assert (await phone.post(path, data={**answers(), "csrf_token": token})).status_code == 200
    [link_id] = link_ids(registry)
    refused = await client.post(revoke_path(registry, link_id),
                                data={"csrf_token": await csrf_of(client)})
    assert refused.status_code == 422
    assert f"link {link_id} was already used on" in refused.text
    assert "a used link cannot be revoked" in refused.text
    assert audits(registry, "self_report_link_revoke") == []
    assert (await phone.get(path)).status_code == 410  # still "used", not "revoked"
    assert "already been used" in (await phone.get(path)).text


async def test_the_list_shows_each_link_and_its_state(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    used = await issue(client, registry)
    for _ in range(3):
        await issue(client, registry)
    used_id, expired_id, revoked_id, open_id = link_ids(registry)
    token = form_token((await phone.get(used)).text)
    await phone.post(used, data={**answers(), "csrf_token": token})
    with unit_of_work(registry.engine) as session:
        session.execute(update(SelfReportLink).where(SelfReportLink.id == expired_id).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    await client.post(revoke_path(registry, revoked_id), data={"csrf_token": await csrf_of(client)})
    page = await client.get(list_path(registry))
    assert page.status_code == 200
    table = rows(page.text)
    assert [row[0] for row in table] == [f"#{i}" for i in (open_id, revoked_id, expired_id,
                                                             used_id)]
    assert all(row[2] == "clin" for row in table)  # issued by
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row[1]) for row in table)
    states = [row[4] for row in table]
    assert states[0] == "open" and states[2] == "expired"
    assert re.fullmatch(r"revoked \S+ \S+ by clin", states[1])
    assert states[3].startswith("used ")
    assert [row[5] for row in table] == [f"Revoke link #{open_id}", "none", "none", "none"]
    assert page.text.count("/revoke\"") == 1
    assert f'action="/patients/{registry.ids["BER-001"]}/self-report-links"' in page.text


async def test_the_list_of_a_patient_without_links(client: httpx.AsyncClient,
                                                   registry: Registry) -> None:
    await login(client, "clin")
    page = await client.get(list_path(registry, "BER-002"))
    assert page.status_code == 200
    assert "No self-report link has been issued to this patient." in page.text


async def test_another_sites_links_are_not_found(
    client: httpx.AsyncClient, registry: Registry, app: FastAPI
) -> None:
    await login(client, "clin")
    await issue(client, registry)
    [link_id] = link_ids(registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as padova:
        await login(padova, "padclin")
        assert (await padova.get(list_path(registry))).status_code == 404
        token = await csrf_of(padova)
        revoke = await padova.post(revoke_path(registry, link_id), data={"csrf_token": token})
        assert revoke.status_code == 404
        # Nor through a patient of its own site: the link is not that patient's.
        own = await padova.post(revoke_path(registry, link_id, "PAD-001"),
                                data={"csrf_token": token})
        assert own.status_code == 404
    # Nor through another patient of the same site.
    other = await client.post(revoke_path(registry, link_id, "BER-002"),
                              data={"csrf_token": await csrf_of(client)})
    assert other.status_code == 404
    with unit_of_work(registry.engine) as session:
        assert session.scalars(select(SelfReportLink)).one().revoked_at is None
    assert audits(registry, "self_report_link_revoke") == []


async def test_roles_without_record_access_see_no_links(client: httpx.AsyncClient,
                                                        registry: Registry) -> None:
    await login(client, "analyst")
    assert (await client.get(list_path(registry))).status_code == 403


async def test_a_deceased_patients_old_links_are_listed_and_revocable(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    await issue(client, registry)
    [link_id] = link_ids(registry)
    with unit_of_work(registry.engine) as session:
        session.add(Milestone(patient_id=registry.ids["BER-001"], date=dt.date(2025, 3, 19),
                              kind=MilestoneKind.DEATH))
    refused = await client.post(list_path(registry), data={"csrf_token": await csrf_of(client)})
    assert refused.status_code == 422 and "no self-report link is issued" in refused.text
    page = await client.get(list_path(registry))
    assert page.status_code == 200 and [row[4] for row in rows(page.text)] == ["open"]
    revoked = await client.post(revoke_path(registry, link_id),
                                data={"csrf_token": await csrf_of(client)})
    assert revoked.status_code == 303
    assert [row[4] for row in rows((await client.get(list_path(registry))).text)][0].startswith(
        "revoked")


def test_the_store_refuses_a_revoked_or_foreign_link(registry: Registry) -> None:
    """``spend_link`` refuses a revoked link even if a page had found it open a moment ago."""
    now = dt.datetime.now(dt.UTC)
    with unit_of_work(registry.engine) as session:
        link = SelfReportLink(token_hash="a" * 64, patient_id=registry.ids["BER-001"],
                              created_at=now, expires_at=now + dt.timedelta(days=7))
        session.add(link)
        session.flush()
        patient = session.get(Patient, registry.ids["BER-001"])
        assert patient is not None
        berlin = SiteScope.only([patient.site_id])
        with pytest.raises(NotFound):
            revoke_link(session, berlin, registry.ids["BER-002"], link.id, "clin", now)
        with pytest.raises(NotFound):
            revoke_link(session, SiteScope.only([]), registry.ids["BER-001"], link.id,
                        "clin", now)
        revoke_link(session, berlin, registry.ids["BER-001"], link.id, "clin", now)
        assert link_state(link, now) is LinkState.REVOKED
        assert not spend_link(session, link, now)
        assert link.used_at is None
        assert [(i.id, i.state_at(now), i.revoked_by) for i in links_for(
            session, registry.ids["BER-001"])] == [(link.id, LinkState.REVOKED, "clin")]
        used = SelfReportLink(token_hash="b" * 64, patient_id=registry.ids["BER-001"],
                              created_at=now, expires_at=now + dt.timedelta(days=7), used_at=now)
        session.add(used)
        session.flush()
        with pytest.raises(InvalidInput, match="a used link cannot be revoked"):
            revoke_link(session, berlin, registry.ids["BER-001"], used.id, "clin", now)
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "self_report_link_revoke")) == 1

