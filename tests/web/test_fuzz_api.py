"""The JSON API is what its OpenAPI document says, proven by fuzzing (schemathesis).

Every operation of ``/api/v1/openapi.json`` gets schema-valid and schema-violating requests
generated from the document itself (schemathesis' coverage, examples and fuzzing phases), from
a clinician of BER logged in through the login form (session cookie, and the CSRF header on
writes), on SQLite and on PostgreSQL, with the app in process (ASGI). Every response must:

- not be a server error (``not_a_server_error``);
- have a status code, a content type, a body and headers the document lists for the
  operation (``status_code_conformance``, ``content_type_conformance``,
  ``response_schema_conformance``, ``response_headers_conformance``);
- refuse a request that breaks the document (``negative_data_rejection``) and accept one that
  keeps to it (``positive_data_acceptance``), with one exception: a 422 naming only rules of
  the record that a schema cannot state (a date against the patient's timeline or today, a
  dose too soon, a duplicate, a unit that does not fit the kind, an SOD1 name that does not
  parse), of ``type`` ``hard_rule`` or ``soft_rule``, and a 428 for a change that states no
  version (If-Match or the body's version, one of the two). A 422 of the schema layer
  (pydantic), or of a rule the document states (no control characters), still fails a
  schema-valid request.

No operation and no check is left out: the API has no logout or other operation that would
end the session. Generation is seeded and deterministic, the example database is off (a run
replays nothing from an earlier one), so each run sends the same ~4,500 requests per backend
(~80 s for both on 2 cores with ``-n 2``). Deselect with ``-m "not fuzz"``.

Below the fuzzer, one plain test per class of bug it found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from alsrwe.domain.cells import CONTROL_CHARACTER
from alsrwe.domain.regimens import REGIMENS
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Measurement,
    Medication,
    Milestone,
    Treatment,
)
from alsrwe.web.auth import CSRF_HEADER, LOGIN_CSRF_COOKIE, SESSION_COOKIE
from alsrwe.web.routes.api_clinic import VOID_PATHS
from alsrwe.web.schemas import NO_CONTROL_CHARACTERS
from tests.web.conftest import PASSWORD, Registry, csrf_of, form_token, login

MAX_EXAMPLES = 50
"""Fuzzing examples per operation, on top of the coverage phase's cases."""
MIN_REQUESTS = 2000
"""Requests per backend at least (the seeded run sends the same number each time)."""
SEED = 20250320
DOCUMENT = "/api/v1/openapi.json"
JUDGED = frozenset({"hard_rule", "soft_rule"})
"""The ``type`` of a 422 problem judged by the domain or the rulebook (not by the schema)."""
PRECONDITION_REQUIRED = 428
STATED_CODES = frozenset({CONTROL_CHARACTER})
"""Rules the document states (as a pattern): a schema-valid request never breaks them."""


def judged_by_the_rules(response: schemathesis.Response) -> bool:
    """Whether a 422 names only rules of the record that no schema can state: a date against
    the patient's timeline or today, a dose too soon, an SOD1 name that does not parse, a unit
    that does not fit the kind, a duplicate, a clinic rating sent for review…"""
    if response.status_code != 422:
        return False
    detail = response.json().get("detail")
    return isinstance(detail, list) and bool(detail) and all(
        isinstance(item, dict) and item.get("type") in JUDGED
        and item.get("code") not in STATED_CODES for item in detail)


@schemathesis.check
def positive_data_acceptance_but_judged_rules(ctx: schemathesis.CheckContext,
                                              response: schemathesis.Response,
                                              case: schemathesis.Case) -> bool | None:
    """``positive_data_acceptance``, except for a 422 of :func:`judged_by_the_rules` and the
    428 of a change that states no version (``If-Match`` *or* the body's ``version``: one of
    two, which the document says but a schema cannot require); a schema-valid request
    refused by the schema layer (pydantic) still fails it."""
    if judged_by_the_rules(response) or response.status_code == PRECONDITION_REQUIRED:
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection,
          positive_data_acceptance_but_judged_rules]


