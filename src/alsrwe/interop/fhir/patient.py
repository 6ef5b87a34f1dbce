"""A patients.csv row as FHIR: Organization (site), Patient, Condition (ALS), and back.

The Patient is pseudonymous by construction: its only identifier is the pseudonym, it has no
name, address or contact, and its birth date is the birth year alone ("1961"). Import refuses
a Patient that carries more (docs/data-format.md: alsrwe keeps pseudonymous data only). The
Condition exists for symptomatic patients only: carriers have no onset and no diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from alsrwe.domain.events import OnsetRegion
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.plausibility.rules import IDENTIFYING_COLUMN
from alsrwe.interop.codes import ALS_CODES, alsrwe_system
from alsrwe.interop.fhir.elements import (
    CONFIRMED,
    cell,
    coded,
    codes_in,
    compact,
    concept,
    confirmed,
    confirmed_cell,
    date_cell,
    extension,
    extension_path,
    extension_value,
    first_code,
    own_value,
    raw,
)
from alsrwe.interop.fhir.ids import (
    PSEUDONYM_SYSTEM,
    SITE_SYSTEM,
    identifier,
    identifier_system,
    patient_fhir_id,
    patient_reference,
    record_id,
    safe_id,
)
from alsrwe.interop.fhir.parts import (
    Collected,
    Found,
    OrganizationPart,
    PatientPart,
    Row,
    SubjectPart,
)
from alsrwe.interop.fhir.terminology import (
    ASSERTED_DATE,
    CLINICAL_ACTIVE,
    ONSET_REGIONS,
    PATIENT_STATUS,
    VERIFICATION_CONFIRMED,
)

STATUS = "patient-status"
GENDER = {"M": "male", "F": "female"}
SEX = {v: k for k, v in GENDER.items()}
_YEAR = re.compile(r"\d{4}", re.ASCII)
_IDENTIFYING = ("name", "telecom", "address", "photo", "contact")
_PRIVATE = ("alsrwe keeps pseudonymous data only: a Patient carries its pseudonym, sex and "
            "birth year, never names, addresses, contacts or record numbers")

PATIENT_ELEMENTS = {
    "patient_id": "identifier", "site": "managingOrganization", "sex": "gender",
    "birth_year": "birthDate", "status": extension_path(STATUS),
    "confirmed_warnings": extension_path(CONFIRMED), "site_name": "managingOrganization.display",
}
CONDITION_ELEMENTS = {"onset_date": "onsetDateTime", "onset_region": "bodySite",
                      "diagnosis_date": "extension[condition-assertedDate]"}
"""Where each patients.csv column lives (the variant's columns: :mod:`.variant`)."""
DEATH_ELEMENTS = {"date": "deceasedDateTime", "kind": "deceasedDateTime",
                  "confirmed_warnings": f"deceasedDateTime.{extension_path(CONFIRMED)}"}

# --- export -------------------------------------------------------------------------------------


def organization(site: str, name: str) -> dict[str, Any]:
    """A site: its code as identifier, its display name as ``name``."""
    return compact({"resourceType": "Organization", "id": safe_id(site),
                    "identifier": [identifier(SITE_SYSTEM, site)], "name": name})


def organization_reference(site: str, name: str) -> dict[str, Any]:
    return compact({"reference": f"Organization/{safe_id(site)}",
                    "identifier": identifier(SITE_SYSTEM, site), "display": name})


def patient(row: Mapping[str, str], death: Mapping[str, str] | None) -> dict[str, Any]:
    """The Patient of a patients.csv row, dead on the death milestone's date if any."""
    pseudonym = raw(row["patient_id"])
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": patient_fhir_id(pseudonym),
        "extension": [extension(STATUS, valueCoding=PATIENT_STATUS[PatientStatus(
            row["status"])].coding()), *confirmed(row.get("confirmed_warnings"))],
        "identifier": [identifier(PSEUDONYM_SYSTEM, pseudonym)],
        "gender": GENDER[row["sex"]], "birthDate": row["birth_year"],
        "managingOrganization": organization_reference(raw(row["site"]),
                                                       raw(row.get("site_name"))),
    }
    if death is not None:
        resource["deceasedDateTime"] = death["date"]
        warnings = confirmed(death.get("confirmed_warnings"))
        if warnings:
            resource["_deceasedDateTime"] = {"extension": warnings}
    return resource


def condition(row: Mapping[str, str]) -> dict[str, Any] | None:
    """The ALS diagnosis of a symptomatic patient (``None`` for a carrier)."""
    if row["status"] != PatientStatus.PATIENT:
        return None
    pseudonym = raw(row["patient_id"])
    region = row.get("onset_region")
    diagnosed = row.get("diagnosis_date")
    return compact({
        "resourceType": "Condition", "id": record_id("condition", pseudonym),
        "extension": [{"url": ASSERTED_DATE, "valueDateTime": diagnosed}] if diagnosed else [],
        "identifier": [identifier(identifier_system("condition"), pseudonym)],
        "clinicalStatus": concept(CLINICAL_ACTIVE),
        "verificationStatus": concept(VERIFICATION_CONFIRMED),
        "code": concept(*ALS_CODES, text="Amyotrophic lateral sclerosis"),
        "bodySite": [concept(ONSET_REGIONS[OnsetRegion(region)])] if region else [],
        "subject": patient_reference(pseudonym),
        "onsetDateTime": row.get("onset_date"),
    })


