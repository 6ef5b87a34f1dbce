"""Reading a submitted HTML form into typed values, every problem kept next to its field.

The same idea as the importer's ``RowReader`` (``alsrwe.interop.tidy_csv.rows``), with the
same cell parsers (:mod:`alsrwe.domain.cells`): each field that cannot be read records its
message under the field's name and reading carries on, so the page shows every problem at
once. Rules beyond the type are the domain's and the rulebook's; their problems merge into
the same mappings (:meth:`FormReader.take`): hard ones in ``problems``, plausibility
warnings — each with a box to confirm it — in ``warnings``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.datastructures import FormData

from alsrwe.domain import cells
from alsrwe.domain.errors import CellError, InvalidInput

T = TypeVar("T")
CHECKED = frozenset({"on", "1", "true", "yes"})
CONFIRM_FIELD = "confirm_warnings"
"""The checkboxes (one per warning, value = its code) that confirm plausibility warnings."""
GENERAL = ""
"""Where a problem that names no field of the form is shown (above the form)."""


def form_values(form: FormData) -> dict[str, str]:
    """The text fields of a submitted form (files are ignored); repeated names: the last."""
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


def confirmed_codes(form: FormData) -> frozenset[str]:
    """The warning codes whose confirm box was ticked."""
    return frozenset(v for v in form.getlist(CONFIRM_FIELD) if isinstance(v, str))


@dataclass(slots=True)
class FormReader:
    """Reads fields of one submission; ``problems`` maps a field to its message,
    ``warnings`` a field to its plausibility warnings as (code, message)."""

    values: Mapping[str, str]
    problems: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def text(self, name: str) -> str:
        value = self.values.get(name, "")
        try:
            cells.check_text(value)
        except CellError as error:
            self.fail(name, error.rule)
            return ""
        return value.strip()

    def optional_text(self, name: str) -> str | None:
        return self.text(name) or None

    def checkbox(self, name: str) -> bool:
        return self.text(name).lower() in CHECKED

    def cell(self, name: str, parse: Callable[..., T | None], *args: Any,
             **kwargs: Any) -> T | None:
        """Parse one field with a :mod:`alsrwe.domain.cells` parser, recording its rule."""
        try:
            return parse(self.values.get(name, ""), *args, **kwargs)
        except CellError as error:
            self.fail(name, error.rule)
        return None

    def choice(self, name: str, message: str = "choose one of the answers") -> int | None:
        """A radio group of whole-number answers; a missing answer gets ``message``."""
        if not self.text(name):
            self.fail(name, message)
            return None
        return self.cell(name, cells.integer)

    def fail(self, name: str, message: str) -> None:
        self.problems.setdefault(name, message)

    def take(self, error: InvalidInput, fields: Mapping[str, str] | None = None,
             known: frozenset[str] | None = None) -> None:
        """Show the problems of ``error``: each under its field (renamed by ``fields``), or
        above the form when the form has no such field (``known``)."""
        for problem in error.problems:
            name = (fields or {}).get(problem.field or "", problem.field or GENERAL)
            if known is not None and name not in known:
                name = GENERAL
            if problem.soft:
                self.warnings.setdefault(name, []).append((problem.code, problem.rule))
            else:
                self.fail(name, problem.rule)

    @property
    def ok(self) -> bool:
        return not self.problems


__all__ = ["CONFIRM_FIELD", "GENERAL", "FormReader", "confirmed_codes", "form_values"]
