"""Roles and site isolation, checked on every route of the app's route table.

A route added later is covered automatically: it must be classified (public, aggregate or
record-level through ``require_record_access``), and if it takes a ``{patient_id}`` it must
answer 404 for another site's patient. A route with any other path parameter fails
``test_every_route_is_classified`` until a test here covers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts

from alsrwe.web.deps import (
    require_admin,
    require_aggregate_access,
    require_cohort_access,
    require_record_access,
)
from tests.web.conftest import Registry, login

pytestmark = pytest.mark.anyio

PUBLIC = {"/login", "/logout", "/", "/api/v1/openapi.json", "/api/v1/me", "/self-report/{token}",
          "/fhir/R4/metadata", "/fhir/R4/Questionnaire/{questionnaire_id}",
          "/fhir/R4/CodeSystem/{name}", "/fhir/R4/{path:path}"}
"""Routes any logged-in user (or anybody) may reach; they show no patient data (the
self-report link shows only the questionnaire: see test_self_report.py)."""
PATIENT_PARAMETER = "{patient_id}"
EVENT_PARAMETER = "{event_id}"
"""An adverse event's id: covered by test_another_sites_adverse_event_is_404."""
RECORD_PARAMETERS = ("{assessment_id}", "{measurement_id}", "{administration_id}",
                     "{milestone_id}")
"""One record's id: covered by test_another_sites_record_is_404."""
CLINIC_PARAMETERS = ("{record_id}", "{slug}", "{treatment_id}", "{medication_id}", "{link_id}")
"""A record, treatment, medication or self-report link of the clinic's pages and API:
covered by test_another_sites_record_is_404_on_the_clinic_routes."""
FHIR_PARAMETERS = ("{fhir_id}", "{resource_type}")
"""A FHIR Patient id or resource type: covered by tests/web/test_fhir_api.py (another site's
patient is a 404 to read, a 403 to write)."""


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every endpoint as the app serves it (included routers flattened, with their prefix
    and router-level dependencies)."""
    return [c for c in iter_route_contexts(app.routes) if getattr(c, "dependant", None)]


def is_record_level(route: RouteContext) -> bool:
    return require_record_access in set(_calls(route.dependant))


def is_aggregate(route: RouteContext) -> bool:
    return require_aggregate_access in set(_calls(route.dependant))


def is_admin_only(route: RouteContext) -> bool:
    return require_admin in set(_calls(route.dependant))


def is_scoped_aggregate(route: RouteContext) -> bool:
    """Aggregates of the user's own scope (cohort page, counts, sites): see test_cohort_scope."""
    return require_cohort_access in set(_calls(route.dependant))


def _get_paths(app: FastAPI, predicate: Callable[[RouteContext], bool]) -> list[str]:
    """GET routes that answer without a required query parameter (lists and pages)."""
    return sorted(r.path for r in api_routes(app) if "GET" in r.methods and predicate(r)
                  and not any(q.field_info.is_required() for q in r.dependant.query_params))


def test_every_route_is_classified(app: FastAPI) -> None:
    for route in api_routes(app):
        if route.path in PUBLIC or route.path.startswith("/assets/"):
            continue
        assert (is_record_level(route) or is_aggregate(route) or is_scoped_aggregate(route)
                or is_admin_only(route)), (
            f"{route.path} is unclassified")
        path = route.path.replace(PATIENT_PARAMETER, "").replace(EVENT_PARAMETER, "")
        for parameter in (*RECORD_PARAMETERS, *CLINIC_PARAMETERS, *FHIR_PARAMETERS):
            path = path.replace(parameter, "")
        parameters = path.count("{")
        assert parameters == 0, f"{route.path}: add its cross-site case to this module"


def test_the_route_table_has_patient_routes(app: FastAPI) -> None:
    """Guards the tests below against an empty list (e.g. a renamed parameter)."""
    assert {"/patients/{patient_id}", "/api/v1/patients/{patient_id}"} <= set(
        _get_paths(app, lambda r: PATIENT_PARAMETER in r.path)
    )


@pytest.mark.parametrize("username", ["clin", "datamgr"])
async def test_another_sites_patient_is_404_on_every_patient_route(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry, username: str
) -> None:
    await login(client, username)
    own, other = registry.ids["BER-001"], registry.ids["PAD-001"]
    for route in api_routes(app):
        if PATIENT_PARAMETER not in route.path:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            headers = {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}
            foreign = await client.request(
                method, route.path.replace(PATIENT_PARAMETER, str(other)), headers=headers
            )
            assert foreign.status_code == 404, (method, route.path)
            assert "PAD-001" not in foreign.text
            if method == "GET" and route.path.count("{") == 1:  # others: their own tests
                mine = await client.get(route.path.replace(PATIENT_PARAMETER, str(own)))
                assert mine.status_code == 200, route.path


