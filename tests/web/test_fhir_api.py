"""FHIR R4 under /fhir/R4: valid resources out, the one write path in, OperationOutcome errors.

The written records are compared with what a tidy CSV import of the same synthetic patient
writes into a registry of its own (the reference), and the read ones with the fixture's rows.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import Engine, func, select

from alsrwe.interop.fhir import patient_fhir_id, resources_for, rows_of_resources
from alsrwe.interop.tidy_csv import write_frames
from alsrwe.interop.tidy_csv.export import text_tables
from alsrwe.interop.tidy_csv.importer import import_tidy
from alsrwe.store.db import make_engine, unit_of_work
from alsrwe.store.models import RECORD_MODELS, AuditEntry, Base, Measurement, Patient
from alsrwe.synth import CohortParams, generate_cohort
from alsrwe.web.fhir_capability import CREATABLE
from tests.web.conftest import TODAY, Registry, csrf_of, login

pytestmark = pytest.mark.anyio

FHIR = "/fhir/R4"
FHIR_JSON = "application/fhir+json"
SYNTHETIC = "BER-0001"
"""Seed 2's BER-0001 has rows in every tidy table; the first few of each are kept."""
CONFIRMED = "https://alsrwe.org/fhir/StructureDefinition/confirmed-warnings"
KEEP = {"alsfrs": 2, "measurements": 3, "administrations": 6, "adverse_events": 1}


def valid(resource: dict[str, Any]) -> str:
    """The resource's type, once fhir.resources' R4B model accepts it."""
    kind: str = resource["resourceType"]
    get_fhir_model_class(kind).model_validate(resource)
    return kind


