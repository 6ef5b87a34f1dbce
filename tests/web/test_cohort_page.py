"""The cohort page: scope by role, aggregate only, refusals shown, computed once and cached."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from alsrwe.analytics.report import ANALYSES
from alsrwe.interop.tidy_csv import import_tidy, write_frames
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AlsfrsAssessment
from alsrwe.synth import CohortParams, generate_cohort
from alsrwe.web.cohort_view import CohortCache, CohortKey, CohortView, compute_view
from tests.web.conftest import Registry, login

pytestmark = pytest.mark.anyio

PSEUDONYM = re.compile(r"\b[A-Z]{3}-(?:C?\d{2,})\b")


async def test_clinicians_see_their_sites_analyses_and_refusals(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "clin")
    page = (await client.get("/cohort?wait=30")).text
    assert "Cohort: BER" in page and "Computed in" in page
    assert "Table 1" in page and "patients with ALS" in page
    # Two treated patients at BER: the progression analysis refuses, and says why.
    assert "Not estimated:" in page
    assert "PAD" not in page


async def test_analysts_see_aggregates_of_every_site_without_pseudonyms(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "analyst")
    page = (await client.get("/cohort?wait=30")).text
    assert "Cohort: all sites" in page and "Computed in" in page
    assert "&lt;5" in page  # suppressed small cells in Table 1 and the counts
    assert PSEUDONYM.search(page) is None
    one_site = (await client.get("/cohort?site=PAD&wait=30")).text
    assert "Cohort: PAD" in one_site and PSEUDONYM.search(one_site) is None


async def test_the_page_says_computing_without_a_meta_refresh_until_done(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    release = threading.Event()

    def slow(url: str, key: CohortKey) -> CohortView:
        release.wait(30)
        return CohortView(key, "<p>t1</p>", [], 0.5, dt.datetime.now(dt.UTC))

    app.state.cohort_cache = CohortCache(compute=slow)
    await login(client, "admin")
    waiting = (await client.get("/cohort?wait=0")).text
    assert "Computing…" in waiting and "http-equiv" not in waiting
    assert '<a href="/cohort">Refresh when ready</a>' in waiting  # without JavaScript
    assert 'data-status-url="/cohort/status"' in waiting and "/static/cohort.js" in waiting
    assert "<progress" in waiting
    status = await client.get("/cohort/status")
    assert status.json()["ready"] is False and status.json()["elapsed_seconds"] >= 0
    assert status.headers["cache-control"] == "no-store"
    release.set()
    done = (await client.get("/cohort?wait=30")).text
    assert "Computed in 0.5 s" in done and "http-equiv" not in done
    assert "cohort.js" not in done and "Computing…" not in done
    assert app.state.plotly_src not in waiting + done  # its figures are SVG: no Plotly.js
    assert (await client.get("/cohort/status")).json() == {"ready": True,
                                                          "elapsed_seconds": None}


async def test_the_status_of_one_site_keeps_to_the_users_sites(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    release = threading.Event()

    def slow(url: str, key: CohortKey) -> CohortView:
        release.wait(30)
        return CohortView(key, "", [], 0.1, dt.datetime.now(dt.UTC))

    app.state.cohort_cache = CohortCache(compute=slow)
    await login(client, "clin")
    page = (await client.get("/cohort?site=BER&wait=0")).text
    release.set()
    assert 'data-status-url="/cohort/status?site=BER"' in page
    assert '<a href="/cohort?site=BER">Refresh when ready</a>' in page
    assert (await client.get("/cohort/status?site=PAD")).status_code == 404
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as patient:
        await login(patient, "selfpat")
        assert (await patient.get("/cohort/status")).status_code == 403


async def test_views_are_cached_per_data_version(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry
) -> None:
    calls: list[CohortKey] = []

    def counted(url: str, key: CohortKey) -> CohortView:
        calls.append(key)
        return CohortView(key, "", [], 0.1, dt.datetime.now(dt.UTC))

    app.state.cohort_cache = CohortCache(compute=counted)
    await login(client, "clin")
    for _ in range(3):
        assert (await client.get("/cohort?wait=5")).status_code == 200
    assert len(calls) == 1 and calls[0].sites == ("BER",) and calls[0].suppress_below == 0
    with unit_of_work(registry.engine) as session:
        session.add(AlsfrsAssessment(patient_id=registry.ids["BER-002"], date=dt.date(2025, 3, 1),
                                     gastrostomy=False, source="clinic",
                                     **{f"q{i}": 3 for i in range(1, 13)}))
    await client.get("/cohort?wait=5")
    assert len(calls) == 2 and calls[1].data_version != calls[0].data_version


def test_an_expired_view_is_shown_while_it_is_recomputed() -> None:
    calls: list[int] = []
    release = threading.Event()

    def counted(url: str, key: CohortKey) -> CohortView:
        calls.append(1)
        if len(calls) > 1:
            release.wait(30)
        return CohortView(key, "", [], len(calls), dt.datetime.now(dt.UTC))

    cache = CohortCache(ttl_seconds=0, compute=counted)
    key = CohortKey(None, 0, "v1")
    first = cache.get("sqlite://", key, 5)
    assert isinstance(first, CohortView) and first.seconds == 1
    assert cache.get("sqlite://", key, 5) is first  # expired: shown at once, recomputed
    release.set()
    deadline = time.monotonic() + 10
    while (fresh := cache.get("sqlite://", key, 5)) is first and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(fresh, CohortView) and fresh.seconds >= 2 and len(calls) >= 2


def test_views_of_older_data_are_never_shown_and_are_forgotten() -> None:
    release = threading.Event()

    def compute(url: str, key: CohortKey) -> CohortView:
        if key.data_version == "v2":
            release.wait(30)
        return CohortView(key, "", [], 0.1, dt.datetime.now(dt.UTC))

    cache = CohortCache(ttl_seconds=0, compute=compute)
    assert isinstance(cache.get("sqlite://", CohortKey(None, 0, "v1"), 5), CohortView)
    assert isinstance(cache.get("sqlite://", CohortKey(None, 0, "v2"), 0), float)  # computing
    assert list(cache._entries) == [CohortKey(None, 0, "v2")]
    release.set()


def test_a_synthetic_registry_gets_every_analysis_with_figures(
    engine: Engine, tmp_path: Path
) -> None:
    cohort = generate_cohort(CohortParams(seed=7, n_patients=80, n_carriers=8,
                                          as_of=dt.date(2026, 6, 30)))
    folder = tmp_path / "tidy"  # only the tidy files (the SQLite registry may be in tmp_path)
    write_frames(cohort.tables(), folder)
    import_tidy(engine, folder, today=dt.date(2026, 7, 1))
    url = engine.url.render_as_string(hide_password=False)
    view = compute_view(url, CohortKey(None, 5, "v"))
    assert view.refused == "" and "patients with ALS" in view.table1
    assert [f.title for f in view.findings] == [a.title for a in ANALYSES]  # the report's list
    by_title = {f.title: f for f in view.findings}
    progression = by_title["Progression before and on treatment"]
    assert progression.refused == "" and "% slower than expected" in progression.headline
    assert "CI" in progression.headline
    assert all(f.startswith("<svg") for f in progression.figures) and progression.figures
    survival = by_title["Survival without death, tracheostomy or permanent ventilation"]
    assert "median" in survival.headline and survival.figures
    assert "patient-years" in by_title["Safety"].headline
    one_site = compute_view(url, CohortKey(("BER",), 0, "v"))
    assert "(sites BER)" not in one_site.table1  # the source is not shown as a table row
    text = view.table1 + "".join(t for f in view.findings for _, t in f.tables)
    assert PSEUDONYM.search(text) is None
    assert "per patient" not in [caption for f in view.findings for caption, _ in f.tables]
    assert all("nan" not in f.headline.lower() for f in view.findings)
