"""Reading a value of a closed vocabulary (a ``StrEnum``), refused with every allowed value.

Sex, status, onset region, adverse-event terms and outcomes, administration status, zygosity:
one way to read each, and one way to say what was wrong ("'x' is not accepted; use one of …").
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from alsrwe.domain.errors import DomainError

E = TypeVar("E", bound=StrEnum)


def parse_choice(
    enum: type[E], field: str, value: str | E, *,
    fold: Callable[[str], str] = str.lower, error: type[DomainError] = DomainError,
    hint: str = "",
) -> E:
    """The member of ``enum`` that ``value`` names (trimmed, then ``fold``-ed), else ``error``
    naming ``field`` and listing the allowed values (``hint`` adds a word on how to choose)."""
    if isinstance(value, enum):
        return value
    if not isinstance(value, str):
        raise error(field, f"{value!r} is not text")
    try:
        return enum(fold(value.strip()))
    except ValueError:
        names = ", ".join(member.value for member in enum)
        raise error(field, f"'{value}' is not accepted; use one of {names}{hint}") from None


__all__ = ["parse_choice"]
