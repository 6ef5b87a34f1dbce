"""Reading one text cell of an incoming file into a typed value, or a rule it broke.

Every parser raises :class:`CellError` with the rule in plain words; the caller adds the file,
row and column. Empty cells are ``None`` where the column allows it.
"""

from __future__ import annotations

import math
import re
from datetime import date
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class CellError(ValueError):
    """A cell whose text does not satisfy its column's rule."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(rule)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+(\.0*)?", re.ASCII)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def text(cell: str, *, required: bool = True, max_length: int | None = None) -> str | None:
    value = cell.strip()
    if not value:
        if required:
            raise CellError("is required")
        return None
    if max_length is not None and len(value) > max_length:
        raise CellError(f"is {len(value)} characters long; at most {max_length} are allowed")
    return value


def iso_date(cell: str, *, required: bool = True, not_after: date | None = None) -> date | None:
    value = text(cell, required=required)
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError:
        raise CellError(f"'{value}' is not an ISO date (YYYY-MM-DD)") from None
    if not_after is not None and parsed > not_after:
        raise CellError(f"{value} is in the future (after {not_after.isoformat()})")
    return parsed


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


def number(cell: str, *, required: bool = True, minimum: float | None = None,
           positive: bool = False) -> float | None:
    value = text(cell, required=required)
    if value is None:
        return None
    if not _NUMBER.fullmatch(value):
        raise CellError(f"'{value}' is not a number")
    parsed = float(value)
    if not math.isfinite(parsed):
        raise CellError(f"'{value}' is not a finite number")
    if positive and parsed <= 0:
        raise CellError(f"{value} must be greater than 0")
    if minimum is not None and parsed < minimum:
        raise CellError(f"{value} must be at least {minimum:g}")
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