@dataclass
class Tally:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def log_in(app: FastAPI, username: str) -> tuple[str, str]:
    """The session cookie and CSRF token of ``username``, through the login form."""
    with get_client(app) as browser:  # a requests session over the app, as the fuzzer's
        page = browser.get("/login")
        assert browser.cookies.get(LOGIN_CSRF_COOKIE)
        done = browser.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": form_token(page.text)},
                            allow_redirects=False)
        assert done.status_code == 303, done.text
        session = browser.cookies[SESSION_COOKIE]
        me = browser.get("/api/v1/me")
        assert me.status_code == 200
        token: str = me.json()["csrf_token"]
    return session, token


RECORD_MODELS = {"alsfrs": AlsfrsAssessment, "measurements": Measurement,
                 "administrations": Administration, "adverse_events": AdverseEvent,
                 "milestones": Milestone, "medications": Medication, "treatments": Treatment}


def record_ids(registry: Registry) -> dict[str, list[int]]:
    """The ids of the registry's records by kind, so that the fuzzer also hits real records."""
    with unit_of_work(registry.engine, read_only=True) as session:
        return {kind: list(session.scalars(select(model.id)))  # type: ignore[attr-defined]
                for kind, model in RECORD_MODELS.items()}


PATH_IDS = {"patient_id": "patients", "assessment_id": "alsfrs",
            "measurement_id": "measurements", "administration_id": "administrations",
            "event_id": "adverse_events", "milestone_id": "milestones",
            "medication_id": "medications", "treatment_id": "treatments"}
VOIDS = {f"/api/v1/{path}/{{record_id}}/void": table for table, path in VOID_PATHS.items()}
"""The void routes name their id ``record_id``: its kind is the path's."""


def id_kind(path: str, name: str) -> str | None:
    return VOIDS.get(path) if name == "record_id" else PATH_IDS.get(name)


DAYS = ["2023-05-02", "2024-06-03", "2024-11-18", "2025-01-20", "2025-03-10", "2025-03-20"]
"""Dates within the registry's timelines (onsets 2022, "today" 2025-03-20): drawn for body
dates half of the time, so that schema-valid writes also get past the timeline's rules."""
BODY_DATES = ("date", "onset_date", "diagnosis_date", "genetic_test_date", "counselling_date",
              "start_date", "stop_date", "end_date", "resolved_date")


def fuzz_config(session: str, csrf: str, ids: dict[str, list[int]]) -> schemathesis.Config:
    """Seeded, deterministic generation as the logged-in clinician; path ids are the
    registry's own 90 % of the time (any integer otherwise), so most requests reach a record."""
    dictionaries: dict[str, Any] = {name: {"values": values} for name, values in ids.items()
                                    if values}
    dictionaries["days"] = {"values": DAYS}
    parameters: dict[str, Any] = {f"path.{name}": {"dictionary": kind, "probability": 0.9}
                                  for name, kind in PATH_IDS.items() if kind in dictionaries}
    parameters.update({f"body.{name}": {"dictionary": "days", "probability": 0.5}
                       for name in BODY_DATES})
    voids = [{"include-path": path,
              "parameters": {**parameters,
                             "path.record_id": {"dictionary": table, "probability": 0.9}}}
             for path, table in VOIDS.items() if table in dictionaries]
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "dictionaries": dictionaries,
        "parameters": parameters,
        "operations": voids,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                       "database": "none"},
        "auth": {"openapi": {"APIKeyCookie": {"api_key": session},
                             "APIKeyHeader": {"api_key": csrf}}},
    })


@pytest.fixture
def tally() -> Iterator[Tally]:
    counted = Tally()
    yield counted
    print(f"\nfuzz: {counted.requests} requests, statuses {sorted(counted.statuses.items())}")
    assert counted.requests >= MIN_REQUESTS, counted


