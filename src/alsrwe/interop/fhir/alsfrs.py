"""The ALSFRS-R as FHIR: alsrwe's Questionnaire, one QuestionnaireResponse per rating, and the
derived total Observation (LOINC 82953-1).

The Questionnaire has the 13 answer items (q1 … q12 with q5a and q5b; their codes are
alsrwe's, and LOINC's for the 3 items §9.1 verifies) and a boolean ``gastrostomy`` item on
which q5a and q5b are enabled, answers 0-4. A QuestionnaireResponse is one alsfrs.csv row; a
self-report names the patient as its ``source``. The total is derived: export writes it,
import does not record it but refuses one that disagrees with the sum of its items.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from alsrwe.domain.alsfrs import ITEM_COLUMNS, ITEMS, MAX_ITEM_SCORE, AssessmentSource
from alsrwe.interop.codes import (
    ALSFRS_ITEM_CODES,
    ALSFRS_PANEL,
    ALSFRS_TOTAL,
    ALSRWE_BASE,
    UCUM,
)
from alsrwe.interop.fhir.elements import (
    CONFIRMED,
    cell,
    concept,
    confirmed,
    confirmed_cell,
    date_cell,
    extension,
    extension_path,
    has_code,
    number_cell,
    raw,
)
from alsrwe.interop.fhir.ids import (
    identifier,
    identifier_system,
    key_value,
    patient_reference,
    record_id,
)
from alsrwe.interop.fhir.parts import Collected, Found, Row, TotalPart
from alsrwe.interop.fhir.terminology import SURVEY
from alsrwe.interop.fhir.validate import validated

QUESTIONNAIRE_ID = "alsfrs-r"
QUESTIONNAIRE_URL = f"{ALSRWE_BASE}/Questionnaire/{QUESTIONNAIRE_ID}"
GASTROSTOMY = "gastrostomy"
_ORDER = ("q1", "q2", "q3", "q4", GASTROSTOMY, "q5a", "q5b", "q6", "q7", "q8", "q9", "q10",
          "q11", "q12")
_SCORE = {"unit": "{score}", "system": UCUM, "code": "{score}"}
_ANCHOR = "answer-anchor"


def alsfrs_key(row: Mapping[str, str]) -> str:
    return key_value((raw(row["patient_id"]), row["date"], row["source"]))


def _question(code: str) -> dict[str, Any]:
    if code == GASTROSTOMY:
        return {"linkId": GASTROSTOMY, "text": "Gastrostomy in place (item 5 is scored as 5b)",
                "type": "boolean", "required": True}
    item = next(i for i in ITEMS if i.code == code)
    question: dict[str, Any] = {
        "linkId": code, "code": [c.coding() for c in ALSFRS_ITEM_CODES[code]],
        "prefix": code.removeprefix("q"), "text": item.label, "type": "integer",
        "required": True,
        "answerOption": [{"extension": [extension(_ANCHOR, valueString=item.anchors[score])],
                          "valueInteger": score} for score in range(MAX_ITEM_SCORE + 1)],
    }
    if code in ("q5a", "q5b"):
        question["enableWhen"] = [{"question": GASTROSTOMY, "operator": "=",
                                   "answerBoolean": code == "q5b"}]
    return question


@cache
def _questionnaire() -> dict[str, Any]:
    return validated({
        "resourceType": "Questionnaire", "id": QUESTIONNAIRE_ID, "url": QUESTIONNAIRE_URL,
        "name": "ALSFRS_R", "title": "ALS Functional Rating Scale - Revised (ALSFRS-R)",
        "status": "active", "publisher": "alsrwe", "subjectType": ["Patient"],
        "description": "The 12 ALSFRS-R questions (Cedarbaum et al. 1999), item 5 as 5a "
                       "or, with a gastrostomy, 5b; each answered 0-4 (4 = normal). Answer "
                       "anchors are alsrwe's short anchors, not the licensed form's wording.",
        "code": [ALSFRS_PANEL.coding()], "item": [_question(code) for code in _ORDER],
    })


def questionnaire() -> dict[str, Any]:
    """alsrwe's ALSFRS-R Questionnaire (validated; a fresh copy each call)."""
    return copy.deepcopy(_questionnaire())


