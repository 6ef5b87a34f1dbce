"""The patient page: latest rows with a link to the full record, and its per-revision cache.

The cache must never show an old page: every change to the record, whoever writes it (here
plain SQL, bypassing the app), raises the patient's revision, which keys the cache.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, update

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AlsfrsAssessment, Measurement, Site
from alsrwe.web.app import create_app
from alsrwe.web.deps import get_today
from alsrwe.web.settings import WebSettings
from tests.web.conftest import TODAY, Registry, login, section_html

pytestmark = pytest.mark.anyio


def _page_cache_size(app: FastAPI) -> int:
    return len(app.state.page_cache)


async def test_a_change_made_outside_the_app_shows_on_the_next_view(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    url = f"/patients/{registry.ids['BER-001']}"
    first = (await client.get(url)).text
    assert "42/48 on 2025-02-24" in first and _page_cache_size(app) == 1
    assert (await client.get(url)).text == first  # served from the cache
    with unit_of_work(registry.engine) as session:
        session.execute(insert(AlsfrsAssessment), [{
            "patient_id": registry.ids["BER-001"], "date": dt.date(2025, 3, 18),
            "source": "clinic", "gastrostomy": False, **{f"q{i}": 3 for i in range(1, 13)}}])
    assert "36/48 on 2025-03-18" in (await client.get(url)).text
    with unit_of_work(registry.engine) as session:  # a site renamed: not a patient change
        session.execute(update(Site).where(Site.code == "BER").values(code="BLN"))
    assert "BLN" in (await client.get(url)).text


async def test_the_cached_page_equals_a_page_rendered_without_the_cache(
    client: httpx.AsyncClient, registry: Registry, settings: WebSettings
) -> None:
    uncached_app = create_app(settings.model_copy(update={"page_cache_entries": 0}),
                              registry.engine)
    uncached_app.dependency_overrides[get_today] = lambda: TODAY
    transport = httpx.ASGITransport(app=uncached_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await login(client, "clin")
        await login(other, "clin")
        for pseudonym in ("BER-001", "BER-002", "BER-C01"):
            url = f"/patients/{registry.ids[pseudonym]}"
            await client.get(url)
            cached = (await client.get(url)).text
            fresh = (await other.get(url)).text
            assert _without_tokens(cached) == _without_tokens(fresh)
        assert len(uncached_app.state.page_cache) == 0


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


async def test_the_page_shows_the_latest_ten_rows_and_the_full_record_every_row(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    patient = registry.ids["BER-001"]
    with unit_of_work(registry.engine) as session:
        session.execute(insert(Measurement), [
            {"patient_id": patient, "date": dt.date(2024, 1, day), "value": 30.0 + day,
             "kind": MeasurementKind.NFL_SERUM, "unit": "pg/mL"} for day in range(1, 13)])
    await login(client, "clin")
    page = (await client.get(f"/patients/{patient}")).text
    section = section_html(page, "measurements-heading")
    assert "Latest 10 of 15 measurements" in section
    assert f'href="/patients/{patient}/record"' in section
    assert section.count("<tr>") == 1 + 10  # the header row and the ten newest
    assert "2025-02-24" in section and "2024-01-01" not in section
    full = (await client.get(f"/patients/{patient}/record")).text
    full_section = section_html(full, "measurements-heading")
    assert full_section.count("<tr>") == 1 + 15 and "Latest" not in full_section


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_on_sqlite_pages_are_read_while_a_writer_holds_the_lock(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    assert (await client.get("/dashboard")).status_code == 200
    writer = sqlite3.connect(registry.engine.url.database or "", timeout=0.1,
                             isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # e.g. an import in progress
        for url in ("/dashboard", "/patients", f"/patients/{registry.ids['BER-001']}",
                    "/api/v1/patients"):
            assert (await client.get(url)).status_code == 200, url
    finally:
        writer.execute("ROLLBACK")
        writer.close()
