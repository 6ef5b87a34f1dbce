"""The codes the FHIR mapping adds to :mod:`alsrwe.interop.codes`: FHIR's own, and alsrwe's.

FHIR core code systems (condition clinical and verification status, observation category,
adverse-event seriousness and outcome) are part of the FHIR R4/R4B specification, read on
hl7.org/fhir/R4B: they are the specification's own vocabularies, not clinical terminology,
so they are *verified* in the sense of docs/domain-rules.md §9. Where the tidy format has a
vocabulary of its own (patient status, onset region, AE term and action, why a dose was not
given, the assay platform) the code is alsrwe's (``alsrwe_system(name)``). No standard code is
invented here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from alsrwe.domain.biomarkers import KIND_SPECS, NflAssay
from alsrwe.domain.events import OnsetRegion
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.interop.codes import Code, Status, alsrwe_system

_SPEC = "FHIR R4B specification (hl7.org/fhir/R4B), the code system's page"
_HL7 = "http://terminology.hl7.org/CodeSystem"


def _fhir(system: str, code: str, display: str) -> Code:
    return Code(f"{_HL7}/{system}", code, display, Status.VERIFIED, _SPEC)


def _own(system: str, code: str, display: str, why: str) -> Code:
    return Code(alsrwe_system(system), code, display, Status.ALSRWE, why)


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


CLINICAL_ACTIVE = _fhir("condition-clinical", "active", "Active")
VERIFICATION_CONFIRMED = _fhir("condition-ver-status", "confirmed", "Confirmed")
LABORATORY = _fhir("observation-category", "laboratory", "Laboratory")
EXAM = _fhir("observation-category", "exam", "Exam")
SURVEY = _fhir("observation-category", "survey", "Survey")
SERIOUS = _fhir("adverse-event-seriousness", "serious", "Serious")
NON_SERIOUS = _fhir("adverse-event-seriousness", "non-serious", "Non-serious")

AE_OUTCOME_CODES: Mapping[AeOutcome, Code] = MappingProxyType({
    AeOutcome.RECOVERED: _fhir("adverse-event-outcome", "resolved", "Resolved"),
    AeOutcome.RECOVERING: _fhir("adverse-event-outcome", "recovering", "Recovering"),
    AeOutcome.NOT_RECOVERED: _fhir("adverse-event-outcome", "ongoing", "Ongoing"),
    AeOutcome.RECOVERED_WITH_SEQUELAE: _fhir("adverse-event-outcome", "resolvedWithSequelae",
                                             "Resolved with Sequelae"),
    AeOutcome.FATAL: _fhir("adverse-event-outcome", "fatal", "Fatal"),
    AeOutcome.UNKNOWN: _fhir("adverse-event-outcome", "unknown", "Unknown"),
})
"""alsrwe's six outcomes and FHIR's six adverse-event outcomes, one to one (recovered =
resolved, not_recovered = ongoing, recovered_with_sequelae = resolvedWithSequelae)."""

ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
"""FHIR core extension: the date the condition was first asserted (the diagnosis date)."""
OBSERVATION_CATEGORY = f"{_HL7}/observation-category"

PATIENT_STATUS: Mapping[PatientStatus, Code] = MappingProxyType({
    s: _own("patient-status", s.value, "Symptomatic ALS patient" if s is PatientStatus.PATIENT
            else "Presymptomatic SOD1 variant carrier", "the tidy format's status column")
    for s in PatientStatus
})
ONSET_REGIONS: Mapping[OnsetRegion, Code] = MappingProxyType({
    r: _own("onset-region", r.value, f"{_label(r.value)} onset",
            "no SNOMED body sites for the onset regions in domain-rules §9")
    for r in OnsetRegion
})
AE_TERMS: Mapping[AeTerm, Code] = MappingProxyType({
    t: _own("ae-term", t.value, _label(t.value),
            "the tofersen label's terms (domain-rules §3.2); MedDRA is licensed, not used")
    for t in AeTerm
})
AE_ACTIONS: Mapping[AeAction, Code] = MappingProxyType({
    a: _own("ae-action", a.value, _label(a.value), "the tidy format's action column")
    for a in AeAction
})
NOT_GIVEN_REASONS: Mapping[str, Code] = MappingProxyType({
    "missed": _own("dose-not-given", "missed", "Dose missed", "the administration statuses"),
    "deferred": _own("dose-not-given", "deferred", "Dose deferred",
                     "the administration statuses"),
})
"""Why a planned dose was not given (MedicationAdministration.statusReason when not-done)."""
_ASSAY_NAMES = {NflAssay.SIMOA: "Simoa", NflAssay.ELLA: "Ella",
                NflAssay.ECL: "Electrochemiluminescence (ECL)", NflAssay.ELISA: "ELISA"}
ASSAYS: Mapping[NflAssay, Code] = MappingProxyType({
    a: _own("assay", a.value, _ASSAY_NAMES.get(a, _label(a.value)),
            "the neurofilament assay platforms of convention 9")
    for a in NflAssay
})

UCUM_OF_UNIT: Mapping[str, str] = MappingProxyType({
    **{spec.canonical_unit: spec.ucum for spec in KIND_SPECS.values()},
    "ng/L": "ng/L", "cells/uL": "{cells}/uL", "10*6/L": "10*6/L", "g/L": "g/L",
})
"""The UCUM code of every unit measurements.csv accepts (domain-rules §9.2): the canonical
units' codes from :data:`alsrwe.domain.biomarkers.KIND_SPECS`, then the alternatives."""
UNIT_OF_UCUM: Mapping[str, str] = MappingProxyType({v: k for k, v in UCUM_OF_UNIT.items()})

__all__ = [
    "AE_ACTIONS", "AE_OUTCOME_CODES", "AE_TERMS", "ASSAYS", "ASSERTED_DATE",
    "CLINICAL_ACTIVE", "EXAM", "LABORATORY", "NON_SERIOUS", "NOT_GIVEN_REASONS",
    "OBSERVATION_CATEGORY", "ONSET_REGIONS", "PATIENT_STATUS", "SERIOUS", "SURVEY",
    "UCUM_OF_UNIT", "UNIT_OF_UCUM", "VERIFICATION_CONFIRMED",
]
