"""The clinic's pages: register, change details, treat, correct, follow up, void, review.

Each valid submission is saved and audited; each invalid one is shown again with the message
next to its field and nothing written. The patient page puts what matters first: the next
dose and the flags in the header, the clinic-rated score as the headline.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import (
    AdverseEvent,
    AlsfrsAssessment,
    AuditEntry,
    Measurement,
    Milestone,
    Patient,
    Treatment,
    VoidedRecord,
)
from tests.web.conftest import Registry, form_token, login
from tests.web.test_forms import count

pytestmark = pytest.mark.anyio

REGISTRATION = {"patient_id": "BER-C77", "site": "BER", "status": "carrier", "sex": "F",
                "birth_year": "1991", "sod1_variant": "p.(Ala5Val)", "zygosity": "heterozygous",
                "onset_date": "", "onset_region": "", "diagnosis_date": "",
                "genetic_test_date": "2024-11-02", "counselling_date": "2024-10-20"}


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, str]) -> httpx.Response:
    token = form_token((await client.get(url)).text)
    return await client.post(url, data={**data, "csrf_token": token})


def _patient(registry: Registry, pseudonym: str) -> Patient:
    with unit_of_work(registry.engine) as session:
        patient = session.scalars(select(Patient).where(Patient.pseudonym == pseudonym)).one()
        session.expunge(patient)
        return patient


def _actions(registry: Registry) -> list[str]:
    with unit_of_work(registry.engine) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_register_a_carrier_and_convert_them_to_als(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    form = (await client.get("/patients/new")).text
    assert 'id="sod1_variant-normalised"' in form and "/static/patient_form.js" in form
    saved = await post_form(client, "/patients/new", REGISTRATION)
    assert saved.status_code == 303, saved.text
    carrier = _patient(registry, "BER-C77")
    assert (carrier.sod1_legacy, carrier.sod1_hgvs, carrier.sod1_input) == (
        "A4V", "p.Ala5Val", "p.(Ala5Val)")
    assert carrier.genetic_test_date == dt.date(2024, 11, 2)
    page = (await client.get(saved.headers["location"].split("#")[0])).text
    assert "presymptomatic carrier" in page and "record ALS onset" in page
    converted = await post_form(client, f"/patients/{carrier.id}/edit", {
        **{k: v for k, v in REGISTRATION.items() if k not in ("patient_id", "site")},
        "status": "patient", "onset_date": "2025-02-01", "onset_region": "bulbar"})
    assert converted.status_code == 303, converted.text
    after = _patient(registry, "BER-C77")
    assert (after.status.value, after.onset_date, after.id) == ("patient", dt.date(2025, 2, 1),
                                                                 carrier.id)
    assert _actions(registry)[-2:] == ["patient_register", "patient_update"]


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"patient_id": "BER-001"}, "patient_id", "already registered"),
    ({"sod1_variant": "A5V"}, "sod1_variant", "A5V"),
    ({"status": "patient"}, "onset_date", ""),
    ({"birth_year": "nineteen"}, "birth_year", ""),
    ({"site": "PAD"}, "site", "not one of your sites"),
])
async def test_registration_problems_are_shown_next_to_their_field(
    client: httpx.AsyncClient, registry: Registry, changes: dict[str, str], field: str,
    words: str,
) -> None:
    await login(client, "clin")
    before = count(registry, Patient)
    response = await post_form(client, "/patients/new", REGISTRATION | changes)
    assert response.status_code == 422
    block = re.search(rf'id="field-{field}".*?</div>', response.text, re.S)
    assert block is not None and 'class="field-error"' in block.group(0), field
    assert words in block.group(0)
    assert 'value="BER-C77"' in response.text or changes.get("patient_id")
    assert count(registry, Patient) == before


async def test_start_and_pause_a_treatment_from_the_pages(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-002"]
    started = await post_form(client, f"/patients/{patient}/treatments/new",
                              {"regimen": "tofersen_us", "start_date": "2025-01-02"})
    assert started.status_code == 303, started.text
    page = (await client.get(f"/patients/{patient}")).text
    assert re.search(r"Next dose:</span> #3 \(loading\) due", page)
    with unit_of_work(registry.engine) as session:
        treatment = session.scalars(select(Treatment)).one().id
    refused = await post_form(client, f"/patients/{patient}/treatments/{treatment}/end",
                              {"end_kind": "paused", "end_date": "2025-02-01", "end_reason": ""})
    assert refused.status_code == 422 and "say why" in refused.text
    paused = await post_form(client, f"/patients/{patient}/treatments/{treatment}/end",
                             {"end_kind": "paused", "end_date": "2025-02-01",
                              "end_reason": "raised intracranial pressure"})
    assert paused.status_code == 303
    page = (await client.get(f"/patients/{patient}")).text
    assert "Treatment paused</span> since 2025-02-01" in page and "Next dose:" not in page
    assert "Start a treatment" in page


async def test_correct_a_dose_with_a_reason_audits_before_and_after(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-001"]
    record = (await client.get(f"/patients/{patient}/record")).text
    edit = re.search(rf'href="(/patients/{patient}/administrations/(\d+)/edit)"', record)
    assert edit is not None
    url = edit.group(1)
    form = (await client.get(url)).text
    assert 'value="100"' in form
    values = {"date": "2025-02-24", "drug": "tofersen", "status": "given", "dose_mg": "100",
              "lot": "L7", "csf_removed_ml": "10"}
    without = await post_form(client, url, values)
    assert without.status_code == 422 and "say why" in without.text
    saved = await post_form(client, url, values | {"correction_reason": "lot from the label"})
    assert saved.status_code == 303, saved.text
    with unit_of_work(registry.engine) as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "administration_update")).one()
    detail: dict[str, Any] = entry.detail or {}
    assert detail["reason"] == "lot from the label"
    assert detail["changes"]["lot"] == {"before": None, "after": "L7"}
    assert detail["changes"]["csf_removed_ml"] == {"before": None, "after": 10.0}


async def test_void_an_alsfrs_rating_keeps_it_struck_through_and_out_of_the_headline(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-001"]
    with unit_of_work(registry.engine) as session:
        latest = session.scalars(select(AlsfrsAssessment).where(
            AlsfrsAssessment.patient_id == patient).order_by(AlsfrsAssessment.date.desc())
        ).first()
        assert latest is not None
        rating = latest.id
    url = f"/patients/{patient}/alsfrs/{rating}/void"
    blank = await post_form(client, url, {"void_reason": "  "})
    assert blank.status_code == 422
    saved = await post_form(client, url, {"void_reason": "rated the wrong visit"})
    assert saved.status_code == 303
    page = (await client.get(f"/patients/{patient}/record")).text
    assert "rated the wrong visit" in page and "<del>" in page
    header = (await client.get(f"/patients/{patient}")).text
    assert "2025-02-24 (clinic)" not in header and "2024-01-10 (clinic)" in header.replace(
        "</strong>", "")
    with unit_of_work(registry.engine) as session:
        assert session.get(AlsfrsAssessment, rating) is None
        assert session.scalars(select(VoidedRecord.reason)).one() == "rated the wrong visit"


async def test_resolve_an_adverse_event_by_follow_up(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "datamgr")
    with unit_of_work(registry.engine) as session:
        event = session.scalars(select(AdverseEvent).where(
            AdverseEvent.patient_id == registry.ids["BER-001"],
            AdverseEvent.outcome == "recovering")).one()
        url = f"/patients/{event.patient_id}/adverse-events/{event.id}/edit"
    form = (await client.get(url)).text
    assert "Follow up" in form and 'name="term"' not in form  # identity is not edited
    saved = await post_form(client, url, {
        "grade": "1", "related": "on", "outcome": "recovered", "action": "",
        "resolved_date": "2025-02-01", "correction_reason": "phone follow-up"})
    assert saved.status_code == 303, saved.text
    with unit_of_work(registry.engine) as session:
        resolved = session.get(AdverseEvent, event.id)
        assert resolved is not None
        assert (resolved.outcome.value, resolved.resolved_date) == ("recovered",
                                                                    dt.date(2025, 2, 1))


async def test_header_shows_next_dose_and_flags_first(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    page = (await client.get(f"/patients/{registry.ids['BER-001']}")).text
    header = page.split('id="charts-heading"')[0]
    assert "Next dose:" in header
    assert "CSF pleocytosis (12 cells/µL &gt; 5)" in header or "CSF pleocytosis (12" in header
    assert "open adverse event: pain" in header
    assert page.index("Next dose:") < page.index("Record a dose")


async def test_an_unreviewed_self_report_is_not_the_headline(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    patient = registry.ids["BER-001"]
    with unit_of_work(registry.engine) as session:
        session.add(AlsfrsAssessment(patient_id=patient, date=dt.date(2025, 2, 24),
                                     gastrostomy=False, source=AssessmentSource.SELF,
                                     **{f"q{i}": 2 for i in range(1, 13)}))
    await login(client, "clin")
    page = (await client.get(f"/patients/{patient}")).text
    headline = re.search(r'id="headline-alsfrs">(.*?)</dd>', page, re.S)
    assert headline is not None
    assert "42/48 on 2025-02-24" in headline.group(1)
    assert "Self-report 24/48 on 2025-02-24, <em>not reviewed</em>" in headline.group(1)
    assert "1 self-report to review" in page


async def test_only_a_clinician_reviews_a_self_report(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    patient = registry.ids["BER-001"]
    with unit_of_work(registry.engine) as session:
        report = AlsfrsAssessment(patient_id=patient, date=dt.date(2025, 3, 1), gastrostomy=False,
                                  source=AssessmentSource.SELF,
                                  **{f"q{i}": 3 for i in range(1, 13)})
        session.add(report)
        session.flush()
        report_id = report.id
    await login(client, "datamgr")
    page = (await client.get(f"/patients/{patient}")).text
    assert "Only a clinician marks a self-report reviewed" in page
    token = form_token(page)
    refused = await client.post(f"/patients/{patient}/self-reports/review",
                                data={"assessment_id": str(report_id), "csrf_token": token})
    assert refused.status_code == 403
    await client.post("/logout", data={"csrf_token": token})
    await login(client, "clin")
    token = form_token((await client.get(f"/patients/{patient}")).text)
    done = await client.post(f"/patients/{patient}/self-reports/review",
                             data={"assessment_id": str(report_id), "csrf_token": token})
    assert done.status_code == 303


async def test_a_deceased_patients_page_says_so_and_offers_no_new_entries(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    patient = registry.ids["BER-002"]
    with unit_of_work(registry.engine) as session:
        session.add(Milestone(patient_id=patient, date=dt.date(2025, 2, 1), kind="death"))
    await login(client, "clin")
    page = (await client.get(f"/patients/{patient}")).text
    assert "Died on 2025-02-01" in page and "· deceased" in page
    for button in ("Record a dose", "Enter ALSFRS-R", "Send a self-report link",
                   "Start a treatment", "Next dose:"):
        assert button not in page, button
    assert "Edit details" in page and 'class="flag' not in page


async def test_a_measurement_correction_is_checked_by_the_rulebook(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    with unit_of_work(registry.engine) as session:
        wbc = session.scalars(select(Measurement).where(
            Measurement.patient_id == registry.ids["BER-001"],
            Measurement.kind == "csf_wbc")).one()
        url = f"/patients/{wbc.patient_id}/measurements/{wbc.id}/edit"
    before = count(registry, Measurement)
    response = await post_form(client, url, {
        "date": "2030-01-01", "kind": "csf_wbc", "value": "12", "unit": "/uL", "assay": "",
        "lab": "", "correction_reason": "typo"})
    assert response.status_code == 422 and "in the future" in response.text
    assert count(registry, Measurement) == before


async def test_the_header_flags_are_acknowledged_from_the_patient_page(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    patient = registry.ids["BER-001"]
    with unit_of_work(registry.engine) as session:  # CSF NfL 3100 → 4000 (+29 %, Simoa)
        session.add(Measurement(patient_id=patient, date=dt.date(2025, 3, 10),
                                kind="nfl_csf", value=4000, unit="pg/mL", assay="Simoa"))
    await login(client, "clin")
    page = (await client.get(f"/patients/{patient}")).text
    assert "rising NfL: nfl csf 4000 pg/mL on 2025-03-10, +29% from 3100" in page
    token = form_token(page)
    for flag, day in (("csf", "2025-02-24"), ("nfl", "2025-03-10")):
        done = await client.post(f"/patients/{patient}/flags/acknowledge",
                                 data={"flag": flag, "sample_date": day, "csrf_token": token})
        assert done.status_code == 303, done.text
    page = (await client.get(f"/patients/{patient}")).text
    assert "rising NfL" not in page and "CSF pleocytosis" not in page
    assert _actions(registry)[-2:] == ["flag_acknowledge", "flag_acknowledge"]
    wrong = await client.post(f"/patients/{patient}/flags/acknowledge",
                              data={"flag": "csf", "sample_date": "2024-01-10",
                                    "csrf_token": token})
    assert wrong.status_code == 422