# --- import -------------------------------------------------------------------------------------


def _pseudonym(found: Found, resource: Mapping[str, Any], into: Collected) -> str | None:
    pseudonym = None
    for ident in resource.get("identifier", []):
        if ident.get("system") == PSEUDONYM_SYSTEM and ident.get("value"):
            pseudonym = ident["value"]
        else:
            into.problems.append(found.problem("identifier", f"{ident.get('system')} is not "
                                               f"alsrwe's pseudonym: {_PRIVATE}",
                                               IDENTIFYING_COLUMN))
    if pseudonym is None:
        into.problems.append(found.problem(
            "identifier", f"has no alsrwe pseudonym (an identifier with system "
                          f"{PSEUDONYM_SYSTEM}); alsrwe registers pseudonymous patients only"))
    return pseudonym


def _private(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    for element in _IDENTIFYING:
        if resource.get(element):
            into.problems.append(found.problem(element, f"is a direct identifier: {_PRIVATE}",
                                               IDENTIFYING_COLUMN))


def _birth_year(found: Found, value: Any, into: Collected) -> str:
    text = str(value or "")
    if text and not _YEAR.fullmatch(text):
        into.problems.append(found.problem("birthDate", f"{text} is more than a year: alsrwe "
                                           "keeps the birth year only (e.g. 1961)",
                                           IDENTIFYING_COLUMN))
        return ""
    return text


def _death(found: Found, resource: Mapping[str, Any], into: Collected) -> Row | None:
    if resource.get("deceasedBoolean"):
        into.problems.append(found.problem("deceasedBoolean", "alsrwe records the date of "
                                           "death: send deceasedDateTime"))
    day = resource.get("deceasedDateTime")
    if not day:
        return None
    cells = {"date": date_cell(day), "kind": "death",
             "confirmed_warnings": confirmed_cell(resource.get("_deceasedDateTime"))}
    return Row("milestones", found, None, cells, dict(DEATH_ELEMENTS), suffix=" deceasedDateTime")


def read_patient(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A Patient: pseudonym, sex, birth year, status, site reference, death."""
    _private(found, resource, into)
    pseudonym = _pseudonym(found, resource, into)
    status = own_value(resource, STATUS)
    status_code = status.get("code") if isinstance(status, Mapping) else status
    gender = str(resource.get("gender") or "")
    cells = {"sex": SEX.get(gender, cell(gender)),
             "birth_year": _birth_year(found, resource.get("birthDate"), into),
             "status": cell(status_code) if status_code else "",
             "confirmed_warnings": confirmed_cell(resource)}
    part = PatientPart(found, pseudonym, cells, resource.get("managingOrganization"),
                       _death(found, resource, into))
    into.patients.append(part)
    into.add(found, part, resource.get("identifier"))


def read_organization(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """An Organization: a site when it has an alsrwe site identifier."""
    sites = [i.get("value") for i in resource.get("identifier", [])
             if i.get("system") == SITE_SYSTEM and i.get("value")]
    part = OrganizationPart(found, sites[0] if sites else None, resource.get("name"))
    into.organizations.append(part)
    into.add(found, part, resource.get("identifier"))


def read_condition(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """The ALS Condition: onset date and region, diagnosis date."""
    if coded(resource.get("code"), ALS_CODES) is None:
        known = ", ".join(f"{c.code} ({c.system})" for c in ALS_CODES)
        into.problems.append(found.problem("code", f"is not ALS ({known}); alsrwe records the "
                                                   "ALS diagnosis only"))
        return
    status = codes_in(resource.get("verificationStatus"),
                      "http://terminology.hl7.org/CodeSystem/condition-ver-status")
    if set(status) & {"refuted", "entered-in-error"}:
        into.problems.append(found.problem("verificationStatus", f"is {status[0]}: alsrwe "
                                           "records confirmed diagnoses"))
        return
    onset = resource.get("onsetDateTime") or (resource.get("onsetPeriod") or {}).get("start")
    sites = resource.get("bodySite") or [{}]
    region = first_code(sites[0], alsrwe_system("onset-region"))
    if region is None and resource.get("bodySite"):
        region = sites[0].get("text") or next(
            (c.get("code") for c in sites[0].get("coding", [])), "")
    cells = {"onset_date": date_cell(onset), "onset_region": cell(region) if region else "",
             "diagnosis_date": date_cell(extension_value(resource, ASSERTED_DATE))}
    into.conditions.append(SubjectPart(found, resource.get("subject"), cells,
                                       dict(CONDITION_ELEMENTS)))

__all__ = ["CONDITION_ELEMENTS", "DEATH_ELEMENTS", "PATIENT_ELEMENTS", "condition",
           "organization", "patient", "read_condition", "read_organization", "read_patient"]
