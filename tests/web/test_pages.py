"""What the pages and the API show, from the hand-made registry of conftest.py."""

from __future__ import annotations

import datetime as dt
import json
import re

import httpx
import pytest
from fastapi import FastAPI
from plotly.offline import get_plotlyjs

from alsrwe.domain.alsfrs import AlsfrsR, delta_frs, kings_stage, mitos_stage
from alsrwe.domain.regimens import TOFERSEN_US, next_due
from tests.web.conftest import TODAY, Registry, login

pytestmark = pytest.mark.anyio

D = dt.date
LATEST_ITEMS = (3, 4, 4, 3, 4, 4, 4, 2, 2, 4, 4, 4)  # BER-001 on 2025-02-24 (conftest)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return _text(html[start:end])


async def test_dashboard_lists_due_and_overdue_doses_from_the_schedule(
    client: httpx.AsyncClient,
) -> None:
    await login(client, "clin")
    page = (await client.get("/dashboard")).text
    # BER-001: 3 loading doses, then one maintenance dose on 2025-02-24: next is due 28 days on.
    soon = next_due(TOFERSEN_US, [D(2024, 12, 30), D(2025, 1, 13), D(2025, 1, 27),
                                  D(2025, 2, 24)], TODAY)
    assert soon.date == D(2025, 3, 24) and soon.overdue_days == 0
    assert f"BER-001 #{soon.number} maintenance {soon.date.isoformat()}" in _section(
        page, "due-heading")
    # BER-002: two loading doses; the third was due 14 days after 2025-01-16.
    late = next_due(TOFERSEN_US, [D(2025, 1, 2), D(2025, 1, 16)], TODAY)
    overdue = _section(page, "overdue-heading")
    assert f"BER-002 #3 loading 2025-01-30 {late.overdue_days}" in overdue
    assert "PAD-001" not in page


async def test_dashboard_safety_lists(client: httpx.AsyncClient) -> None:
    await login(client, "clin")
    page = (await client.get("/dashboard")).text
    adverse = _section(page, "ae-heading")
    assert "BER-001 2025-01-14 pain" in adverse and "recovering" in adverse
    assert "fatigue" not in adverse  # recovered: no follow-up
    assert "BER-001 2025-02-24 12" in _section(page, "csf-heading")
    nfl = _section(page, "nfl-heading")
    assert "BER-C01 20 pg/mL on 2024-01-05 50 pg/mL on 2025-01-07 Simoa" in nfl


