"""Putting read resources together into tidy rows, and placing problems back in FHIR.

References are resolved here, once everything is read: a record's patient by the pseudonym
identifier its reference carries, by ``Patient/<id>`` or a Bundle's ``fullUrl`` (``urn:uuid``)
naming a Patient of the import, or by the FHIR id of a patient already registered
(``known_patients``). A Patient's row gathers its Organization, Condition and SOD1 variant.

The tidy builder and the rulebook name tidy columns (``dose_mg``); :func:`locate` translates
each problem to the resource and FHIR element the cell came from (``dosage.dose.value`` of
``MedicationAdministration/<id>``, entry 12), keeping the rule's words and code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.errors import Problem
from alsrwe.domain.tidy_format import TABLES
from alsrwe.interop.fhir.elements import cell
from alsrwe.interop.fhir.ids import PSEUDONYM_SYSTEM, SITE_SYSTEM
from alsrwe.interop.fhir.parts import (
    Collected,
    Found,
    MedicationPart,
    OrganizationPart,
    PatientPart,
    Reference,
    Row,
    SubjectPart,
)
from alsrwe.interop.fhir.patient import CONDITION_ELEMENTS, PATIENT_ELEMENTS
from alsrwe.interop.fhir.variant import VARIANT_ELEMENTS
from alsrwe.interop.tidy_csv.rows import TextRow

TOTAL_DERIVED = "Observation (ALSFRS-R total, derived)"
TOTAL_ALONE = "Observation (ALSFRS-R total without its QuestionnaireResponse)"
_INTEGER = re.compile(r"\d+", re.ASCII)

Place = tuple[str, int | None, str]
"""Where a cell came from: (file and resource, entry number, FHIR element)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a tidy row came from, column by column."""

    where: str
    entry: int | None
    columns: Mapping[str, Place]


class ResourceRows(dict[str, list[TextRow]]):
    """Tidy text rows by table, read from FHIR, with the origin of every row and cell."""

    def __init__(self) -> None:
        super().__init__()
        self.origins: dict[tuple[str, int | None], Origin] = {}
        self.files: dict[str, set[str]] = {}

    def add(self, table: str, found: Found, cells: dict[str, str], suffix: str = "",
            columns: Mapping[str, Place] | None = None) -> None:
        where = found.where + suffix
        self.setdefault(table, []).append(TextRow(where, found.entry, cells))
        self.origins[(where, found.entry)] = Origin(found.where, found.entry, columns or {})
        self.files.setdefault(table, set()).add(found.file)


def _at(found: Found, elements: Mapping[str, str]) -> dict[str, Place]:
    return {column: (found.where, found.entry, element) for column, element in elements.items()}


def _tail(reference: Reference, kind: str) -> str | None:
    target = reference.get("reference")
    if not isinstance(target, str):
        return None
    parts = target.rstrip("/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == kind else None


class _Patients:
    """Resolves references to patients, reporting those that name none."""

    def __init__(self, into: Collected, known: Mapping[str, str]) -> None:
        self.into, self.known = into, known

    def pseudonym(self, found: Found, reference: Reference | None, element: str = "subject",
                  ) -> str | None:
        if not reference:
            self.into.problems.append(found.problem(element, "is required: the patient the "
                                                             "record belongs to"))
            return None
        ident = reference.get("identifier") or {}
        by_identifier = ident.get("value") if ident.get("system") == PSEUDONYM_SYSTEM else None
        part = self.into.find({"reference": reference.get("reference")}, "Patient")
        by_reference = part.pseudonym if isinstance(part, PatientPart) else None
        tail = _tail(reference, "Patient")
        if by_reference is None and tail is not None:
            by_reference = self.known.get(tail)
        if by_identifier and by_reference and by_identifier != by_reference:
            self.into.problems.append(found.problem(element, f"the reference names "
                                                    f"{by_reference}, the identifier "
                                                    f"{by_identifier}: they must agree"))
            return None
        pseudonym = by_identifier or by_reference
        if pseudonym is None:
            named = reference.get("reference") or "the reference"
            self.into.problems.append(found.problem(element, f"{named} names no Patient of "
                                      "this import nor a registered patient: reference the "
                                      f"Patient or give its pseudonym ({PSEUDONYM_SYSTEM})"))
        return pseudonym

    def is_patient(self, reference: Reference | None) -> bool:
        if not reference:
            return False
        ident = reference.get("identifier") or {}
        return (ident.get("system") == PSEUDONYM_SYSTEM or _tail(reference, "Patient") is not None
                or isinstance(self.into.find(reference, "Patient"), PatientPart))


def _by_patient(parts: list[SubjectPart], patients: _Patients, listed: set[str], what: str,
                ) -> dict[str, SubjectPart]:
    """Conditions or variants by their patient's pseudonym; one each, with its Patient."""
    found: dict[str, SubjectPart] = {}
    for part in parts:
        named = patients.into.find({"reference": (part.subject or {}).get("reference")},
                                   "Patient")
        if isinstance(named, PatientPart) and named.pseudonym is None:
            continue  # its Patient was refused, and says why
        pseudonym = patients.pseudonym(part.found, part.subject)
        if pseudonym is None:
            continue
        if pseudonym not in listed:
            patients.into.problems.append(part.found.problem(
                "subject", f"a {what} is imported with its Patient ({pseudonym} is not in this "
                           "import): it belongs to the patient's registration"))
        elif pseudonym in found:
            patients.into.problems.append(part.found.problem(
                "subject", f"{pseudonym} has another {what} ({found[pseudonym].found.label})"))
        else:
            found[pseudonym] = part
    return found


