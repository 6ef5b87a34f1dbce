"""FHIR R4 under ``/fhir/R4``: the registry's records as resources, read and written.

Reads: ``metadata``, the ALSFRS-R Questionnaire and alsrwe's CodeSystems (public), and a
patient (``Patient/{id}``, ``Patient/{id}/$everything``) for the roles that see records,
within their sites (another site's patient is a 404, as a missing one), audited as a view.

Writes: a resource POSTed to ``/fhir/R4/{type}``, or a transaction (or batch) Bundle POSTed
to ``/fhir/R4``, is read by :func:`alsrwe.interop.fhir.rows_of_resources` and written by the
one write path (:func:`~alsrwe.interop.tidy_csv.importer.import_text_rows`): every rule, the
confirmations (each resource's confirmed-warnings extension), one transaction and one audit
entry with the user as actor; all of it or nothing. Records are upserted by natural key, so
the same resource POSTed again changes nothing (200). The sites are checked before anything
is written (403). A Patient, the ALS Condition and the SOD1 variant Observation each hold
part of a patient's row: one POSTed without the others is read together with the registered
patient's other parts (:func:`_context`). Send the session's CSRF token in ``X-CSRF-Token``,
as for every JSON write. Errors are OperationOutcome resources (:mod:`..fhir_responses`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from alsrwe.domain.errors import InvalidInput, NotFound, Problem
from alsrwe.domain.plausibility import PlausibilitySettings
from alsrwe.domain.tidy_format import restore_formula
from alsrwe.interop.fhir import (
    FHIR_INVALID,
    PSEUDONYM_SYSTEM,
    bundle_of,
    code_systems,
    locate,
    patient_fhir_id,
    pseudonym_of_fhir_id,
    questionnaire,
    resources_for,
    rows_of_resources,
    validated,
)
from alsrwe.interop.fhir.variant import is_variant
from alsrwe.interop.tidy_csv.export import text_tables
from alsrwe.interop.tidy_csv.importer import import_text_rows
from alsrwe.interop.tidy_csv.rows import TextRow
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Patient
from alsrwe.store.reads.patients import get_patient
from alsrwe.store.reads.users import sites_by_code
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.imports import ImportSource
from alsrwe.web.deps import CurrentUser, Db, Plausibility, Today, require_record_access
from alsrwe.web.fhir_capability import CREATABLE, capability_statement
from alsrwe.web.fhir_responses import (
    Answer,
    FhirError,
    FhirJSON,
    FhirRoute,
    Issue,
    StoredRows,
    invalid,
    issue_of,
)
from alsrwe.web.principal import Principal
from alsrwe.web.viewing import log_view

PREFIX = "/fhir/R4"
REQUEST = "request"
"""The ``file`` of POSTed resources in problems (the registered parts read with them have no
entry number)."""
HELPERS = ("Organization", "Medication")
"""Read inside a Bundle with the resources that refer to them; never records themselves."""
Entries = list[tuple[int | None, dict[str, Any]]]
Tables = dict[str, list[dict[str, str]]]

router = APIRouter(prefix=PREFIX, route_class=FhirRoute, include_in_schema=False)
records = APIRouter(route_class=FhirRoute, dependencies=[Depends(require_record_access)])


@router.get("/metadata")
def metadata(request: Request) -> FhirJSON:
    """The CapabilityStatement (no sign-in, as FHIR servers usually allow)."""
    return FhirJSON(capability_statement(request.app.version, _base(request)))


@router.get("/Questionnaire/{questionnaire_id}")
def read_questionnaire(questionnaire_id: str) -> FhirJSON:
    found = questionnaire()
    if found["id"] != questionnaire_id:
        raise NotFound(f"no Questionnaire {questionnaire_id}; alsrwe serves {found['id']}")
    return FhirJSON(found)


@router.get("/CodeSystem/{name}")
def read_code_system(name: str) -> FhirJSON:
    systems = {system["id"]: system for system in code_systems()}
    if name not in systems:
        raise NotFound(f"no CodeSystem {name}; alsrwe serves {', '.join(sorted(systems))}")
    return FhirJSON(systems[name])


def _patient(db: Session, scope: SiteScope, fhir_id: str) -> Patient:
    """The patient of a Patient id within ``scope``; the same 404 for absent and foreign."""
    pseudonym = pseudonym_of_fhir_id(fhir_id)
    patient = get_patient(db, pseudonym) if pseudonym else None
    if patient is None or not scope.allows(patient.site_id):
        raise NotFound("no such patient")
    return patient


@records.get("/Patient/{fhir_id}")
def read_patient(request: Request, db: Db, user: CurrentUser, fhir_id: str) -> FhirJSON:
    patient = _patient(db, user.scope, fhir_id)
    resources = resources_for(text_tables(db, [patient.pseudonym]))
    log_view(request, user, "fhir_patient", patient.id)
    return FhirJSON(next(r for r in resources if r["resourceType"] == "Patient"))


@records.get("/Patient/{fhir_id}/$everything")
def patient_everything(request: Request, db: Db, user: CurrentUser, fhir_id: str) -> FhirJSON:
    """Every resource of the patient's record, as a searchset Bundle."""
    patient = _patient(db, user.scope, fhir_id)
    bundle = bundle_of(resources_for(text_tables(db, [patient.pseudonym])), "searchset")
    log_view(request, user, "fhir_everything", patient.id)
    return FhirJSON(bundle)


