"""Doses as MedicationAdministration (+ the lumbar puncture of each intrathecal dose given),
concomitant medications as MedicationStatement, and back.

A dose is ``completed`` when given, else ``not-done`` with alsrwe's reason (missed or
deferred). Its lot is the ``batch`` of a contained Medication. The route follows from the
drug's regimen (intrathecal: SNOMED 72607000; intravenous: alsrwe's code). Each intrathecal
dose given also gets a Procedure "lumbar puncture" (SNOMED 277762005) that the administration
is ``partOf``; on import those Procedures, like the route, are derived and not records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alsrwe.domain.dosing import AdministrationStatus, Route
from alsrwe.domain.drugs import Drug
from alsrwe.domain.regimens import REGIMENS
from alsrwe.interop.codes import (
    DRUG_CODES,
    INTRATHECAL_ROUTE,
    INTRAVENOUS_ROUTE,
    LUMBAR_PUNCTURE,
    TOFERSEN_ATC,
    alsrwe_system,
)
from alsrwe.interop.fhir.elements import (
    CONFIRMED,
    cell,
    compact,
    concept,
    confirmed,
    confirmed_cell,
    date_cell,
    extension,
    extension_path,
    first_code,
    has_code,
    number_cell,
    own_value,
    quantity,
    raw,
)
from alsrwe.interop.fhir.ids import (
    identifier,
    identifier_system,
    key_value,
    patient_reference,
    record_id,
)
from alsrwe.interop.fhir.parts import Collected, Found, MedicationPart, Row
from alsrwe.interop.fhir.terminology import NOT_GIVEN_REASONS

CSF_REMOVED = "csf-removed"
DRUG_SYSTEM = alsrwe_system("drug")
REASON_SYSTEM = alsrwe_system("dose-not-given")
ROUTES: Mapping[Drug, Route] = {Drug(r.drug): r.route for r in REGIMENS.values()}
ROUTE_CODES = {Route.INTRATHECAL: INTRATHECAL_ROUTE, Route.INTRAVENOUS: INTRAVENOUS_ROUTE}
CONTAINED = "medication"
ADMINISTRATION_ELEMENTS = {
    "patient_id": "subject", "date": "effectiveDateTime", "drug": "medicationCodeableConcept",
    "dose_mg": "dosage.dose.value", "status": "status", "lot": "contained[0].batch.lotNumber",
    "csf_removed_ml": f"{extension_path(CSF_REMOVED)}.valueQuantity.value",
    "confirmed_warnings": extension_path(CONFIRMED),
}
MEDICATION_ELEMENTS = {
    "patient_id": "subject", "drug": "medicationCodeableConcept",
    "start_date": "effectivePeriod.start", "stop_date": "effectivePeriod.end",
    "confirmed_warnings": extension_path(CONFIRMED),
}


def administration_key(row: Mapping[str, str]) -> str:
    return key_value((raw(row["patient_id"]), row["date"], row["drug"]))


def administration_id(row: Mapping[str, str]) -> str:
    return record_id("administrations", administration_key(row))


def has_puncture(row: Mapping[str, str]) -> bool:
    """Whether a dose was given intrathecally (and so by lumbar puncture)."""
    return (row["status"] == AdministrationStatus.GIVEN
            and ROUTES.get(Drug(row["drug"])) is Route.INTRATHECAL)


def lumbar_puncture(row: Mapping[str, str]) -> dict[str, Any]:
    """The lumbar puncture an intrathecal dose was given by."""
    key = administration_key(row)
    return {"resourceType": "Procedure", "id": record_id("lumbar-puncture", key),
            "identifier": [identifier(identifier_system("lumbar-puncture"), key)],
            "status": "completed", "code": concept(LUMBAR_PUNCTURE),
            "subject": patient_reference(raw(row["patient_id"])),
            "performedDateTime": row["date"]}


def administration(row: Mapping[str, str]) -> dict[str, Any]:
    """The MedicationAdministration of an administrations.csv row."""
    pseudonym = raw(row["patient_id"])
    key = administration_key(row)
    drug = Drug(row["drug"])
    medication = concept(*DRUG_CODES[drug])
    lot = raw(row.get("lot"))
    given = row["status"] == AdministrationStatus.GIVEN
    csf = row.get("csf_removed_ml")
    dosage = {"route": concept(ROUTE_CODES[ROUTES[drug]])}
    if row.get("dose_mg"):
        dosage["dose"] = quantity(row["dose_mg"], "mg", "mg")
    return compact({
        "resourceType": "MedicationAdministration", "id": record_id("administrations", key),
        "contained": [{"resourceType": "Medication", "id": CONTAINED, "code": medication,
                       "batch": {"lotNumber": lot}}] if lot else [],
        "extension": [*([extension(CSF_REMOVED, valueQuantity=quantity(csf, "mL", "mL"))]
                        if csf else []), *confirmed(row.get("confirmed_warnings"))],
        "identifier": [identifier(identifier_system("administrations"), key)],
        "partOf": ([{"reference": f"Procedure/{record_id('lumbar-puncture', key)}"}]
                   if has_puncture(row) else []),
        "status": "completed" if given else "not-done",
        "statusReason": [] if given else [concept(NOT_GIVEN_REASONS[row["status"]])],
        "medicationCodeableConcept": None if lot else medication,
        "medicationReference": {"reference": f"#{CONTAINED}"} if lot else None,
        "subject": patient_reference(pseudonym), "effectiveDateTime": row["date"],
        "dosage": dosage,
    })


def statement(row: Mapping[str, str]) -> dict[str, Any]:
    """The MedicationStatement of a medications.csv row: active until its stop date."""
    pseudonym = raw(row["patient_id"])
    key = key_value((pseudonym, row["drug"], row["start_date"]))
    stop = row.get("stop_date")
    return compact({
        "resourceType": "MedicationStatement", "id": record_id("medications", key),
        "extension": confirmed(row.get("confirmed_warnings")),
        "identifier": [identifier(identifier_system("medications"), key)],
        "status": "completed" if stop else "active",
        "medicationCodeableConcept": concept(*DRUG_CODES[Drug(row["drug"])]),
        "subject": patient_reference(pseudonym),
        "effectivePeriod": compact({"start": row["start_date"], "end": stop}),
    })


# --- import -------------------------------------------------------------------------------------


def drug_cell(value: Mapping[str, Any] | None) -> str:
    """The drug of a medication CodeableConcept: alsrwe's code, tofersen's ATC code, else
    its text or display (the builder maps brand names such as Qalsody, refuses the rest)."""
    own = first_code(value, DRUG_SYSTEM)
    if own is not None:
        return cell(own)
    if has_code(value, TOFERSEN_ATC):
        return Drug.TOFERSEN.value
    value = value or {}
    display = next((c.get("display") for c in value.get("coding", []) if c.get("display")), "")
    return cell(value.get("text") or display)


def read_medication(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A Medication resource: a drug and lot for administrations that refer to it."""
    part = MedicationPart(found, drug_cell(resource.get("code")),
                          cell((resource.get("batch") or {}).get("lotNumber")))
    into.add(found, part, resource.get("identifier"))


