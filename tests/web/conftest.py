"""A small two-site registry with one user per role, and an in-process httpx client.

As datasette does, the app is driven in process through ``httpx.AsyncClient`` over
``ASGITransport`` (no server, no socket), on SQLite and PostgreSQL via the ``engine`` fixture.
"today" is pinned through the app's ``get_today`` dependency.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Engine

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.domain.safety import AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.store import passwords
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Measurement,
    Patient,
    Site,
)
from alsrwe.store.writes.accounts import create_account
from alsrwe.web.app import create_app
from alsrwe.web.auth import LOGIN_CSRF_COOKIE
from alsrwe.web.deps import get_today
from alsrwe.web.settings import WebSettings

TODAY = dt.date(2025, 3, 20)
PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
USERS = {
    "admin": ("admin", []),
    "clin": ("clinician", ["BER"]),
    "datamgr": ("data_manager", ["BER"]),
    "analyst": ("analyst", []),
    "selfpat": ("patient", ["BER"]),
    "padclin": ("clinician", ["PAD"]),
}
ITEMS_NORMAL = (4,) * 12


def create_user(engine: Engine, username: str, password: str, role: str,
                sites: list[str]) -> None:
    """Add a web user as ``alsrwe user add`` does (one unit of work, audited)."""
    with unit_of_work(engine) as session:
        create_account(session, username, password, role, sites, actor="cli")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Still argon2id, with the smallest cost, so that tests log in quickly."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def settings() -> WebSettings:
    return WebSettings(environment="test", secret_key=SECRET, cookie_secure=False)


@dataclass(frozen=True)
class Registry:
    engine: Engine
    ids: dict[str, int]
    """Patient id by pseudonym."""


def _patient(site: Site, pseudonym: str, **overrides: object) -> Patient:
    columns: dict[str, object] = {
        "pseudonym": pseudonym,
        "sex": Sex.FEMALE,
        "birth_year": 1968,
        "status": PatientStatus.PATIENT,
        "sod1_hgvs": "p.Ala5Val",
        "sod1_legacy": "A4V",
        "sod1_input": "A4V",
        "zygosity": Zygosity.HETEROZYGOUS,
        "onset_date": dt.date(2022, 3, 1),
        "onset_region": "lower_limb",
        "diagnosis_date": dt.date(2022, 9, 15),
    }
    columns.update(overrides)
    return Patient(site=site, **columns)


def _items(**changes: int) -> dict[str, int]:
    items = {f"q{i}": 4 for i in range(1, 13)}
    items.update(changes)
    return items


def _doses(patient: Patient, *days: dt.date) -> list[Administration]:
    return [
        Administration(patient_id=patient.id, date=day, drug="tofersen", dose_mg=100,
                       status=AdministrationStatus.GIVEN)
        for day in days
    ]


def _fill(engine: Engine) -> dict[str, int]:
    d = dt.date
    with unit_of_work(engine) as session:
        ber, pad = Site(code="BER", name="Berlin"), Site(code="PAD", name="Padova")
        due = _patient(ber, "BER-001")
        late = _patient(ber, "BER-002", sod1_hgvs="p.Gly94Ala", sod1_legacy="G93A",
                        sod1_input="G93A")
        carrier = _patient(ber, "BER-C01", status=PatientStatus.CARRIER, onset_date=None,
                           onset_region=None, diagnosis_date=None)
        other = _patient(pad, "PAD-001")
        session.add_all([due, late, carrier, other])
        session.flush()
        session.add_all([
            AlsfrsAssessment(patient_id=due.id, date=d(2024, 1, 10), gastrostomy=False,
                             source="clinic", **_items(q1=3, q8=3)),
            AlsfrsAssessment(patient_id=due.id, date=d(2025, 2, 24), gastrostomy=False,
                             source="clinic", **_items(q1=3, q4=3, q8=2, q9=2)),
            *_doses(due, d(2024, 12, 30), d(2025, 1, 13), d(2025, 1, 27), d(2025, 2, 24)),
            *_doses(late, d(2025, 1, 2), d(2025, 1, 16)),
            *_doses(other, d(2025, 1, 2), d(2025, 1, 16)),
            Measurement(patient_id=due.id, date=d(2025, 2, 24), kind=MeasurementKind.CSF_WBC,
                        value=12, unit="/uL"),
            Measurement(patient_id=due.id, date=d(2025, 2, 24), kind=MeasurementKind.NFL_CSF,
                        value=3100, unit="pg/mL", assay="Simoa"),
            Measurement(patient_id=due.id, date=d(2025, 2, 24), kind=MeasurementKind.SVC_PERCENT,
                        value=81, unit="%"),
            Measurement(patient_id=carrier.id, date=d(2024, 1, 5), kind=MeasurementKind.NFL_PLASMA,
                        value=20, unit="pg/mL", assay="Simoa"),
            Measurement(patient_id=carrier.id, date=d(2025, 1, 7), kind=MeasurementKind.NFL_PLASMA,
                        value=50, unit="pg/mL", assay="Simoa"),
            Measurement(patient_id=other.id, date=d(2025, 1, 16), kind=MeasurementKind.CSF_WBC,
                        value=40, unit="/uL"),
            AdverseEvent(patient_id=due.id, onset_date=d(2025, 1, 14), term=AeTerm.PAIN, grade=1,
                         serious=False, related=True, outcome=AeOutcome.RECOVERING),
            AdverseEvent(patient_id=due.id, onset_date=d(2024, 12, 31), term=AeTerm.FATIGUE,
                         grade=1, serious=False, related=False, outcome=AeOutcome.RECOVERED,
                         resolved_date=d(2025, 1, 5)),
            AdverseEvent(patient_id=other.id, onset_date=d(2025, 1, 3), term=AeTerm.MYALGIA,
                         grade=2, serious=False, related=True, outcome=AeOutcome.NOT_RECOVERED),
        ])
        session.flush()
        ids = {p.pseudonym: p.id for p in (due, late, carrier, other)}
    for username, (role, sites) in USERS.items():
        create_user(engine, username, PASSWORD, role, sites)
    return ids


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return Registry(engine, _fill(engine))


@pytest.fixture
def app(registry: Registry, settings: WebSettings) -> FastAPI:
    application = create_app(settings, registry.engine)
    application.dependency_overrides[get_today] = lambda: TODAY
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def form_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """Log in through the form, as a browser does (GET the form, POST it back)."""
    page = await client.get("/login")
    assert client.cookies.get(LOGIN_CSRF_COOKIE)
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_token(page.text)},
    )


def section_html(html: str, heading_id: str) -> str:
    """The HTML of a page's section, from its heading (``id``) to the section's end."""
    start = html.index(f'id="{heading_id}"')
    return html[start:html.index("</section>", start)]


async def csrf_of(client: httpx.AsyncClient) -> str:
    """The logged-in session's CSRF token, from the API."""
    response = await client.get("/api/v1/me")
    assert response.status_code == 200
    token: str = response.json()["csrf_token"]
    return token
