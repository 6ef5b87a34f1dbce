"""Reading a REDCap records export (flat CSV, raw values), one row at a time.

The file is REDCap's "CSV (raw data)" export: the record id first, then, when the project has
them, ``redcap_event_name`` (unique event names such as ``baseline_arm_1``),
``redcap_repeat_instrument`` and ``redcap_repeat_instance``, then every field (a checkbox as
``field___code`` columns) with each form's ``{form}_complete`` status (0/1/2). The header is
checked before any row: the record id and every field the mapping reads must be there, and a
column that carries a direct identifier (marked ``Identifier? = y`` in the dictionary, or
named like one) is refused — export the records de-identified. Rows are then streamed with
the csv module; each problem names the file, its line and the REDCap field.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alsrwe.domain.errors import Problem
from alsrwe.domain.plausibility.rules import IDENTIFYING_COLUMN
from alsrwe.domain.privacy import looks_identifying
from alsrwe.interop.input_files import open_text
from alsrwe.interop.progress import NO_PROGRESS, PROGRESS_EVERY, Progress
from alsrwe.interop.redcap.dictionary import DataDictionary
from alsrwe.interop.redcap.plan import Plan

EVENT = "redcap_event_name"
INSTRUMENT = "redcap_repeat_instrument"
INSTANCE = "redcap_repeat_instance"
STRUCTURAL = frozenset({EVENT, INSTRUMENT, INSTANCE, "redcap_data_access_group",
                        "redcap_survey_identifier"})
"""Columns REDCap adds to an export that are not fields of the dictionary."""


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One row of the export: where it is (line, record, event, repeat) and its cells."""

    line: int
    record: str
    event: str
    instrument: str
    instance: str
    cells: dict[str, str]


@dataclass(slots=True)
class RecordsFile:
    """A records export being read: its problems and the columns no mapping key reads."""

    path: Path
    dictionary: DataDictionary
    plan: Plan
    progress: Progress = NO_PROGRESS
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    longitudinal: bool = False

    @property
    def file(self) -> str:
        return self.path.name

    def fail(self, line: int | None, name: str | None, rule: str, code: str = "") -> None:
        self.problems.append(Problem(name, rule, code, file=self.file, row=line))

    def _known(self) -> dict[str, str]:
        """Every column a field of the dictionary exports, with the field's name."""
        known = {column: spec.name for spec in self.dictionary.fields.values()
                 for column in spec.columns()}
        for form in self.dictionary.forms:
            known[f"{form}_complete"] = ""
            known[f"{form}_timestamp"] = ""
        return known

    def _header(self, header: list[str]) -> bool:
        """Check the header; False when no row can be read."""
        record_id = self.plan.record_id
        if record_id not in header:
            self.fail(1, record_id, f"the header lacks the record id field {record_id} (the "
                                    f"data dictionary's first field); it begins with "
                                    f"{', '.join(header[:3]) or 'nothing'}")
        for column in sorted(self.plan.columns - set(header)):
            self.fail(1, column, "is read by the mapping but is not a column of the records "
                                 "file; export it with the records")
        repeated = sorted({c for c in header if header.count(c) > 1})
        for column in repeated:
            self.fail(1, column, "appears more than once in the header")
        known = self._known()
        for column in header:
            if column in STRUCTURAL or column in self.plan.columns or column == record_id:
                continue
            spec = self.dictionary.fields.get(known.get(column, ""))
            if (spec is not None and spec.identifier) or looks_identifying(column):
                self.fail(1, column, "carries a direct identifier (marked in the data "
                                     "dictionary, or named like one); alsrwe keeps pseudonymous "
                                     "data only — export the records de-identified",
                          IDENTIFYING_COLUMN)
            elif column not in known or known[column]:
                self.ignored.append(column)
        self.longitudinal = EVENT in header
        if not self.longitudinal and self.plan.repeating_events:
            self.fail(1, EVENT, "is missing: mapping key project.repeating_events names events, "
                                "but the records come from a project without events")
        return not self.problems

    def _place(self, line: int, cells: dict[str, str]) -> RecordRow | None:
        """The row's place (record, event, repeat), or None after naming what is wrong."""
        record = cells.get(self.plan.record_id, "").strip()
        event = cells.get(EVENT, "").strip()
        instrument = cells.get(INSTRUMENT, "").strip()
        instance = cells.get(INSTANCE, "").strip()
        before = len(self.problems)
        if not record:
            self.fail(line, self.plan.record_id, "is empty: every row needs its record id")
        if self.longitudinal and not event:
            self.fail(line, EVENT, "is empty: every row of a longitudinal project names its "
                                   "event")
        if instrument and instrument not in self.dictionary.forms:
            self.fail(line, INSTRUMENT, f"'{instrument}' is not an instrument of the data "
                                        "dictionary")
        if instance and not (instance.isdigit() and int(instance) > 0):
            self.fail(line, INSTANCE, f"'{instance}' is not a repeat instance (1, 2, …)")
        elif instrument and not instance:
            self.fail(line, INSTANCE, f"is empty, but the row is of the repeating instrument "
                                      f"{instrument}: give its instance (1, 2, …)")
        elif instance and not instrument and event not in self.plan.repeating_events:
            allowed = ", ".join(sorted(self.plan.repeating_events)) or "none"
            self.fail(line, INSTRUMENT, f"is empty, but the row has repeat instance {instance}: "
                                        f"name its repeating instrument (only the rows of a "
                                        f"repeating event have an instance and no instrument; "
                                        f"mapping key project.repeating_events lists {allowed})")
        if len(self.problems) > before:
            return None
        return RecordRow(line, record, event, instrument, instance, cells)

    def rows(self) -> Iterator[RecordRow]:
        """Every well-placed row; problems are collected in :attr:`problems`."""
        try:
            with open_text(self.path) as handle:
                yield from self._rows(csv.reader(handle, strict=True))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
            self.fail(None, None, f"cannot be read: {reason}")

    def _rows(self, reader: Iterator[list[str]]) -> Iterator[RecordRow]:
        header = [name.strip() for name in next(reader, [])]
        if not self._header(header):
            return
        done, line = 0, 1
        for values in reader:
            start, line = line + 1, getattr(reader, "line_num", line + 1)
            if not any(v.strip() for v in values):
                continue
            done += 1
            if done % PROGRESS_EVERY == 0:
                self.progress(self.file, done, None)
            if len(values) != len(header):
                self.fail(start, None, f"has {len(values)} cells, the header has {len(header)}")
                continue
            placed = self._place(start, dict(zip(header, values, strict=True)))
            if placed is not None:
                yield placed
        self.progress(self.file, done, done)


__all__ = ["EVENT", "INSTANCE", "INSTRUMENT", "STRUCTURAL", "RecordRow", "RecordsFile"]