def with_examples(document: dict[str, Any], ids: dict[str, list[int]]) -> dict[str, Any]:
    """The served document, with the id of a real record as the ``examples`` of each id in a
    path (an annotation: what is valid does not change). The coverage phase builds its cases
    around one value per parameter, 0 for a bare integer: without a real id every one of its
    body mutations would end in a 404 before the body is read."""
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                kind = id_kind(path, parameter["name"])
                if parameter["in"] == "path" and kind and ids.get(kind):
                    parameter["schema"] = {**parameter["schema"], "examples": ids[kind][:1]}
    return document


SEEDED = {"treatments": {"regimen": "tofersen_eu", "start_date": "2024-12-30"},
          "medications": {"drug": "riluzole", "start_date": "2023-01-10"}}
"""Records the web tests' registry lacks, written through the API before fuzzing so that
the fuzzer also ends a treatment and corrects a medication that exist."""


@pytest.fixture
def api_schema(app: FastAPI, registry: Registry) -> Any:
    session, csrf = log_in(app, "clin")
    with get_client(app) as client:
        for kind, body in SEEDED.items():
            made = client.post(f"/api/v1/patients/{registry.ids['BER-001']}/{kind}", json=body,
                               cookies={SESSION_COOKIE: session}, headers={CSRF_HEADER: csrf})
            assert made.status_code == 201, made.text
        served = client.get(DOCUMENT)
    assert served.status_code == 200
    ids = {"patients": [registry.ids["BER-001"], registry.ids["BER-002"],
                        registry.ids["BER-C01"], registry.ids["PAD-001"]],
           **record_ids(registry)}
    schema = schemathesis.openapi.from_dict(with_examples(served.json(), ids),
                                            config=fuzz_config(session, csrf, ids))
    schema.app = app  # requests go to the app in process (ASGI), as from_asgi does
    schema.location = DOCUMENT
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.fuzz
@schema.parametrize()
def test_the_api_is_what_its_document_says(case: schemathesis.Case, tally: Tally) -> None:
    response = case.call()
    tally.requests += 1
    tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
    case.validate_response(response, checks=CHECKS)



# --- one plain regression test per class of bug the fuzzer found ------------------------------

