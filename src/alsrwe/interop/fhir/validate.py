"""Every resource alsrwe writes or reads passes through the fhir.resources R4B models.

Writing, :func:`validated` checks a resource built as a dict against its model and returns it
as built (the builders write fixed keys in a fixed order, so an export is byte-stable; the
model's own dump would cost two thirds of the export's time for the same content).
Reading, :func:`checked` gives, for invalid FHIR, each error at its element path
(``component[0].valueQuantity.value``), for the reader to place in its file and entry; a valid
resource is read as it came.

fhir.resources is the ``fhir`` extra: it is imported at the first resource, so that the web
app and the CLI start without it and a FHIR request says which extra to install.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from pydantic import ValidationError

from alsrwe.extras import needs

FHIR_INVALID = "fhir.invalid"
"""The code of a problem that is invalid FHIR R4B (fhir.resources refused the resource)."""


@cache
def _model(resource_type: str) -> Any:
    with needs("fhir"):
        from fhir.resources.R4B import get_fhir_model_class
    return get_fhir_model_class(resource_type)


def known_type(resource_type: object) -> bool:
    """Whether ``resource_type`` names a FHIR R4B resource."""
    if not isinstance(resource_type, str) or not resource_type.isalpha():
        return False
    try:
        _model(resource_type)
    except (ValueError, KeyError, AttributeError, ImportError):
        return False
    return True


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, once the R4B model accepts it (raises ``ValidationError`` when invalid)."""
    _model(resource["resourceType"]).model_validate(resource)
    return resource


def element_path(location: Sequence[int | str]) -> str | None:
    """A pydantic error location as a FHIR element path: ``('component', 0, 'code')`` →
    ``component[0].code``; ``None`` for the resource as a whole."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part.replace("__ext", "").replace("__", "_")
    return path or None


def _message(error: dict[str, Any]) -> str:
    text = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        return "is not an element of this resource in FHIR R4B"
    return text.rstrip(".")


def checked(resource: dict[str, Any]) -> list[tuple[str | None, str]]:
    """Each (element, message) that makes ``resource`` invalid FHIR R4B; none when valid."""
    try:
        _model(resource["resourceType"]).model_validate(resource)
    except ValidationError as error:
        found = [(element_path(e.get("loc", ())), _message(dict(e))) for e in error.errors()]
        return found or [(None, str(error))]
    return []


__all__ = ["FHIR_INVALID", "checked", "element_path", "known_type", "validated"]
