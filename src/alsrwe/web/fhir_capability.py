"""The CapabilityStatement of ``/fhir/R4``: what this server reads, creates and how to sign in.

Built from the same tables the router serves (:data:`CREATABLE`, :data:`READABLE`), so the
statement cannot promise a resource the router lacks, and validated with fhir.resources once.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from alsrwe.extras import needs
from alsrwe.interop.codes import ALSRWE_BASE

FHIR_VERSION = "4.0.1"
CREATABLE = ("Patient", "Condition", "Observation", "QuestionnaireResponse",
             "MedicationAdministration", "MedicationStatement", "AdverseEvent", "Procedure")
"""Resources a client may POST (alone, or as entries of a transaction or batch Bundle)."""
READABLE = ("Patient", "Questionnaire", "CodeSystem")
"""Resources read by id: patients (signed in, in scope), and alsrwe's definitional content."""
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
"""The canonical of FHIR R4's own ``Patient/$everything`` operation."""
SECURITY = (
    "Sign in with POST /login (form fields username, password, csrf_token = the "
    "alsrwe_login_csrf cookie set by GET /login) and send the alsrwe_session cookie. "
    "Every POST must also send the session's CSRF token in the X-CSRF-Token header "
    "(GET /api/v1/me gives it). Patients and their records are read and written only "
    "within the user's sites, by the roles that read and write records (admin, clinician, "
    "data manager); metadata, the Questionnaire and CodeSystems need no sign-in."
)


def _resource(kind: str) -> dict[str, Any]:
    interactions = []
    if kind in READABLE:
        interactions.append({"code": "read"})
    if kind in CREATABLE:
        interactions.append({"code": "create"})
    resource: dict[str, Any] = {"type": kind, "interaction": interactions,
                                "versioning": "no-version", "readHistory": False,
                                "updateCreate": False}
    if kind in CREATABLE:
        resource["conditionalCreate"] = False
    if kind == "Patient":
        resource["operation"] = [{"name": "everything", "definition": EVERYTHING,
                                  "documentation": "a searchset Bundle of every resource of "
                                                   "the patient's record (audited as a view)"}]
    return resource


@cache
def _statement(version: str, base: str) -> dict[str, Any]:
    kinds = sorted(set(CREATABLE) | set(READABLE))
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "url": f"{ALSRWE_BASE}/CapabilityStatement/alsrwe",
        "name": "AlsrweServer",
        "title": "alsrwe registry FHIR R4 server",
        "status": "active",
        "experimental": False,
        "date": dt.date.today().isoformat(),
        "publisher": "alsrwe",
        "kind": "instance",
        "software": {"name": "alsrwe", "version": version},
        "implementation": {"description": "alsrwe registry of ALS clinics (tofersen for "
                                          "SOD1-ALS)", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Records POSTed here take the registry's one write path: the "
                             "same rules, confirmations, site scoping and audit as every "
                             "import; a re-POST of the same content changes nothing.",
            "security": {"cors": False, "description": SECURITY},
            "resource": [_resource(kind) for kind in kinds],
            "interaction": [{"code": "transaction"}, {"code": "batch"}],
        }],
    }
    with needs("fhir"):
        from fhir.resources.R4B.capabilitystatement import CapabilityStatement
    CapabilityStatement.model_validate(statement)
    return statement


def capability_statement(version: str, base: str) -> dict[str, Any]:
    """This server's CapabilityStatement (``software.version`` = ``version``, the app's;
    ``implementation.url`` = ``base``, the ``/fhir/R4`` address it is served at)."""
    return _statement(version, base)


__all__ = ["CREATABLE", "FHIR_VERSION", "READABLE", "capability_statement"]
