"""Reading a submitted HTML form into typed values, every problem kept next to its field.

The same idea as the importer's ``RowReader`` (``alsrwe.interop.tidy_validate``), with the
same cell parsers: each field that cannot be read records its message under the field's name
and reading carries on, so the page shows every problem at once. Rules beyond the type (ranges,
combinations, duplicates) are the store's and the domain's; their ``RecordInvalid`` problems
merge into the same mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.datastructures import FormData

from alsrwe.interop import cells

T = TypeVar("T")
CHECKED = frozenset({"on", "1", "true", "yes"})


def form_values(form: FormData) -> dict[str, str]:
    """The text fields of a submitted form (files are ignored), trimmed of nothing."""
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


@dataclass(slots=True)
class FormReader:
    """Reads fields of one submission; ``problems`` maps a field name to its message."""

    values: Mapping[str, str]
    problems: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def optional_text(self, name: str) -> str | None:
        return self.text(name) or None

    def checkbox(self, name: str) -> bool:
        return self.text(name).lower() in CHECKED

    def cell(self, name: str, parse: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Parse one field with an ``alsrwe.interop.cells`` parser, recording its rule."""
        try:
            return parse(self.values.get(name, ""), *args, **kwargs)
        except cells.CellError as error:
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

    @property
    def ok(self) -> bool:
        return not self.problems


__all__ = ["FormReader", "form_values"]