def count(engine: Engine, model: type[Base]) -> int:
    with unit_of_work(engine, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def versions(engine: Engine) -> dict[str, int]:
    """The sum of the versions of every patient and record row, per table: a change raises it."""
    models: list[Any] = [Patient, *RECORD_MODELS.values()]
    with unit_of_work(engine, read_only=True) as session:
        return {model.__tablename__: session.scalar(select(func.sum(model.version))) or 0
                for model in models}


def tables_of(engine: Engine, pseudonym: str) -> dict[str, list[dict[str, str]]]:
    with unit_of_work(engine, read_only=True) as session:
        return text_tables(session, [pseudonym])


async def signed_in(client: httpx.AsyncClient, username: str = "clin") -> dict[str, str]:
    await login(client, username)
    return {"X-CSRF-Token": await csrf_of(client), "Content-Type": FHIR_JSON}


def issues(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome answer with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    valid(response.json())
    assert response.json()["resourceType"] == "OperationOutcome"
    found: list[dict[str, Any]] = response.json()["issue"]
    return found


@pytest.fixture
def reference(tmp_path: Path, migrated_sqlite_template: Path) -> dict[str, list[dict[str, str]]]:
    """A synthetic patient as a tidy import writes them, into a registry of their own."""
    frames = generate_cohort(CohortParams(seed=2, n_patients=12, n_carriers=0,
                                          as_of=date(2025, 3, 1))).tables()
    kept = {}
    for name, frame in frames.items():
        mine = frame[frame["patient_id"] == SYNTHETIC]
        kept[name] = mine.head(KEEP.get(name, len(mine)))
    kept["patients"] = kept["patients"].assign(site_name="Berlin")  # the site as registered
    write_frames(kept, tmp_path / "tidy")
    shutil.copyfile(migrated_sqlite_template, tmp_path / "reference.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        import_tidy(engine, tmp_path / "tidy", today=TODAY)
        return tables_of(engine, SYNTHETIC)
    finally:
        engine.dispose()


# --- reads -----------------------------------------------------------------------------------


async def test_metadata_is_a_capability_statement_anyone_may_read(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"{FHIR}/metadata")
    assert response.status_code == 200 and response.headers["content-type"] == FHIR_JSON
    statement = response.json()
    assert valid(statement) == "CapabilityStatement"
    assert (statement["fhirVersion"], statement["kind"]) == ("4.0.1", "instance")
    (rest,) = statement["rest"]
    served = {r["type"]: {i["code"] for i in r["interaction"]} for r in rest["resource"]}
    assert all("create" in served[kind] for kind in CREATABLE)
    assert {"read"} <= served["Patient"] & served["Questionnaire"] & served["CodeSystem"]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert patient["operation"][0]["name"] == "everything"


async def test_the_questionnaire_and_code_systems_are_public(client: httpx.AsyncClient) -> None:
    questionnaire = (await client.get(f"{FHIR}/Questionnaire/alsfrs-r")).json()
    assert valid(questionnaire) == "Questionnaire" and questionnaire["id"] == "alsfrs-r"
    drug = (await client.get(f"{FHIR}/CodeSystem/drug")).json()
    assert valid(drug) == "CodeSystem" and "tofersen" in {c["code"] for c in drug["concept"]}
    for path in ("Questionnaire/phq-9", "CodeSystem/nope", "Encounter/1", "a/b/c"):
        assert issues(await client.get(f"{FHIR}/{path}"), 404)[0]["code"] == "not-found"


async def test_everything_of_a_seeded_patient_is_its_record_and_the_view_is_audited(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry,
) -> None:
    await login(client, "clin")
    response = await client.get(f"{FHIR}/Patient/BER-001/$everything")
    assert response.status_code == 200 and response.headers["content-type"] == FHIR_JSON
    bundle = response.json()
    assert valid(bundle) == "Bundle" and bundle["type"] == "searchset"
    resources = [entry["resource"] for entry in bundle["entry"]]
    kinds = [valid(resource) for resource in resources]
    # the fixture: 2 ratings, 4 doses given, 3 measurements, 2 adverse events, 1 site
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "Organization": 1, "Patient": 1, "Condition": 1, "QuestionnaireResponse": 2,
        "Observation": 1 + 2 + 3, "MedicationAdministration": 4, "Procedure": 4,
        "AdverseEvent": 2}
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    assert (patient["id"], patient["gender"], patient["birthDate"]) == ("BER-001", "female",
                                                                        "1968")
    condition = next(r for r in resources if r["resourceType"] == "Condition")
    assert condition["onsetDateTime"] == "2022-03-01"
    quantities = sorted((o["valueQuantity"]["value"], o["valueQuantity"]["code"])
                        for o in resources if "valueQuantity" in o
                        and o["valueQuantity"]["code"] != "{score}")
    assert quantities == [(12, "/uL"), (81, "%"), (3100, "pg/mL")]
    rows, problems, _ = rows_of_resources(list(enumerate(resources, start=1)), "everything")
    assert not problems
    stored = tables_of(registry.engine, "BER-001")
    assert {t: [r.values for r in rows[t]] for t in rows} == {t: v for t, v in stored.items()
                                                                if v}
    single = await client.get(f"{FHIR}/Patient/BER-001")
    assert single.json() == patient
    app.state.view_log.flush()
    with unit_of_work(registry.engine) as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.action == "view")).all()
    assert [(v.entity, v.patient_id, v.actor) for v in views] == [
        ("fhir_everything", registry.ids["BER-001"], "clin"),
        ("fhir_patient", registry.ids["BER-001"], "clin")]


async def test_another_sites_patient_is_not_found_and_nobody_signed_out_reads(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry,
) -> None:
    anonymous = issues(await client.get(f"{FHIR}/Patient/BER-001/$everything"), 401)
    assert anonymous[0]["code"] == "login"
    await login(client, "clin")
    for path in ("Patient/PAD-001", "Patient/PAD-001/$everything"):
        foreign = await client.get(f"{FHIR}/{path}")
        missing = await client.get(f"{FHIR}/{path.replace('PAD-001', 'PAD-999')}")
        assert issues(foreign, 404) == issues(missing, 404)
        assert "PAD-001" not in foreign.text
    app.state.view_log.flush()
    with unit_of_work(registry.engine) as session:
        assert not session.scalars(select(AuditEntry).where(AuditEntry.action == "view")).all()


