"""The write API: same use cases as the forms, 422 with the fields' messages, 404 off-site."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AdverseEvent, AlsfrsAssessment, AuditEntry, Base, Measurement
from tests.web.conftest import Registry, csrf_of, login

pytestmark = pytest.mark.anyio

ALSFRS: dict[str, Any] = {"date": "2025-03-19", "gastrostomy": False,
                          **{f"q{n}": 4 for n in range(1, 13)}}
CREATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "alsfrs": (ALSFRS | {"q1": 3}, {"total": 47, "source": "clinic", "kings_stage": "1"}),
    "measurements": ({"date": "2025-03-18", "kind": "nfl_serum", "value": 40, "unit": "ng/L",
                      "assay": "Simoa"}, {"value": 40.0, "unit": "pg/mL"}),
    "administrations": ({"date": "2025-03-20", "status": "given", "dose_mg": 100, "lot": "A1"},
                        {"drug": "tofersen", "status": "given"}),
    "adverse-events": ({"onset_date": "2025-03-02", "term": "other", "term_text": "headache",
                        "grade": 1, "serious": False, "related": True, "outcome": "recovering"},
                       {"term": "other", "term_text": "headache"}),
    "milestones": ({"kind": "gastrostomy", "date": "2025-03-01"}, {"kind": "gastrostomy"}),
}


def rows(registry: Registry, model: type[Base]) -> int:
    with unit_of_work(registry.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


async def headers(client: httpx.AsyncClient, username: str = "clin") -> dict[str, str]:
    await login(client, username)
    return {"X-CSRF-Token": await csrf_of(client)}


@pytest.mark.parametrize("kind", list(CREATES))
async def test_create(client: httpx.AsyncClient, registry: Registry, kind: str) -> None:
    h = await headers(client)
    body, expected = CREATES[kind]
    audits = rows(registry, AuditEntry)
    response = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/{kind}",
                                 json=body, headers=h)
    assert response.status_code == 201, response.text
    assert expected.items() <= response.json().items()
    assert rows(registry, AuditEntry) == audits + 1


@pytest.mark.parametrize(("kind", "changes", "loc", "message"), [
    ("alsfrs", {"q3": 7}, "q3", "item 3 (swallowing) must be a whole number from 0 to 4"),
    ("alsfrs", {"gastrostomy": True, "q5": 5}, "q5", "item 5b"),
    ("alsfrs", {"date": "2025-02-24"}, "date", "already recorded on 2025-02-24"),
    ("alsfrs", {"date": "2030-01-01"}, "date", "in the future"),
    ("measurements", {"unit": "%"}, "unit", "%"),
    ("measurements", {"kind": "weight_kg", "unit": "kg", "value": 1000}, "value", "1000"),
    ("administrations", {"dose_mg": None}, "dose_mg", "is required when status is given"),
    ("administrations", {"date": "2025-02-24"}, "date", "already recorded on 2025-02-24"),
    ("adverse-events", {"term_text": None}, "term_text", "needs term_text"),
    ("adverse-events", {"grade": 5}, "outcome", "fatal"),
    ("milestones", {"date": "2020-01-01"}, "date", "before onset"),
])
async def test_broken_rules_are_422_with_the_field_and_write_nothing(
    client: httpx.AsyncClient, registry: Registry, kind: str, changes: dict[str, Any],
    loc: str, message: str,
) -> None:
    h = await headers(client)
    audits = rows(registry, AuditEntry)
    body = CREATES[kind][0] | changes
    response = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/{kind}",
                                 json=body, headers=h)
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", loc] and message in detail["msg"]
    assert rows(registry, AuditEntry) == audits


async def test_types_are_checked_by_the_schema(client: httpx.AsyncClient,
                                              registry: Registry) -> None:
    h = await headers(client)
    response = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/measurements",
                                 json={"date": "soon", "kind": "nfl", "value": 1, "unit": "x",
                                       "extra": 1}, headers=h)
    assert response.status_code == 422
    assert {tuple(d["loc"]) for d in response.json()["detail"]} == {
        ("body", "date"), ("body", "kind"), ("body", "extra")}


@pytest.mark.parametrize("kind", list(CREATES))
async def test_writes_need_the_csrf_header_and_own_site(
    client: httpx.AsyncClient, registry: Registry, kind: str
) -> None:
    h = await headers(client)
    body = CREATES[kind][0]
    before = rows(registry, AuditEntry)
    own = f"/api/v1/patients/{registry.ids['BER-001']}/{kind}"
    assert (await client.post(own, json=body)).status_code == 403
    assert (await client.post(own, json=body, headers={"X-CSRF-Token": "x"})).status_code == 403
    foreign = await client.post(f"/api/v1/patients/{registry.ids['PAD-001']}/{kind}", json=body,
                                headers=h)
    assert foreign.status_code == 404 and foreign.json() == {"detail": "no such patient"}
    assert rows(registry, AuditEntry) == before


async def test_analysts_cannot_write(client: httpx.AsyncClient, registry: Registry) -> None:
    h = await headers(client, "analyst")
    response = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/milestones",
                                 json=CREATES["milestones"][0], headers=h)
    assert response.status_code == 403


async def _pain_event(registry: Registry) -> int:
    with unit_of_work(registry.engine) as session:
        return session.scalars(select(AdverseEvent.id).where(
            AdverseEvent.patient_id == registry.ids["BER-001"],
            AdverseEvent.term == "pain")).one()


async def test_adverse_event_follow_up(client: httpx.AsyncClient, registry: Registry) -> None:
    h = await headers(client)
    event = await _pain_event(registry)
    response = await client.patch(f"/api/v1/adverse-events/{event}", headers=h,
                                  json={"outcome": "recovered", "resolved_date": "2025-02-01",
                                        "version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "recovered"
    assert response.json()["resolved_date"] == "2025-02-01"
    assert response.json()["grade"] == 1  # unchanged
    early = await client.patch(f"/api/v1/adverse-events/{event}", headers=h,
                               json={"resolved_date": "2024-12-01", "version": 2})
    assert early.status_code == 422
    assert early.json()["detail"][0]["loc"] == ["body", "resolved_date"]
    with unit_of_work(registry.engine) as session:
        assert str(session.get(AdverseEvent, event).resolved_date) == "2025-02-01"  # type: ignore[union-attr]


async def test_a_self_assessment_is_not_a_clinic_duplicate(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    """One rating per patient, date and source: the API writes source clinic only."""
    h = await headers(client)
    path = f"/api/v1/patients/{registry.ids['BER-002']}/alsfrs"
    assert (await client.post(path, json=ALSFRS, headers=h)).status_code == 201
    assert (await client.post(path, json=ALSFRS, headers=h)).status_code == 422
    assert rows(registry, AlsfrsAssessment) == 3
    assert rows(registry, Measurement) == 6


async def test_openapi_documents_the_writes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    schemas = spec["components"]["schemas"]
    for kind, create, public in [("alsfrs", "AlsfrsCreate", "AlsfrsPublic"),
                                 ("measurements", "MeasurementCreate", "MeasurementPublic"),
                                 ("administrations", "AdministrationCreate",
                                  "AdministrationPublic"),
                                 ("adverse-events", "AdverseEventCreate", "AdverseEventPublic"),
                                 ("milestones", "MilestoneCreate", "MilestonePublic")]:
        post = paths[f"/api/v1/patients/{{patient_id}}/{kind}"]["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"] == f"#/components/schemas/{create}"
        created = post["responses"]["201"]["content"]["application/json"]["schema"]
        assert created["$ref"] == f"#/components/schemas/{public}"
        assert {"404", "422", "401", "403"} <= set(post["responses"])
        assert schemas[create]["additionalProperties"] is False
    patch = paths["/api/v1/adverse-events/{event_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AdverseEventUpdate")
    assert set(schemas["AdverseEventUpdate"]["properties"]) == {
        "outcome", "resolved_date", "action", "grade", "serious", "related", "confirm_warnings",
        "version"}
    assert "428" in patch["responses"] and "409" in patch["responses"]
    assert any(p["name"] == "if-match" for p in patch["parameters"])
    assert "dose_mg" in schemas["AdministrationCreate"]["properties"]