def _contained(resource: Mapping[str, Any], reference: str) -> Mapping[str, Any] | None:
    return next((c for c in resource.get("contained", []) if f"#{c.get('id')}" == reference
                 and c.get("resourceType") == "Medication"), None)


def _status(found: Found, resource: Mapping[str, Any], into: Collected) -> str:
    status = resource.get("status")
    if status == "completed":
        return AdministrationStatus.GIVEN.value
    if status != "not-done":
        into.problems.append(found.problem("status", f"is {status}: alsrwe records doses that "
                                                     "were given (completed) or not (not-done)"))
        return ""
    reasons = resource.get("statusReason") or [{}]
    reason = first_code(reasons[0], REASON_SYSTEM)
    if reason is None:
        into.problems.append(found.problem("statusReason", "say why the dose was not given: "
                                           f"missed or deferred ({REASON_SYSTEM})"))
        return ""
    return cell(reason)


def _amount(found: Found, value: Mapping[str, Any] | None, unit: str, element: str,
            into: Collected) -> str:
    if not value:
        return ""
    given = value.get("code") or value.get("unit")
    if given not in (None, unit):
        into.problems.append(found.problem(element, f"is in {given}: give it in {unit} (UCUM)"))
    return number_cell(value.get("value"))


def _medication(resource: Mapping[str, Any], elements: dict[str, str],
                ) -> tuple[str, str, Mapping[str, Any] | None]:
    """The drug and lot of a resource's medication, and a reference still to resolve (a
    Medication elsewhere in the import); ``elements`` learns where they were."""
    reference = resource.get("medicationReference")
    if not reference:
        return drug_cell(resource.get("medicationCodeableConcept")), "", None
    elements["drug"] = "medicationReference"
    contained = _contained(resource, str(reference.get("reference", "")))
    if contained is None:
        return "", "", reference
    index = resource["contained"].index(contained)
    elements["drug"] = f"contained[{index}].code"
    elements["lot"] = f"contained[{index}].batch.lotNumber"
    lot = cell((contained.get("batch") or {}).get("lotNumber"))
    return drug_cell(contained.get("code")), lot, None


def read_administration(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A MedicationAdministration: one administrations.csv row."""
    elements = dict(ADMINISTRATION_ELEMENTS)
    drug, lot, pending = _medication(resource, elements)
    dosage = resource.get("dosage") or {}
    csf = own_value(resource, CSF_REMOVED)
    effective = (resource.get("effectiveDateTime")
                 or (resource.get("effectivePeriod") or {}).get("start"))
    cells = {
        "date": date_cell(effective), "drug": drug, "status": _status(found, resource, into),
        "dose_mg": _amount(found, dosage.get("dose"), "mg", "dosage.dose", into), "lot": lot,
        "csf_removed_ml": _amount(found, csf if isinstance(csf, Mapping) else None, "mL",
                                  extension_path(CSF_REMOVED), into),
        "confirmed_warnings": confirmed_cell(resource),
    }
    into.rows.append(Row("administrations", found, resource.get("subject"), cells, elements,
                         medication=pending))


def is_puncture(resource: Mapping[str, Any]) -> bool:
    return has_code(resource.get("code"), LUMBAR_PUNCTURE)


def read_statement(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A MedicationStatement: one medications.csv row (its status follows the stop date)."""
    status = resource.get("status")
    if status in ("entered-in-error", "not-taken", "intended"):
        into.problems.append(found.problem("status", f"is {status}: alsrwe records medications "
                                                     "taken (active, completed, stopped)"))
        return
    period = resource.get("effectivePeriod") or {}
    start = period.get("start") or resource.get("effectiveDateTime")
    elements = dict(MEDICATION_ELEMENTS)
    drug, _, pending = _medication(resource, elements)
    cells = {"drug": drug, "start_date": date_cell(start),
             "stop_date": date_cell(period.get("end")),
             "confirmed_warnings": confirmed_cell(resource)}
    into.rows.append(Row("medications", found, resource.get("subject"), cells, elements,
                         medication=pending))


__all__ = ["ADMINISTRATION_ELEMENTS", "MEDICATION_ELEMENTS", "administration",
           "administration_id", "has_puncture", "is_puncture", "lumbar_puncture",
           "read_administration", "read_medication", "read_statement", "statement"]