def _site(part: PatientPart, into: Collected) -> tuple[str, str, dict[str, Place]]:
    """The site code and name of a Patient's managingOrganization, and where they came from."""
    reference = part.organization or {}
    ident = reference.get("identifier") or {}
    site = ident.get("value") if ident.get("system") == SITE_SYSTEM else None
    name = reference.get("display")
    places = _at(part.found, {"site": "managingOrganization",
                              "site_name": "managingOrganization.display"})
    organization = into.find(reference, "Organization") if reference else None
    if isinstance(organization, OrganizationPart):
        if organization.site is None and site is None:
            into.problems.append(part.found.problem(
                "managingOrganization", f"{organization.found.label} has no alsrwe site "
                                        f"identifier ({SITE_SYSTEM})"))
        site = site or organization.site
        name = organization.name if organization.name is not None else name
        places["site_name"] = (organization.found.where, organization.found.entry, "name")
    return cell(site), cell(name), places


def _patient_rows(into: Collected, patients: _Patients, rows: ResourceRows) -> None:
    listed = {p.pseudonym for p in into.patients if p.pseudonym is not None}
    conditions = _by_patient(into.conditions, patients, listed, "Condition")
    variants = _by_patient(into.variants, patients, listed, "SOD1 variant Observation")
    for part in into.patients:
        if part.pseudonym is None:
            continue
        site, name, places = _site(part, into)
        cells = {"patient_id": cell(part.pseudonym), "site": site, "site_name": name,
                 **part.cells}
        columns = {**_at(part.found, PATIENT_ELEMENTS), **places}
        for extra, elements, what in ((conditions.get(part.pseudonym), CONDITION_ELEMENTS,
                                       "Condition"),
                                      (variants.get(part.pseudonym), VARIANT_ELEMENTS,
                                       "Observation (SOD1 variant)")):
            if extra is None:
                cells |= dict.fromkeys(elements, "")
                columns |= _at(part.found, {c: f"{what}.{e}" for c, e in elements.items()})
            else:
                cells |= extra.cells
                columns |= _at(extra.found, extra.elements)
        if not cells["status"] and part.pseudonym in conditions:
            cells["status"] = "patient"
        rows.add("patients", part.found, cells, columns=columns)
        if part.death is not None:
            death = part.death
            rows.add("milestones", part.found, {"patient_id": cell(part.pseudonym),
                                                **death.cells},
                     death.suffix, _at(part.found, death.elements))


def _record_rows(into: Collected, patients: _Patients, rows: ResourceRows) -> None:
    for row in into.rows:
        pseudonym = patients.pseudonym(row.found, row.subject)
        if pseudonym is None:
            continue
        cells = {"patient_id": cell(pseudonym), **row.cells}
        if row.medication is not None:
            medication = into.find(row.medication, "Medication")
            if not isinstance(medication, MedicationPart):
                into.problems.append(row.found.problem("medicationReference", "names no "
                                                       "Medication of this import"))
                continue
            cells["drug"] = medication.drug
            if "lot" in cells:
                cells["lot"] = medication.lot
        if row.table == "alsfrs":
            cells["source"] = "self" if patients.is_patient(row.source) else "clinic"
        rows.add(row.table, row.found, cells, columns=_at(row.found, row.elements))


def _check_totals(into: Collected) -> None:
    for total in into.totals:
        rated = [into.find(reference, "QuestionnaireResponse") for reference in total.derived_from]
        response = next((r for r in rated if isinstance(r, Row) and r.table == "alsfrs"), None)
        if response is None:
            into.ignored[TOTAL_ALONE] += 1
            continue
        into.ignored[TOTAL_DERIVED] += 1
        items = [response.cells.get(q, "") for q in ITEM_COLUMNS]
        if total.total and all(_INTEGER.fullmatch(i) for i in items):
            summed = sum(int(i) for i in items)
            if total.total != str(summed):
                into.problems.append(total.found.problem(
                    total.element, f"the ALSFRS-R total {total.total} is not the sum of the "
                                   f"items of {response.found.label} ({summed})"))


def assemble(into: Collected, known_patients: Mapping[str, str]) -> ResourceRows:
    """The tidy rows of everything read (tables in the format's order)."""
    patients = _Patients(into, known_patients)
    rows = ResourceRows()
    _patient_rows(into, patients, rows)
    _record_rows(into, patients, rows)
    _check_totals(into)
    ordered = {spec.name: rows[spec.name] for spec in TABLES if spec.name in rows}
    rows.clear()
    rows.update(ordered)
    return rows


def locate(problems: Iterable[Problem], rows: Mapping[str, list[TextRow]],
           keep: Iterable[Problem] = ()) -> list[Problem]:
    """The write path's problems placed at the FHIR resource, entry and element their cell
    came from (``rows`` as :func:`~.reader.rows_of_resources` returned them); the reader's
    own problems (``keep``) and any other problem unchanged."""
    origins = getattr(rows, "origins", {})
    kept = set(keep)
    placed = []
    for problem in problems:
        origin = origins.get((problem.file, problem.row)) if problem not in kept else None
        if origin is None:
            placed.append(problem)
            continue
        where, entry, element = origin.columns.get(problem.field or "",
                                                   (origin.where, origin.entry, problem.field))
        placed.append(replace(problem, field=element, file=where, row=entry))
    return placed


__all__ = ["Origin", "ResourceRows", "TOTAL_ALONE", "TOTAL_DERIVED", "assemble", "locate"]