async def test_a_missing_patient_is_the_same_404(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    missing = await client.get("/api/v1/patients/99999999")
    foreign = await client.get(f"/api/v1/patients/{registry.ids['PAD-001']}")
    assert missing.status_code == foreign.status_code == 404
    assert missing.json() == foreign.json()


async def test_no_list_shows_another_sites_patients(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await login(client, "clin")
    for path in _get_paths(app, lambda r: is_record_level(r) and "{" not in r.path):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "PAD-001" not in response.text, path
    assert "PAD-001" not in (await client.get("/patients?site=PAD")).text


async def test_admin_sees_every_site(client: httpx.AsyncClient, registry: Registry) -> None:
    await login(client, "admin")
    listing = (await client.get("/api/v1/patients")).json()
    assert {p["pseudonym"] for p in listing["data"]} == set(registry.ids)
    assert (await client.get(f"/patients/{registry.ids['PAD-001']}")).status_code == 200


@pytest.mark.parametrize("username", ["analyst", "selfpat"])
async def test_analysts_and_patients_reach_no_record_level_route(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry, username: str
) -> None:
    await login(client, username)
    record_routes = [r for r in api_routes(app) if is_record_level(r)]
    assert len(record_routes) >= 5
    headers = {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}
    for route in record_routes:
        path = route.path.replace(PATIENT_PARAMETER, str(registry.ids["BER-001"]))
        path = path.replace(EVENT_PARAMETER, "1")
        for parameter in RECORD_PARAMETERS:
            path = path.replace(parameter, "1")
        method = "GET" if "GET" in route.methods else sorted(route.methods)[0]
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 403, path
        assert "BER-001" not in response.text


async def test_analyst_lands_on_the_aggregate_cohort_page(client: httpx.AsyncClient) -> None:
    await login(client, "analyst")
    page = await client.get("/", follow_redirects=True)
    assert page.url.path == "/cohort"
    assert "Registry counts" in page.text
    assert "BER-001" not in page.text and "PAD-001" not in page.text
    assert (await client.get("/overview")).headers["location"] == "/cohort"


@pytest.mark.parametrize("username", ["clin", "datamgr", "selfpat"])
async def test_only_admins_and_analysts_see_the_cross_site_overview(
    client: httpx.AsyncClient, username: str
) -> None:
    await login(client, username)
    assert (await client.get("/overview")).status_code == 403


async def test_patient_users_only_get_the_self_report_note(client: httpx.AsyncClient) -> None:
    await login(client, "selfpat")
    home = await client.get("/")
    assert home.status_code == 200 and "self-report" in home.text
    assert (await client.get("/dashboard")).status_code == 403


async def test_anonymous_requests_go_to_login_or_get_401(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry
) -> None:
    for route in api_routes(app):
        if route.path in PUBLIC or route.path.startswith("/assets/") or "GET" not in route.methods:
            continue
        path = route.path.replace(PATIENT_PARAMETER, str(registry.ids["BER-001"]))
        response = await client.get(path)
        if path.startswith(("/api/", "/fhir/")):
            assert response.status_code == 401, path
        else:
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")


async def test_patient_users_reach_no_aggregate_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await login(client, "selfpat")
    paths = _get_paths(app, lambda r: is_scoped_aggregate(r) or is_aggregate(r))
    assert {"/cohort", "/api/v1/sites", "/api/v1/cohort/summary"} <= set(paths)
    for path in paths:
        assert (await client.get(path)).status_code == 403, path


async def test_scoped_aggregates_show_only_the_users_sites(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A clinician's aggregates (page and API) cover their sites only; another site is a 404."""
    await login(client, "clin")
    paths = _get_paths(app, is_scoped_aggregate)
    for path in paths:
        if path.startswith("/api/"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "PAD" not in response.text and "PAD-001" not in response.text, path
    assert (await client.get("/cohort?site=PAD&wait=0")).status_code == 404
    page = await client.get("/cohort?wait=0")
    assert page.status_code == 200 and "PAD" not in page.text


@pytest.mark.parametrize("username", ["clin", "datamgr"])
async def test_another_sites_adverse_event_is_404(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry, username: str
) -> None:
    """Every route on one adverse event refuses another site's event as if it did not exist."""
    from sqlalchemy import select

    from alsrwe.store.db import unit_of_work
    from alsrwe.store.models import AdverseEvent

    await login(client, username)
    with unit_of_work(registry.engine) as session:
        foreign = session.scalars(select(AdverseEvent.id).where(
            AdverseEvent.patient_id == registry.ids["PAD-001"])).first()
    routes = [r for r in api_routes(app) if EVENT_PARAMETER in r.path]
    assert routes
    headers = {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}
    for route in routes:
        for method in sorted(route.methods - {"HEAD"}):
            path = route.path.replace(EVENT_PARAMETER, str(foreign))
            response = await client.request(method, path, headers=headers,
                                            json={"outcome": "recovered"})
            assert response.status_code == 404, (method, route.path)
            missing = await client.request(method, route.path.replace(EVENT_PARAMETER, "999999"),
                                           headers=headers, json={"outcome": "recovered"})
            assert missing.json() == response.json()


@pytest.mark.parametrize("username", ["clin", "datamgr"])
async def test_another_sites_record_is_404(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry, username: str
) -> None:
    """Every route on one rating, measurement, dose or milestone refuses another site's record
    as if it did not exist, and changes nothing."""
    import datetime as dt

    from sqlalchemy import func, select

    from alsrwe.store.db import unit_of_work
    from alsrwe.store.models import (
        Administration,
        AlsfrsAssessment,
        AuditEntry,
        Measurement,
        Milestone,
    )

    other = registry.ids["PAD-001"]
    with unit_of_work(registry.engine) as session:
        session.add_all([
            AlsfrsAssessment(patient_id=other, date=dt.date(2025, 1, 2), gastrostomy=False,
                             source="clinic", **{f"q{i}": 4 for i in range(1, 13)}),
            Milestone(patient_id=other, date=dt.date(2024, 6, 1), kind="gastrostomy"),
        ])
        session.flush()
        foreign = {
            parameter: session.scalars(select(model.id).where(model.patient_id == other)).first()
            for parameter, model in zip(
                RECORD_PARAMETERS, (AlsfrsAssessment, Measurement, Administration, Milestone),
                strict=True)
        }
    await login(client, username)
    headers = {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}
    with unit_of_work(registry.engine) as session:
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
    covered = set()
    for route in api_routes(app):
        parameter = next((p for p in RECORD_PARAMETERS if p in route.path), None)
        if parameter is None:
            continue
        covered.add(parameter)
        for method in sorted(route.methods - {"HEAD"}):
            path = route.path.replace(parameter, str(foreign[parameter]))
            response = await client.request(method, path, headers=headers,
                                            json={"date": "2025-01-03"})
            assert response.status_code == 404, (method, route.path)
            assert "PAD-001" not in response.text
            missing = await client.request(method, route.path.replace(parameter, "999999"),
                                           headers=headers, json={"date": "2025-01-03"})
            assert missing.json() == response.json()
    assert covered == set(RECORD_PARAMETERS)
    with unit_of_work(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits


@pytest.mark.parametrize("username", ["clin", "datamgr"])
async def test_another_sites_record_is_404_on_the_clinic_routes(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry, username: str
) -> None:
    """Corrections, voids, treatments, medications and self-report links: another site's
    record (under one's own patient, or by id in the API) is a 404 and changes nothing."""
    import datetime as dt

    from sqlalchemy import func, select

    from alsrwe.store.db import unit_of_work
    from alsrwe.store.models import (
        AlsfrsAssessment,
        AuditEntry,
        Medication,
        Milestone,
        SelfReportLink,
        Treatment,
        VoidedRecord,
    )
    from alsrwe.store.writes import MODELS
    from alsrwe.web.record_forms import TABLE_OF_SLUG

    other, own = registry.ids["PAD-001"], registry.ids["BER-001"]
    day = dt.date(2025, 1, 2)
    with unit_of_work(registry.engine) as session:
        session.add_all([
            AlsfrsAssessment(patient_id=other, date=day, gastrostomy=False, source="clinic",
                             **{f"q{i}": 4 for i in range(1, 13)}),
            Milestone(patient_id=other, date=dt.date(2024, 6, 1), kind="gastrostomy"),
            Medication(patient_id=other, drug="riluzole", start_date=day),
            Treatment(patient_id=other, regimen="tofersen_us", start_date=day),
            SelfReportLink(token_hash="f" * 64, patient_id=other,
                           expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
        ])
        session.flush()
        by_table = {table: session.scalars(select(model.__table__.c.id).where(
            model.__table__.c.patient_id == other)).first() for table, model in MODELS.items()}
        treatment = session.scalars(select(Treatment.id)).one()
        link = session.scalars(select(SelfReportLink.id)).one()
    api_tables = {f"/api/v1/{path}/": table for table, path in
                  {"alsfrs": "alsfrs", "measurements": "measurements",
                   "administrations": "administrations", "medications": "medications",
                   "adverse_events": "adverse-events", "milestones": "milestones"}.items()}
    await login(client, username)
    headers = {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}
    with unit_of_work(registry.engine) as session:
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
    covered: set[str] = set()
    for route in api_routes(app):
        found = [p for p in CLINIC_PARAMETERS if p in route.path]
        if not found:
            continue
        covered.update(found)
        paths = []
        base = route.path.replace(PATIENT_PARAMETER, str(own))
        if "{slug}" in base:
            paths = [base.replace("{slug}", slug).replace("{record_id}", str(by_table[table]))
                     for slug, table in TABLE_OF_SLUG.items()]
        elif "{record_id}" in base:
            table = next(t for prefix, t in api_tables.items() if base.startswith(prefix))
            paths = [base.replace("{record_id}", str(by_table[table]))]
        else:
            paths = [base.replace("{treatment_id}", str(treatment))
                     .replace("{medication_id}", str(by_table["medications"]))
                     .replace("{link_id}", str(link))]
        for path in paths:
            for method in sorted(route.methods - {"HEAD"}):
                response = await client.request(method, path, headers=headers,
                                                json={"reason": "x"})
                assert response.status_code == 404, (method, path, response.text[:200])
                assert "PAD-001" not in response.text
    assert covered == set(CLINIC_PARAMETERS)
    with unit_of_work(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits
        assert session.scalar(select(func.count()).select_from(VoidedRecord)) == 0
