"""Pages that correct or void a record entered in error, always with a reason.

``/patients/{id}/{kind}/{record_id}/edit`` shows the record's correctable fields filled in
(an adverse event's follow-up: outcome, resolution date, seriousness, relatedness, grade,
action); only the fields that changed are sent to the store's correction write path, which
judges the record again with the rulebook and audits the values before and after with the
reason. ``…/void`` takes the record out of its table and of every analysis, kept with who,
when and why (:mod:`alsrwe.store.writes.voids`). Record-level roles, own sites: a record of
another patient or site is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from alsrwe.domain import cells
from alsrwe.domain.alsfrs import ITEM_COLUMNS, ITEMS
from alsrwe.domain.errors import InvalidInput, NotFound, StaleVersion
from alsrwe.domain.records import clean_text
from alsrwe.store.models import AlsfrsAssessment, Base, Patient
from alsrwe.store.reads.records import scoped_record
from alsrwe.store.writes import CORRECTABLE, MODELS, correct_record
from alsrwe.store.writes.voids import REASON_FIELD, void_record
from alsrwe.web.auth import utc_now
from alsrwe.web.deps import (
    CurrentUser,
    Db,
    PatientInScope,
    Plausibility,
    RecordId,
    Today,
    require_record_access,
)
from alsrwe.web.form_reader import FormReader
from alsrwe.web.record_forms import (
    ITEM_FIELDS,
    RECORD_FORMS,
    TABLE_OF_SLUG,
    FormField,
    item5_fields,
    read_alsfrs,
)
from alsrwe.web.routes.record_pages import INVALID, Confirmed, Submitted
from alsrwe.web.templating import render
from alsrwe.web.versions import CONFLICT, VERSION_FIELD, conflict_text, form_version

router = APIRouter(prefix="/patients/{patient_id}", include_in_schema=False,
                   dependencies=[Depends(require_record_access)])
CORRECTION_REASON = FormField("correction_reason", "Reason for the correction", "text",
                              hint="e.g. transcription error, value re-read from the lab report")
VOID_REASON = FormField(REASON_FIELD, "Reason for voiding", "text",
                        hint="e.g. entered on the wrong patient, duplicate of another record")
TITLES = {"alsfrs": "ALSFRS-R assessment", **{f.slug: f.title for f in RECORD_FORMS.values()}}


def _record(db: Db, user: CurrentUser, patient: Patient, slug: str, record_id: int) -> Base:
    if slug not in TABLE_OF_SLUG:
        raise NotFound("no such kind of record")
    row = scoped_record(db, user.scope, MODELS[TABLE_OF_SLUG[slug]], record_id)
    if getattr(row, "patient_id") != patient.id:  # noqa: B009 (Base declares no columns)
        raise NotFound(f"no such {TITLES[slug].lower()}")
    return row


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(getattr(value, "value", value))


def _summary(slug: str, row: Base) -> tuple[tuple[str, str], ...]:
    """The record as it stands, in the form's labels."""
    if slug == "alsfrs":
        assert isinstance(row, AlsfrsAssessment)
        items = " ".join(str(getattr(row, q)) for q in ITEM_COLUMNS)
        return (("Date", row.date.isoformat()), ("Source", row.source.value),
                ("Items 1-12", items), ("Total", str(sum(row.items))))
    form = RECORD_FORMS[slug]
    return tuple((f.label, _text(getattr(row, f.name)) or "—") for f in form.fields)


def _read_field(reader: FormReader, f: FormField) -> Any:
    if f.kind == "checkbox":
        return reader.checkbox(f.name)
    if f.kind == "date":
        return reader.cell(f.name, cells.iso_date, required=f.required)
    if f.kind == "number":
        return reader.cell(f.name, cells.number, required=f.required)
    if f.integer:
        return reader.cell(f.name, cells.integer, required=f.required)
    return reader.text(f.name) if f.required else reader.optional_text(f.name)


