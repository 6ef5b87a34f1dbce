"""The REDCap project alsrwe exports: its instruments, events and the mapping that reads it.

One design gives all three, so they cannot drift: the data dictionary, the records written
from the tidy tables, and the mapping TOML that reads them back (export → import → tidy
export is the identity). The record id is the pseudonym. Event ``registry_arm_1`` holds the
patient and, as repeating instruments, the self-reported ALSFRS-R, measurements, doses,
medications, adverse events and milestones; each clinic ALSFRS-R rating is a visit event
(``visit_1_arm_1`` …, in date order). alsrwe's vocabularies are dropdowns or radios coded
1, 2, … (the mapping translates them back); confirmed plausibility warnings are a text field
per instrument, so a re-import needs no new confirmation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from alsrwe.domain.alsfrs import ITEM_COLUMNS, ITEMS, AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.dosing import AdministrationStatus
from alsrwe.domain.drugs import DRUGS, Drug
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.records import ADMINISTERED_DRUGS
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.domain.tidy_format import restore_formula
from alsrwe.interop.redcap import fields as f
from alsrwe.interop.redcap.dictionary import DictionaryField
from alsrwe.interop.redcap.mapping import RedcapMapping, Ref
from alsrwe.interop.redcap.writer import Event, Layout, Row

REGISTRY = Event("Registry", "registry_arm_1", ())
MAPPING_FILE = "alsrwe_mapping.toml"


@dataclass(frozen=True, slots=True)
class Slot:
    """One tidy column on an instrument: its field and, for a coded one, its codes."""

    column: str
    spec: DictionaryField
    codes: tuple[tuple[str, str, str], ...] = ()
    number: bool = False

    def ref(self) -> Ref:
        if self.codes:
            return Ref(field=self.spec.name, choices={c: v for c, _, v in self.codes})
        return Ref(field=self.spec.name)

    def cell(self, tidy: str) -> str:
        raw = restore_formula(tidy)
        if self.codes and raw:
            for code, _, value in self.codes:
                if value == raw:
                    return code
            raise ValueError(f"{self.column} '{raw}' has no code in field {self.spec.name}")
        return f.plain_number(raw) if self.number else raw


@dataclass(frozen=True, slots=True)
class Form:
    """An instrument giving one tidy table (ALSFRS-R forms also carry ``items``)."""

    table: str
    name: str
    slots: tuple[Slot, ...]
    repeating: bool = True
    constants: Mapping[str, str] = field(default_factory=dict)
    items: Mapping[str, str] = field(default_factory=dict)

    def fields(self) -> list[DictionaryField]:
        specs = [s.spec for s in self.slots]
        if self.items:
            gastrostomy = next(s.spec.name for s in self.slots if s.column == "gastrostomy")
            at = next(i for i, s in enumerate(self.slots) if s.column == "gastrostomy") + 1
            specs[at:at] = f.alsfrs_items(self.name, self.items, gastrostomy, annotate=True)
        return specs


def _text(form: str, column: str, name: str, label: str, validation: str = "",
          minimum: str = "") -> Slot:
    number = validation in ("integer", "number")
    return Slot(column, f.text(name, form, label, validation, minimum=minimum), number=number)


def _coded(form: str, column: str, name: str, label: str, values: Iterable[str],
           labels: Mapping[str, str] | None = None, kind: str = "dropdown") -> Slot:
    codes = f.coded(values, labels)
    spec = f.choice(name, form, label, [(c, lab) for c, lab, _ in codes], kind=kind)
    return Slot(column, spec, codes)


def _flag(form: str, column: str, name: str, label: str) -> Slot:
    return Slot(column, f.yesno(name, form, label))


def _warnings(form: str, prefix: str) -> Slot:
    return _text(form, "confirmed_warnings", f"{prefix}_warnings",
                 "Confirmed plausibility warnings (alsrwe rule codes, separated by ;)")


def _patient() -> Form:
    p = "patient"
    return Form("patients", p, (
        _text(p, "patient_id", "patient_id", "Pseudonym (never a name or record number)"),
        _text(p, "site", "site", "Site code"),
        _text(p, "site_name", "site_label", "Site"),
        _coded(p, "sex", "sex", "Sex", ("F", "M"), {"F": "Female", "M": "Male"}, "radio"),
        _text(p, "birth_year", "birth_year", "Year of birth", "integer", "1900"),
        _coded(p, "status", "patient_status", "Status", [s.value for s in PatientStatus],
               {"patient": "ALS patient", "carrier": "Presymptomatic SOD1 variant carrier"},
               "radio"),
        _text(p, "sod1_variant", "sod1_variant", "SOD1 variant (as reported)"),
        _coded(p, "zygosity", "sod1_zygosity", "Zygosity", [z.value for z in Zygosity],
               kind="radio"),
        _text(p, "onset_date", "onset_date", "Date of symptom onset", f.DATE),
        _coded(p, "onset_region", "onset_region", "Region of onset",
               [r.value for r in OnsetRegion]),
        _text(p, "diagnosis_date", "diagnosis_date", "Date of ALS diagnosis", f.DATE),
        _warnings(p, "patient"),
    ), repeating=False)


def _alsfrs(name: str, prefix: str, source: AssessmentSource, label: str) -> Form:
    slots = (_text(name, "date", f"{prefix}_date", f"Date of the {label}", f.DATE),
             _flag(name, "gastrostomy", f"{prefix}_gastrostomy",
                   "Does the patient have a gastrostomy? (item 5 is scored as 5b)"),
             _warnings(name, prefix))
    items = {item.code: f"{prefix}_{item.code}" for item in ITEMS}
    return Form("alsfrs", name, slots, repeating=source is AssessmentSource.SELF,
                constants={"source": source.value}, items=items)


def _measurement() -> Form:
    m = "measurement"
    return Form("measurements", m, (
        _text(m, "date", "meas_date", "Date", f.DATE),
        _coded(m, "kind", "meas_kind", "Measurement", [k.value for k in MeasurementKind]),
        _text(m, "value", "meas_value", "Value", "number"),
        _text(m, "unit", "meas_unit", "Unit"),
        _text(m, "assay", "meas_assay", "Assay platform"),
        _text(m, "lab", "meas_lab", "Laboratory"),
        _warnings(m, "meas"),
    ))


def _administration() -> Form:
    a = "administration"
    drugs = [d.value for d in ADMINISTERED_DRUGS]
    return Form("administrations", a, (
        _text(a, "date", "adm_date", "Date", f.DATE),
        _coded(a, "drug", "adm_drug", "Drug", drugs, {d: DRUGS[Drug(d)].label for d in drugs}),
        _coded(a, "status", "adm_status", "Status", [s.value for s in AdministrationStatus],
               kind="radio"),
        _text(a, "dose_mg", "adm_dose_mg", "Dose (mg)", "number"),
        _text(a, "lot", "adm_lot", "Lot number"),
        _text(a, "csf_removed_ml", "adm_csf_removed_ml", "CSF removed (mL)", "number"),
        _warnings(a, "adm"),
    ))


def _medication() -> Form:
    m = "medication"
    drugs = [d.value for d in Drug]
    return Form("medications", m, (
        _coded(m, "drug", "med_drug", "Drug", drugs, {d: DRUGS[Drug(d)].label for d in drugs}),
        _text(m, "start_date", "med_start_date", "Start date", f.DATE),
        _text(m, "stop_date", "med_stop_date", "Stop date (empty while ongoing)", f.DATE),
        _warnings(m, "med"),
    ))


def _adverse_event() -> Form:
    a = "adverse_event"
    grades = [str(g) for g in range(1, 6)]
    return Form("adverse_events", a, (
        _text(a, "onset_date", "ae_onset_date", "Onset date", f.DATE),
        _coded(a, "term", "ae_term", "Term", [t.value for t in AeTerm]),
        _text(a, "term_text", "ae_term_text", "Description (required for other)"),
        _coded(a, "grade", "ae_grade", "Grade (CTCAE-style severity)", grades,
               {g: f"Grade {g}" for g in grades}, "radio"),
        _flag(a, "serious", "ae_serious", "Serious"),
        _flag(a, "related", "ae_related", "Related to the study drug"),
        _coded(a, "outcome", "ae_outcome", "Outcome", [o.value for o in AeOutcome]),
        _text(a, "resolved_date", "ae_resolved_date", "Resolved on", f.DATE),
        _coded(a, "action", "ae_action", "Action taken with the drug",
               [x.value for x in AeAction]),
        _warnings(a, "ae"),
    ))


def _milestone() -> Form:
    m = "milestone"
    return Form("milestones", m, (
        _coded(m, "kind", "ms_kind", "Milestone", [k.value for k in MilestoneKind]),
        _text(m, "date", "ms_date", "Date", f.DATE),
        _warnings(m, "ms"),
    ))


CLINIC_ALSFRS = _alsfrs("alsfrs_r", "alsfrs", AssessmentSource.CLINIC, "ALSFRS-R rating")
SELF_ALSFRS = _alsfrs("alsfrs_self_report", "self", AssessmentSource.SELF,
                      "self-reported ALSFRS-R rating")
FORMS: tuple[Form, ...] = (_patient(), CLINIC_ALSFRS, SELF_ALSFRS, _measurement(),
                           _administration(), _medication(), _adverse_event(), _milestone())


def _visit(number: int) -> Event:
    return Event(f"Visit {number}", f"visit_{number}_arm_1", (CLINIC_ALSFRS.name,))


def layout(visits: int) -> Layout:
    """The project with ``visits`` visit events (at least one, to hold the ALSFRS-R form)."""
    registry = Event(REGISTRY.name, REGISTRY.unique,
                     tuple(form.name for form in FORMS if form is not CLINIC_ALSFRS))
    events = [registry, *(_visit(n) for n in range(1, max(visits, 1) + 1))]
    repeating = [(registry.unique, form.name) for form in FORMS if form.repeating]
    return Layout([spec for form in FORMS for spec in form.fields()], events, repeating)


def mapping() -> RedcapMapping:
    """The mapping that reads the export back."""
    data: dict[str, Any] = {"project": {"description": "alsrwe's own REDCap export",
                                        "record_id": "patient_id"}}
    for form in FORMS:
        source: dict[str, object] = {"form": form.name}
        source |= {s.column: s.ref() for s in form.slots}
        source |= {c: Ref(value=v) for c, v in form.constants.items()}
        if form.items:
            source["items"] = dict(form.items)
        if form.table == "patients":
            data["patients"] = source
        else:
            data.setdefault(form.table, []).append(source)
    return RedcapMapping.model_validate(data)


def _values(form: Form, row: Mapping[str, str]) -> dict[str, str]:
    values = {s.spec.name: s.cell(row[s.column]) for s in form.slots}
    if form.items:
        gastrostomy = row["gastrostomy"] == "1"
        for column in ITEM_COLUMNS:
            code = ("q5b" if gastrostomy else "q5a") if column == "q5" else column
            values[form.items[code]] = row[column]
    return values


def rows(tables: Mapping[str, list[dict[str, str]]]) -> tuple[list[Row], int]:
    """The records rows of the tidy text tables, and the number of visit events needed."""
    by_patient: dict[str, dict[str, list[dict[str, str]]]] = {}
    for table, found in tables.items():
        for row in found:
            found_for = by_patient.setdefault(restore_formula(row["patient_id"]), {})
            found_for.setdefault(table, []).append(row)
    result: list[Row] = []
    visits = 0
    for pseudonym in (restore_formula(p["patient_id"]) for p in tables.get("patients", [])):
        records = by_patient.get(pseudonym, {})
        result += list(_patient_rows(pseudonym, records))
        clinic = sorted((r for r in records.get("alsfrs", []) if r["source"] == "clinic"),
                        key=lambda r: r["date"])
        visits = max(visits, len(clinic))
        result += [Row(pseudonym, _visit(n).unique, _values(CLINIC_ALSFRS, r))
                   for n, r in enumerate(clinic, 1)]
    return result, visits


def _patient_rows(pseudonym: str, records: Mapping[str, list[dict[str, str]]],
                  ) -> Iterator[Row]:
    for form in FORMS:
        if form is CLINIC_ALSFRS:
            continue
        found = records.get(form.table, [])
        if form.table == "alsfrs":
            found = [r for r in found if r["source"] == form.constants["source"]]
        if not form.repeating:
            yield from (Row(pseudonym, REGISTRY.unique, _values(form, r)) for r in found)
            continue
        for number, row in enumerate(found, 1):
            yield Row(pseudonym, REGISTRY.unique, _values(form, row), form.name, number)


__all__ = ["FORMS", "MAPPING_FILE", "Form", "Slot", "layout", "mapping", "rows"]
