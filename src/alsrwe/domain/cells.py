"""Reading one text cell (a CSV cell, a form field) into a typed value, or the rule it broke.

The syntax is the tidy format's (docs/data-format.md): ISO dates, plain decimals (no ``nan``,
``inf`` or ``_``), ``0``/``1`` flags. Every parser raises :class:`CellError` with the rule in
plain words; the reader that called it names the column. Empty cells are ``None`` where the
column allows it. No text may hold a NUL byte or another control character: they are never
part of clinical data and break databases and spreadsheets downstream.
"""

from __future__ import annotations

import math
import re
from datetime import date
from enum import StrEnum
from typing import TypeVar

from alsrwe.domain.errors import CellError

E = TypeVar("E", bound=StrEnum)

CONTROL_CHARACTER = "text.control_character"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+(\.0*)?", re.ASCII)
_NOT_FINITE = frozenset({"nan", "inf", "infinity"})
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Unicode category Cc: C0 controls, DEL and C1 controls (what ``unicodedata`` calls "Cc")."""


def control_characters(value: str) -> list[str]:
    """The control characters in ``value`` (Unicode category Cc), as ``U+0000`` names."""
    return sorted({f"U+{ord(ch):04X}" for ch in _CONTROL.findall(value)})


def check_text(value: str) -> str:
    """``value`` unchanged, or CellError when it holds a control character (NUL, tab, ...)."""
    if _CONTROL.search(value) is not None:
        raise CellError(f"contains the control character(s) "
                        f"{', '.join(control_characters(value))}; remove them", CONTROL_CHARACTER)
    return value


def text(cell: str, *, required: bool = True, max_length: int | None = None) -> str | None:
    if _CONTROL.search(cell) is not None:
        check_text(cell)
    value = cell.strip()
    if not value:
        if required:
            raise CellError("is required")
        return None
    if max_length is not None and len(value) > max_length:
        raise CellError(f"is {len(value)} characters long; at most {max_length} are allowed")
    return value


def iso_date(cell: str, *, required: bool = True) -> date | None:
    value = text(cell, required=required)
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise CellError(f"'{value}' is not an ISO date (YYYY-MM-DD)") from None


def integer(cell: str, *, required: bool = True, low: int | None = None,
            high: int | None = None) -> int | None:
    value = text(cell, required=required)
    if value is None:
        return None
    if not _INTEGER.fullmatch(value):
        raise CellError(f"'{value}' is not a whole number")
    number = int(float(value)) if "." in value else int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise CellError(f"{number} is outside the allowed range {low}-{high}")
    return number


def number(cell: str, *, required: bool = True) -> float | None:
    value = text(cell, required=required)
    if value is None:
        return None
    if value.lower().lstrip("+-") in _NOT_FINITE:
        raise CellError(f"{float(value)} is not a finite number", "value.not_finite")
    if not _NUMBER.fullmatch(value):
        raise CellError(f"'{value}' is not a number")
    parsed = float(value)
    if not math.isfinite(parsed):
        raise CellError(f"'{value}' is not a finite number", "value.not_finite")
    return parsed


def flag(cell: str, *, required: bool = True) -> bool | None:
    value = text(cell, required=required)
    if value is None:
        return None
    if value in ("0", "1"):
        return value == "1"
    raise CellError(f"'{value}' must be 0 or 1")


def choice(cell: str, enum: type[E], *, required: bool = True) -> E | None:
    value = text(cell, required=required)
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise CellError(f"'{value}' is not one of: {allowed}") from None


__all__ = ["CONTROL_CHARACTER", "check_text", "choice", "control_characters", "flag",
           "integer", "iso_date", "number", "text"]
