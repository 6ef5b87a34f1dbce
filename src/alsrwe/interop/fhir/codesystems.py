"""alsrwe's own code systems as FHIR CodeSystem resources, so a receiver can look codes up.

Built from the codes themselves (:mod:`alsrwe.interop.codes` and :mod:`.terminology`), never
listed twice: a code added there appears here. Each CodeSystem is validated with the R4B model.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import cache
from typing import Any

from alsrwe.interop.codes import (
    ALSFRS_ITEM_CODES,
    DRUG_CODES,
    INTRAVENOUS_ROUTE,
    MEASUREMENT_CODES,
    MILESTONE_CODES,
    Code,
    Status,
    alsrwe_system,
)
from alsrwe.interop.fhir.terminology import (
    AE_ACTIONS,
    AE_TERMS,
    ASSAYS,
    NOT_GIVEN_REASONS,
    ONSET_REGIONS,
    PATIENT_STATUS,
)
from alsrwe.interop.fhir.validate import validated

TITLES = {
    "alsfrs-r-item": "ALSFRS-R items (q1-q12 with q5a/q5b)",
    "measurement-kind": "Measurement kinds (biomarkers, CSF labs, function)",
    "drug": "Drugs of alsrwe's vocabulary",
    "milestone": "Disease milestones",
    "route": "Routes of administration",
    "patient-status": "Patient or presymptomatic carrier",
    "onset-region": "Region of symptom onset",
    "ae-term": "Adverse event terms (tofersen label)",
    "ae-action": "Action taken with the drug after an adverse event",
    "dose-not-given": "Why a planned dose was not given",
    "assay": "Neurofilament assay platforms",
}
"""Every alsrwe code system by name (the last part of its URL), with its title."""


def _all_codes() -> Iterable[Code]:
    yield from (codes[0] for codes in ALSFRS_ITEM_CODES.values())
    yield from (codes[0] for codes in MEASUREMENT_CODES.values())
    yield from (codes[0] for codes in DRUG_CODES.values())
    yield from MILESTONE_CODES.values()
    yield INTRAVENOUS_ROUTE
    for table in (PATIENT_STATUS, ONSET_REGIONS, AE_TERMS, AE_ACTIONS, NOT_GIVEN_REASONS,
                  ASSAYS):
        yield from table.values()


def _camel(name: str) -> str:
    return "Alsrwe" + "".join(part.capitalize() for part in name.split("-"))


@cache
def _code_systems() -> tuple[dict[str, Any], ...]:
    by_system: dict[str, list[Code]] = {}
    for code in _all_codes():
        if code.status is Status.ALSRWE:
            by_system.setdefault(code.system, []).append(code)
    found = []
    for name, title in TITLES.items():
        codes = by_system.pop(alsrwe_system(name))
        found.append(validated({
            "resourceType": "CodeSystem", "id": name, "url": alsrwe_system(name),
            "name": _camel(name), "title": title, "status": "active", "publisher": "alsrwe",
            "description": "alsrwe's own codes, used where docs/domain-rules.md §9 verifies no "
                           "standard code (docs/interop.md gives the reason code by code).",
            "caseSensitive": True, "content": "complete", "count": len(codes),
            "concept": [{"code": c.code, "display": c.display} for c in codes],
        }))
    if by_system:
        raise RuntimeError(f"code systems without a title: {sorted(by_system)}")
    return tuple(found)


def code_systems() -> list[dict[str, Any]]:
    """Every alsrwe CodeSystem resource (validated; fresh copies)."""
    return copy.deepcopy(list(_code_systems()))


__all__ = ["TITLES", "code_systems"]
