"""No lost updates over HTTP: versions as ETags, 428 without one, 409 naming the change,
forms that carry the version and show both values; every view of a record is audited."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AuditEntry, Measurement
from tests.web.conftest import Registry
from tests.web.test_api_writes import headers
from tests.web.test_clinic_pages import post_form

pytestmark = pytest.mark.anyio


def _measurement(registry: Registry, pseudonym: str = "BER-001") -> int:
    with unit_of_work(registry.engine) as session:
        found = session.scalars(select(Measurement.id).where(
            Measurement.patient_id == registry.ids[pseudonym])).first()
    assert found is not None
    return found


async def test_a_change_must_state_the_version_it_was_made_on(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    record = _measurement(registry)
    url = f"/api/v1/measurements/{record}"
    blind = await client.patch(url, json={"lab": "Lab A"}, headers=h)
    assert blind.status_code == 428 and "If-Match" in blind.json()["detail"]
    first = await client.patch(url, json={"lab": "Lab A"}, headers={**h, "If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    assert first.json()["version"] == 2
    stale = await client.patch(url, json={"lab": "Lab B", "version": 1}, headers=h)
    assert stale.status_code == 409
    body = stale.json()
    assert (body["current_version"], body["current"]["lab"]) == (2, "Lab A")
    assert body["changed_by"] == "clin" and body["changed_at"]
    assert stale.headers["ETag"] == '"2"'
    bogus = await client.patch(url, json={"lab": "Lab B"}, headers={**h, "If-Match": "nope"})
    assert bogus.status_code == 422
    disagree = await client.patch(url, json={"lab": "Lab B", "version": 2},
                                  headers={**h, "If-Match": '"3"'})
    assert disagree.status_code == 422
    second = await client.patch(url, json={"lab": "Lab B"}, headers={**h, "If-Match": 'W/"2"'})
    assert second.status_code == 200 and second.json()["lab"] == "Lab B"


async def test_a_patients_etag_is_its_version(client: httpx.AsyncClient,
                                              registry: Registry) -> None:
    h = await headers(client)
    url = f"/api/v1/patients/{registry.ids['BER-001']}"
    read = await client.get(url)
    assert read.headers["ETag"] == f'"{read.json()["version"]}"'
    changed = await client.patch(url, json={"diagnosis_date": "2022-10-01"},
                                 headers={**h, "If-Match": read.headers["ETag"]})
    assert changed.status_code == 200, changed.text
    again = await client.patch(url, json={"diagnosis_date": "2022-10-02"},
                               headers={**h, "If-Match": read.headers["ETag"]})
    assert again.status_code == 409


async def test_the_form_shows_a_conflict_with_both_values(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    patient, record = registry.ids["BER-001"], _measurement(registry)
    form = await client.get(f"/patients/{patient}/measurements/{record}/edit")
    assert re.search(r'name="version" value="1"', form.text)
    # A colleague saves first, through the API.
    assert (await client.patch(f"/api/v1/measurements/{record}", json={"lab": "Lab C"},
                               headers={**h, "If-Match": '"1"'})).status_code == 200
    stored = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form.text))
    stored.update(re.findall(r'<select[^>]*name="(\w+)".*?<option value="([^"]*)" selected',
                             form.text, re.S))
    page = await post_form(client, f"/patients/{patient}/measurements/{record}/edit", {
        **stored, "lab": "Lab D", "correction_reason": "typo", "version": "1"})
    assert page.status_code == 409
    assert "changed by clin" in page.text
    assert "lab: now Lab C, yours Lab D" in page.text
    assert 'name="version" value="2"' in page.text
    with unit_of_work(registry.engine) as session:
        assert session.get(Measurement, record).lab == "Lab C"  # type: ignore[union-attr]


async def test_views_of_a_patients_record_are_audited(
    client: httpx.AsyncClient, registry: Registry, app: FastAPI
) -> None:
    await headers(client)
    patient = registry.ids["BER-001"]
    for path in (f"/patients/{patient}", f"/patients/{patient}/record",
                 f"/patients/{patient}/summary", f"/patients/{patient}/history",
                 f"/patients/{patient}/as-of", f"/api/v1/patients/{patient}",
                 f"/api/v1/patients/{patient}/measurements"):
        assert (await client.get(path)).status_code == 200, path
    assert (await client.get(f"/patients/{registry.ids['PAD-001']}")).status_code == 404
    app.state.view_log.flush()
    with unit_of_work(registry.engine) as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.action == "view")
                                .order_by(AuditEntry.id)).all()
    assert [v.entity for v in views] == ["patient_page", "patient_record", "patient_summary",
                                         "patient_history", "patient_as_of", "api_patient",
                                         "measurements"]
    assert {v.patient_id for v in views} == {patient}
    assert {v.actor for v in views} == {"clin"}