def _changed(row: Base, read: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in read.items()
            if _text(value) != _text(getattr(row, name))}


def _reason(reader: FormReader, field: str) -> str | None:
    """The correction's reason: required on the pages (the API's is optional)."""
    try:
        text = clean_text(field, reader.values.get(field, ""))
    except InvalidInput as error:
        reader.fail(field, error.problems[0].rule)
        return None
    if text is None:
        reader.fail(field, "is required: say why")
    return text


def _saved(patient: Patient, what: str) -> Response:
    return RedirectResponse(f"/patients/{patient.id}?saved={what}#saved", status_code=303)


# --- Correction ---------------------------------------------------------------------------------


def _fields(slug: str) -> tuple[FormField, ...]:
    allowed = CORRECTABLE[TABLE_OF_SLUG[slug]]
    return tuple(f for f in RECORD_FORMS[slug].fields if f.name in allowed)


def _edit_page(request: Request, user: CurrentUser, patient: Patient, slug: str, row: Base,
               values: dict[str, str], reader: FormReader | None = None,
               confirmed: frozenset[str] = frozenset(), status_code: int = 200) -> Response:
    action = f"/patients/{patient.id}/{slug}/{getattr(row, 'id')}/edit"  # noqa: B009
    common: dict[str, Any] = {"user": user, "problems": reader.problems if reader else {},
              "warnings": reader.warnings if reader else {}, "confirmed": confirmed,
              "values": values, "status_code": status_code}
    if slug == "alsfrs":
        return render(request, "alsfrs_form.html", patient=patient, items=ITEMS,
                      action=action, reason_field=CORRECTION_REASON,
                      title=f"Correct the ALSFRS-R of {patient.pseudonym}", **common)
    verb = "Follow up" if slug == "adverse-events" else "Correct"
    return render(request, "form_page.html", title=f"{verb}: {TITLES[slug].lower()} of "
                  f"{patient.pseudonym}", action=action,
                  fields=(*_fields(slug), CORRECTION_REASON), submit="Save correction",
                  back=(f"/patients/{patient.id}/record", f"{patient.pseudonym}: full record"),
                  record_rows=_summary(slug, row), **common)


def _stored_values(slug: str, row: Base) -> dict[str, str]:
    if slug == "alsfrs":
        assert isinstance(row, AlsfrsAssessment)
        used, _ = item5_fields(row.gastrostomy)
        values = {code: str(getattr(row, code)) for code in ITEM_COLUMNS if code != "q5"}
        return values | {used: str(row.q5), "date": row.date.isoformat(),
                         "gastrostomy": _text(row.gastrostomy)}
    return {f.name: _text(getattr(row, f.name)) for f in _fields(slug)}


def _form_values(slug: str, row: Base) -> dict[str, str]:
    return {**_stored_values(slug, row), VERSION_FIELD: str(getattr(row, VERSION_FIELD))}


@router.get("/{slug}/{record_id}/edit")
def edit_form(request: Request, db: Db, user: CurrentUser, patient: PatientInScope, slug: str,
              record_id: RecordId) -> Response:
    row = _record(db, user, patient, slug, record_id)
    return _edit_page(request, user, patient, slug, row, _form_values(slug, row))


def _read_changes(slug: str, reader: FormReader, row: Base) -> dict[str, Any] | None:
    if slug == "alsfrs":
        when = reader.cell("date", cells.iso_date)
        read = read_alsfrs(reader)
        if read is None or when is None:
            return None
        items, gastrostomy = read
        return _changed(row, {"date": when, "gastrostomy": gastrostomy,
                              **dict(zip(ITEM_COLUMNS, items, strict=True))})
    values = {f.name: _read_field(reader, f) for f in _fields(slug)}
    return _changed(row, values) if reader.ok else None


