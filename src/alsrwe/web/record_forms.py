"""The data-entry forms of the patient page, described once: fields, reading, saving.

A :class:`RecordForm` lists its fields (rendered by ``record_form.html``), reads a submission
into the keyword arguments of its record's builder (:mod:`alsrwe.domain.records`) and names
that builder; the page hands the record to the store's write path. Only the types are checked
here; every rule is the domain's and the rulebook's, the same at every edge.
The ALSFRS-R form, shared with the patient's self-report, has its own reader
(:func:`read_alsfrs`) because of its radio groups and the 5a/5b switch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alsrwe.domain import cells, records
from alsrwe.domain.alsfrs import ITEMS
from alsrwe.domain.biomarkers import KIND_SPECS, MeasurementKind
from alsrwe.domain.drugs import Drug
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.regimens import AdministrationStatus, Regimen
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.web.form_reader import FormReader

Choices = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: ``kind`` is date, number, text, select or checkbox."""

    name: str
    label: str
    kind: str
    choices: Choices = ()
    hint: str = ""
    required: bool = True
    integer: bool = False
    """A select whose values are whole numbers (e.g. a CTCAE grade)."""


@dataclass(frozen=True, slots=True)
class RecordForm:
    slug: str
    title: str
    fields: tuple[FormField, ...]
    read: Callable[[FormReader], dict[str, Any] | None]
    build: Callable[..., records.RecordEntry]
    defaults: Callable[[dt.date, Regimen], dict[str, str]]

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


def _words(value: str) -> str:
    return value.replace("_", " ")


def choices_of(enum: type[Any], blank: str | None = "— choose —") -> Choices:
    options = tuple((member.value, _words(member.value)) for member in enum)
    return ((("", blank),) if blank is not None else ()) + options


def date_field(name: str = "date", label: str = "Date", required: bool = True) -> FormField:
    return FormField(name, label, "date", hint="YYYY-MM-DD", required=required)


def _today(today: dt.date, _: Regimen) -> dict[str, str]:
    return {"date": today.isoformat()}


# --- Measurement --------------------------------------------------------------------------------

UNITS = tuple(dict.fromkeys(u for spec in KIND_SPECS.values() for u in spec.accepted_units))
UNIT_HINT = "; ".join(
    f"{_words(kind.value)}: {' or '.join(spec.accepted_units)}" for kind, spec in KIND_SPECS.items()
)


def _read_measurement(r: FormReader) -> dict[str, Any] | None:
    read = {
        "date": r.cell("date", cells.iso_date),
        "kind": r.cell("kind", cells.text),
        "value": r.cell("value", cells.number),
        "unit": r.cell("unit", cells.text),
        "assay": r.optional_text("assay"),
        "lab": r.optional_text("lab"),
    }
    return read if r.ok else None


MEASUREMENT = RecordForm(
    slug="measurements",
    title="Measurement or lab value",
    fields=(
        date_field(),
        FormField("kind", "What was measured", "select", choices_of(MeasurementKind)),
        FormField("value", "Value", "number"),
        FormField("unit", "Unit", "select", (("", "— choose —"), *((u, u) for u in UNITS)),
                  hint=f"Converted to the kind's standard unit. Accepted: {UNIT_HINT}."),
        FormField("assay", "Assay or platform", "text", hint="e.g. Simoa (NfL)", required=False),
        FormField("lab", "Laboratory", "text", required=False),
    ),
    read=_read_measurement,
    build=records.measurement_entry,
    defaults=_today,
)


# --- Dose administration ------------------------------------------------------------------------


def _read_administration(r: FormReader) -> dict[str, Any] | None:
    read = {
        "date": r.cell("date", cells.iso_date),
        "drug": r.cell("drug", cells.text),
        "status": r.cell("status", cells.text),
        "dose_mg": r.cell("dose_mg", cells.number, required=False),
        "lot": r.optional_text("lot"),
        "csf_removed_ml": r.cell("csf_removed_ml", cells.number, required=False),
    }
    return read if r.ok else None


def _dose_defaults(today: dt.date, regimen: Regimen) -> dict[str, str]:
    return {"date": today.isoformat(), "drug": regimen.drug, "status": "given",
            "dose_mg": f"{regimen.dose:g}"}


ADMINISTRATION = RecordForm(
    slug="administrations",
    title="Dose administration",
    fields=(
        date_field(),
        FormField("drug", "Drug", "text",
                  hint="tofersen or edaravone_iv; brand names (Qalsody, Radicava) are accepted"),
        FormField("status", "Status", "select", choices_of(AdministrationStatus, blank=None)),
        FormField("dose_mg", "Dose (mg)", "number", hint="Required when the dose was given",
                  required=False),
        FormField("lot", "Lot number", "text", required=False),
        FormField("csf_removed_ml", "CSF removed (mL)", "number", required=False),
    ),
    read=_read_administration,
    build=records.administration_entry,
    defaults=_dose_defaults,
)