async def test_patient_page_header_uses_the_domains_stages(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    response = await client.get(f"/patients/{registry.ids['BER-001']}")
    assert response.status_code == 200
    score = AlsfrsR.from_items(LATEST_ITEMS)
    kings = re.search(r'id="kings-stage">([^<]*)<', response.text)
    mitos = re.search(r'id="mitos-stage">([^<]*)<', response.text)
    assert kings and kings.group(1) == kings_stage(score) == "3"
    assert mitos and mitos.group(1) == str(mitos_stage(score))
    text = _text(response.text)
    rate = delta_frs(score.total, D(2022, 3, 1), D(2025, 2, 24))
    assert f"{rate:.2f} points/month" in text
    assert f"{(TODAY - D(2024, 12, 30)).days} days (first dose 2024-12-30)" in text
    assert "Next dose: #5 (maintenance) due 2025-03-24" in text


async def test_patient_page_charts_mark_doses_and_use_a_log_axis_for_nfl(
    app: FastAPI, client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    html = (await client.get(f"/patients/{registry.ids['BER-001']}")).text
    assert f'<script src="{app.state.plotly_src}" defer></script>' in html
    figures = {
        key: json.loads(body)
        for key, body in re.findall(
            r'<script type="application/json" id="([\w-]+)-data">(.*?)</script>', html, re.S)
    }
    assert set(figures) == {"chart-alsfrs", "chart-nfl", "chart-vc"}
    assert figures["chart-nfl"]["layout"]["yaxis"]["type"] == "log"
    alsfrs = figures["chart-alsfrs"]
    assert [t["name"] for t in alsfrs["data"]] == [
        "total (clinic)", "bulbar", "fine motor", "gross motor", "respiratory"]
    assert alsfrs["data"][0]["y"] == [46, sum(LATEST_ITEMS)]
    assert [s["x0"] for s in alsfrs["layout"]["shapes"]] == [
        "2024-12-30", "2025-01-13", "2025-01-27", "2025-02-24"]


async def test_plotly_is_served_from_the_installed_package(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get(app.state.plotly_src)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == get_plotlyjs().encode()
    assert "immutable" in response.headers["cache-control"]


async def test_printable_summary_has_print_css(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    page = await client.get(f"/patients/{registry.ids['BER-001']}/summary")
    assert page.status_code == 200 and "Clinic summary as of 2025-03-20" in page.text
    css = (await client.get("/static/alsrwe.css")).text
    assert "@media print" in css and "@page" in css


async def test_patient_list_search_filters_and_pages(client: httpx.AsyncClient) -> None:
    await login(client, "clin")

    async def names(query: str) -> list[str]:
        data = (await client.get(f"/api/v1/patients?{query}")).json()["data"]
        return [p["pseudonym"] for p in data]

    assert await names("") == ["BER-001", "BER-002", "BER-C01"]
    assert await names("q=c0") == ["BER-C01"]
    assert await names("status=carrier") == ["BER-C01"]
    assert await names("variant=G93A") == ["BER-002"]
    assert await names("variant=p.Ala5Val&on_treatment=true") == ["BER-001"]
    assert await names("on_treatment=false") == ["BER-C01"]
    assert await names("q=%25") == []  # LIKE wildcards are literal
    first = (await client.get("/api/v1/patients?limit=2")).json()
    assert first["count"] == 3 and len(first["data"]) == 2
    assert await names("limit=2&offset=2") == ["BER-C01"]
    page = await client.get("/patients?limit=2&q=&status=&site=")
    assert page.status_code == 200
    assert 'href="/patients?limit=2&amp;offset=2"' in page.text
    assert "3 found; showing 1–2" in _text(page.text)


async def test_bad_list_parameters_are_a_422(client: httpx.AsyncClient) -> None:
    await login(client, "clin")
    assert (await client.get("/api/v1/patients?status=unknown")).status_code == 422
    page = await client.get("/patients?limit=0")
    assert page.status_code == 422 and "limit" in page.text


async def test_api_patient_detail(client: httpx.AsyncClient, registry: Registry) -> None:
    await login(client, "datamgr")
    body = (await client.get(f"/api/v1/patients/{registry.ids['BER-001']}")).json()
    assert body["pseudonym"] == "BER-001" and body["site"] == "BER"
    assert body["kings_stage"] == "3" and body["on_treatment"] is True
    assert body["next_dose"] == {"date": "2025-03-24", "number": 5, "phase": "maintenance",
                                 "overdue_days": 0}


async def test_openapi_documents_the_api_only(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert {"/api/v1/me", "/api/v1/patients", "/api/v1/patients/{patient_id}"} <= set(
        spec["paths"])
    assert all(path.startswith("/api/v1/") for path in spec["paths"])
    schemas = spec["components"]["schemas"]
    assert {"PatientPublic", "PatientsPublic", "PatientDetailPublic"} <= set(schemas)
    assert {"APIKeyCookie", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    listing = spec["paths"]["/api/v1/patients"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "q", "site", "status", "variant", "on_treatment", "limit", "offset"}
    assert "X-CSRF-Token" in spec["info"]["description"]


async def test_every_response_carries_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_unknown_pages_are_html_and_unknown_api_paths_json(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/no/such/page")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    api = await client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


async def test_templates_escape_data(client: httpx.AsyncClient, registry: Registry) -> None:
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.models import Measurement

    with unit_of_work(registry.engine) as session:
        session.add(Measurement(patient_id=registry.ids["BER-001"], date=D(2025, 3, 1),
                                kind="weight_kg", value=70, unit="kg",
                                lab="<script>alert(1)</script>"))
    await login(client, "clin")
    html = (await client.get(f"/patients/{registry.ids['BER-001']}")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_self_reports_are_points_apart_from_the_clinic_line(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    """A self-report of 24 beside a clinic 42 on the same day must not plunge the clinic line."""
    from alsrwe.domain.alsfrs import AssessmentSource
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.models import AlsfrsAssessment

    patient = registry.ids["BER-001"]
    with unit_of_work(registry.engine) as session:
        session.add(AlsfrsAssessment(patient_id=patient, date=dt.date(2025, 2, 24),
                                     gastrostomy=False, source=AssessmentSource.SELF,
                                     **{f"q{i}": 2 for i in range(1, 13)}))
    await login(client, "clin")
    html = (await client.get(f"/patients/{patient}")).text
    body = re.search(r'<script type="application/json" id="chart-alsfrs-data">(.*?)</script>',
                     html, re.S)
    assert body is not None
    traces = {t["name"]: t for t in json.loads(body.group(1))["data"]}
    assert traces["total (clinic)"]["y"] == [46, sum(LATEST_ITEMS)]
    unreviewed = traces["self-report, not reviewed"]
    assert (unreviewed["mode"], unreviewed["y"]) == ("markers", [24])