async def test_analysts_read_no_patient(client: httpx.AsyncClient) -> None:
    await login(client, "analyst")
    assert issues(await client.get(f"{FHIR}/Patient/BER-001"), 403)[0]["code"] == "forbidden"


# --- writes ----------------------------------------------------------------------------------


def _by_part(resources: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                       list[dict[str, Any]]]:
    """(the patient's row: Patient, Condition, variant Observation; every other resource)."""
    parts = resources[1:4]  # resources_for: Organization, then the patient's three parts
    assert [r["resourceType"] for r in parts] == ["Patient", "Condition", "Observation"]
    return parts, resources[4:]


async def test_posting_a_synthetic_patient_one_resource_at_a_time_writes_what_a_tidy_import_does(
    client: httpx.AsyncClient, registry: Registry, reference: dict[str, list[dict[str, str]]],
) -> None:
    h = await signed_in(client)
    resources = resources_for(reference)
    assert set(CREATABLE) <= {r["resourceType"] for r in resources}
    parts, others = _by_part(resources)
    audits = count(registry.engine, AuditEntry)
    # A Patient alone cannot register a patient: the SOD1 variant is required.
    alone = issues(await client.post(f"{FHIR}/Patient", json=parts[0], headers=h), 422)
    assert [(i["code"], i["expression"]) for i in alone] == [
        ("business-rule", ["Patient"]),
        ("business-rule", ["Observation.extension[variant-as-entered]"]),
        ("business-rule", ["Observation.component[53034-5]"])]
    assert "register a patient with one transaction Bundle" in alone[0]["diagnostics"]
    assert alone[1]["diagnostics"] == "is required"
    assert count(registry.engine, AuditEntry) == audits
    # Registered by a transaction of its three parts, then each resource POSTed alone.
    registration = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in parts]}
    answer = await client.post(FHIR, json=registration, headers=h)
    assert answer.status_code == 200, answer.text
    assert valid(answer.json()) == "Bundle" and answer.json()["type"] == "transaction-response"
    assert [e["response"]["status"] for e in answer.json()["entry"]] == ["201 Created"] * 3
    statuses = []
    for resource in [*parts, *others]:
        response = await client.post(f"{FHIR}/{resource['resourceType']}", json=resource,
                                     headers=h)
        assert response.status_code in (200, 201), response.text
        assert response.headers["content-type"] == FHIR_JSON
        if response.json()["resourceType"] == "OperationOutcome":  # derived, not a record
            assert resource["resourceType"] in ("Observation", "Procedure")
            statuses.append("derived")
            continue
        assert response.json() == resource  # stored as sent (alsrwe's own resources)
        assert response.headers["location"].endswith(
            f"{FHIR}/{resource['resourceType']}/{resource['id']}")
        statuses.append(str(response.status_code))
    assert statuses[:3] == ["200"] * 3 and statuses.count("201") == sum(
        len(reference[t]) for t in reference if t != "patients")
    assert tables_of(registry.engine, SYNTHETIC) == reference
    # The same resources again change nothing.
    written = versions(registry.engine)
    for resource in [*parts, *others]:
        again = await client.post(f"{FHIR}/{resource['resourceType']}", json=resource,
                                  headers=h)
        assert again.status_code == 200, again.text
    assert tables_of(registry.engine, SYNTHETIC) == reference
    assert versions(registry.engine) == written


