"""The one error tree of alsrwe: every error it raises on purpose, rendered once at each edge.

    AlsrweError
     ├── InvalidInput (ValueError)    one or more broken rules, each a Problem (field + rule);
     │    │                           the CLI prints a line each and exits 2, the web shows
     │    │                           each next to its field, the API answers 422
     │    ├── DomainError             exactly one rule broken (``field``, ``rule``)
     │    │    ├── ScoreError         an ALSFRS-R item or score out of range
     │    │    ├── VariantError       an SOD1 variant name that cannot be read or does not match
     │    │    ├── ScheduleError      an impossible dosing history or calendar request
     │    │    ├── MeasurementError   a value, unit or kind that is not accepted
     │    │    ├── EventError         an adverse event or milestone that breaks a rule
     │    │    ├── DrugError          a drug outside the coded vocabulary
     │    │    ├── CellError          a text cell that cannot be read as its column's type
     │    │    └── AccountError       a web user account that breaks a rule
     │    └── UnconfirmedWarnings     only soft rules broken: the record needs a confirmation
     ├── NotFound (LookupError)       absent, or outside the caller's sites (a 404)
     ├── Conflict                     the request clashes with the registry's state (a 409)
     └── MissingExtra                 a feature whose optional dependencies are not installed
                                      (``pip install 'alsrwe[fhir]'``; the web answers 501)

A :class:`Problem` is *hard* (refused) or *soft* (a plausibility warning that an explicit
confirmation lets through); ``code`` names the rule stably (``"dose.not_label_dose"``), so a
confirmation, a test and the documentation (docs/domain-rules.md §11) can refer to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


class AlsrweError(Exception):
    """The root of every error alsrwe raises on purpose (never a bug)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: the field it concerns, the rule in words, its code and its weight.

    ``file`` and ``row`` place it in an imported file (``row`` is the line, header = 1).
    """

    field: str | None
    rule: str
    code: str = ""
    soft: bool = False
    file: str | None = None
    row: int | None = None

    def at(self, file: str | None, row: int | None) -> Problem:
        """The same problem placed in a file and row."""
        return replace(self, file=file, row=row)

    def __str__(self) -> str:
        where = self.file or ""
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", column {self.field}" if self.file else self.field
        prefix = "confirm: " if self.soft else ""
        return f"{where}: {prefix}{self.rule}" if where else f"{prefix}{self.rule}"


class InvalidInput(AlsrweError, ValueError):
    """Input that breaks one or more rules; nothing was written."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)

    @property
    def hard(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.soft)


class DomainError(InvalidInput):
    """Bad input to one clinical rule; ``field`` names what was wrong and ``rule`` what it broke."""

    def __init__(self, field: str, rule: str, code: str = "") -> None:
        self.field = field
        self.rule = rule
        self.code = code
        super().__init__([Problem(field, rule, code)])
        self.args = (f"{field}: {rule}",)

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ScoreError(DomainError):
    """An ALSFRS-R item or derived score that breaks the scale's rules."""


class VariantError(DomainError):
    """An SOD1 variant name that is malformed or does not match the reference protein."""


class ScheduleError(DomainError):
    """A dosing history or calendar request that the regimen cannot accept."""


class MeasurementError(DomainError):
    """A measurement whose kind, value or unit is not accepted."""


class EventError(DomainError):
    """An adverse event or milestone that breaks a rule."""


class DrugError(DomainError):
    """A drug name that is not in the coded vocabulary (nor a known brand name or synonym)."""


class CellError(DomainError):
    """A text cell (CSV, form field) that cannot be read as its column's type.

    Raised by the cell parsers without knowing the column (``field`` is empty); the reader
    that called them names it.
    """

    def __init__(self, rule: str, code: str = "") -> None:
        super().__init__("", rule, code)

    def __str__(self) -> str:
        return self.rule


class AccountError(DomainError):
    """A web user account that breaks a rule (``alsrwe user add``, the admin pages)."""


class UnconfirmedWarnings(InvalidInput):
    """Only soft rules were broken: the record is written once each warning is confirmed."""


class NotFound(AlsrweError, LookupError):
    """The thing asked for does not exist, or is at a site outside the caller's scope.

    Absent and foreign look the same, so a 404 never reveals that another site's record exists.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class Conflict(AlsrweError):
    """The request clashes with what the registry holds (e.g. a demo over real data)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class StaleVersion(Conflict):
    """A write named a version of the record older than the stored one: someone changed it
    after it was read, and writing now would silently undo their change (a lost update)."""

    def __init__(self, what: str, expected: int, current: int, changed_by: str | None,
                 changed_at: str | None, current_values: dict[str, object] | None = None
                 ) -> None:
        self.what, self.expected, self.current = what, expected, current
        self.changed_by, self.changed_at = changed_by, changed_at
        self.current_values = current_values or {}
        who = f" by {changed_by}" if changed_by else ""
        when = f" at {changed_at}" if changed_at else ""
        super().__init__(f"{what} was changed{who}{when} after you read it (you read version "
                         f"{expected}, it is now version {current}); nothing was saved: "
                         "read it again and redo your change")


class VersionRequired(AlsrweError):
    """A change that does not say which version of the record it was made on."""

    def __init__(self, what: str) -> None:
        self.message = (f"say which version of {what} you changed: send the ETag you read in "
                        "If-Match, or its version in the body's \"version\"")
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class MissingExtra(AlsrweError):
    """A feature needs optional dependencies that this installation lacks (``extra`` names the
    group of ``pip install 'alsrwe[extra]'``): the light install leaves them out."""

    def __init__(self, feature: str, extra: str) -> None:
        self.feature, self.extra = feature, extra
        self.message = (f"{feature} needs alsrwe's optional dependencies, which are not "
                        f"installed: pip install 'alsrwe[{extra}]'")
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def raise_problems(problems: Iterable[Problem]) -> None:
    """Raise for ``problems``: InvalidInput if any is hard, UnconfirmedWarnings if all soft."""
    found = tuple(problems)
    if not found:
        return
    if any(not p.soft for p in found):
        raise InvalidInput(found)
    raise UnconfirmedWarnings(found)


__all__ = [
    "AccountError",
    "AlsrweError",
    "CellError",
    "Conflict",
    "StaleVersion",
    "VersionRequired",
    "DomainError",
    "DrugError",
    "EventError",
    "InvalidInput",
    "MeasurementError",
    "MissingExtra",
    "NotFound",
    "Problem",
    "ScheduleError",
    "ScoreError",
    "UnconfirmedWarnings",
    "VariantError",
    "raise_problems",
]
