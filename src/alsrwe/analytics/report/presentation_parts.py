"""What a presentation is made of, in a module of its own so that presenters kept outside
:mod:`~alsrwe.analytics.report.presentations` (e.g. ``present_expected``) can build one
without an import cycle (import-linter forbids cycles between sibling modules).
:mod:`~alsrwe.analytics.report.presentations` re-exports both classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from alsrwe.analytics.report.figures import ReportFigure


@dataclass(frozen=True, slots=True)
class ResultTable:
    """A table of a presentation; ``per_patient`` tables name patients and stay in the report."""

    caption: str
    frame: pd.DataFrame
    per_patient: bool = False


@dataclass(frozen=True, slots=True)
class Presentation:
    """A result as readers see it: headline, figures, tables, attrition and diagnostics."""

    headline: str
    figures: tuple[ReportFigure, ...]
    tables: tuple[ResultTable, ...]
    attrition: pd.DataFrame
    diagnostics: pd.DataFrame

    @property
    def aggregate_tables(self) -> tuple[ResultTable, ...]:
        """The tables without per-patient rows (what an aggregate-only view may show)."""
        return tuple(table for table in self.tables if not table.per_patient)


__all__ = ["Presentation", "ResultTable"]
