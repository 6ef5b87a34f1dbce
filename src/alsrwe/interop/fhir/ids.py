"""FHIR ids and identifiers of alsrwe's resources: deterministic, so exports are byte-stable.

A patient's id is their pseudonym where FHIR allows it (``BER-0017`` stays ``BER-0017``), so
``Patient/BER-0017`` reads back as its pseudonym. FHIR ids allow ``[A-Za-z0-9\\-.]{1,64}``,
pseudonyms ``[A-Za-z0-9._-]{1,40}``: the two characters that differ are escaped with ``.``
(``.`` → ``..``, ``_`` → ``.-``), a code that reads back unambiguously. The few pseudonyms
that would grow past 64 characters get a hashed id instead (``u.<hex>``), which no escaped
pseudonym can equal. Every other resource's id is a UUID 5 of its natural key, and its
``identifier`` holds that key in an alsrwe system per table, so export → import → export
gives the same resources and a re-import finds the same records.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from alsrwe.interop.codes import ALSRWE_BASE

PSEUDONYM_SYSTEM = f"{ALSRWE_BASE}/pseudonym"
"""The identifier system of a patient's pseudonym (the tidy format's ``patient_id``)."""
SITE_SYSTEM = f"{ALSRWE_BASE}/site"
"""The identifier system of a site code (an Organization)."""
KEY_SEPARATOR = "|"
"""Joins the parts of a natural key in an identifier's value (no key part may hold it)."""

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)
_PSEUDONYM = re.compile(r"[A-Za-z0-9._-]{1,40}", re.ASCII)
_HASHED = "u."
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, ALSRWE_BASE)


def identifier_system(name: str) -> str:
    """The identifier system of a table's records (``alsfrs``, ``measurements`` …) or of a
    resource alsrwe derives from one (``condition``, ``sod1-variant``, ``alsfrs-total``,
    ``lumbar-puncture``)."""
    return f"{ALSRWE_BASE}/{name}"


def _escaped(text: str) -> str:
    return text.replace(".", "..").replace("_", ".-")


def _unescaped(fhir_id: str) -> str | None:
    out, i = [], 0
    while i < len(fhir_id):
        char = fhir_id[i]
        if char != ".":
            out.append(char)
            i += 1
            continue
        following = fhir_id[i + 1:i + 2]
        if following not in (".", "-"):
            return None
        out.append("." if following == "." else "_")
        i += 2
    return "".join(out)


def safe_id(text: str) -> str:
    """A FHIR id for a pseudonym or site code, reversible by :func:`text_of_id` unless it
    would exceed 64 characters (then a hash)."""
    escaped = _escaped(text)
    if len(escaped) <= 64:
        return escaped
    return _HASHED + uuid.uuid5(_NAMESPACE, f"id{KEY_SEPARATOR}{text}").hex


def text_of_id(fhir_id: str) -> str | None:
    """The pseudonym or site code :func:`safe_id` made ``fhir_id`` from, or ``None``."""
    if not _FHIR_ID.fullmatch(fhir_id) or fhir_id.startswith(_HASHED):
        return None
    return _unescaped(fhir_id)


def patient_fhir_id(pseudonym: str) -> str:
    """The Patient id of a pseudonym (``BER-0017`` → ``BER-0017``, ``ber_17`` → ``ber.-17``)."""
    if not _PSEUDONYM.fullmatch(pseudonym):
        raise ValueError(f"{pseudonym!r} is not a pseudonym (1-40 letters, digits, -, _, .)")
    return safe_id(pseudonym)


def pseudonym_of_fhir_id(fhir_id: str) -> str | None:
    """The pseudonym a Patient id was made from, or ``None`` when no pseudonym makes it (a
    hashed id, a ``.`` outside an escape). Another system's id that looks like a pseudonym
    (``123``) reads as one, so importers resolve patients by identifier first."""
    text = text_of_id(fhir_id)
    return text if text is not None and _PSEUDONYM.fullmatch(text) else None


def key_value(parts: Iterable[str]) -> str:
    """An identifier value from a natural key's parts: ``BER-0017|2023-01-10|clinic``."""
    return KEY_SEPARATOR.join(parts)


def record_id(name: str, key: str) -> str:
    """The deterministic id (UUID 5) of the record ``name`` (a table or derived resource)
    whose natural key is ``key``."""
    return str(uuid.uuid5(_NAMESPACE, f"{name}{KEY_SEPARATOR}{key}"))


def identifier(system: str, value: str) -> dict[str, str]:
    """A FHIR Identifier."""
    return {"system": system, "value": value}


def patient_reference(pseudonym: str) -> dict[str, object]:
    """A reference to a patient: their id and their pseudonym, so that a receiver may
    resolve either."""
    return {"reference": f"Patient/{patient_fhir_id(pseudonym)}",
            "identifier": identifier(PSEUDONYM_SYSTEM, pseudonym)}


__all__ = [
    "KEY_SEPARATOR", "PSEUDONYM_SYSTEM", "SITE_SYSTEM", "identifier", "identifier_system",
    "key_value", "patient_fhir_id", "patient_reference", "pseudonym_of_fhir_id", "record_id",
    "safe_id", "text_of_id",
]
