"""Adverse events (AdverseEvent, R4B) and milestones (Procedure), and back.

An adverse event's term is alsrwe's (the label's terms; MedDRA is licensed), seriousness and
outcome are FHIR's own codes (alsrwe's six outcomes map one to one, :mod:`.terminology`), and
what FHIR R4B has no element for is an alsrwe extension: the CTCAE-style grade, relatedness,
the resolved date and the action taken. ``suspectEntity`` names the patient's latest dose
given on or before onset; import derives nothing from it. Milestones other than death (which
is ``Patient.deceasedDateTime``) are Procedures coded with alsrwe's milestone codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.interop.codes import MILESTONE_CODES, alsrwe_system
from alsrwe.interop.fhir.elements import (
    CONFIRMED,
    cell,
    codes_in,
    compact,
    concept,
    confirmed,
    confirmed_cell,
    date_cell,
    extension,
    extension_path,
    first_code,
    number_cell,
    own_value,
    raw,
)
from alsrwe.interop.fhir.ids import (
    identifier,
    identifier_system,
    key_value,
    patient_reference,
    record_id,
)
from alsrwe.interop.fhir.parts import Collected, Found, Row
from alsrwe.interop.fhir.terminology import (
    AE_ACTIONS,
    AE_OUTCOME_CODES,
    AE_TERMS,
    NON_SERIOUS,
    SERIOUS,
)

GRADE, RELATED, RESOLVED, ACTION = "ae-grade", "ae-related", "ae-resolved-date", "ae-action"
TERM_SYSTEM = alsrwe_system("ae-term")
MILESTONE_SYSTEM = alsrwe_system("milestone")
_OUTCOMES = {code.code: outcome.value for outcome, code in AE_OUTCOME_CODES.items()}
_SERIOUS = {SERIOUS.code: "1", NON_SERIOUS.code: "0"}
ADVERSE_EVENT_ELEMENTS = {
    "patient_id": "subject", "onset_date": "date", "term": "event", "term_text": "event.text",
    "grade": f"{extension_path(GRADE)}.valueInteger", "serious": "seriousness",
    "related": f"{extension_path(RELATED)}.valueBoolean", "outcome": "outcome",
    "resolved_date": f"{extension_path(RESOLVED)}.valueDate",
    "action": extension_path(ACTION), "confirmed_warnings": extension_path(CONFIRMED),
}
MILESTONE_ELEMENTS = {"patient_id": "subject", "date": "performedDateTime", "kind": "code",
                      "confirmed_warnings": extension_path(CONFIRMED)}


def adverse_event(row: Mapping[str, str], suspect: str | None) -> dict[str, Any]:
    """The AdverseEvent of an adverse_events.csv row; ``suspect`` is the id of the dose
    (MedicationAdministration) given last on or before onset."""
    pseudonym = raw(row["patient_id"])
    key = key_value((pseudonym, row["onset_date"], row["term"]))
    action = row.get("action")
    extensions = [extension(GRADE, valueInteger=int(row["grade"])),
                  extension(RELATED, valueBoolean=row["related"] == "1")]
    if row.get("resolved_date"):
        extensions.append(extension(RESOLVED, valueDate=row["resolved_date"]))
    if action:
        extensions.append(extension(ACTION, valueCoding=AE_ACTIONS[AeAction(action)].coding()))
    return compact({
        "resourceType": "AdverseEvent", "id": record_id("adverse_events", key),
        "extension": [*extensions, *confirmed(row.get("confirmed_warnings"))],
        "identifier": identifier(identifier_system("adverse_events"), key),
        "actuality": "actual",
        "event": concept(AE_TERMS[AeTerm(row["term"])], text=raw(row.get("term_text"))),
        "subject": patient_reference(pseudonym), "date": row["onset_date"],
        "seriousness": concept(SERIOUS if row["serious"] == "1" else NON_SERIOUS),
        "outcome": concept(AE_OUTCOME_CODES[AeOutcome(row["outcome"])]),
        "suspectEntity": ([{"instance": {"reference": f"MedicationAdministration/{suspect}"}}]
                          if suspect else []),
    })


def milestone(row: Mapping[str, str]) -> dict[str, Any]:
    """The Procedure of a milestones.csv row (not death: that is on the Patient)."""
    pseudonym = raw(row["patient_id"])
    key = key_value((pseudonym, row["kind"]))
    return compact({
        "resourceType": "Procedure", "id": record_id("milestones", key),
        "extension": confirmed(row.get("confirmed_warnings")),
        "identifier": [identifier(identifier_system("milestones"), key)],
        "status": "completed", "code": concept(MILESTONE_CODES[MilestoneKind(row["kind"])]),
        "subject": patient_reference(pseudonym), "performedDateTime": row["date"],
    })


# --- import -------------------------------------------------------------------------------------


def _coded(found: Found, value: Mapping[str, Any] | None, system: str, mapping: Mapping[str, str],
           element: str, into: Collected) -> str:
    """The alsrwe cell of a FHIR-coded element (seriousness, outcome)."""
    codes = codes_in(value, system)
    if not value:
        return ""
    if codes and codes[0] in mapping:
        return mapping[codes[0]]
    shown = codes[0] if codes else (value.get("text") or "no code")
    into.problems.append(found.problem(element, f"{shown} is not one of {', '.join(mapping)} "
                                                f"({system})"))
    return ""


def _term(value: Mapping[str, Any] | None) -> tuple[str, str]:
    """(term, term_text): alsrwe's term and the event's text; an event coded otherwise is
    ``other`` described by its text or display."""
    value = value or {}
    text = value.get("text") or ""
    own = first_code(value, TERM_SYSTEM)
    if own is not None:
        return cell(own), cell(text)
    display = next((c.get("display") for c in value.get("coding", []) if c.get("display")), "")
    described = text or display
    return (AeTerm.OTHER.value if described else ""), cell(described)


def _flag(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return cell(value)


def read_adverse_event(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """An AdverseEvent: one adverse_events.csv row."""
    if resource.get("actuality") != "actual":
        into.problems.append(found.problem("actuality", f"is {resource.get('actuality')}: "
                                                        "alsrwe records actual events"))
        return
    term, term_text = _term(resource.get("event"))
    related = own_value(resource, RELATED)
    action = own_value(resource, ACTION)
    seriousness = resource.get("seriousness")
    outcome = resource.get("outcome")
    cells = {
        "onset_date": date_cell(resource.get("date")), "term": term, "term_text": term_text,
        "grade": number_cell(own_value(resource, GRADE)),
        "serious": _coded(found, seriousness, SERIOUS.system, _SERIOUS, "seriousness", into),
        "related": _flag(related),
        "outcome": _coded(found, outcome, AE_OUTCOME_CODES[AeOutcome.UNKNOWN].system,
                          _OUTCOMES, "outcome", into),
        "resolved_date": date_cell(own_value(resource, RESOLVED)),
        "action": cell(action.get("code") if isinstance(action, Mapping) else action),
        "confirmed_warnings": confirmed_cell(resource),
    }
    into.rows.append(Row("adverse_events", found, resource.get("subject"), cells,
                         dict(ADVERSE_EVENT_ELEMENTS)))


def read_milestone(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A milestone Procedure: one milestones.csv row."""
    kind = first_code(resource.get("code"), MILESTONE_SYSTEM)
    if kind is None:
        shown = ", ".join(f"{c.get('system')}|{c.get('code')}"
                          for c in (resource.get("code") or {}).get("coding", [])) or "no code"
        known = ", ".join(k.value for k in MilestoneKind)
        into.problems.append(found.problem("code", f"{shown} is not a procedure alsrwe records;"
                                                   f" use {MILESTONE_SYSTEM} ({known})"))
        return
    if resource.get("status") not in ("completed", "in-progress", "stopped"):
        into.problems.append(found.problem("status", f"is {resource.get('status')}: a milestone "
                                                     "is a procedure that happened"))
        return
    performed = (resource.get("performedDateTime")
                 or (resource.get("performedPeriod") or {}).get("start"))
    cells = {"date": date_cell(performed), "kind": cell(kind),
             "confirmed_warnings": confirmed_cell(resource)}
    into.rows.append(Row("milestones", found, resource.get("subject"), cells,
                         dict(MILESTONE_ELEMENTS)))


__all__ = ["ADVERSE_EVENT_ELEMENTS", "MILESTONE_ELEMENTS", "adverse_event", "milestone",
           "read_adverse_event", "read_milestone"]
