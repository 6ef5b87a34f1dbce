"""The read-only record API: lists, filters, paging, scoping, roles and aggregate counts."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from alsrwe.domain.alsfrs import AlsfrsR, kings_stage, mitos_stage
from alsrwe.domain.events import MilestoneKind
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Medication, Milestone
from tests.web.conftest import Registry, login

pytestmark = pytest.mark.anyio

LATEST_ITEMS = (3, 4, 4, 3, 4, 4, 4, 2, 2, 4, 4, 4)  # BER-001 on 2025-02-24 (conftest)
ENTITIES = ("alsfrs", "measurements", "administrations", "adverse-events", "milestones",
            "medications")


def _url(registry: Registry, entity: str, pseudonym: str = "BER-001") -> str:
    return f"/api/v1/patients/{registry.ids[pseudonym]}/{entity}"


async def test_alsfrs_ratings_are_scored_by_the_domain(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    body = (await client.get(_url(registry, "alsfrs"))).json()
    assert body["count"] == 2 and body["limit"] == 25 and body["offset"] == 0
    latest = body["data"][-1]
    rating = AlsfrsR.from_items(LATEST_ITEMS, gastrostomy=False)
    assert latest["date"] == "2025-02-24" and latest["items"] == list(LATEST_ITEMS)
    assert latest["total"] == rating.total
    assert (latest["bulbar"], latest["fine_motor"], latest["gross_motor"],
            latest["respiratory"]) == (rating.bulbar, rating.fine_motor, rating.gross_motor,
                                       rating.respiratory)
    assert latest["kings_stage"] == kings_stage(rating)
    assert latest["mitos_stage"] == mitos_stage(rating)
    assert (await client.get(_url(registry, "alsfrs") + "?source=self")).json()[
        "count"] == 0


async def test_paging_keeps_the_total(client: httpx.AsyncClient, registry: Registry) -> None:
    await login(client, "clin")
    url = _url(registry, "administrations")
    first = (await client.get(url + "?limit=3")).json()
    rest = (await client.get(url + "?limit=3&offset=3")).json()
    assert first["count"] == rest["count"] == 4
    assert [d["date"] for d in first["data"]] == ["2024-12-30", "2025-01-13", "2025-01-27"]
    assert [d["date"] for d in rest["data"]] == ["2025-02-24"]
    assert (await client.get(url + "?limit=0")).status_code == 422
    assert (await client.get(url + "?limit=201")).status_code == 422


async def test_measurement_filters_by_kind_and_dates(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    url = _url(registry, "measurements")
    kinds = (await client.get(url + "?kind=csf_wbc")).json()
    assert [(m["kind"], m["value"], m["unit"]) for m in kinds["data"]] == [("csf_wbc", 12, "/uL")]
    assert (await client.get(url + "?start=2025-02-24&end=2025-02-24")).json()["count"] == 3
    assert (await client.get(url + "?end=2025-02-23")).json()["count"] == 0
    assert (await client.get(url + "?start=2025-03-01&end=2025-02-01")).status_code == 422
    assert (await client.get(url + "?kind=blood_sugar")).status_code == 422
    carrier = (await client.get(_url(registry, "measurements", "BER-C01") + "?start=2025-01-01"))
    assert [m["value"] for m in carrier.json()["data"]] == [50]


async def test_administration_filters_by_drug_and_status(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "datamgr")
    url = _url(registry, "administrations")
    given = (await client.get(url + "?drug=tofersen&status=given")).json()
    assert given["count"] == 4 and all(d["dose_mg"] == 100 for d in given["data"])
    assert (await client.get(url + "?status=missed")).json()["count"] == 0
    assert (await client.get(url + "?drug=edaravone_iv")).json()["count"] == 0


async def test_adverse_events_milestones_and_medications(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    patient = registry.ids["BER-001"]
    with unit_of_work(registry.engine) as session:
        session.add_all([
            Milestone(patient_id=patient, date=dt.date(2025, 2, 1), kind=MilestoneKind.GASTROSTOMY),
            Medication(patient_id=patient, drug="riluzole", start_date=dt.date(2022, 10, 1)),
        ])
    await login(client, "clin")
    events = (await client.get(_url(registry, "adverse-events"))).json()
    assert [(e["onset_date"], e["term"], e["outcome"]) for e in events["data"]] == [
        ("2024-12-31", "fatigue", "recovered"), ("2025-01-14", "pain", "recovering")]
    assert (await client.get(_url(registry, "adverse-events") + "?start=2025-01-01")).json()[
        "count"] == 1
    milestones = (await client.get(_url(registry, "milestones"))).json()["data"]
    assert [(m["date"], m["kind"]) for m in milestones] == [("2025-02-01", "gastrostomy")]
    courses = (await client.get(_url(registry, "medications"))).json()["data"]
    assert [(c["drug"], c["start_date"], c["stop_date"]) for c in courses] == [
        ("riluzole", "2022-10-01", None)]


@pytest.mark.parametrize("entity", ENTITIES)
async def test_another_site_or_a_missing_patient_is_the_same_404(
    client: httpx.AsyncClient, registry: Registry, entity: str
) -> None:
    await login(client, "clin")
    foreign = await client.get(_url(registry, entity, "PAD-001"))
    missing = await client.get(f"/api/v1/patients/99999999/{entity}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"detail": "no such patient"}


async def test_admin_reads_every_site(client: httpx.AsyncClient, registry: Registry) -> None:
    await login(client, "admin")
    body = (await client.get(_url(registry, "measurements", "PAD-001"))).json()
    assert [m["value"] for m in body["data"]] == [40]


@pytest.mark.parametrize("entity", ENTITIES)
async def test_analysts_get_403_on_records(
    client: httpx.AsyncClient, registry: Registry, entity: str
) -> None:
    await login(client, "analyst")
    response = await client.get(_url(registry, entity))
    assert response.status_code == 403 and "BER-001" not in response.text


async def test_sites_are_the_users_sites(client: httpx.AsyncClient) -> None:
    await login(client, "padclin")
    sites = (await client.get("/api/v1/sites")).json()
    assert sites["count"] == 1
    assert [(s["code"], s["name"]) for s in sites["data"]] == [("PAD", "Padova")]
    await client.post("/logout", headers={"X-CSRF-Token": (await client.get(
        "/api/v1/me")).json()["csrf_token"]})
    await login(client, "analyst")
    assert [s["code"] for s in (await client.get("/api/v1/sites")).json()["data"]] == [
        "BER", "PAD"]


async def test_cohort_summary_suppresses_small_cells_for_analysts(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "analyst")
    summary = (await client.get("/api/v1/cohort/summary")).json()
    assert summary["people"] == 4 and summary["suppress_below"] == 5
    assert summary["by_site"] == {"BER": None, "PAD": None}  # 3 and 1: suppressed
    assert summary["by_status"] == {"patient": None, "carrier": None}
    assert summary["on_treatment"] is None and summary["deaths"] == 0
    assert summary["assessments"] == 2
    assert summary["variants"][0] == {"hgvs": "p.Ala5Val", "legacy": "A4V", "people": None}
    text = str(summary)
    assert "BER-0" not in text and "PAD-0" not in text


async def test_cohort_summary_is_scoped_for_clinicians(client: httpx.AsyncClient) -> None:
    await login(client, "clin")
    summary = (await client.get("/api/v1/cohort/summary")).json()
    assert summary["people"] == 3 and set(summary["by_site"]) == {"BER"}
    assert set(summary["adverse_events_by_term"]) == {"fatigue", "pain"}