async def test_a_partial_patient_resource_changes_its_part_only(
    client: httpx.AsyncClient, registry: Registry,
) -> None:
    """A Condition POSTed alone replaces the onset and diagnosis, every other cell is kept."""
    h = await signed_in(client)
    before = tables_of(registry.engine, "BER-001")["patients"][0]
    condition = next(r for r in resources_for({"patients": [before]})
                     if r["resourceType"] == "Condition")
    condition["onsetDateTime"] = "2022-02-01"
    response = await client.post(f"{FHIR}/Condition", json=condition, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["onsetDateTime"] == "2022-02-01"
    assert tables_of(registry.engine, "BER-001")["patients"][0] == before | {
        "onset_date": "2022-02-01"}
    del condition["bodySite"]  # the Condition is the whole of its part: the region is gone
    (issue,) = issues(await client.post(f"{FHIR}/Condition", json=condition, headers=h), 422)
    assert (issue["diagnostics"], issue["expression"]) == ("is required for a patient",
                                                           ["Condition.bodySite"])


async def test_invalid_fhir_is_400_with_the_element_and_writes_nothing(
    client: httpx.AsyncClient, registry: Registry,
) -> None:
    h = await signed_in(client)
    audits = count(registry.engine, AuditEntry)
    observation = _measurement(registry)
    observation["valueQuantity"]["value"] = "a lot"
    (issue,) = issues(await client.post(f"{FHIR}/Observation", json=observation, headers=h), 400)
    assert issue["code"] == "invalid" and issue["expression"] == ["Observation.valueQuantity.value"]
    for body in (b"{not json", b"[1, 2]"):
        assert issues(await client.post(f"{FHIR}/Observation", content=body, headers=h),
                      400)[0]["code"] == "invalid"
    wrong = issues(await client.post(f"{FHIR}/Condition", json=_measurement(registry),
                                     headers=h), 400)
    assert wrong[0]["expression"] == ["Condition.resourceType"]
    assert issues(await client.post(f"{FHIR}/Encounter", json={"resourceType": "Encounter"},
                                    headers=h), 404)[0]["code"] == "not-found"
    for bundle, where in (({"resourceType": "Bundle", "type": "document"}, "Bundle.type"),
                          ({"resourceType": "Bundle", "type": "batch"}, "Bundle.entry"),
                          ({"resourceType": "Bundle", "type": "batch", "entry": [{}]},
                           "Bundle.entry[0].resource")):
        assert issues(await client.post(FHIR, json=bundle, headers=h), 400)[0][
            "expression"] == [where]
    assert count(registry.engine, AuditEntry) == audits


async def test_a_broken_rule_is_422_with_the_rule_and_element_and_writes_nothing(
    client: httpx.AsyncClient, registry: Registry,
) -> None:
    h = await signed_in(client)
    audits, rows = count(registry.engine, AuditEntry), count(registry.engine, Measurement)
    observation = _measurement(registry)
    observation["effectiveDateTime"] = "2030-01-01"
    (issue,) = issues(await client.post(f"{FHIR}/Observation", json=observation, headers=h), 422)
    assert issue["code"] == "business-rule" and "in the future" in issue["diagnostics"]
    assert issue["expression"] == ["Observation.effectiveDateTime"]
    assert (count(registry.engine, AuditEntry), count(registry.engine, Measurement)) == (
        audits, rows)


async def test_a_warning_passes_once_the_resource_confirms_it(
    client: httpx.AsyncClient, registry: Registry,
) -> None:
    h = await signed_in(client)
    observation = _measurement(registry, kind="nfl_serum", value="2000")
    (issue,) = issues(await client.post(f"{FHIR}/Observation", json=observation, headers=h), 422)
    assert issue["diagnostics"].startswith("confirm: 2000 pg/mL is above")
    assert issue["details"]["coding"][0]["code"] == "value.outside_range"
    assert issue["expression"] == ["Observation.valueQuantity.value"]
    observation["extension"] = [{"url": CONFIRMED, "valueString": "value.outside_range"}]
    response = await client.post(f"{FHIR}/Observation", json=observation, headers=h)
    assert response.status_code == 201, response.text
    assert response.json()["extension"] == observation["extension"]
    nfl = [r for r in tables_of(registry.engine, "BER-001")["measurements"]
           if r["kind"] == "nfl_serum"]
    assert [(r["value"], r["confirmed_warnings"]) for r in nfl] == [
        ("2000", "value.outside_range")]


async def test_a_transaction_with_one_bad_entry_writes_nothing(
    client: httpx.AsyncClient, registry: Registry,
) -> None:
    h = await signed_in(client)
    audits, rows = count(registry.engine, AuditEntry), count(registry.engine, Measurement)
    entries = []
    for day, value in (("2025-03-01", 30), ("2025-03-02", 31), ("2030-01-01", 32)):
        observation = _measurement(registry)
        observation["effectiveDateTime"], observation["valueQuantity"]["value"] = day, value
        observation.pop("id"), observation.pop("identifier")
        entries.append({"resource": observation, "request": {"method": "POST",
                                                             "url": "Observation"}})
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    (issue,) = issues(await client.post(FHIR, json=bundle, headers=h), 422)
    assert issue["expression"] == ["Bundle.entry[2].resource.effectiveDateTime"]
    assert "in the future" in issue["diagnostics"]
    assert (count(registry.engine, AuditEntry), count(registry.engine, Measurement)) == (
        audits, rows)
    entries.pop()
    answer = await client.post(FHIR, json=bundle, headers=h)
    assert [e["response"]["status"] for e in answer.json()["entry"]] == ["201 Created"] * 2
    assert count(registry.engine, Measurement) == rows + 2


async def test_another_sites_patient_or_site_is_refused_before_anything_is_written(
    client: httpx.AsyncClient, registry: Registry,
) -> None:
    h = await signed_in(client)
    audits = count(registry.engine, AuditEntry)
    foreign = _measurement(registry, "PAD-001")
    (issue,) = issues(await client.post(f"{FHIR}/Observation", json=foreign, headers=h), 403)
    assert issue["code"] == "forbidden" and issue["expression"] == ["Observation.subject"]
    stranger = _patient_resources(registry, "BER-001")
    stranger[0]["identifier"][0]["value"] = stranger[0]["id"] = "PAD-777"
    stranger[0]["managingOrganization"] = {"identifier": {
        "system": "https://alsrwe.org/fhir/site", "value": "PAD"}}
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": r, "fullUrl": f"urn:uuid:{n}"} for n, r in enumerate(stranger)]}
    for r in stranger[1:]:
        r["subject"] = {"reference": "urn:uuid:0"}
    (issue,) = issues(await client.post(FHIR, json=bundle, headers=h), 403)
    assert "PAD" in issue["diagnostics"]
    assert issue["expression"] == ["Bundle.entry[0].resource.managingOrganization"]
    assert count(registry.engine, AuditEntry) == audits


async def test_writes_need_the_csrf_token_and_a_record_role(
    client: httpx.AsyncClient, registry: Registry,
) -> None:
    observation = _measurement(registry)
    assert issues(await client.post(f"{FHIR}/Observation", json=observation), 401)
    await login(client, "clin")
    assert issues(await client.post(f"{FHIR}/Observation", json=observation), 403)
    await client.post("/logout", headers={"X-CSRF-Token": await csrf_of(client)})
    h = await signed_in(client, "analyst")
    assert issues(await client.post(f"{FHIR}/Observation", json=observation, headers=h), 403)
    await client.post("/logout", headers=h)
    h = await signed_in(client)
    update = await client.put(f"{FHIR}/Patient/BER-001", json={}, headers=h)
    assert issues(update, 405)[0]["code"] == "not-supported"


def _patient_resources(registry: Registry, pseudonym: str) -> list[dict[str, Any]]:
    row = tables_of(registry.engine, pseudonym)["patients"]
    return [r for r in resources_for({"patients": row}) if r["resourceType"] != "Organization"]


def _measurement(registry: Registry, pseudonym: str = "BER-001", kind: str = "weight_kg",
                 value: str = "71") -> dict[str, Any]:
    """A new Observation (a weight) of a registered patient, as alsrwe writes one."""
    unit = {"weight_kg": "kg", "nfl_serum": "pg/mL"}[kind]
    row = {"patient_id": pseudonym, "date": "2025-03-10", "kind": kind, "value": value,
           "unit": unit, "assay": "simoa" if kind == "nfl_serum" else "", "lab": "",
           "confirmed_warnings": ""}
    (observation,) = resources_for({"measurements": [row]})
    assert observation["subject"]["reference"] == f"Patient/{patient_fhir_id(pseudonym)}"
    return observation
