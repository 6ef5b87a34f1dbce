"""The synthetic example project (examples/redcap/): a typical ALS clinic's REDCap project.

Not alsrwe's own export but the shape a clinic builds itself, read by the shipped mapping
``alsrwe_clinic.toml``: sex coded ``1, Male | 2, Female``, an enrolment event, one event per
visit (``visit_1_arm_1`` …) with the visit's measurements and the ALSFRS-R (radio fields
``alsfrs_1`` …, item 5 as 5a/5b), a repeating event per lumbar puncture with the dose and
its CSF labs, and repeating instruments for medications, adverse events and the patient's
self-reported ALSFRS-R. Choice codes and field names come from the shipped mapping, so the
project and the mapping cannot disagree; the data come from a synthetic cohort (never real
patients). Regenerate with::

    from alsrwe.synth import CohortParams, generate_cohort
    write_example_project(Path("examples/redcap"), generate_cohort(EXAMPLE_PARAMS).tables())

where ``EXAMPLE_PARAMS`` are the parameters in tests/interop/test_redcap_example.py.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alsrwe.domain.alsfrs import ITEM_COLUMNS, ITEMS, MAX_ITEM_SCORE
from alsrwe.domain.drugs import DRUGS
from alsrwe.domain.tidy_format import TABLES_BY_NAME, ColumnKind, restore_formula
from alsrwe.interop.redcap import fields as f
from alsrwe.interop.redcap.dictionary import DictionaryField
from alsrwe.interop.redcap.mapping import (
    CLINIC_MAPPING,
    AlsfrsSource,
    RedcapMapping,
    Source,
    load_mapping,
)
from alsrwe.interop.redcap.writer import Event, Layout, Row, write_layout, write_records

ENROLMENT = "enrolment_arm_1"
DOSE_EVENT = "intrathecal_dose_arm_1"
VISIT_FORMS = ("clinic_visit", "alsfrs_r")
DOSE_FORMS = ("intrathecal_dose", "csf_labs")
ENROLMENT_FORMS = ("demographics", "disease_course")
REPEATING_FORMS = ("concomitant_medication", "adverse_event", "alsfrs_self_report")
LABELS = {"M": "Male", "F": "Female", "patient": "ALS patient",
          "carrier": "Presymptomatic SOD1 variant carrier", "simoa": "Simoa", "ella": "Ella",
          "ecl": "ECL", "elisa": "ELISA", "none": "Dose not changed",
          "interrupted": "Drug interrupted", "withdrawn": "Drug withdrawn",
          **{d.value: info.label for d, info in DRUGS.items()}}
GRADES = (("1", "Grade 1 (mild)"), ("2", "Grade 2 (moderate)"), ("3", "Grade 3 (severe)"),
          ("4", "Grade 4 (life-threatening)"), ("5", "Grade 5 (death)"))


def _codes(mapping: RedcapMapping) -> dict[str, tuple[tuple[str, str], ...]]:
    """Field → its choices (code, label) as the mapping translates them."""
    found = {}
    for _, _, source in mapping.sources():
        for ref in source.columns().values():
            if ref.field and ref.choices:
                found[ref.field] = tuple((code, LABELS.get(value) or f.value_label(value))
                                         for code, value in ref.choices.items())
    return found


def _code(mapping: RedcapMapping, name: str, value: str) -> str:
    """The code of ``value`` in field ``name``'s choices, as the mapping translates them."""
    for _, _, source in mapping.sources():
        for ref in source.columns().values():
            if ref.field == name and ref.choices:
                return next(code for code, found in ref.choices.items() if found == value)
    raise KeyError(name)


