"""Measurements (biomarkers, CSF labs, vital capacity, strength, weight) as Observations.

The code is alsrwe's measurement kind, with LOINC 2880-3 beside it for CSF protein, the only
kind whose LOINC code docs/domain-rules.md §9 verifies; the NfL LOINC candidates conflict and
are never written (an import that uses one is told to use alsrwe's code). The value is a UCUM
Quantity in the unit as recorded, the assay platform the ``method`` and the lab a performer
named by display only (alsrwe does not model laboratories as resources).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alsrwe.domain.biomarkers import KIND_SPECS, MeasurementKind, NflAssay, nfl_platform
from alsrwe.interop.codes import LOINC, LOINC_CANDIDATES, MEASUREMENT_CODES, alsrwe_system
from alsrwe.interop.fhir.elements import (
    CONFIRMED,
    cell,
    codes_in,
    compact,
    concept,
    confirmed,
    confirmed_cell,
    date_cell,
    extension_path,
    first_code,
    number_cell,
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
from alsrwe.interop.fhir.parts import Collected, Found, Row
from alsrwe.interop.fhir.terminology import (
    ASSAYS,
    EXAM,
    LABORATORY,
    UCUM_OF_UNIT,
    UNIT_OF_UCUM,
)

KIND_SYSTEM = alsrwe_system("measurement-kind")
ASSAY_SYSTEM = alsrwe_system("assay")
MEASUREMENT_ELEMENTS = {
    "patient_id": "subject", "date": "effectiveDateTime", "kind": "code",
    "value": "valueQuantity.value", "unit": "valueQuantity.code", "assay": "method",
    "lab": "performer[0].display", "confirmed_warnings": extension_path(CONFIRMED),
}
_BY_STANDARD = {code.code: kind for kind, codes in MEASUREMENT_CODES.items()
                for code in codes[1:]}
_CANDIDATES: dict[str, list[str]] = {}
for _kind_of, _codes in LOINC_CANDIDATES.items():
    for _code in _codes:
        _CANDIDATES.setdefault(_code, []).append(_kind_of.value)
_NOT_FINAL = ("registered", "cancelled", "entered-in-error", "unknown")


def measurement(row: Mapping[str, str]) -> dict[str, Any]:
    """The Observation of a measurements.csv row."""
    pseudonym = raw(row["patient_id"])
    kind = MeasurementKind(row["kind"])
    key = key_value((pseudonym, row["date"], kind.value))
    unit = raw(row["unit"])
    assay, lab = raw(row.get("assay")), raw(row.get("lab"))
    platform = nfl_platform(assay)
    method: dict[str, Any] = {}
    if assay:
        known = platform not in (NflAssay.OTHER, NflAssay.UNKNOWN)
        method = concept(*([ASSAYS[platform]] if known else []), text=assay)
    category = LABORATORY if KIND_SPECS[kind].matrix is not None else EXAM
    return compact({
        "resourceType": "Observation", "id": record_id("measurements", key),
        "extension": confirmed(row.get("confirmed_warnings")),
        "identifier": [identifier(identifier_system("measurements"), key)],
        "status": "final", "category": [concept(category)],
        "code": concept(*MEASUREMENT_CODES[kind]), "subject": patient_reference(pseudonym),
        "effectiveDateTime": row["date"],
        "performer": [{"display": lab}] if lab else [],
        "valueQuantity": quantity(row["value"], unit, UCUM_OF_UNIT.get(unit, unit)),
        "method": method,
    })


def _kind(found: Found, code: Mapping[str, Any] | None, into: Collected) -> str | None:
    own = first_code(code, KIND_SYSTEM)
    if own is not None:
        return own
    loinc = codes_in(code, LOINC)
    standard = next((_BY_STANDARD[c] for c in loinc if c in _BY_STANDARD), None)
    if standard is not None:
        return standard.value
    candidate = next((c for c in loinc if c in _CANDIDATES), None)
    known = ", ".join(k.value for k in MeasurementKind)
    if candidate is not None:
        kinds = " or ".join(_CANDIDATES[candidate])
        rule = (f"LOINC {candidate} is an unverified NfL code (its candidates conflict, "
                f"docs/domain-rules.md §9.1): code the value with {KIND_SYSTEM} ({kinds})")
    else:
        shown = ", ".join(f"{c.get('system')}|{c.get('code')}"
                          for c in (code or {}).get("coding", [])) or "no coding"
        rule = (f"{shown} is not a measurement alsrwe records; use {KIND_SYSTEM} "
                f"({known}) or LOINC 2880-3 (CSF protein)")
    into.problems.append(found.problem("code", rule))
    return None


def _unit(value: Mapping[str, Any]) -> str:
    code = value.get("code")
    if isinstance(code, str) and code in UNIT_OF_UCUM:
        return UNIT_OF_UCUM[code]
    return cell(value.get("unit") or code)


def _effective(resource: Mapping[str, Any]) -> Any:
    return (resource.get("effectiveDateTime") or resource.get("effectiveInstant")
            or (resource.get("effectivePeriod") or {}).get("start"))


def read_measurement(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A measurement Observation: one measurements.csv row."""
    kind = _kind(found, resource.get("code"), into)
    if kind is None:
        return
    if resource.get("status") in _NOT_FINAL:
        into.problems.append(found.problem("status", f"is {resource.get('status')}: alsrwe "
                                           "records results (final, amended, corrected, "
                                           "preliminary)"))
        return
    others = sorted(k for k in resource if k.startswith("value") and k != "valueQuantity")
    if others:
        into.problems.append(found.problem(others[0], "a measurement is a valueQuantity"))
    value = resource.get("valueQuantity") or {}
    method = resource.get("method") or {}
    performers = resource.get("performer") or [{}]
    cells = {
        "date": date_cell(_effective(resource)), "kind": cell(kind),
        "value": number_cell(value.get("value")), "unit": _unit(value),
        "assay": cell(method.get("text") or first_code(method, ASSAY_SYSTEM) or ""),
        "lab": cell(performers[0].get("display") or ""),
        "confirmed_warnings": confirmed_cell(resource),
    }
    elements = dict(MEASUREMENT_ELEMENTS)
    if "code" not in value and value.get("unit"):
        elements["unit"] = "valueQuantity.unit"
    into.rows.append(Row("measurements", found, resource.get("subject"), cells, elements))


__all__ = ["MEASUREMENT_ELEMENTS", "measurement", "read_measurement"]
