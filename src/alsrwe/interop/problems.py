"""Problems found in incoming data: collected all together, reported together, nothing written.

An importer never stops at the first bad cell: a data manager fixing a spreadsheet wants the
whole list (file, row, column, rule) at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule in one cell (``row`` is the line number in the file, header = 1)."""

    file: str
    row: int | None
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.rule}"


class ImportRejected(ValueError):
    """The incoming data broke at least one rule; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "no problems"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)
