"""The OpenAPI document is accurate: every /api/v1 route is in it with its response schema,
and real responses validate against the documented schemas.

jsonschema is not a dependency, so a small validator of the subset FastAPI emits (type,
properties, required, items, additionalProperties, $ref, anyOf, enum, const, bounds) checks
the responses against the document itself — not against the pydantic models that produced
both, which could hide a drift between them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tests.web.conftest import Registry, login
from tests.web.test_access import PATIENT_PARAMETER, api_routes

pytestmark = pytest.mark.anyio

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "null": (type(None),),
}


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def _type_ok(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, JSON_TYPES[kind])


def problems(value: Any, schema: dict[str, Any], document: dict[str, Any],
             where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (an OpenAPI 3.1 / JSON Schema subset); [] if valid."""
    schema = _resolve(schema, document)
    if "anyOf" in schema:
        options = [problems(value, option, document, where) for option in schema["anyOf"]]
        return [] if any(not found for found in options) else [f"{where}: matches no anyOf"]
    found: list[str] = []
    if "type" in schema and not _type_ok(value, schema["type"]):
        return [f"{where}: {value!r} is not {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r} != {schema['const']!r}")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: {value} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        found += _object_problems(value, schema, document, where)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], document, f"{where}[{i}]")
    return found


def _object_problems(value: dict[str, Any], schema: dict[str, Any], document: dict[str, Any],
                     where: str) -> list[str]:
    found = [f"{where}.{name}: missing" for name in schema.get("required", [])
             if name not in value]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            found += problems(item, properties[name], document, f"{where}.{name}")
        elif isinstance(extra, dict):
            found += problems(item, extra, document, f"{where}.{name}")
        elif extra is False:
            found.append(f"{where}.{name}: not documented")
    return found


def _api(app: FastAPI) -> list[APIRoute]:
    routes = [r for r in api_routes(app) if r.path.startswith("/api/v1/")]
    return [r for r in routes if r.path != "/api/v1/openapi.json"]  # type: ignore[misc]


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_every_api_route_is_documented_with_its_response_schema(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    document = await _document(client)
    routes = _api(app)
    assert len(routes) >= 10
    for route in routes:
        operations = document["paths"].get(route.path)
        assert operations is not None, f"{route.path} is not in the OpenAPI document"
        for method in route.methods - {"HEAD"}:
            operation = operations.get(method.lower())
            assert operation is not None, (method, route.path)
            responses = operation["responses"]
            success = next(code for code in responses if code.startswith("2"))
            content = responses[success].get("content", {}).get("application/json")
            assert content and content.get("schema"), (method, route.path, "no response schema")
            model = getattr(route, "response_model", None)
            if model is not None and hasattr(model, "__name__"):
                assert content["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
            assert {"401", "403"} <= set(responses), (method, route.path)
            if PATIENT_PARAMETER in route.path:
                assert "404" in responses, (method, route.path)
            assert operation.get("summary") and operation.get("description"), route.path


async def test_every_documented_path_is_served(app: FastAPI, client: httpx.AsyncClient) -> None:
    document = await _document(client)
    served = {r.path for r in _api(app)}
    assert set(document["paths"]) == served


async def test_real_responses_match_the_documented_schemas(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "admin")
    document = await _document(client)
    checked = 0
    queries = {"/api/v1/sod1-variants/normalised": {"name": "A4V"}}
    """Routes that need a query parameter, and one to send."""
    for route in _api(app):
        if "GET" not in route.methods or route.path.count("{") > route.path.count(
                PATIENT_PARAMETER):
            continue
        for pseudonym in ("BER-001", "BER-C01"):
            path = route.path.replace(PATIENT_PARAMETER, str(registry.ids[pseudonym]))
            response = await client.get(path, params=queries.get(route.path))
            assert response.status_code == 200, path
            schema = document["paths"][route.path]["get"]["responses"]["200"]["content"][
                "application/json"]["schema"]
            assert problems(response.json(), schema, document) == [], path
            checked += 1
    assert checked >= 20


async def test_error_responses_match_the_documented_schemas(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    document = await _document(client)
    path = "/api/v1/patients/{patient_id}/measurements"
    anonymous = await client.get(path.replace(PATIENT_PARAMETER, "1"))
    operation = document["paths"][path]["get"]["responses"]
    schema = operation["401"]["content"]["application/json"]["schema"]
    assert anonymous.status_code == 401 and problems(anonymous.json(), schema, document) == []
    await login(client, "clin")
    foreign = await client.get(path.replace(PATIENT_PARAMETER, str(registry.ids["PAD-001"])))
    schema = operation["404"]["content"]["application/json"]["schema"]
    assert foreign.status_code == 404 and problems(foreign.json(), schema, document) == []
    invalid = await client.get(path.replace(PATIENT_PARAMETER, "1") + "?kind=nonsense")
    schema = operation["422"]["content"]["application/json"]["schema"]
    assert invalid.status_code == 422 and problems(invalid.json(), schema, document) == []


def test_the_validator_finds_problems() -> None:
    document = {"components": {"schemas": {"P": {
        "type": "object", "required": ["n"], "properties": {
            "n": {"type": "integer", "minimum": 0},
            "s": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "k": {"type": "string", "enum": ["a", "b"]}}}}}}
    ref = {"$ref": "#/components/schemas/P"}
    assert problems({"n": 1, "s": None, "k": "a"}, ref, document) == []
    assert problems({"s": 3}, ref, document) == ["$.n: missing", "$.s: matches no anyOf"]
    assert problems({"n": -1, "k": "z"}, ref, document) == ["$.n: -1 < 0",
                                                            "$.k: 'z' not in ['a', 'b']"]
    assert problems({"n": True}, ref, document) == ["$.n: True is not integer"]
