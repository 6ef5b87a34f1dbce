"""Plausibility warnings on the pages and in the API: shown, confirmed, kept, shown again."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Administration
from tests.web.conftest import Registry, csrf_of, form_token, login, section_html

pytestmark = pytest.mark.anyio

DOSE = {"date": "2025-03-20", "drug": "Qalsody", "status": "given", "dose_mg": "250",
        "lot": "L7", "csf_removed_ml": "10"}


async def test_a_form_shows_the_warning_and_saves_once_it_is_confirmed(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = f"/patients/{registry.ids['BER-001']}/administrations/new"
    token = form_token((await client.get(path)).text)
    shown = await client.post(path, data={**DOSE, "csrf_token": token})
    assert shown.status_code == 422
    assert "Please check 1 unusual value" in shown.text
    assert "250 mg differs from the label dose of 100 mg" in shown.text
    assert 'name="confirm_warnings" value="dose.not_label_dose"' in shown.text
    saved = await client.post(path, data={**DOSE, "csrf_token": form_token(shown.text),
                                          "confirm_warnings": "dose.not_label_dose"})
    assert saved.status_code == 303, saved.text
    with unit_of_work(registry.engine) as session:
        dose = session.scalars(select(Administration).where(
            Administration.lot == "L7")).one()
        assert dose.drug == "tofersen" and dose.confirmed_warnings
    page = (await client.get(f"/patients/{registry.ids['BER-001']}")).text
    listed = section_html(page, "warnings-heading")
    assert "250 mg differs from the label dose" in listed and "dose of tofersen" in listed


async def test_a_confirmation_survives_a_second_mistake_on_the_form(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = f"/patients/{registry.ids['BER-001']}/administrations/new"
    token = form_token((await client.get(path)).text)
    again = await client.post(path, data={**DOSE, "lot": "L\x01", "csrf_token": token,
                                          "confirm_warnings": "dose.not_label_dose"})
    assert again.status_code == 422
    assert "control character" in again.text
    assert 'type="hidden" name="confirm_warnings" value="dose.not_label_dose"' in again.text


async def test_the_api_lists_warnings_and_accepts_them_confirmed(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    headers = {"X-CSRF-Token": await csrf_of(client)}
    url = f"/api/v1/patients/{registry.ids['BER-001']}/measurements"
    body = {"date": "2025-03-19", "kind": "nfl_serum", "value": 118600, "unit": "pg/mL"}
    refused = await client.post(url, json=body, headers=headers)
    assert refused.status_code == 422
    (item,) = refused.json()["detail"]
    assert item == {"loc": ["body", "value"], "type": "soft_rule", "code": "value.outside_range",
                    "msg": "118600 pg/mL is above the plausible maximum of 1000 pg/mL for "
                           "nfl_serum"}
    unknown = await client.post(url, json={**body, "confirm_warnings": ["dose.nonsense"]},
                                headers=headers)
    assert unknown.status_code == 422
    saved = await client.post(url, json={**body, "confirm_warnings": ["value.outside_range"]},
                              headers=headers)
    assert saved.status_code == 201, saved.text


async def test_a_bug_answers_500_with_the_security_headers(app: FastAPI) -> None:
    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "a bug" not in response.text
