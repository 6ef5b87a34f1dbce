"""Versions over HTTP: every record's ``version`` is its ETag, and a change must state it.

A client reads a record (its ``version`` field, or the ``ETag`` header of a single read) and
sends it back with the change, as ``If-Match: "3"`` (RFC 9110 §13.1.1) or as ``"version": 3``
in the body. A change without either is refused with 428 Precondition Required (RFC 6585
§3), so a client that never read the record cannot overwrite it blindly; a stale version is
a 409 naming who changed the record and when (the write path's StaleVersion).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel

from alsrwe.domain.audit_chain import json_value
from alsrwe.domain.errors import DomainError, StaleVersion, VersionRequired

ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,9})"\s*$')
"""A version as an entity tag: ``"3"`` (a weak ``W/"3"`` is read the same)."""


class StaleVersionPublic(BaseModel):
    """409 for a change made on an old version: nothing was saved."""

    detail: str
    current_version: int
    changed_by: str | None
    changed_at: str | None
    current: dict[str, object]


class PreconditionPublic(BaseModel):
    detail: str


VERSIONED: dict[int | str, dict[str, object]] = {
    409: {"model": StaleVersionPublic,
          "description": "The record changed after you read it (who, when, its values now); "
                         "read it again"},
    428: {"model": PreconditionPublic,
          "description": "No version stated: send If-Match or the body's version"},
}
"""The answers of every operation that changes a stored record."""


def etag(version: int) -> str:
    return f'"{version}"'


IfMatch = Annotated[str | None, Header(
    max_length=64, description='The version read, as its ETag (e.g. `"3"`); or send '
                               '`version` in the body. One of the two is required (428).')]


VERSION_FIELD = "version"
"""The hidden field of an edit or void form: the version of the record it was loaded with."""
CONFLICT = 409


def form_version(values: Mapping[str, str]) -> int | None:
    """The record version a form was loaded with (its hidden ``version`` field)."""
    text = values.get(VERSION_FIELD, "")
    return int(text) if text.isdigit() and len(text) < 10 else None


def conflict_text(error: StaleVersion, mine: Mapping[str, Any]) -> str:
    """What a form says when its record changed meanwhile: who, when, both values."""
    both = "; ".join(f"{name.replace('_', ' ')}: now {error.current_values.get(name, '—')}, "
                     f"yours {'—' if value is None else json_value(value)}"
                     for name, value in mine.items())
    return (f"{error} Nothing was saved. {both + '. ' if both else ''}Check the values below "
            "and save again to replace the stored ones with yours.")


def stated_version(if_match: str | None, body_version: int | None, what: str) -> int:
    """The version a change was made on, from ``If-Match`` or the body; 428 without one."""
    header = None
    if if_match is not None:
        found = ETAG.match(if_match)
        if found is None:
            raise DomainError("If-Match", 'must be the ETag of the version read, e.g. "3"')
        header = int(found.group(1))
    if header is not None and body_version is not None and header != body_version:
        raise DomainError("version", f"says {body_version}, If-Match says {header}")
    stated = header if header is not None else body_version
    if stated is None:
        raise VersionRequired(what)
    return stated


__all__ = [
    "CONFLICT",
    "ETAG",
    "VERSIONED",
    "VERSION_FIELD",
    "IfMatch",
    "StaleVersionPublic",
    "conflict_text",
    "etag",
    "form_version",
    "stated_version",
]