# --- Adverse event ------------------------------------------------------------------------------


def _read_adverse_event(r: FormReader) -> dict[str, Any] | None:
    read = {
        "onset_date": r.cell("onset_date", cells.iso_date),
        "term": r.cell("term", cells.text),
        "term_text": r.optional_text("term_text"),
        "grade": r.cell("grade", cells.integer),
        "serious": r.checkbox("serious"),
        "related": r.checkbox("related"),
        "outcome": r.cell("outcome", cells.text),
        "action": r.optional_text("action"),
        "resolved_date": r.cell("resolved_date", cells.iso_date, required=False),
    }
    return read if r.ok else None


ADVERSE_EVENT = RecordForm(
    slug="adverse-events",
    title="Adverse event",
    fields=(
        date_field("onset_date", "Onset date"),
        FormField("term", "Term", "select", choices_of(AeTerm)),
        FormField("term_text", "Description", "text",
                  hint="Required for 'other'; optional detail otherwise", required=False),
        FormField("grade", "Grade (CTCAE 1-5)", "select",
                  (("", "— choose —"), *((str(g), str(g)) for g in range(1, 6))), integer=True),
        FormField("serious", "Serious", "checkbox", required=False),
        FormField("related", "Related to the drug", "checkbox", required=False),
        FormField("outcome", "Outcome", "select", choices_of(AeOutcome)),
        FormField("action", "Action taken with the drug", "select", choices_of(AeAction, "—"),
                  required=False),
        date_field("resolved_date", "Resolved date", required=False),
    ),
    read=_read_adverse_event,
    build=records.adverse_event_entry,
    defaults=lambda today, _: {"onset_date": today.isoformat()},
)


# --- Concomitant medication -------------------------------------------------------------------


def _read_medication(r: FormReader) -> dict[str, Any] | None:
    read = {"drug": r.cell("drug", cells.text),
            "start_date": r.cell("start_date", cells.iso_date),
            "stop_date": r.cell("stop_date", cells.iso_date, required=False)}
    return read if r.ok else None


MEDICATION = RecordForm(
    slug="medications",
    title="Concomitant medication",
    fields=(
        FormField("drug", "Drug", "select", choices_of(Drug)),
        date_field("start_date", "Started"),
        date_field("stop_date", "Stopped", required=False),
    ),
    read=_read_medication,
    build=records.medication_entry,
    defaults=lambda today, _: {"start_date": today.isoformat()},
)


# --- Milestone ----------------------------------------------------------------------------------


def _read_milestone(r: FormReader) -> dict[str, Any] | None:
    read = {"kind": r.cell("kind", cells.text), "date": r.cell("date", cells.iso_date)}
    return read if r.ok else None


MILESTONE = RecordForm(
    slug="milestones",
    title="Milestone",
    fields=(FormField("kind", "Milestone", "select", choices_of(MilestoneKind)), date_field()),
    read=_read_milestone,
    build=records.milestone_entry,
    defaults=_today,
)

RECORD_FORMS = {form.slug: form for form in (MEASUREMENT, ADMINISTRATION, MEDICATION,
                                             ADVERSE_EVENT, MILESTONE)}
TABLE_OF_SLUG = {"alsfrs": "alsfrs", "measurements": "measurements",
                 "administrations": "administrations", "medications": "medications",
                 "adverse-events": "adverse_events", "milestones": "milestones"}
"""The tidy table of each form's URL slug."""


# --- ALSFRS-R -----------------------------------------------------------------------------------

ITEM_FIELDS = tuple(item.code for item in ITEMS)
"""Radio groups of the form: q1 … q4, q5a, q5b, q6 … q12."""


def read_alsfrs(r: FormReader) -> tuple[list[int], bool] | None:
    """The 12 item scores and the gastrostomy flag; 5a or 5b, whichever the flag selects.

    With JavaScript off both 5a and 5b are shown, so answering the one that does not apply is
    a problem on that field rather than a silent choice.
    """
    gastrostomy = r.checkbox("gastrostomy")
    used, unused = item5_fields(gastrostomy)
    if r.text(unused):
        which = "with" if gastrostomy else "without"
        r.fail(unused, f"leave this empty: {which} a gastrostomy, item 5 is answered as "
                       f"{used.removeprefix('q')}")
    scores = [r.choice(code) for code in ITEM_FIELDS if code != unused]
    if not r.ok:
        return None
    return [s for s in scores if s is not None], gastrostomy


def item5_fields(gastrostomy: bool) -> tuple[str, str]:
    """(the radio group of item 5 in use, the other): 5b with a gastrostomy, else 5a."""
    return ("q5b", "q5a") if gastrostomy else ("q5a", "q5b")


__all__ = ["ITEM_FIELDS", "RECORD_FORMS", "TABLE_OF_SLUG", "Choices", "FormField", "RecordForm",
           "choices_of", "date_field", "item5_fields", "read_alsfrs"]