async def document_of(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(DOCUMENT)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


async def writer(client: httpx.AsyncClient) -> dict[str, str]:
    await login(client, "clin")
    return {"X-CSRF-Token": await csrf_of(client)}


@pytest.mark.anyio
async def test_writes_are_documented_as_needing_the_cookie_and_the_csrf_header(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    """The document listed cookie *or* header; a write with the cookie alone is a 403."""
    document = await document_of(client)
    for method, path, operation in operations(document):
        expected = ([{"APIKeyCookie": [], "APIKeyHeader": []}] if method != "get"
                    else [{"APIKeyCookie": []}])
        assert operation["security"] == expected, (method, path)
    await login(client, "clin")
    cookie_only = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/milestones",
                                    json={"kind": "niv", "date": "2025-03-01"})
    assert cookie_only.status_code == 403


OUT_OF_RANGE = [0, -1, 2**31, 2**40, 2**63, 10**30]


@pytest.mark.anyio
@pytest.mark.parametrize("record_id", OUT_OF_RANGE)
async def test_an_id_no_record_can_have_is_a_404(client: httpx.AsyncClient, record_id: int,
                                                 registry: Registry) -> None:
    """Beyond the 32-bit column range PostgreSQL refused the query (a 500 once, then a 422 of
    ``le=MAX_ID``): any integer is a well-formed id, and one that names no record is a 404."""
    h = await writer(client)
    requests = [("GET", f"/api/v1/patients/{record_id}", None),
                ("GET", f"/api/v1/patients/{record_id}/measurements", None),
                ("PATCH", f"/api/v1/measurements/{record_id}", {"value": 1}),
                ("PATCH", f"/api/v1/patients/{record_id}", {"sex": "F"}),
                ("POST", f"/api/v1/alsfrs/{record_id}/void", {"reason": "entered in error"}),
                ("POST", f"/api/v1/treatments/{record_id}/end",
                 {"end_kind": "paused", "end_date": "2025-03-01", "end_reason": "surgery"}),
                ("GET", f"/patients/{record_id}", None)]
    for method, path, body in requests:
        response = await client.request(method, path, json=body, headers=h)
        assert response.status_code == 404, (method, path, response.text)
        if path.startswith("/api/"):
            assert response.json() == {"detail": "no record has this id"}


@pytest.mark.anyio
async def test_ids_in_paths_are_documented_as_any_integer_with_a_404(
    client: httpx.AsyncClient
) -> None:
    document = await document_of(client)
    checked = 0
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "integer", (method, path)
                assert not {"minimum", "maximum"} & set(parameter["schema"]), (method, path)
                assert "404" in operation["responses"], (method, path)
                checked += 1
    assert checked >= 25


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "name"), [
    ("/api/v1/patients?q=BER%00", "q"),
    ("/api/v1/patients?site=B%C2%8DR", "site"),
    ("/api/v1/sod1-variants/normalised?name=A4V%01", "name"),
    ("/api/v1/patients/{BER-001}/administrations?drug=tofersen%7F", "drug"),
])
async def test_a_control_character_in_a_query_string_is_a_422_at_its_parameter(
    client: httpx.AsyncClient, registry: Registry, path: str, name: str
) -> None:
    """A 422 named the parameter at ``["body", name]``, and the document did not say that a
    control character (C0, DEL or C1: U+008D too) is refused."""
    await login(client, "clin")
    response = await client.get(path.replace("{BER-001}", str(registry.ids["BER-001"])))
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", name]
    assert problem["code"] == CONTROL_CHARACTER and problem["type"] == "hard_rule"
    assert "control character" in problem["msg"]
    document = await document_of(client)
    operation = document["paths"][path.split("?")[0].replace("{BER-001}", "{patient_id}")]
    [parameter] = [p for p in operation["get"]["parameters"] if p["name"] == name]
    schema = parameter["schema"]
    string = next(option for option in schema.get("anyOf", [schema])
                  if option.get("type") == "string")
    assert string["pattern"] == NO_CONTROL_CHARACTERS


@pytest.mark.anyio
async def test_every_text_the_api_reads_is_documented_without_control_characters(
    client: httpx.AsyncClient
) -> None:
    document = await document_of(client)
    texts = 0
    for name, component in document["components"]["schemas"].items():
        if not name.endswith(("Create", "Update", "Request")):
            continue
        for field_name, value in component["properties"].items():
            for option in value.get("anyOf", [value]):
                if option.get("type") == "string" and "format" not in option:
                    assert "pattern" in option or "enum" in option, (name, field_name)
                    texts += 1
    assert texts >= 20


@pytest.mark.anyio
@pytest.mark.parametrize(("changes", "field"), [
    ({"q12": False}, "q12"),  # was stored as item 12 = 0
    ({"q1": True}, "q1"),
    ({"q1": "4.5"}, "q1"),
    ({"q1": " 4"}, "q1"),
    ({"gastrostomy": 0}, "gastrostomy"),
    ({"date": 0}, "date"),  # was stored as 1970-01-01
    ({"date": "1700000000"}, "date"),
    ({"date": "2025-03-19T00:00:00"}, "date"),
])
async def test_json_values_of_the_wrong_type_are_refused_not_converted(
    client: httpx.AsyncClient, registry: Registry, changes: dict[str, Any], field: str
) -> None:
    """A number is a JSON number or its text as a CSV cell holds it (``"4"``), never a
    boolean; a date is ``YYYY-MM-DD``, never seconds since 1970."""
    h = await writer(client)
    body = {"date": "2025-03-19", "gastrostomy": False, **{f"q{n}": 4 for n in range(1, 13)},
            **changes}
    response = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/alsfrs",
                                 json=body, headers=h)
    assert response.status_code == 422, response.text
    assert [item["loc"] for item in response.json()["detail"]] == [["body", field]]


