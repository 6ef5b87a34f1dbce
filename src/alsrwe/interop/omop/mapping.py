"""The registry's tidy tables as OMOP CDM v5.4 tables: the export's mapping, row by row.

Input is :func:`alsrwe.interop.tidy_csv.export.text_tables` (what import reads back); output is
one Arrow table per CDM table with the CDM's columns and types. Ids are deterministic: persons
and care sites are numbered in the sorted order of pseudonyms and site codes, every other row
in the order it is generated (persons in order, each person's records sorted by their natural
key), so exporting the same data twice gives the same ids on any registry backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pyarrow as pa

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.drugs import Drug
from alsrwe.domain.errors import DomainError
from alsrwe.domain.sod1 import parse_sod1_variant
from alsrwe.domain.tidy_format import TABLES_BY_NAME, restore_formula
from alsrwe.interop.codes import (
    OMOP_ALS_CONDITION,
    OMOP_ALSFRS_ITEMS,
    OMOP_ALSFRS_TOTAL,
    OMOP_GENDER,
    OMOP_TYPE_CLINICIAN,
    OMOP_TYPE_EHR,
    OMOP_TYPE_SELF_REPORT,
)
from alsrwe.interop.omop import sources as src
from alsrwe.interop.omop.tables import CDM_TABLES, CdmTable
from alsrwe.interop.progress import NO_PROGRESS, PROGRESS_EVERY, Progress

Cells = dict[str, str]
_DATE_COLUMNS = {"onset_date", "diagnosis_date", "date", "start_date", "stop_date",
                 "resolved_date"}


class Rows:
    """The rows of one CDM table, column by column; ``add`` numbers them 1, 2, 3 …"""

    def __init__(self, table: CdmTable) -> None:
        self.table = table
        self.data: dict[str, list[Any]] = {name: [] for name in table.names}
        self.count = 0

    def add(self, **values: Any) -> int:
        unknown = set(values) - set(self.data)
        if unknown:
            raise KeyError(f"{self.table.name} has no column {sorted(unknown)}")
        self.count += 1
        if self.table.id_column and self.table.id_column not in values:
            values[self.table.id_column] = self.count
        for name, column in self.data.items():
            column.append(values.get(name))
        return int(values.get(self.table.id_column or "", self.count))

    def to_arrow(self) -> pa.Table:
        return pa.table(self.data, schema=self.table.arrow_schema())


def _date(cell: str) -> date | None:
    return date.fromisoformat(cell) if cell else None


def _day(cell: str) -> date:
    """A date the registry always has (a record's own date)."""
    return date.fromisoformat(cell)


def _number(cell: str) -> float | None:
    return float(cell) if cell else None


def _text(cell: str) -> str | None:
    return cell or None


class OmopWriter:
    """Builds every CDM table from the tidy text tables, one person at a time."""

    def __init__(self) -> None:
        self.out = {table.name: Rows(table) for table in CDM_TABLES}

    def obs(self, person: int, when: date, source: str, *, type_concept: int = OMOP_TYPE_EHR,
            concept: int = src.NO_CONCEPT, event: int | None = None, **values: Any) -> int:
        """One OBSERVATION row; ``event`` links it to the row it describes."""
        if event is not None:
            values.update(observation_event_id=event,
                          obs_event_field_concept_id=src.NO_CONCEPT)
        if values.get("value_as_string") is not None:  # a coded text without a concept
            values.setdefault("value_as_concept_id", src.NO_CONCEPT)
        return self.out["observation"].add(
            person_id=person, observation_concept_id=concept, observation_date=when,
            observation_type_concept_id=type_concept, observation_source_value=source,
            observation_source_concept_id=src.NO_CONCEPT, **values)

    # --- person-level tables ----------------------------------------------------------------

    def care_sites(self, patients: Iterable[Cells]) -> dict[str, int]:
        """One care site per site code (its display name as care_site_name); their ids."""
        names: dict[str, str] = {}
        for p in patients:
            names[p["site"]] = names.get(p["site"]) or p.get("site_name", "")
        return {site: self.out["care_site"].add(care_site_name=_text(names[site]),
                                                care_site_source_value=site)
                for site in sorted(names)}

    def person(self, person: int, p: Cells, care_site: int, span: tuple[date, date]) -> None:
        self.out["person"].add(
            person_id=person, gender_concept_id=OMOP_GENDER.get(p["sex"], src.NO_CONCEPT),
            year_of_birth=int(p["birth_year"]), race_concept_id=src.NO_CONCEPT,
            ethnicity_concept_id=src.NO_CONCEPT, care_site_id=care_site,
            person_source_value=p["patient_id"], gender_source_value=p["sex"],
            gender_source_concept_id=src.NO_CONCEPT, race_source_concept_id=src.NO_CONCEPT,
            ethnicity_source_concept_id=src.NO_CONCEPT)
        self.out["observation_period"].add(
            person_id=person, observation_period_start_date=span[0],
            observation_period_end_date=span[1], period_type_concept_id=OMOP_TYPE_EHR)
        first = span[0]
        self.obs(person, first, src.REGISTRY_STATUS, value_as_string=p["status"])
        if p["sod1_variant"]:
            self.obs(person, first, src.SOD1_VARIANT, **_variant(p["sod1_variant"]))
        if p["zygosity"]:
            self.obs(person, first, src.ZYGOSITY, value_as_string=p["zygosity"])
        onset = _date(p["onset_date"])
        if onset is not None:
            self.out["condition_occurrence"].add(
                person_id=person, condition_concept_id=OMOP_ALS_CONDITION,
                condition_start_date=onset, condition_type_concept_id=OMOP_TYPE_EHR,
                condition_source_value=src.ALS_SOURCE, condition_source_concept_id=src.NO_CONCEPT)
        if p["onset_region"]:
            self.obs(person, onset or first, src.ONSET_REGION, value_as_string=p["onset_region"])
        diagnosis = _date(p["diagnosis_date"])
        if diagnosis is not None:
            self.obs(person, diagnosis, src.DIAGNOSIS)

    # --- records ------------------------------------------------------------------------------

    def alsfrs(self, person: int, a: Cells) -> None:
        when = _day(a["date"])
        kind = OMOP_TYPE_SELF_REPORT if a["source"] == "self" else OMOP_TYPE_CLINICIAN
        scores = [int(a[q]) for q in ITEM_COLUMNS]
        for q, score in zip(ITEM_COLUMNS, scores, strict=True):
            code = q if q != "q5" else ("q5b" if a["gastrostomy"] == "1" else "q5a")
            self.obs(person, when, code, type_concept=kind, concept=OMOP_ALSFRS_ITEMS[code],
                     value_as_number=float(score))
        self.obs(person, when, src.ALSFRS_TOTAL_SOURCE, type_concept=kind,
                 concept=OMOP_ALSFRS_TOTAL, value_as_number=float(sum(scores)))

    def measurement(self, person: int, m: Cells) -> None:
        when = _day(m["date"])
        mid = self.out["measurement"].add(
            person_id=person, measurement_concept_id=src.NO_CONCEPT, measurement_date=when,
            measurement_type_concept_id=OMOP_TYPE_EHR, value_as_number=_number(m["value"]),
            unit_concept_id=src.NO_CONCEPT if m["unit"] else None,
            measurement_source_value=m["kind"], measurement_source_concept_id=src.NO_CONCEPT,
            unit_source_value=_text(m["unit"]),
            unit_source_concept_id=src.NO_CONCEPT if m["unit"] else None)
        for source, column in ((src.ASSAY, "assay"), (src.LAB, "lab")):
            if m.get(column):
                self.obs(person, when, source, event=mid, value_as_string=m[column])

    def administration(self, person: int, a: Cells) -> None:
        when = _day(a["date"])
        if a["status"] != "given":
            self.obs(person, when, src.DOSE_NOT_GIVEN, value_as_string=a["status"],
                     qualifier_source_value=a["drug"])
            return
        route = src.ROUTES.get(Drug(a["drug"]))
        did = self.out["drug_exposure"].add(
            person_id=person, drug_concept_id=src.NO_CONCEPT, drug_exposure_start_date=when,
            drug_exposure_end_date=when, drug_type_concept_id=OMOP_TYPE_EHR,
            quantity=_number(a["dose_mg"]), route_concept_id=src.NO_CONCEPT if route else None,
            lot_number=_text(a["lot"]), drug_source_value=a["drug"],
            drug_source_concept_id=src.NO_CONCEPT, route_source_value=route,
            dose_unit_source_value=src.DOSE_UNIT)
        if a["csf_removed_ml"]:
            self.obs(person, when, src.CSF_REMOVED, event=did,
                     value_as_number=_number(a["csf_removed_ml"]), unit_concept_id=src.NO_CONCEPT,
                     unit_source_value="mL")
        if route == src.INTRATHECAL:
            self.out["procedure_occurrence"].add(
                person_id=person, procedure_concept_id=src.NO_CONCEPT, procedure_date=when,
                procedure_type_concept_id=OMOP_TYPE_EHR, quantity=1,
                procedure_source_value=src.LUMBAR_PUNCTURE_SOURCE,
                procedure_source_concept_id=src.NO_CONCEPT)

    def medication(self, person: int, m: Cells, last: date) -> None:
        start, stop = _day(m["start_date"]), _date(m["stop_date"])
        self.out["drug_exposure"].add(
            person_id=person, drug_concept_id=src.NO_CONCEPT, drug_exposure_start_date=start,
            drug_exposure_end_date=stop or last, verbatim_end_date=stop,
            drug_type_concept_id=OMOP_TYPE_EHR, drug_source_value=m["drug"],
            drug_source_concept_id=src.NO_CONCEPT)

    def adverse_event(self, person: int, e: Cells) -> None:
        onset = _day(e["onset_date"])
        cid = self.out["condition_occurrence"].add(
            person_id=person, condition_concept_id=src.NO_CONCEPT, condition_start_date=onset,
            condition_end_date=_date(e["resolved_date"]),
            condition_type_concept_id=OMOP_TYPE_EHR, condition_source_value=e["term"],
            condition_source_concept_id=src.NO_CONCEPT)
        for source, column in ((src.AE_GRADE, "grade"), (src.AE_SERIOUS, "serious"),
                               (src.AE_RELATED, "related")):
            if e[column]:
                self.obs(person, onset, source, event=cid, value_as_number=float(e[column]))
        for source, column in ((src.AE_OUTCOME, "outcome"), (src.AE_ACTION, "action"),
                               (src.AE_TERM_TEXT, "term_text")):
            if e.get(column):
                self.obs(person, onset, source, event=cid, value_as_string=e[column])

    def milestone(self, person: int, m: Cells) -> None:
        when = _day(m["date"])
        if m["kind"] == "death":
            self.out["death"].add(person_id=person, death_date=when,
                                  death_type_concept_id=OMOP_TYPE_EHR)
            return
        self.out["procedure_occurrence"].add(
            person_id=person, procedure_concept_id=src.NO_CONCEPT, procedure_date=when,
            procedure_type_concept_id=OMOP_TYPE_EHR, procedure_source_value=m["kind"],
            procedure_source_concept_id=src.NO_CONCEPT)


def _variant(text: str) -> dict[str, Any]:
    """The variant's HGVS protein name, its legacy name, and the notation as entered."""
    try:
        variant = parse_sod1_variant(text)
    except DomainError:  # the registry holds only checked names; keep the text regardless
        return {"value_as_string": text, "value_source_value": text}
    return {"value_as_string": variant.hgvs, "qualifier_source_value": variant.legacy,
            "value_source_value": text}


def _span(p: Cells, records: Mapping[str, list[Cells]]) -> tuple[date, date]:
    """First and last date alsrwe knows of the person (1 January of the birth year if none)."""
    dates = [d for d in (_date(p["onset_date"]), _date(p["diagnosis_date"])) if d]
    for rows in records.values():
        dates += [d for row in rows for column, cell in row.items()
                  if column in _DATE_COLUMNS and (d := _date(cell)) is not None]
    if not dates:
        first = date(int(p["birth_year"]), 1, 1)
        return first, first
    return min(dates), max(dates)


_ORDER = ("alsfrs", "measurements", "administrations", "medications", "adverse_events",
          "milestones")


def _sorted(name: str, rows: list[Cells]) -> list[Cells]:
    key = TABLES_BY_NAME[name].key
    return sorted(rows, key=lambda row: tuple(row.get(column, "") for column in key))


def omop_tables(text: Mapping[str, list[Cells]],
                progress: Progress = NO_PROGRESS) -> dict[str, pa.Table]:
    """Every CDM table (Arrow, CDM columns and types) from the tidy text tables."""
    raw = {name: [{k: restore_formula(v) for k, v in row.items()} for row in rows]
           for name, rows in text.items()}
    records: dict[str, dict[str, list[Cells]]] = {}
    for name in _ORDER:
        for row in raw.get(name, []):
            records.setdefault(row["patient_id"], {}).setdefault(name, []).append(row)
    patients = sorted(raw.get("patients", []), key=lambda p: p["patient_id"])
    writer = OmopWriter()
    sites = writer.care_sites(patients)
    total = len(patients)
    for number, p in enumerate(patients, start=1):
        own = records.get(p["patient_id"], {})
        span = _span(p, own)
        writer.person(number, p, sites[p["site"]], span)
        for row in _sorted("alsfrs", own.get("alsfrs", [])):
            writer.alsfrs(number, row)
        for row in _sorted("measurements", own.get("measurements", [])):
            writer.measurement(number, row)
        for row in _sorted("administrations", own.get("administrations", [])):
            writer.administration(number, row)
        for row in _sorted("medications", own.get("medications", [])):
            writer.medication(number, row, span[1])
        for row in _sorted("adverse_events", own.get("adverse_events", [])):
            writer.adverse_event(number, row)
        for row in _sorted("milestones", own.get("milestones", [])):
            writer.milestone(number, row)
        if number % PROGRESS_EVERY == 0:
            progress("persons", number, total)
    progress("persons", total, total)
    return {name: rows.to_arrow() for name, rows in writer.out.items()}


__all__ = ["OmopWriter", "Rows", "omop_tables"]
