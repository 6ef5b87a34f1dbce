"""The clinic's API: register and change patients, treatments, medications, voids, SOD1 names.

Same rules and audit as the pages, another site's patient or record a 404; the voided record
leaves its table and every read, and is kept with its reason.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Administration, AuditEntry, Patient, VoidedRecord
from tests.web.conftest import Registry
from tests.web.test_api_writes import headers

pytestmark = pytest.mark.anyio

CARRIER: dict[str, Any] = {"patient_id": "BER-C99", "site": "BER", "sex": "M",
                           "birth_year": 1990, "status": "carrier", "sod1_variant": "c.14C>T",
                           "genetic_test_date": "2024-06-01", "counselling_date": "2024-05-15"}


def _audits(registry: Registry, action: str) -> list[dict[str, Any]]:
    with unit_of_work(registry.engine) as session:
        return [e.detail or {} for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


async def test_register_a_carrier_then_convert_them_to_als(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    created = await client.post("/api/v1/patients", json=CARRIER, headers=h)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["sod1_hgvs"], body["sod1_legacy"], body["status"]) == ("p.Ala5Val", "A4V",
                                                                        "carrier")
    assert body["genetic_test_date"] == "2024-06-01"
    converted = await client.patch(f"/api/v1/patients/{body['id']}", headers=h, json={
        "status": "patient", "onset_date": "2025-02-01", "onset_region": "lower_limb",
        "version": 1})
    assert converted.status_code == 200, converted.text
    assert converted.json()["status"] == "patient"
    assert converted.json()["onset_date"] == "2025-02-01"
    (change,) = _audits(registry, "patient_update")
    assert change["changes"]["status"] == {"before": "carrier", "after": "patient"}
    assert change["changes"]["onset_date"] == {"before": None, "after": "2025-02-01"}


@pytest.mark.parametrize(("changes", "loc", "words"), [
    ({"patient_id": "BER-001"}, "patient_id", "already registered"),
    ({"patient_id": "ber-001"}, "patient_id", "letter case"),
    ({"site": "PAD"}, "site", "not one of your sites"),
    ({"sod1_variant": "A5V"}, "sod1_variant", ""),
    ({"status": "patient"}, "onset_date", ""),
    ({"genetic_test_date": "2030-01-01"}, "genetic_test_date", "future"),
    ({"birth_year": 1850}, "birth_year", "1900"),
])
async def test_registration_names_the_field_and_the_rule(
    client: httpx.AsyncClient, registry: Registry, changes: dict[str, Any], loc: str,
    words: str,
) -> None:
    h = await headers(client)
    response = await client.post("/api/v1/patients", json=CARRIER | changes, headers=h)
    assert response.status_code == 422, response.text
    found = {item["loc"][-1]: item["msg"] for item in response.json()["detail"]}
    assert loc in found, found
    assert words in found[loc]
    with unit_of_work(registry.engine) as session:
        assert session.scalar(select(Patient).where(Patient.pseudonym == "BER-C99")) is None


async def test_a_change_of_birth_year_is_a_warning_to_confirm(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    url = f"/api/v1/patients/{registry.ids['BER-001']}"
    refused = await client.patch(url, json={"birth_year": 1969, "version": 1}, headers=h)
    assert refused.status_code == 422
    (item,) = refused.json()["detail"]
    assert item["type"] == "soft_rule"
    accepted = await client.patch(url, json={"birth_year": 1969, "version": 1,
                                             "confirm_warnings": [item["code"]]}, headers=h)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["birth_year"] == 1969


async def test_sod1_names_are_normalised_for_the_live_check(client: httpx.AsyncClient) -> None:
    await headers(client)
    ok = await client.get("/api/v1/sod1-variants/normalised", params={"name": "p.(Ala5Val)"})
    assert ok.json() == {"input": "p.(Ala5Val)", "hgvs": "p.Ala5Val", "legacy": "A4V"}
    bad = await client.get("/api/v1/sod1-variants/normalised", params={"name": "A5V"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "sod1_variant"


async def test_start_pause_and_resume_a_treatment(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    patient = registry.ids["BER-002"]  # doses 2025-01-02 and 01-16 (two loading doses)
    started = await client.post(f"/api/v1/patients/{patient}/treatments", headers=h,
                                json={"regimen": "tofersen_eu", "start_date": "2025-01-02"})
    assert started.status_code == 201, started.text
    detail = (await client.get(f"/api/v1/patients/{patient}")).json()
    assert detail["regimen"] == "tofersen_eu" and detail["treatment_status"] == "active"
    assert detail["next_dose"]["number"] == 3
    twice = await client.post(f"/api/v1/patients/{patient}/treatments", headers=h,
                              json={"regimen": "tofersen_us", "start_date": "2025-02-01"})
    assert twice.status_code == 422 and "already running" in twice.text
    paused = await client.post(f"/api/v1/treatments/{started.json()['id']}/end", headers=h,
                               json={"end_kind": "paused", "end_date": "2025-02-10",
                                     "end_reason": "myelitis work-up", "version": 1})
    assert paused.status_code == 200, paused.text
    detail = (await client.get(f"/api/v1/patients/{patient}")).json()
    assert detail["treatment_status"] == "paused" and detail["next_dose"] is None
    no_reason = await client.post(f"/api/v1/treatments/{started.json()['id']}/end",
                                  headers=h, json={"end_kind": "stopped",
                                                   "end_date": "2025-02-11", "end_reason": " ",
                                                   "version": 2})
    assert no_reason.status_code == 422
    resumed = await client.post(f"/api/v1/patients/{patient}/treatments", headers=h,
                                json={"regimen": "tofersen_eu", "start_date": "2025-03-01"})
    assert resumed.status_code == 201, resumed.text
    detail = (await client.get(f"/api/v1/patients/{patient}")).json()
    assert detail["treatment_status"] == "active"
    assert detail["next_dose"]["number"] == 3  # the course continues through the pause
    assert [a["reason"] for a in _audits(registry, "treatment_pause")] == ["myelitis work-up"]


async def test_medications_are_recorded_and_stopped(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    created = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/medications",
                                headers=h, json={"drug": "Rilutek", "start_date": "2023-01-10"})
    assert created.status_code == 201, created.text
    assert created.json()["drug"] == "riluzole"
    stopped = await client.patch(f"/api/v1/medications/{created.json()['id']}", headers=h,
                                 json={"stop_date": "2025-03-01", "version": 1})
    assert stopped.status_code == 200 and stopped.json()["stop_date"] == "2025-03-01"


async def test_a_voided_dose_leaves_the_schedule_and_is_kept_with_its_reason(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    patient = registry.ids["BER-001"]
    before = (await client.get(f"/api/v1/patients/{patient}")).json()["next_dose"]
    with unit_of_work(registry.engine) as session:
        last = session.scalars(select(Administration).where(
            Administration.patient_id == patient).order_by(Administration.date.desc())).first()
        assert last is not None
        dose_id = last.id
    voided = await client.post(f"/api/v1/administrations/{dose_id}/void", headers=h,
                               json={"reason": "entered on the wrong patient", "version": 1})
    assert voided.status_code == 200, voided.text
    after = (await client.get(f"/api/v1/patients/{patient}")).json()["next_dose"]
    assert after["number"] == before["number"] - 1
    with unit_of_work(registry.engine) as session:
        kept = session.scalars(select(VoidedRecord)).one()
        assert (kept.record["date"], kept.reason) == ("2025-02-24", "entered on the wrong patient")
        assert session.get(Administration, dose_id) is None
    (audit,) = _audits(registry, "administration_void")
    assert audit["before"]["date"] == "2025-02-24"
    again = await client.post(f"/api/v1/administrations/{dose_id}/void", headers=h,
                              json={"reason": "twice"})
    assert again.status_code == 404


async def test_another_sites_records_are_404_on_the_new_routes(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    other = registry.ids["PAD-001"]
    with unit_of_work(registry.engine) as session:
        dose = session.scalars(select(Administration.id).where(
            Administration.patient_id == other)).first()
    assert (await client.post(f"/api/v1/administrations/{dose}/void", headers=h,
                              json={"reason": "x"})).status_code == 404
    assert (await client.patch(f"/api/v1/patients/{other}", headers=h,
                               json={"birth_year": 1970})).status_code == 404
    assert (await client.post(f"/api/v1/patients/{other}/treatments", headers=h, json={
        "regimen": "tofersen_us", "start_date": "2025-01-02"})).status_code == 404


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/patients", CARRIER | {"patient_id": "BER\x00C1"}),
    ("/api/v1/patients", CARRIER | {"birth_year": 10**12}),
    ("/api/v1/patients", CARRIER | {"sod1_variant": "A4V" * 40}),
    ("/api/v1/patients", CARRIER | {"site": "BER", "extra": 1}),
    ("/api/v1/patients/{own}/treatments", {"regimen": "tofersen_us", "start_date": "1850-01-01"}),
    ("/api/v1/patients/{own}/treatments", {"regimen": "", "start_date": "2025-01-01"}),
    ("/api/v1/patients/{own}/medications", {"drug": "edaravone", "start_date": "2025-01-01"}),
    ("/api/v1/patients/{own}/medications", {"drug": "riluzole", "start_date": "2025-01-01",
                                            "stop_date": "2024-01-01"}),
])
async def test_bad_clinic_inputs_are_422_naming_a_field_and_write_nothing(
    client: httpx.AsyncClient, registry: Registry, path: str, body: dict[str, Any]
) -> None:
    h = await headers(client)
    with unit_of_work(registry.engine) as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    response = await client.post(path.format(own=registry.ids["BER-001"]), json=body, headers=h)
    assert response.status_code == 422, response.text
    assert all(item["loc"] for item in response.json()["detail"])
    with unit_of_work(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


async def test_a_void_reason_is_required_and_bounded(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    h = await headers(client)
    with unit_of_work(registry.engine) as session:
        dose = session.scalars(select(Administration.id).where(
            Administration.patient_id == registry.ids["BER-001"])).first()
    for reason in ("", "x" * 501, "bad\x07bell"):
        response = await client.post(f"/api/v1/administrations/{dose}/void", headers=h,
                                     json={"reason": reason, "version": 1})
        assert response.status_code == 422, reason
    with unit_of_work(registry.engine) as session:
        assert session.get(Administration, dose) is not None
