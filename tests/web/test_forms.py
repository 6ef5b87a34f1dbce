"""The data-entry pages: saved when valid, shown again with messages next to fields when not.

Every invalid case also checks that nothing was written (rows and audit entries counted
before and after), and every form refuses a submission without the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import func, select

from alsrwe.domain.regimens import TOFERSEN_US, next_due
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    AuditEntry,
    Base,
    Measurement,
    Milestone,
)
from tests.web.conftest import TODAY, Registry, form_token, login

pytestmark = pytest.mark.anyio

D = dt.date
FORMS: dict[str, tuple[type[Base], dict[str, str]]] = {
    "measurements": (Measurement, {"date": "2025-03-18", "kind": "csf_protein", "value": "0.5",
                                   "unit": "g/L", "assay": "", "lab": "Charité"}),
    "administrations": (Administration, {"date": "2025-03-20", "drug": "tofersen",
                                         "status": "given", "dose_mg": "100", "lot": "L42",
                                         "csf_removed_ml": "10"}),
    "adverse-events": (AdverseEvent, {"onset_date": "2025-03-01", "term": "arthralgia",
                                      "term_text": "", "grade": "2", "related": "on",
                                      "outcome": "recovering", "action": "none",
                                      "resolved_date": ""}),
    "milestones": (Milestone, {"kind": "niv", "date": "2025-03-10"}),
}
INVALID: dict[str, tuple[dict[str, str], str, str]] = {
    "measurements": ({"kind": "svc_percent", "unit": "mg/dL"}, "unit", "mg/dL"),
    "administrations": ({"dose_mg": ""}, "dose_mg", "is required when status is given"),
    "adverse-events": ({"term": "other"}, "term_text", "needs term_text"),
    "milestones": ({"date": "2021-01-01"}, "date", "before onset"),
}


def count(registry: Registry, model: type[Base]) -> tuple[int, int]:
    """Rows of ``model`` and audit entries."""
    with unit_of_work(registry.engine) as session:
        rows = session.scalar(select(func.count()).select_from(model)) or 0
        audits = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return rows, audits


def alsfrs_form(**changes: str | None) -> dict[str, str]:
    answers: dict[str, str | None] = {f"q{n}": "4" for n in range(1, 13) if n != 5}
    answers |= {"q5a": "4", "date": "2025-03-19"}
    answers.update(changes)
    return {k: v for k, v in answers.items() if v is not None}


async def open_form(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, path
    return form_token(page.text)


def field_error(html: str, name: str) -> str:
    """The message shown next to a field, checked to be tied to it by aria-describedby."""
    found = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', html, re.S)
    assert found, f"no message next to {name}"
    assert re.search(rf'aria-describedby="[^"]*{name}-error', html), f"{name} not described"
    return re.sub(r"<[^>]+>", "", found.group(1))


async def test_patient_page_links_to_every_form(client: httpx.AsyncClient,
                                               registry: Registry) -> None:
    await login(client, "datamgr")
    page = (await client.get(f"/patients/{registry.ids['BER-001']}")).text
    for slug in ("alsfrs", *FORMS):
        assert f'href="/patients/{registry.ids["BER-001"]}/{slug}/new"' in page
    assert "/self-report-links" in page


async def test_alsfrs_form_shows_every_item_with_its_answers(client: httpx.AsyncClient,
                                                            registry: Registry) -> None:
    await login(client, "clin")
    page = (await client.get(f"/patients/{registry.ids['BER-001']}/alsfrs/new")).text
    assert page.count("<fieldset") == 13 and page.count("<legend>") == 13
    assert "Intelligible with repeating" in page and "Needs to be fed" in page
    assert "Unable to do any aspect of the task" in page  # 5b
    assert page.count('type="radio"') == 13 * 5


async def test_alsfrs_saved(client: httpx.AsyncClient, registry: Registry) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-001"]
    before = count(registry, AlsfrsAssessment)
    token = await open_form(client, f"/patients/{patient}/alsfrs/new")
    response = await client.post(f"/patients/{patient}/alsfrs/new",
                                 data=alsfrs_form(q1="2", csrf_token=token))
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/patients/{patient}?saved=alsfrs")
    assert count(registry, AlsfrsAssessment) == (before[0] + 1, before[1] + 1)
    page = (await client.get(response.headers["location"])).text
    assert "Saved" in page and "2025-03-19" in page


async def test_alsfrs_with_gastrostomy_uses_5b(client: httpx.AsyncClient,
                                              registry: Registry) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-002"]
    token = await open_form(client, f"/patients/{patient}/alsfrs/new")
    data = alsfrs_form(q5a=None, q5b="1", gastrostomy="on", csrf_token=token)
    assert (await client.post(f"/patients/{patient}/alsfrs/new", data=data)).status_code == 303
    with unit_of_work(registry.engine) as session:
        row = session.scalars(select(AlsfrsAssessment).where(
            AlsfrsAssessment.patient_id == patient)).one()
        assert row.gastrostomy is True and row.q5 == 1


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"q3": ""}, "q3", "choose one of the answers"),
    ({"q5b": "2"}, "q5b", "without a gastrostomy, item 5 is answered as 5a"),
    ({"gastrostomy": "on"}, "q5a", "with a gastrostomy, item 5 is answered as 5b"),
    ({"q7": "9"}, "q7", "must be a whole number from 0 to 4"),
    ({"date": "2025-02-24"}, "date", "already recorded on 2025-02-24"),
    ({"date": "2025-04-01"}, "date", "in the future"),
    ({"date": "24/02/2025"}, "date", "not an ISO date"),
])
async def test_invalid_alsfrs_shows_the_message_next_to_the_field_and_saves_nothing(
    client: httpx.AsyncClient, registry: Registry, changes: dict[str, str], field: str,
    message: str,
) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-001"]
    before = count(registry, AlsfrsAssessment)
    token = await open_form(client, f"/patients/{patient}/alsfrs/new")
    response = await client.post(f"/patients/{patient}/alsfrs/new",
                                 data=alsfrs_form(q1="2", **changes, csrf_token=token))
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert "Nothing was saved" in response.text
    assert 'name="q1" value="2" checked' in response.text  # the answers are kept
    assert count(registry, AlsfrsAssessment) == before


@pytest.mark.parametrize("slug", list(FORMS))
async def test_form_saves(client: httpx.AsyncClient, registry: Registry, slug: str) -> None:
    await login(client, "clin")
    await save(client, registry, slug)


async def save(client: httpx.AsyncClient, registry: Registry, slug: str) -> None:
    """Submit ``slug``'s valid example as the logged-in user; one row and one audit entry."""
    model, data = FORMS[slug]
    patient = registry.ids["BER-001"]
    before = count(registry, model)
    token = await open_form(client, f"/patients/{patient}/{slug}/new")
    response = await client.post(f"/patients/{patient}/{slug}/new",
                                 data={**data, "csrf_token": token})
    assert response.status_code == 303, response.text
    assert count(registry, model) == (before[0] + 1, before[1] + 1)


