"""FHIR elements from tidy text cells and back: codings, extensions, quantities, dates, numbers.

Export starts from the tidy text cells (:func:`alsrwe.interop.tidy_csv.export.text_tables`),
whose free text is spreadsheet-escaped: :func:`raw` undoes that before the text goes into
FHIR. Import does the reverse with :func:`cell`, so the tidy builder reads every cell the same
way whichever format brought it. Numbers and dates are written back in the tidy format's own
spelling (shortest exact number, ISO date), which keeps export → import → export the identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from alsrwe.domain.tidy_format import neutralise_formula, restore_formula
from alsrwe.interop.codes import UCUM, Code, alsrwe_extension

CONFIRMED = "confirmed-warnings"
"""The alsrwe extension holding a record's confirmed plausibility warnings (``;``-joined)."""
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T.*", re.ASCII)

# --- tidy cell → FHIR ---------------------------------------------------------------------------


def raw(cell: str | None) -> str:
    """A tidy text cell's text as entered (the export's formula escaping undone)."""
    return restore_formula(cell or "")


def number(cell: str) -> int | float:
    """A tidy number cell as a JSON number (``100`` stays an integer, ``9.5`` a decimal)."""
    text = raw(cell).strip()
    return int(text) if _INTEGER.fullmatch(text) else float(text)


def concept(*codes: Code, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding per code (and a text when given)."""
    found: dict[str, Any] = {"coding": [c.coding() for c in codes]} if codes else {}
    if text:
        found["text"] = text
    return found


def extension(name: str, **value: Any) -> dict[str, Any]:
    """An alsrwe extension, e.g. ``extension("ae-grade", valueInteger=3)``."""
    return {"url": alsrwe_extension(name), **value}


def confirmed(cell: str | None) -> list[dict[str, Any]]:
    """The confirmed-warnings extension of a row (none when nothing was confirmed)."""
    text = raw(cell)
    return [extension(CONFIRMED, valueString=text)] if text else []


def quantity(cell: str, unit: str, code: str) -> dict[str, Any]:
    """A UCUM Quantity: the value as recorded, its unit as written and its UCUM code."""
    return {"value": number(cell), "unit": unit, "system": UCUM, "code": code}


def compact(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The resource without empty elements (FHIR forbids ``[]``, ``{}`` and ``""``)."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}


# --- FHIR → tidy cell ---------------------------------------------------------------------------


def cell(text: Any) -> str:
    """A FHIR string as a tidy text cell (formula-escaped as the tidy reader expects)."""
    if text is None:
        return ""
    return neutralise_formula(str(text))


def number_cell(value: Any) -> str:
    """A JSON number as the tidy format writes it (``52.0`` → ``52``); anything else as text,
    for the builder to refuse in its own words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return cell(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return cell(value)


def date_cell(value: Any) -> str:
    """The day of a FHIR date or dateTime (``2023-01-10T09:00:00Z`` → ``2023-01-10``); a
    partial date (``2023-01``) is passed on for the builder to refuse."""
    if value is None:
        return ""
    text = str(value)
    return text[:10] if _DATE_TIME.fullmatch(text) else cell(text)


def codes_in(value: Mapping[str, Any] | None, system: str) -> list[str]:
    """The codes of ``system`` in a CodeableConcept (or a Coding)."""
    if not value:
        return []
    codings = value.get("coding", [value] if "system" in value else [])
    return [c["code"] for c in codings if c.get("system") == system and c.get("code")]


def first_code(value: Mapping[str, Any] | None, system: str) -> str | None:
    found = codes_in(value, system)
    return found[0] if found else None


def has_code(value: Mapping[str, Any] | None, code: Code) -> bool:
    return code.code in codes_in(value, code.system)


def extensions(element: Mapping[str, Any] | None, url: str) -> list[dict[str, Any]]:
    """The extensions of ``element`` with this URL."""
    return [e for e in (element or {}).get("extension", []) if e.get("url") == url]


def extension_value(element: Mapping[str, Any] | None, url: str) -> Any:
    """The value[x] of the first extension of ``element`` with this URL, or ``None``."""
    for ext in extensions(element, url):
        for key, value in ext.items():
            if key.startswith("value"):
                return value
    return None


def own_value(element: Mapping[str, Any] | None, name: str) -> Any:
    """The value of one of alsrwe's extensions on ``element``."""
    return extension_value(element, alsrwe_extension(name))


def extension_path(name: str) -> str:
    """How a problem names an alsrwe extension: ``extension[confirmed-warnings]``."""
    return f"extension[{name}]"


def confirmed_cell(element: Mapping[str, Any] | None) -> str:
    """The confirmed-warnings cell of a row from its extension."""
    return cell(own_value(element, CONFIRMED))


def coded(value: Mapping[str, Any] | None, codes: Iterable[Code]) -> Code | None:
    """The first of ``codes`` that the CodeableConcept ``value`` carries."""
    return next((c for c in codes if has_code(value, c)), None)


__all__ = [
    "CONFIRMED", "cell", "codes_in", "coded", "compact", "concept", "confirmed",
    "confirmed_cell", "date_cell", "extension", "extension_path", "extension_value",
    "extensions", "first_code", "has_code", "number", "number_cell", "own_value", "quantity",
    "raw",
]
