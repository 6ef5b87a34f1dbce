"""Corrections through the API: PATCH a rating, measurement, dose or milestone.

The record as changed passes the same domain rules as when created; a broken rule is a 422
with the field and changes nothing; another site's record is a 404; CSRF is required.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from alsrwe.domain.events import MilestoneKind
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import (
    Administration,
    AlsfrsAssessment,
    AuditEntry,
    Base,
    Measurement,
    Milestone,
)
from tests.web.conftest import Registry
from tests.web.test_api_writes import headers, rows

pytestmark = pytest.mark.anyio

PATHS = {AlsfrsAssessment: "alsfrs", Measurement: "measurements",
         Administration: "administrations", Milestone: "milestones"}


def _add_milestones(registry: Registry, pseudonym: str) -> None:
    with unit_of_work(registry.engine) as session:
        session.add_all([
            Milestone(patient_id=registry.ids[pseudonym], date=dt.date(2025, 3, 1),
                      kind=MilestoneKind.GASTROSTOMY),
            Milestone(patient_id=registry.ids[pseudonym], date=dt.date(2025, 3, 5),
                      kind=MilestoneKind.NIV),
        ])


def _record(registry: Registry, model: type[Base], pseudonym: str = "BER-001") -> int:
    """The id of the patient's record to correct (the latest rating, NfL in CSF, the
    2025-02-24 dose, the gastrostomy)."""
    if model is Milestone:
        _add_milestones(registry, pseudonym)
    dose_day = dt.date(2025, 1, 16) if pseudonym == "PAD-001" else dt.date(2025, 2, 24)
    where = {
        AlsfrsAssessment: AlsfrsAssessment.date == dt.date(2025, 2, 24),
        Measurement: Measurement.kind == "csf_wbc",
        Administration: Administration.date == dose_day,
        Milestone: Milestone.kind == MilestoneKind.GASTROSTOMY,
    }[model]
    if model is AlsfrsAssessment and pseudonym == "PAD-001":
        with unit_of_work(registry.engine) as session:
            session.add(AlsfrsAssessment(patient_id=registry.ids[pseudonym],
                                         date=dt.date(2025, 2, 24), gastrostomy=False,
                                         source="clinic", **{f"q{i}": 4 for i in range(1, 13)}))
    with unit_of_work(registry.engine) as session:
        model_id = model.__table__.c.id  # type: ignore[attr-defined]
        patient = model.__table__.c.patient_id  # type: ignore[attr-defined]
        return int(session.scalars(select(model_id).where(
            patient == registry.ids[pseudonym], where)).one())


def _snapshot(registry: Registry, model: type[Base], record_id: int) -> dict[str, Any]:
    with unit_of_work(registry.engine) as session:
        row = session.get(model, record_id)
        assert row is not None
        return {c.key: getattr(row, c.key) for c in model.__table__.columns}


VALID: list[tuple[type[Base], dict[str, Any], dict[str, Any]]] = [
    (AlsfrsAssessment, {"q1": 2}, {"total": 41, "date": "2025-02-24", "source": "clinic"}),
    (AlsfrsAssessment, {"gastrostomy": True, "q5": 3}, {"gastrostomy": True, "total": 41}),
    (Measurement, {"value": 15, "date": "2025-02-25"},
     {"value": 15.0, "unit": "/uL", "date": "2025-02-25"}),
    (Administration, {"lot": "B7", "csf_removed_ml": 10},
     {"lot": "B7", "csf_removed_ml": 10.0, "dose_mg": 100.0, "status": "given"}),
    (Administration, {"status": "missed", "dose_mg": None}, {"status": "missed", "dose_mg": None}),
    (Milestone, {"date": "2025-03-02"}, {"date": "2025-03-02", "kind": "gastrostomy"}),
]


@pytest.mark.parametrize(("model", "changes", "expected"), VALID)
async def test_a_valid_correction_is_saved_and_audited(
    client: httpx.AsyncClient, registry: Registry, model: type[Base], changes: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    record = _record(registry, model)
    h = await headers(client)
    audits = rows(registry, AuditEntry)
    response = await client.patch(f"/api/v1/{PATHS[model]}/{record}", json=changes,
                                  headers={**h, "If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert expected.items() <= response.json().items()
    assert rows(registry, AuditEntry) == audits + 1
    with unit_of_work(registry.engine) as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.action.endswith("_update")
        assert entry.actor == "clin"


BROKEN: list[tuple[type[Base], dict[str, Any], str, str]] = [
    (AlsfrsAssessment, {"q3": 7}, "q3", "item 3 (swallowing) must be a whole number from 0 to 4"),
    (AlsfrsAssessment, {"gastrostomy": True, "q5": 5}, "q5", "item 5b"),
    (AlsfrsAssessment, {"date": "2024-01-10"}, "date", "already recorded on 2024-01-10"),
    (AlsfrsAssessment, {"date": "2030-01-01"}, "date", "in the future"),
    (AlsfrsAssessment, {"q1": None}, "q1", "cannot be empty"),
    (Measurement, {"value": 12, "unit": "%"}, "unit", "%"),
    (Measurement, {"unit": "/uL"}, "value", "with its unit"),
    (Measurement, {"kind": "svc_percent", "value": 80, "unit": "%"}, "kind",
     "already recorded on 2025-02-24"),
    (Administration, {"dose_mg": None}, "dose_mg", "is required when status is given"),
    (Administration, {"dose_mg": -1}, "dose_mg", "greater than 0"),
    (Administration, {"date": "2025-01-13"}, "date", "already recorded on 2025-01-13"),
    (Administration, {"status": None}, "status", "cannot be empty"),
    (Milestone, {"date": "2020-01-01"}, "date", "before onset"),
    (Milestone, {"kind": "niv"}, "kind", "appears twice"),
]


@pytest.mark.parametrize(("model", "changes", "loc", "message"), BROKEN)
async def test_a_broken_rule_is_422_with_the_field_and_changes_nothing(
    client: httpx.AsyncClient, registry: Registry, model: type[Base], changes: dict[str, Any],
    loc: str, message: str,
) -> None:
    record = _record(registry, model)
    before = _snapshot(registry, model, record)
    h = await headers(client)
    audits = rows(registry, AuditEntry)
    response = await client.patch(f"/api/v1/{PATHS[model]}/{record}", json=changes,
                                  headers={**h, "If-Match": '"1"'})
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", loc] and message in detail["msg"]
    assert _snapshot(registry, model, record) == before
    assert rows(registry, AuditEntry) == audits


@pytest.mark.parametrize("model", list(PATHS))
async def test_unknown_fields_are_refused_by_the_schema(
    client: httpx.AsyncClient, registry: Registry, model: type[Base]
) -> None:
    record = _record(registry, model)
    h = await headers(client)
    response = await client.patch(f"/api/v1/{PATHS[model]}/{record}",
                                  json={"patient_id": registry.ids["BER-002"]}, headers=h)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "patient_id"]


@pytest.mark.parametrize("model", list(PATHS))
async def test_another_sites_record_is_404_and_csrf_is_required(
    client: httpx.AsyncClient, registry: Registry, model: type[Base]
) -> None:
    own = _record(registry, model)
    foreign = _record(registry, model, "PAD-001")
    before = _snapshot(registry, model, foreign), _snapshot(registry, model, own)
    h = await headers(client)
    audits = rows(registry, AuditEntry)
    body = {"date": "2025-02-26"}
    response = await client.patch(f"/api/v1/{PATHS[model]}/{foreign}", json=body, headers=h)
    assert response.status_code == 404
    assert "PAD-001" not in response.text
    missing = await client.patch(f"/api/v1/{PATHS[model]}/999999", json=body, headers=h)
    assert missing.status_code == 404 and missing.json() == response.json()
    own_path = f"/api/v1/{PATHS[model]}/{own}"
    assert (await client.patch(own_path, json=body)).status_code == 403
    assert (await client.patch(own_path, json=body,
                               headers={"X-CSRF-Token": "x"})).status_code == 403
    assert (_snapshot(registry, model, foreign), _snapshot(registry, model, own)) == before
    assert rows(registry, AuditEntry) == audits


async def test_analysts_cannot_correct(client: httpx.AsyncClient, registry: Registry) -> None:
    record = _record(registry, Administration)
    h = await headers(client, "analyst")
    response = await client.patch(f"/api/v1/administrations/{record}", json={"lot": "X"},
                                  headers=h)
    assert response.status_code == 403


async def test_openapi_documents_the_corrections(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    for path, schema in [("/api/v1/alsfrs/{assessment_id}", "AlsfrsUpdate"),
                         ("/api/v1/measurements/{measurement_id}", "MeasurementUpdate"),
                         ("/api/v1/administrations/{administration_id}", "AdministrationUpdate"),
                         ("/api/v1/milestones/{milestone_id}", "MilestoneUpdate")]:
        patch = spec["paths"][path]["patch"]
        body = patch["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"] == f"#/components/schemas/{schema}"
        assert {"404", "422"} <= set(patch["responses"])
        assert spec["components"]["schemas"][schema]["additionalProperties"] is False