def _fields(mapping: RedcapMapping, sites: list[tuple[str, str]]) -> list[DictionaryField]:
    codes = _codes(mapping)
    d, c, v, s, p, k, lp = ("demographics", "disease_course", "clinic_visit", "alsfrs_self_report",
                            "intrathecal_dose", "csf_labs", "concomitant_medication")
    ae, txt, num = "adverse_event", f.text, "number"

    def pick(name: str, form: str, label: str, kind: str = "radio", **more: str) -> DictionaryField:
        return f.choice(name, form, label, codes[name], kind=kind, **more)

    patient = f"[participant_type] = '{_code(mapping, 'participant_type', 'patient')}'"
    other = _code(mapping, "ae_term", "other")
    given = f"[dose_status] = '{_code(mapping, 'dose_status', 'given')}'"
    self_q5 = f.choice("sr_alsfrs_5", s, "5. Cutting food and handling utensils (5b if you "
                       "have a gastrostomy)", [(str(n), str(n)) for n in
                                               range(MAX_ITEM_SCORE, -1, -1)])
    self_items = f.alsfrs_items(s, {i.code: f"sr_alsfrs_{i.code[1:]}" for i in ITEMS
                                    if i.code not in ("q5a", "q5b")}, "sr_gastrostomy")
    assay = "Assay platform"
    return [
        txt("record_id", d, "Record ID"),
        txt("study_id", d, "Study ID (pseudonym)",
            note="The registry's pseudonym; never a name or hospital number"),
        f.choice("site", d, "Site", sites, kind="dropdown"),
        pick("sex", d, "Sex"), txt("birth_year", d, "Year of birth", "integer", minimum="1900"),
        pick("participant_type", d, "Participant"),
        txt("sod1_variant", d, "SOD1 variant", note="As reported, e.g. A4V or p.(Ala5Val)"),
        pick("sod1_zygosity", d, "Zygosity"),
        txt("onset_date", d, "Date of symptom onset", f.DATE, branching=patient),
        pick("onset_site", d, "Region of onset", "dropdown", branching=patient),
        txt("diagnosis_date", d, "Date of ALS diagnosis", f.DATE, branching=patient),
        txt("gastrostomy_date", c, "Date of gastrostomy", f.DATE),
        txt("niv_date", c, "Start of non-invasive ventilation", f.DATE),
        txt("tracheostomy_date", c, "Date of tracheostomy", f.DATE),
        txt("ventilation_date", c, "Start of permanent ventilation", f.DATE),
        txt("death_date", c, "Date of death", f.DATE),
        pick("cm_drug", lp, "Medication", "dropdown"),
        txt("cm_start_date", lp, "Start date", f.DATE),
        txt("cm_stop_date", lp, "Stop date (empty while ongoing)", f.DATE),
        txt("ae_onset_date", ae, "Onset date", f.DATE), pick("ae_term", ae, "Event", "dropdown"),
        txt("ae_term_other", ae, "Describe the event", branching=f"[ae_term] = '{other}'"),
        f.choice("ae_grade", ae, "Severity (CTCAE grade)", GRADES),
        f.yesno("ae_serious", ae, "Serious adverse event"),
        f.yesno("ae_related", ae, "Related to tofersen"), pick("ae_outcome", ae, "Outcome"),
        txt("ae_resolved_date", ae, "Date resolved", f.DATE),
        pick("ae_action", ae, "Action taken with tofersen", "dropdown"),
        txt("sr_date", s, "Date", f.DATE),
        f.yesno("sr_gastrostomy", s, "Do you have a feeding tube (gastrostomy)?"),
        *self_items[:4], self_q5, *self_items[4:],
        txt("visit_date", v, "Visit date", f.DATE),
        txt("weight_kg", v, "Weight (kg)", num), txt("svc_percent", v, "SVC (% predicted)", num),
        txt("fvc_percent", v, "FVC (% predicted)", num),
        txt("hhd_megascore", v, "Hand-held dynamometry megascore", num),
        txt("nfl_serum", v, "Serum NfL (pg/mL)", num),
        pick("nfl_serum_assay", v, assay, "dropdown"),
        txt("nfl_plasma", v, "Plasma NfL (pg/mL)", num),
        pick("nfl_plasma_assay", v, assay, "dropdown"), txt("blood_lab", v, "Laboratory (blood)"),
        txt("alsfrs_date", "alsfrs_r", "Date of the ALSFRS-R", f.DATE),
        f.yesno("alsfrs_gastrostomy", "alsfrs_r", "Does the patient have a gastrostomy?"),
        *f.alsfrs_items("alsfrs_r", {i.code: f"alsfrs_{i.code[1:]}" for i in ITEMS},
                        "alsfrs_gastrostomy"),
        txt("dose_date", p, "Date of the lumbar puncture", f.DATE),
        pick("dose_status", p, "Tofersen dose"),
        txt("dose_mg", p, "Dose (mg)", num, branching=given),
        txt("dose_lot", p, "Lot number", branching=given),
        txt("csf_removed_ml", p, "CSF removed (mL)", num, branching=given),
        txt("csf_date", k, "Date of sampling", f.DATE),
        txt("csf_wbc", k, "CSF white cells (/uL)", num),
        txt("csf_protein", k, "CSF protein (mg/dL)", num),
        txt("nfl_csf", k, "CSF NfL (pg/mL)", num), pick("nfl_csf_assay", k, assay, "dropdown"),
        txt("pnfh_csf", k, "CSF pNfH (pg/mL)", num), pick("pnfh_csf_assay", k, assay, "dropdown"),
        txt("csf_sod1", k, "CSF SOD1 protein (ng/mL)", num), txt("csf_lab", k, "Laboratory (CSF)"),
    ]


def text_tables(frames: Mapping[str, pd.DataFrame]) -> dict[str, list[dict[str, str]]]:
    """Data frames as the tidy CSV text that import reads (numbers in their short form)."""
    tables = {}
    for name, frame in frames.items():
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, date_format="%Y-%m-%d")
        rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
        kinds = TABLES_BY_NAME[name].kinds
        for row in rows:
            for column, cell in row.items():
                if cell and kinds.get(column) is ColumnKind.NUMBER:
                    value = float(cell)
                    row[column] = str(int(value)) if value.is_integer() else repr(value)
        tables[name] = rows
    return tables