@pytest.mark.anyio
@pytest.mark.parametrize("query", ["start=0", "end=1700000000", "start=2025-3-1"])
async def test_a_query_date_is_yyyy_mm_dd_only(client: httpx.AsyncClient, registry: Registry,
                                               query: str) -> None:
    await login(client, "clin")
    response = await client.get(
        f"/api/v1/patients/{registry.ids['BER-001']}/measurements?{query}")
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", query.split("=")[0]]
    assert "YYYY-MM-DD" in problem["msg"]


@pytest.mark.anyio
async def test_end_before_start_is_a_422_naming_end(client: httpx.AsyncClient,
                                                    registry: Registry) -> None:
    await login(client, "clin")
    response = await client.get(f"/api/v1/patients/{registry.ids['BER-001']}/alsfrs"
                                "?start=2025-03-01&end=2025-02-01")
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", "end"] and problem["type"] == "hard_rule"
    assert "before start 2025-03-01" in problem["msg"]


@pytest.mark.anyio
async def test_an_unreadable_body_is_a_documented_400(client: httpx.AsyncClient,
                                                      registry: Registry) -> None:
    h = await writer(client)
    response = await client.post(f"/api/v1/patients/{registry.ids['BER-001']}/milestones",
                                 content=b"\x87\x12\xff", headers={
                                     **h, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}
    document = await document_of(client)
    for method, path, operation in operations(document):
        assert ("400" in operation["responses"]) == ("requestBody" in operation), (method, path)


@pytest.mark.anyio
async def test_an_update_documents_null_only_where_a_record_may_lack_the_value(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    """``"status": null`` was schema-valid but refused ("None is not text")."""
    document = await document_of(client)
    update = document["components"]["schemas"]["PatientUpdate"]["properties"]
    nullable = {name for name, field in update.items()
                if {"type": "null"} in field.get("anyOf", [])} - {"version"}
    assert nullable == {"onset_date", "onset_region", "diagnosis_date", "genetic_test_date",
                        "counselling_date"}
    h = await writer(client)
    path = f"/api/v1/patients/{registry.ids['BER-001']}"
    read = await client.get(path)
    response = await client.patch(path, json={"status": None},
                                  headers={**h, "If-Match": read.headers["etag"]})
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["body", "status"]]


@pytest.mark.anyio
async def test_the_document_states_the_single_field_rules(client: httpx.AsyncClient) -> None:
    """Rules a schema can state, stated (the domain still refuses them, in its own words):
    ALSFRS-R items 0-4, CTCAE grades 1-5, the warning codes, the regimens, the pseudonym."""
    schemas = (await document_of(client))["components"]["schemas"]
    item, item_text = schemas["AlsfrsCreate"]["properties"]["q7"]["anyOf"]
    assert item == {"type": "integer", "minimum": 0, "maximum": 4}
    assert item_text["type"] == "string"  # "4", as a CSV cell holds it
    assert [bool(re.fullmatch(item_text["pattern"], text)) for text in ("4", "+0", "4.0", "5")] == [
        True, True, True, False]
    grade, _ = schemas["AdverseEventCreate"]["properties"]["grade"]["anyOf"]
    assert grade == {"type": "integer", "minimum": 1, "maximum": 5}
    codes = schemas["MilestoneCreate"]["properties"]["confirm_warnings"]["items"]["enum"]
    assert "dose.not_label_dose" in codes
    assert schemas["TreatmentCreate"]["properties"]["regimen"]["enum"] == sorted(REGIMENS)
    assert schemas["PatientCreate"]["properties"]["patient_id"]["pattern"] == (
        "^[A-Za-z0-9._-]{1,40}$")
