"""Patient self-report: a single-use, time-limited link, no login, stored with source "self".

The questionnaire names its questions in plain words, sends only from its "Send my answers"
button, and keeps the answers when the pre-session CSRF cookie has expired.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AlsfrsAssessment, SelfReportLink
from alsrwe.web.auth import LOGIN_CSRF_COOKIE
from alsrwe.web.routes.self_report import qr_svg
from tests.web.conftest import TODAY, Registry, csrf_of, form_token, login

pytestmark = pytest.mark.anyio


@pytest.fixture
async def phone(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The patient's browser: never logged in."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def answers(**changes: str) -> dict[str, str]:
    """A complete questionnaire, sent with the "Send my answers" button."""
    chosen = {f"q{n}": "3" for n in range(1, 13) if n != 5} | {"q5a": "2", "send": "answers"}
    return chosen | changes


def self_reports(registry: Registry) -> int:
    with unit_of_work(registry.engine) as session:
        return session.scalar(select(func.count()).select_from(AlsfrsAssessment).where(
            AlsfrsAssessment.source == AssessmentSource.SELF)) or 0


async def issue(client: httpx.AsyncClient, registry: Registry, pseudonym: str = "BER-001") -> str:
    """Issue a link as the logged-in clinician; returns its path."""
    response = await client.post(f"/patients/{registry.ids[pseudonym]}/self-report-links",
                                 data={"csrf_token": await csrf_of(client)})
    assert response.status_code == 200
    found = re.search(r"http://testserver(/self-report/[A-Za-z0-9_-]+)", response.text)
    assert found
    return found.group(1)


async def test_a_patient_completes_the_questionnaire_once(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    page = await phone.get(path)
    assert page.status_code == 200
    assert phone.cookies.get(LOGIN_CSRF_COOKIE)
    assert page.text.count("<fieldset") == 13 and "Normal speech" in page.text
    assert '<label class="check"><input type="checkbox" id="gastrostomy"' in page.text
    assert "BER-001" not in page.text
    done = await phone.post(path, data={**answers(), "csrf_token": form_token(page.text)})
    assert done.status_code == 200 and "Thank you" in done.text
    with unit_of_work(registry.engine) as session:
        row = session.scalars(select(AlsfrsAssessment).where(
            AlsfrsAssessment.source == AssessmentSource.SELF)).one()
        assert (row.patient_id, row.date, row.q1, row.q5, row.gastrostomy) == (
            registry.ids["BER-001"], TODAY, 3, 2, False)
        link = session.scalars(select(SelfReportLink)).one()
        assert link.used_at is not None
    again = await phone.get(path)
    assert again.status_code == 410 and "already been used" in again.text
    resent = await phone.post(path, data={**answers(), "csrf_token": form_token(page.text)})
    assert resent.status_code == 410
    assert self_reports(registry) == 1
    patient_page = (await client.get(f"/patients/{registry.ids['BER-001']}")).text
    assert "<strong>self-report</strong>" in patient_page


async def test_an_expired_link_says_so(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    with unit_of_work(registry.engine) as session:
        link = session.scalars(select(SelfReportLink)).one()
        lifetime = link.expires_at - link.created_at
        session.execute(update(SelfReportLink).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert lifetime == dt.timedelta(days=7)
    page = await phone.get(path)
    assert page.status_code == 410 and "expired" in page.text
    assert 'type="radio"' not in page.text


async def test_an_unknown_link_is_404(phone: httpx.AsyncClient) -> None:
    page = await phone.get("/self-report/" + "x" * 43)
    assert page.status_code == 404 and "not valid" in page.text


async def test_invalid_answers_are_shown_and_the_link_stays_open(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    token = form_token((await phone.get(path)).text)
    data = answers(q5b="1")
    del data["q9"]
    response = await phone.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 422
    assert 'id="q9-error"' in response.text and 'aria-describedby="q9-error"' in response.text
    assert 'id="q5b-error"' in response.text
    assert 'name="q1" value="3" checked' in response.text
    assert self_reports(registry) == 0
    fixed = answers()
    ok = await phone.post(path, data={**fixed, "csrf_token": form_token(response.text)})
    assert ok.status_code == 200 and self_reports(registry) == 1


async def test_csrf_is_required_without_a_login(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    await phone.get(path)
    assert (await phone.post(path, data=answers())).status_code == 403
    forged = await phone.post(path, data={**answers(), "csrf_token": "forged"})
    assert forged.status_code == 403
    assert self_reports(registry) == 0
    with unit_of_work(registry.engine) as session:
        assert session.scalars(select(SelfReportLink)).one().used_at is None


async def test_issuing_needs_csrf_and_own_site(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    own = f"/patients/{registry.ids['BER-001']}/self-report-links"
    foreign = f"/patients/{registry.ids['PAD-001']}/self-report-links"
    assert (await client.post(own)).status_code == 403
    token = await csrf_of(client)
    assert (await client.post(foreign, data={"csrf_token": token})).status_code == 404
    with unit_of_work(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(SelfReportLink)) == 0


async def test_only_the_token_hash_is_stored(client: httpx.AsyncClient,
                                            registry: Registry) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    token = path.rsplit("/", 1)[1]
    with unit_of_work(registry.engine) as session:
        stored = session.scalars(select(SelfReportLink)).one().token_hash
    assert token not in stored and len(stored) == 64


def summary_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of each link of the page's error summary."""
    start = html.index('class="error-summary"')
    block = html[start:html.index("</div>", start)]
    return [(href, re.sub(r"<[^>]+>", "", text).strip())
            for href, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', block, re.S)]


async def test_errors_name_the_question_in_plain_words(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    token = form_token((await phone.get(path)).text)
    data = answers(q5b="1")
    del data["q1"]
    response = await phone.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 422
    links = summary_links(response.text)
    assert ("#field-q1", "Question 1 (Speech): choose one of the answers") in links
    assert ("#field-q5b", "Question 5b (Cutting food and handling utensils, with gastrostomy): "
            "leave this question empty: you did not tick “I have a feeding tube”, so please "
            "answer question 5a instead") in links
    assert not any(re.match(r"q\d", text) for _, text in links)
    # The message next to the question names it too, and the link's target is its fieldset.
    assert re.search(r'<p class="field-error" id="q1-error"><span class="visually-hidden">'
                     r'Error: </span>Question 1 \(Speech\): choose one of the answers</p>',
                     response.text)
    assert '<fieldset class="item has-error" id="field-q1" tabindex="-1"' in response.text
    assert self_reports(registry) == 0


async def test_the_clinic_form_keeps_its_field_names_in_messages(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    patient = registry.ids["BER-001"]
    form = f"/patients/{patient}/alsfrs/new"
    data = {k: v for k, v in answers(date="2025-03-19").items() if k not in ("q1", "send")}
    response = await client.post(form, data={**data, "csrf_token": form_token(
        (await client.get(form)).text)})
    assert response.status_code == 422
    assert re.search(r'id="q1-error"><span class="visually-hidden">Error: </span>'
                     r'choose one of the answers</p>', response.text)


async def test_enter_in_the_form_sends_nothing(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    """Enter makes the browser submit with the form's first submit button: a nameless one."""
    await login(client, "clin")
    path = await issue(client, registry)
    page = await phone.get(path)
    form = page.text[page.text.index("<form"):page.text.index("</form>")]
    buttons = re.findall(r"<button[^>]*>", form)
    assert buttons == ['<button type="submit" hidden style="display: none">',
                       '<button type="submit" name="send" value="answers">']
    data = answers()
    del data["send"]  # what a browser sends for Enter on the feeding-tube box
    response = await phone.post(path, data={**data, "gastrostomy": "on",
                                            "csrf_token": form_token(page.text)})
    assert response.status_code == 200
    assert "Nothing was sent yet" in response.text and "Nothing was saved" not in response.text
    assert 'name="q1" value="3" checked' in response.text
    assert 'id="gastrostomy" name="gastrostomy" value="on" checked' in response.text
    assert self_reports(registry) == 0
    assert (await phone.get(path)).status_code == 200  # the link is still open


async def test_an_expired_csrf_cookie_keeps_the_answers(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    old_token = form_token((await phone.get(path)).text)
    phone.cookies.delete(LOGIN_CSRF_COOKIE)  # the 12-hour cookie ran out
    kept = await phone.post(path, data={**answers(q2="1"), "csrf_token": old_token})
    assert kept.status_code == 403
    assert "Your answers are kept; please press Send again" in kept.text
    assert "/login" not in kept.headers.get("location", "")
    assert 'name="q2" value="1" checked' in kept.text
    assert 'name="q5a" value="2" checked' in kept.text
    new_token = form_token(kept.text)
    assert new_token != old_token and phone.cookies.get(LOGIN_CSRF_COOKIE) == new_token
    assert self_reports(registry) == 0
    done = await phone.post(path, data={**answers(q2="1"), "csrf_token": new_token})
    assert done.status_code == 200 and "Thank you" in done.text
    assert self_reports(registry) == 1


async def test_a_stale_token_keeps_the_answers_and_a_forged_one_saves_nothing(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    """The CSRF check still runs first: a refused token never reaches the write path."""
    await login(client, "clin")
    path = await issue(client, registry)
    await phone.get(path)
    refused = await phone.post(path, data={**answers(q3="0"), "csrf_token": "forged"})
    assert refused.status_code == 403 and "Your answers are kept" in refused.text
    assert 'name="q3" value="0" checked' in refused.text
    assert form_token(refused.text) != "forged"
    assert self_reports(registry) == 0
    with unit_of_work(registry.engine) as session:
        assert session.scalars(select(SelfReportLink)).one().used_at is None


async def test_a_refused_token_on_a_closed_link_shows_the_closed_page(
    client: httpx.AsyncClient, phone: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    path = await issue(client, registry)
    with unit_of_work(registry.engine) as session:
        session.execute(update(SelfReportLink).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    response = await phone.post(path, data={**answers(), "csrf_token": "x"})
    assert response.status_code == 410 and "expired" in response.text
    assert 'type="radio"' not in response.text
    unknown = await phone.post("/self-report/" + "x" * 43, data=answers())
    assert unknown.status_code == 404 and "not valid" in unknown.text


async def test_the_new_link_is_shown_as_a_qr_code(
    client: httpx.AsyncClient, registry: Registry
) -> None:
    await login(client, "clin")
    response = await client.post(f"/patients/{registry.ids['BER-001']}/self-report-links",
                                 data={"csrf_token": await csrf_of(client)})
    assert response.status_code == 200
    html_page = response.text
    figure = html_page[html_page.index('<figure class="qr">'):html_page.index("</figure>")]
    svg = re.search(r'<svg role="img" [^>]*>(.*?)</svg>', figure, re.S)
    assert svg and svg.group(1).startswith("<title>QR code of the self-report link</title>")
    assert re.search(r'<path stroke="#000" d="M\d', svg.group(0))  # the modules are drawn
    assert "<img" not in html_page and "<script>" not in html_page  # inline SVG, no request
    assert "http" not in svg.group(0).replace("http://www.w3.org/2000/svg", "")
    assert ('<button type="button" data-print hidden style="display: none">Print</button>'
            in html_page)
    assert 'class="no-print"' in html_page


def test_the_qr_code_encodes_the_link() -> None:
    """Different links draw different codes (the SVG is made from the URL, not a picture)."""
    first, second = (qr_svg(f"http://testserver/self-report/{c * 43}") for c in "ab")
    assert first.startswith("<svg") and first != second