async def test_measurement_is_stored_in_the_canonical_unit(client: httpx.AsyncClient,
                                                          registry: Registry) -> None:
    await login(client, "clin")
    await save(client, registry, "measurements")
    with unit_of_work(registry.engine) as session:
        row = session.scalars(select(Measurement).where(Measurement.kind == "csf_protein")).one()
        assert (row.value, row.unit, row.assay, row.lab) == (50.0, "mg/dL", None, "Charité")


@pytest.mark.parametrize("slug", list(INVALID))
async def test_invalid_form_shows_the_message_and_saves_nothing(
    client: httpx.AsyncClient, registry: Registry, slug: str
) -> None:
    await login(client, "clin")
    model, data = FORMS[slug]
    changes, field, message = INVALID[slug]
    patient = registry.ids["BER-001"]
    before = count(registry, model)
    token = await open_form(client, f"/patients/{patient}/{slug}/new")
    submitted = {**data, **changes, "csrf_token": token}
    response = await client.post(f"/patients/{patient}/{slug}/new", data=submitted)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    for name, value in submitted.items():
        if value and name not in ("csrf_token", "related"):
            assert f'value="{value}"' in response.text, name  # kept in the form
    assert count(registry, model) == before


async def test_duplicate_milestone_is_a_field_error(client: httpx.AsyncClient,
                                                   registry: Registry) -> None:
    await login(client, "clin")
    await save(client, registry, "milestones")
    token = await open_form(client, f"/patients/{registry.ids['BER-001']}/milestones/new")
    response = await client.post(f"/patients/{registry.ids['BER-001']}/milestones/new",
                                 data={"kind": "niv", "date": "2025-03-12", "csrf_token": token})
    assert response.status_code == 422
    assert "appears twice" in field_error(response.text, "kind")


async def test_nothing_after_death(client: httpx.AsyncClient, registry: Registry) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-002"]
    path = f"/patients/{patient}/milestones/new"
    token = await open_form(client, path)
    death = {"kind": "death", "date": "2025-03-01", "csrf_token": token}
    assert (await client.post(path, data=death)).status_code == 303
    late = await client.post(path, data={"kind": "niv", "date": "2025-03-05",
                                         "csrf_token": token})
    assert late.status_code == 422 and "after death" in field_error(late.text, "date")


async def test_a_recorded_dose_moves_the_next_due_date(client: httpx.AsyncClient,
                                                      registry: Registry) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-001"]
    given = [D(2024, 12, 30), D(2025, 1, 13), D(2025, 1, 27), D(2025, 2, 24)]
    before = next_due(TOFERSEN_US, given, TODAY)
    after = next_due(TOFERSEN_US, [*given, TODAY], TODAY)
    assert before.date != after.date
    assert f"<strong>{before.date.isoformat()}</strong>" in (
        await client.get(f"/patients/{patient}")).text
    await save(client, registry, "administrations")
    page = (await client.get(f"/patients/{patient}")).text
    assert f"due\n    <strong>{after.date.isoformat()}</strong>" in page


@pytest.mark.parametrize("slug", ["alsfrs", *FORMS])
async def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    client: httpx.AsyncClient, registry: Registry, slug: str
) -> None:
    await login(client, "clin")
    model = FORMS[slug][0] if slug in FORMS else AlsfrsAssessment
    data = FORMS[slug][1] if slug in FORMS else alsfrs_form()
    before = count(registry, model)
    path = f"/patients/{registry.ids['BER-001']}/{slug}/new"
    assert (await client.post(path, data=data)).status_code == 403
    assert (await client.post(path, data={**data, "csrf_token": "forged"})).status_code == 403
    assert count(registry, model) == before


@pytest.mark.parametrize("slug", ["alsfrs", *FORMS])
async def test_another_sites_patient_is_404_even_with_a_valid_form(
    client: httpx.AsyncClient, registry: Registry, slug: str
) -> None:
    await login(client, "clin")
    model = FORMS[slug][0] if slug in FORMS else AlsfrsAssessment
    data = FORMS[slug][1] if slug in FORMS else alsfrs_form()
    token = await open_form(client, f"/patients/{registry.ids['BER-001']}/{slug}/new")
    before = count(registry, model)
    path = f"/patients/{registry.ids['PAD-001']}/{slug}/new"
    assert (await client.get(path)).status_code == 404
    response = await client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 404 and "PAD-001" not in response.text
    assert count(registry, model) == before