def response(row: Mapping[str, str]) -> dict[str, Any]:
    """The QuestionnaireResponse of an alsfrs.csv row."""
    pseudonym = raw(row["patient_id"])
    key = alsfrs_key(row)
    gastrostomy = row["gastrostomy"] == "1"
    answers = dict(zip(ITEM_COLUMNS, (row[q] for q in ITEM_COLUMNS), strict=True))
    answers["q5a" if not gastrostomy else "q5b"] = answers.pop("q5")
    items = []
    for code in _ORDER:
        if code == GASTROSTOMY:
            items.append({"linkId": code, "answer": [{"valueBoolean": gastrostomy}]})
        elif code in answers:
            items.append({"linkId": code, "answer": [{"valueInteger": int(answers[code])}]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "id": record_id("alsfrs", key),
        "extension": confirmed(row.get("confirmed_warnings")),
        "identifier": identifier(identifier_system("alsfrs"), key),
        "questionnaire": QUESTIONNAIRE_URL, "status": "completed",
        "subject": patient_reference(pseudonym), "authored": row["date"], "item": items,
    }
    if row["source"] == AssessmentSource.SELF:
        resource["source"] = patient_reference(pseudonym)
    if not resource["extension"]:
        del resource["extension"]
    return resource


def total_observation(row: Mapping[str, str]) -> dict[str, Any]:
    """The total score derived from a rating (LOINC 82953-1), pointing at its response."""
    key = alsfrs_key(row)
    return {
        "resourceType": "Observation", "id": record_id("alsfrs-total", key),
        "identifier": [identifier(identifier_system("alsfrs-total"), key)],
        "status": "final", "category": [concept(SURVEY)], "code": concept(ALSFRS_TOTAL),
        "subject": patient_reference(raw(row["patient_id"])), "effectiveDateTime": row["date"],
        "valueQuantity": {"value": sum(int(row[q]) for q in ITEM_COLUMNS), **_SCORE},
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{record_id('alsfrs', key)}"}],
    }


# --- import -------------------------------------------------------------------------------------


def _answers(items: list[Mapping[str, Any]], into: dict[str, list[Any]]) -> None:
    """Every answered item by linkId, nested groups flattened."""
    for item in items:
        if item.get("answer"):
            into.setdefault(str(item.get("linkId")), []).extend(item["answer"])
            for answer in item["answer"]:
                _answers(answer.get("item", []), into)
        _answers(item.get("item", []), into)


def _answer_cell(answer: Mapping[str, Any]) -> str:
    for key in ("valueInteger", "valueDecimal"):
        if key in answer:
            return number_cell(answer[key])
    if "valueCoding" in answer:
        return cell(answer["valueCoding"].get("code"))
    if "valueBoolean" in answer:
        return "1" if answer["valueBoolean"] else "0"
    return cell(next((v for k, v in answer.items() if k.startswith("value")), ""))


def _item_path(link: str, answer: Mapping[str, Any] | None = None) -> str:
    value = next((k for k in (answer or {}) if k.startswith("value")), "valueInteger")
    return f"item[{link}].answer[0].{value}"


def _is_alsfrs(found: Found, resource: Mapping[str, Any], into: Collected) -> bool:
    canonical = str(resource.get("questionnaire", "")).split("|")[0]
    if canonical != QUESTIONNAIRE_URL:
        into.problems.append(found.problem("questionnaire", f"{canonical or 'no questionnaire'}"
                                           f" is not alsrwe's ALSFRS-R ({QUESTIONNAIRE_URL})"))
        return False
    if resource.get("status") not in ("completed", "amended"):
        into.problems.append(found.problem("status", f"is {resource.get('status')}: a rating "
                                                     "is a completed response"))
        return False
    return True


def read_response(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A QuestionnaireResponse of alsrwe's ALSFRS-R: one alsfrs.csv row."""
    if not _is_alsfrs(found, resource, into):
        return
    answers: dict[str, list[Any]] = {}
    _answers(resource.get("item", []), answers)
    for link, given in answers.items():
        if len(given) > 1:
            into.problems.append(found.problem(f"item[{link}].answer", "has more than one "
                                                                       "answer; give one"))
    first = {link: given[0] for link, given in answers.items()}
    stated = first.get(GASTROSTOMY, {}).get("valueBoolean")
    gastrostomy = bool(stated) if stated is not None else "q5b" in first and "q5a" not in first
    five = "q5b" if gastrostomy else "q5a"
    cells = {q: _answer_cell(first[q]) if q in first else "" for q in ITEM_COLUMNS if q != "q5"}
    cells["q5"] = _answer_cell(first[five]) if five in first else ""
    other = "q5a" if gastrostomy else "q5b"
    if other in first:
        into.problems.append(found.problem(_item_path(other, first[other]), f"is answered but "
                                           f"gastrostomy is {str(gastrostomy).lower()}: item 5 "
                                           f"is {five} then"))
    elements = {q: _item_path(q, first.get(q)) for q in ITEM_COLUMNS if q != "q5"}
    elements |= {"q5": _item_path(five, first.get(five)), "date": "authored",
                 "gastrostomy": f"item[{GASTROSTOMY}].answer[0].valueBoolean",
                 "source": "source", "confirmed_warnings": extension_path(CONFIRMED)}
    cells |= {"date": date_cell(resource.get("authored")), "gastrostomy": str(int(gastrostomy)),
              "confirmed_warnings": confirmed_cell(resource)}
    row = Row("alsfrs", found, resource.get("subject"), cells, elements,
              source=resource.get("source"))
    into.rows.append(row)
    into.add(found, row, resource.get("identifier"))


def is_total(resource: Mapping[str, Any]) -> bool:
    """Whether an Observation is an ALSFRS-R total score."""
    return has_code(resource.get("code"), ALSFRS_TOTAL)


def read_total(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A total-score Observation: kept to check against the items of its response."""
    if "valueInteger" in resource:
        total, element = resource["valueInteger"], "valueInteger"
    else:
        total = (resource.get("valueQuantity") or {}).get("value")
        element = "valueQuantity.value"
    into.totals.append(TotalPart(found, list(resource.get("derivedFrom", [])),
                                 number_cell(total), element))


__all__ = ["GASTROSTOMY", "QUESTIONNAIRE_ID", "QUESTIONNAIRE_URL", "is_total",
           "questionnaire", "read_response", "read_total", "response", "total_observation"]