@records.post("/{resource_type}")
async def create(request: Request, user: CurrentUser, today: Today, rules: Plausibility,
                 resource_type: str) -> FhirJSON:
    """One resource: 201 and its stored form, 200 when the registry held it already."""
    if resource_type not in CREATABLE:
        raise NotFound(f"alsrwe creates no {resource_type}; it creates {', '.join(CREATABLE)}")
    resource = _json(await request.body())
    if resource.get("resourceType") != resource_type:
        raise invalid(f"is {resource.get('resourceType')!r}; the URL names {resource_type}",
                      f"{resource_type}.resourceType")
    write = Write([(1, resource)], bundle=False)
    (answer,) = await run_in_threadpool(_write, request.app.state.engine, write, user, today,
                                        rules, f"FHIR POST {PREFIX}/{resource_type}")
    if answer.resource is None:
        return FhirJSON(answer.outcome())
    return FhirJSON(answer.resource, status_code=201 if answer.created else 200,
                    headers={"Location": f"{_base(request)}/{answer.location}"})


@router.post("", dependencies=[Depends(require_record_access)])
async def transaction(request: Request, user: CurrentUser, today: Today,
                      rules: Plausibility) -> FhirJSON:
    """A transaction or batch Bundle, all of it or nothing: a transaction-response Bundle."""
    bundle = _json(await request.body())
    kind = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or kind not in ("transaction", "batch"):
        raise invalid(f"POST a transaction or batch Bundle to {PREFIX} (a resource goes to "
                      f"{PREFIX}/{{type}})", "Bundle.type")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise invalid("must be a list of one entry or more", "Bundle.entry")
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise invalid("an entry must hold a resource", f"Bundle.entry[{index}].resource")
        named = resource.get("resourceType")
        if named not in (*CREATABLE, *HELPERS):
            raise FhirError(400, [Issue("not-supported", f"alsrwe creates no {named}",
                                        f"Bundle.entry[{index}].resource.resourceType")])
    write = Write(list(enumerate(entries, start=1)), bundle=True)
    answers = await run_in_threadpool(_write, request.app.state.engine, write, user, today,
                                      rules, f"FHIR {kind} Bundle POST {PREFIX}")
    return FhirJSON(validated({"resourceType": "Bundle", "type": f"{kind}-response",
                               "entry": [a.entry() for a in answers]}))


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid(f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise invalid("the body is not a FHIR resource (a JSON object)")
    return value


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


# --- one write: read, scope, write, read back ------------------------------------------------


@dataclass(slots=True)
class Write:
    """One POST: its entries, whether they came in a Bundle, the registered patients it names
    (by pseudonym) and their text tables before the write."""

    entries: Entries
    bundle: bool
    registered: dict[str, Patient] = field(default_factory=dict)
    before: Tables = field(default_factory=dict)


def _write(engine: Engine, write: Write, user: Principal, today: date,
           rules: PlausibilitySettings, source: str) -> list[Answer]:
    """Read the entries, refuse another site's patients (403), write all or nothing (422),
    then read back what the registry now holds for each entry."""
    with unit_of_work(engine, read_only=True) as session:
        known = _lookup(session, write, user.scope, _referenced(write.entries))
        rows, problems, ignored = rows_of_resources([*write.entries, *_context(write)],
                                                    REQUEST, known)
        broken = [p for p in problems if p.code == FHIR_INVALID]
        if broken:
            raise FhirError(400, [_issue_of("invalid", p, write) for p in broken])
        _lookup(session, write, user.scope, dict.fromkeys(_pseudonyms(rows)))
        _check_sites(session, rows, user.scope, write)
        problems += _unregistered(rows, write)
    if rows or problems:
        try:
            import_text_rows(engine, rows, problems, today=today, actor=user.username,
                             source=ImportSource(source, dict.fromkeys(rows, source)),
                             settings=rules)
        except InvalidInput as error:
            located = locate(error.problems, rows, keep=problems)
            raise FhirError(422, [_issue_of("business-rule", p, write) for p in located]) from None
    pseudonyms = _pseudonyms(rows)
    with unit_of_work(engine, read_only=True) as session:
        after = text_tables(session, pseudonyms) if pseudonyms else {}
    stored = StoredRows(today, write.before, after)
    return [stored.answer(number, str(_resource(entry).get("resourceType")), rows, ignored)
            for number, entry in write.entries]


def _unregistered(rows: Mapping[str, list[TextRow]], write: Write) -> list[Problem]:
    """A Patient that would register a patient without the SOD1 variant: say how to."""
    return [Problem(None, f"{pseudonym} is not registered yet: register a patient with one "
                          "transaction Bundle of its Patient, its SOD1 variant Observation and, "
                          "for a patient with ALS, its Condition", file=row.file, row=row.line)
            for row in rows.get("patients", [])
            if (pseudonym := restore_formula(row.values["patient_id"])) not in write.registered
            and not row.values.get("sod1_variant")]


def _issue_of(code: str, problem: Problem, write: Write) -> Issue:
    return issue_of(code, problem, file=REQUEST, bundle=write.bundle)


def _pseudonyms(rows: Mapping[str, list[TextRow]]) -> list[str]:
    return sorted({restore_formula(r.values.get("patient_id", "")).strip()
                   for table in rows.values() for r in table} - {""})


# --- who a POST is about, and the registered parts of their row ------------------------------


def _resource(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """The resource of a Bundle entry (or the resource itself)."""
    inner = entry.get("resource")
    return inner if "resourceType" not in entry and isinstance(inner, Mapping) else entry


def _references(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every Reference in a resource: an object with a ``reference`` or an ``identifier``."""
    if isinstance(value, Mapping):
        if isinstance(value.get("reference"), str) or isinstance(value.get("identifier"),
                                                                   Mapping):
            yield value
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _own_pseudonym(resource: Mapping[str, Any]) -> str | None:
    """A Patient's pseudonym: its alsrwe identifier, else the one its id was made from."""
    for ident in resource.get("identifier") or []:
        if isinstance(ident, Mapping) and ident.get("system") == PSEUDONYM_SYSTEM:
            return str(ident.get("value") or "") or None
    fhir_id = resource.get("id")
    return pseudonym_of_fhir_id(fhir_id) if isinstance(fhir_id, str) else None


def _posted_patients(entries: Entries) -> dict[str, str]:
    """The POSTed Patients' pseudonyms by ``Patient/<id>`` and by fullUrl."""
    found: dict[str, str] = {}
    for _, entry in entries:
        resource = _resource(entry)
        pseudonym = _own_pseudonym(resource) if resource.get("resourceType") == "Patient" else None
        if pseudonym is None:
            continue
        if isinstance(resource.get("id"), str):
            found[f"Patient/{resource['id']}"] = pseudonym
        if isinstance(entry.get("fullUrl"), str):
            found[entry["fullUrl"]] = pseudonym
    return found


def _named(reference: Mapping[str, Any], posted: Mapping[str, str]) -> tuple[str | None,
                                                                             str | None]:
    """(pseudonym, Patient id) a Reference names: its identifier, a POSTed Patient, its id."""
    ident = reference.get("identifier")
    if isinstance(ident, Mapping) and ident.get("system") == PSEUDONYM_SYSTEM:
        return str(ident.get("value") or "") or None, None
    target = reference.get("reference")
    if not isinstance(target, str):
        return None, None
    if target in posted:
        return posted[target], None
    parts = target.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Patient":
        return pseudonym_of_fhir_id(parts[-1]), parts[-1]
    return None, None


def _referenced(entries: Entries) -> dict[str, str | None]:
    """Every patient the POST names: pseudonym → the Patient id a reference used, if any."""
    posted = _posted_patients(entries)
    found: dict[str, str | None] = dict.fromkeys(posted.values())
    for _, entry in entries:
        for reference in _references(_resource(entry)):
            pseudonym, fhir_id = _named(reference, posted)
            if pseudonym:
                found[pseudonym] = found.get(pseudonym) or fhir_id
    return found


def _lookup(session: Session, write: Write, scope: SiteScope,
            named: Mapping[str, str | None]) -> dict[str, str]:
    """Note the registered patients among ``named`` and their tables, refusing a patient of
    another site (403); the Patient ids that name them (``known_patients``)."""
    fetched = []
    for pseudonym in sorted(p for p in named if p and p not in write.registered):
        patient = get_patient(session, pseudonym)
        if patient is None:
            continue
        if not scope.allows(patient.site_id):
            raise FhirError(403, [Issue("forbidden", f"patient {pseudonym} is at a site "
                                        "outside your sites: nothing was written",
                                        _naming(write, pseudonym))])
        write.registered[pseudonym] = patient
        fetched.append(pseudonym)
    if fetched:
        for table, rows in text_tables(session, fetched).items():
            write.before.setdefault(table, []).extend(rows)
    known = {patient_fhir_id(p): p for p in write.registered}
    known |= {fhir_id: p for p, fhir_id in named.items() if fhir_id and p in write.registered}
    return known


def _naming(write: Write, pseudonym: str) -> str | None:
    """The element of the first entry that names ``pseudonym`` (for a 403)."""
    posted = _posted_patients(write.entries)
    for number, entry in write.entries:
        resource = _resource(entry)
        base = f"Bundle.entry[{(number or 1) - 1}].resource" if write.bundle else str(
            resource.get("resourceType"))
        if resource.get("resourceType") == "Patient" and _own_pseudonym(resource) == pseudonym:
            return f"{base}.identifier"
        if resource.get("resourceType") != "Patient" and any(
                _named(r, posted)[0] == pseudonym for r in _references(resource)):
            return f"{base}.subject"
    return None


def _part(resource: Mapping[str, Any]) -> str | None:
    """Which part of a patient's row a resource is: Patient, Condition, variant, or none."""
    kind = resource.get("resourceType")
    if kind in ("Patient", "Condition"):
        return str(kind)
    return "variant" if kind == "Observation" and is_variant(resource) else None


def _context(write: Write) -> Entries:
    """The registered parts of each registered patient whose row the POST changes in part.

    A patients.csv row is one Patient, its ALS Condition and its SOD1 variant Observation
    together. Each part the POST leaves out is taken from the registry as it stands
    (its resources rebuilt from the patient's current text row), so the POSTed parts
    replace theirs and every other cell keeps its registered value.
    """
    posted = _posted_patients(write.entries)
    parts: dict[str, set[str]] = {}
    for _, entry in write.entries:
        resource = _resource(entry)
        part, pseudonym = _part(resource), None
        if part == "Patient":
            pseudonym = _own_pseudonym(resource)
        elif part is not None:
            pseudonym = _named(resource.get("subject") or {}, posted)[0]
        if part is not None and pseudonym:
            parts.setdefault(pseudonym, set()).add(part)
    added: Entries = []
    for pseudonym, sent in sorted(parts.items()):
        own = [r for r in write.before.get("patients", []) if r["patient_id"] == pseudonym]
        if pseudonym not in write.registered or not own:
            continue
        deaths = [r for r in write.before.get("milestones", [])
                  if r["patient_id"] == pseudonym and r["kind"] == "death"]
        for resource in resources_for({"patients": own, "milestones": deaths}):
            part = _part(resource)
            if part is not None and part not in sent:
                added.append((None, resource))
    return added


def _check_sites(session: Session, rows: Mapping[str, list[TextRow]], scope: SiteScope,
                 write: Write) -> None:
    """Refuse (403) a patient row at a site outside the user's sites, a new site included."""
    sites = {restore_formula(r.values.get("site", "")).strip(): r for r in rows.get("patients", [])}
    sites.pop("", None)
    existing = sites_by_code(session, sorted(sites))
    refused = [Problem("site", f"site {code} is not one of your sites: nothing was written",
                       file=row.file, row=row.line)
               for code, row in sites.items()
               if not (scope.all_sites or (code in existing and scope.allows(existing[code].id)))]
    if refused:
        raise FhirError(403, [_issue_of("forbidden", p, write) for p in locate(refused, rows)])


def _not_served(request: Request, path: str) -> FhirJSON:
    """Anything else under ``/fhir/R4``: a read alsrwe does not serve (records are read with
    their patient's ``$everything``) is a 404; an update or delete a 405."""
    if request.method == "GET":
        raise NotFound(f"alsrwe serves no {path}: read Patient/{{id}} or "
                       "Patient/{id}/$everything")
    raise FhirError(405, [Issue("not-supported", f"alsrwe does not {request.method} {path}: "
                                "it creates with POST (void or correct records in alsrwe)")])


router.include_router(records)
router.add_api_route("/{path:path}", _not_served, methods=["GET", "PUT", "PATCH", "DELETE"])
# ↑ last, after every route the catch-all would shadow


__all__ = ["PREFIX", "router"]