def _source(mapping: RedcapMapping, table: str, row: Mapping[str, str]) -> Source:
    """The source that reads ``row`` back: the one whose constants match it."""
    for name, _, source in mapping.sources():
        constants = {c: r.value for c, r in source.columns().items() if r.value is not None}
        if name == table and all(row.get(c) == value for c, value in constants.items()):
            return source
    raise ValueError(f"the clinic project has no instrument for this {table} row: {dict(row)}")


def _encode(source: Source, row: Mapping[str, str], values: dict[str, str]) -> None:
    """Put ``row``'s cells into the source's fields (codes for translated choices)."""
    cells = dict(row)
    if isinstance(source, AlsfrsSource):
        gastrostomy = cells.get("gastrostomy") == "1"
        for code, name in source.items.items():
            column = "q5" if code.startswith("q5") else code
            if code in ITEM_COLUMNS or code == ("q5b" if gastrostomy else "q5a"):
                values[name] = cells[column]
    for column, ref in source.columns().items():
        if ref.field is None or ref.label:
            continue
        text = restore_formula(cells.get(column, ""))
        if ref.choices is not None and text:
            text = next(code for code, value in ref.choices.items() if value == text)
        if values.setdefault(ref.field, text) != text:
            raise ValueError(f"field {ref.field} would need two values: {values[ref.field]!r} "
                             f"and {text!r}")


def _date(source: Source, row: Mapping[str, str]) -> str:
    name = next(n for n in ("date", "onset_date", "start_date") if n in source.columns())
    return row[name]


def write_example_project(directory: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Write a synthetic cohort (``generate_cohort(params).tables()``) as the example clinic
    project: dictionary, events, designations, repeating instruments, records, mapping."""
    mapping = load_mapping(CLINIC_MAPPING)
    tables = text_tables(frames)
    patients = tables["patients"]
    records = {p["patient_id"]: str(i) for i, p in enumerate(patients, 1)}
    sites = list(dict.fromkeys((p["site"], p["site_name"]) for p in patients))
    if len({code for code, _ in sites}) != len(sites) or not all(
            re.fullmatch(r"[A-Za-z0-9_]+", code) for code, _ in sites):
        raise ValueError(f"the site dropdown needs one name per site and codes of letters, "
                         f"digits and _: {sites}")
    placed: list[tuple[str, str, str, Source, dict[str, str]]] = []
    dates: dict[tuple[str, str], set[str]] = {}
    for table, rows in tables.items():
        for row in rows:
            source = _source(mapping, table, row)
            group = ("visit" if source.form in VISIT_FORMS else
                     "dose" if source.form in DOSE_FORMS else "enrolment")
            if group != "enrolment":
                dates.setdefault((row["patient_id"], group), set()).add(_date(source, row))
            placed.append((records[row["patient_id"]], row["patient_id"], group, source, row))
    order = {ENROLMENT: 0, DOSE_EVENT: 10**6}
    merged: dict[tuple[int, int, str, int, str], Row] = {}
    instances: dict[tuple[str, str], int] = {}
    for record, pseudonym, group, source, row in placed:
        event, instrument, instance = ENROLMENT, "", 0
        if group != "enrolment":
            number = sorted(dates[pseudonym, group]).index(_date(source, row)) + 1
            event, instance = (DOSE_EVENT, number) if group == "dose" else (
                f"visit_{number}_arm_1", 0)
            order.setdefault(event, number)
        elif source.form in REPEATING_FORMS:
            instrument = source.form
            instance = instances[record, instrument] = instances.get((record, instrument), 0) + 1
        key = (int(record), order[event], instrument, instance, event)
        found = merged.setdefault(key, Row(record, event, {}, instrument, instance or None))
        _encode(source, row, found.values)
    visits = max((len(found) for (_, g), found in dates.items() if g == "visit"), default=1)
    events = [Event("Enrolment", ENROLMENT, (*ENROLMENT_FORMS, *REPEATING_FORMS)),
              *(Event(f"Visit {n}", f"visit_{n}_arm_1", VISIT_FORMS)
                for n in range(1, visits + 1)),
              Event("Intrathecal dose", DOSE_EVENT, DOSE_FORMS, repeating=True)]
    layout = Layout(_fields(mapping, sites), events,
                    [(ENROLMENT, form) for form in REPEATING_FORMS])
    directory.mkdir(parents=True, exist_ok=True)
    write_layout(directory, layout)
    write_records(directory / "records.csv", layout, (merged[key] for key in sorted(merged)))
    (directory / CLINIC_MAPPING.name).write_text(CLINIC_MAPPING.read_text(encoding="utf-8"),
                                                 encoding="utf-8")


__all__ = ["text_tables", "write_example_project"]