@router.post("/{slug}/{record_id}/edit")
def edit_submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope, slug: str,
                record_id: RecordId, today: Today, values: Submitted, confirmed: Confirmed,
                rules: Plausibility) -> Response:
    row = _record(db, user, patient, slug, record_id)
    reader = FormReader(values)
    changes = _read_changes(slug, reader, row)
    reason = _reason(reader, CORRECTION_REASON.name)
    if changes is not None and reader.ok:
        if not changes:
            reader.fail("", "nothing was changed: edit a field, or go back")
        else:
            table = TABLE_OF_SLUG[slug]
            if table == "measurements" and "unit" in changes:
                changes.setdefault("value", getattr(row, "value"))  # noqa: B009
            try:
                correct_record(db, user.scope, table, record_id, changes, actor=user.username,
                               today=today, confirmed=confirmed, settings=rules, reason=reason,
                               expected_version=form_version(values))
            except StaleVersion as error:
                reader.fail("", conflict_text(error, changes))
                values = {**values, VERSION_FIELD: str(error.current)}
                return _edit_page(request, user, patient, slug, row, values, reader, confirmed,
                                  CONFLICT)
            except InvalidInput as error:
                known = (frozenset({"date", "gastrostomy", *ITEM_FIELDS}) if slug == "alsfrs"
                         else frozenset(f.name for f in _fields(slug)))
                reader.take(error, {"q5": item5_fields(bool(values.get("gastrostomy")))[0]},
                            known)
            else:
                return _saved(patient, "corrected")
    return _edit_page(request, user, patient, slug, row, values, reader, confirmed, INVALID)


# --- Void ---------------------------------------------------------------------------------------


def _void_page(request: Request, user: CurrentUser, patient: Patient, slug: str, row: Base,
               values: dict[str, str], reader: FormReader | None = None,
               status_code: int = 200) -> Response:
    return render(request, "form_page.html", user=user,
                  title=f"Void this {TITLES[slug].lower()} of {patient.pseudonym}",
                  action=f"/patients/{patient.id}/{slug}/{getattr(row, 'id')}/void",  # noqa: B009
                  fields=(VOID_REASON,), submit="Void the record", danger=True,
                  back=(f"/patients/{patient.id}/record", f"{patient.pseudonym}: full record"),
                  record_rows=_summary(slug, row), values=values,
                  problems=reader.problems if reader else {}, warnings={}, confirmed=(),
                  status_code=status_code,
                  intro="A voided record leaves every analysis, export and schedule. It stays "
                        "in the database, shown struck through with your reason, and the "
                        "audit trail keeps its values.")


@router.get("/{slug}/{record_id}/void")
def void_form(request: Request, db: Db, user: CurrentUser, patient: PatientInScope, slug: str,
              record_id: RecordId) -> Response:
    row = _record(db, user, patient, slug, record_id)
    return _void_page(request, user, patient, slug, row,
                      {VERSION_FIELD: str(getattr(row, VERSION_FIELD))})


@router.post("/{slug}/{record_id}/void")
def void_submit(request: Request, db: Db, user: CurrentUser, patient: PatientInScope, slug: str,
                record_id: RecordId, values: Submitted) -> Response:
    row = _record(db, user, patient, slug, record_id)
    reader = FormReader(values)
    try:  # the reason's rules (required, length, control characters) are the write path's
        void_record(db, user.scope, TABLE_OF_SLUG[slug], record_id, values.get(REASON_FIELD),
                    actor=user.username, now=utc_now(), patient_id=patient.id,
                    expected_version=form_version(values))
    except StaleVersion as error:
        reader.fail("", conflict_text(error, {}))
        return _void_page(request, user, patient, slug, row,
                          {**values, VERSION_FIELD: str(error.current)}, reader, CONFLICT)
    except InvalidInput as error:
        reader.take(error, known=frozenset({REASON_FIELD}))
        return _void_page(request, user, patient, slug, row, values, reader, INVALID)
    return _saved(patient, "voided")
