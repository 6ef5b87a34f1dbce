"""Reading tidy CSV rows into the domain's records, every problem kept with its place.

Each ``_<table>`` reads one row's cells through a :class:`RowReader` (the tidy format's cell
syntax, :mod:`alsrwe.domain.cells`), which records a Problem for every cell that breaks a rule
and carries on, then hands the typed values to the record's builder in
:mod:`alsrwe.domain.records`, whose rules are every edge's. The result is a
:class:`~alsrwe.domain.plausibility.Batch` for the write path (or for ``analyze --csv``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from alsrwe.domain import cells
from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.errors import DomainError, Problem
from alsrwe.domain.plausibility import SOFT_CODES, Batch, Row
from alsrwe.domain.records import (
    Entry,
    administration_entry,
    adverse_event_entry,
    alsfrs_entry,
    measurement_entry,
    medication_entry,
    milestone_entry,
    patient_entry,
)
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS, restore_formula, split_warnings
from alsrwe.interop.tidy_csv.files import RawFolder, RawTable

T = TypeVar("T")


MEMO_CELLS = 65_536
"""Distinct cells a batch remembers the parsing of before it forgets them all (bounded
memory: about 10 MB)."""


@dataclass(frozen=True, slots=True)
class _Broken:
    """The rule a remembered cell broke."""

    rule: str
    code: str


class CellMemo(dict[tuple[Any, ...], Any]):
    """Parsed cells by (parser, text, options), shared by the rows of a batch.

    A registry's files repeat the same pseudonyms, dates, kinds, units and ratings on row
    after row; the cell parsers (:mod:`alsrwe.domain.cells`) are pure and return immutable
    values, so each distinct cell is parsed once and its value, or the rule it broke, is the
    one parsing it again would give.
    """

    def remember(self, key: tuple[Any, ...], value: Any) -> None:
        if len(self) >= MEMO_CELLS:
            self.clear()
        self[key] = value


_UNSEEN = object()


@dataclass(slots=True)
class RowReader:
    """Reads the cells of one row, turning each broken rule into a placed Problem."""

    file: str
    line: int | None
    row: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    memo: CellMemo = field(default_factory=CellMemo)

    def cell(self, column: str, parse: Callable[..., T | None], *args: Any,
             **kwargs: Any) -> T | None:
        raw = self.row.get(column, "")
        key = (parse, raw, args, *kwargs.items())
        found = self.memo.get(key, _UNSEEN)
        if found is _UNSEEN:
            try:
                found = parse(restore_formula(raw), *args, **kwargs)
            except DomainError as error:
                found = _Broken(error.rule, error.code)
            self.memo.remember(key, found)
        if type(found) is _Broken:
            self.fail(column, found.rule, found.code)
            return None
        return cast(T | None, found)

    def build(self, column: str, builder: Callable[..., T], **values: Any) -> T | None:
        """Build the record; a domain error names its field when it is one of the row's
        columns, else ``column``."""
        if self.problems:
            return None
        try:
            return builder(**values)
        except DomainError as error:
            self.fail(error.field if error.field in self.row else column, error.rule,
                      error.code)
        return None

    def confirmed(self) -> frozenset[str]:
        """The warning codes the row's ``confirmed_warnings`` cell lists (unknown codes fail)."""
        if not self.row.get(CONFIRMED_WARNINGS):
            return frozenset()
        codes = split_warnings(self.cell(CONFIRMED_WARNINGS, cells.text, required=False) or "")
        unknown = sorted(set(codes) - SOFT_CODES)
        if unknown:
            self.fail(CONFIRMED_WARNINGS, f"{', '.join(unknown)}: not a warning that can be "
                                          f"confirmed; use {', '.join(sorted(SOFT_CODES))}")
        return frozenset(codes)

    def fail(self, column: str | None, rule: str, code: str = "") -> None:
        self.problems.append(Problem(column, rule, code, file=self.file, row=self.line))


def _text(r: RowReader, column: str) -> str | None:
    return r.cell(column, cells.text, required=False)


def _patient(r: RowReader, today: date) -> Entry | None:
    return r.build(
        "status", patient_entry,
        patient_id=r.cell("patient_id", cells.text), site=r.cell("site", cells.text),
        sex=r.cell("sex", cells.text), birth_year=r.cell("birth_year", cells.integer),
        status=r.cell("status", cells.text), sod1_variant=r.cell("sod1_variant", cells.text),
        zygosity=r.cell("zygosity", cells.text), current_year=today.year,
        onset_date=r.cell("onset_date", cells.iso_date, required=False),
        onset_region=_text(r, "onset_region"),
        diagnosis_date=r.cell("diagnosis_date", cells.iso_date, required=False),
        site_name=_text(r, "site_name"),
    )


def _alsfrs(r: RowReader, today: date) -> Entry | None:
    items = [r.cell(q, cells.integer) for q in ITEM_COLUMNS]
    return r.build("q5", alsfrs_entry, date=r.cell("date", cells.iso_date), items=items,
                   gastrostomy=r.cell("gastrostomy", cells.flag),
                   source=r.cell("source", cells.text))


def _measurement(r: RowReader, today: date) -> Entry | None:
    return r.build("value", measurement_entry, date=r.cell("date", cells.iso_date),
                   kind=r.cell("kind", cells.text), value=r.cell("value", cells.number),
                   unit=r.cell("unit", cells.text), assay=_text(r, "assay"), lab=_text(r, "lab"))


def _administration(r: RowReader, today: date) -> Entry | None:
    return r.build("status", administration_entry, date=r.cell("date", cells.iso_date),
                   drug=r.cell("drug", cells.text), status=r.cell("status", cells.text),
                   dose_mg=r.cell("dose_mg", cells.number, required=False), lot=_text(r, "lot"),
                   csf_removed_ml=r.cell("csf_removed_ml", cells.number, required=False))


def _medication(r: RowReader, today: date) -> Entry | None:
    return r.build("drug", medication_entry, drug=r.cell("drug", cells.text),
                   start_date=r.cell("start_date", cells.iso_date),
                   stop_date=r.cell("stop_date", cells.iso_date, required=False))


def _adverse_event(r: RowReader, today: date) -> Entry | None:
    return r.build(
        "term", adverse_event_entry, onset_date=r.cell("onset_date", cells.iso_date),
        term=r.cell("term", cells.text), grade=r.cell("grade", cells.integer),
        serious=r.cell("serious", cells.flag), related=r.cell("related", cells.flag),
        outcome=r.cell("outcome", cells.text),
        resolved_date=r.cell("resolved_date", cells.iso_date, required=False),
        term_text=_text(r, "term_text"), action=_text(r, "action"),
    )


def _milestone(r: RowReader, today: date) -> Entry | None:
    return r.build("kind", milestone_entry, kind=r.cell("kind", cells.text),
                   date=r.cell("date", cells.iso_date))


ROW_READERS: dict[str, Callable[[RowReader, date], Entry | None]] = {
    "patients": _patient, "alsfrs": _alsfrs, "measurements": _measurement,
    "administrations": _administration, "medications": _medication,
    "adverse_events": _adverse_event, "milestones": _milestone,
}


@dataclass(frozen=True, slots=True)
class TextRow:
    """One record as text cells in the tidy format's columns, and where it was read.

    Every reader (tidy CSV, FHIR, REDCap, OMOP) hands its records over in this shape, so
    that one builder and one rulebook judge them all: the same bad value gets the same rule
    whichever format brought it. ``file`` names the file (and, for FHIR, the resource);
    ``line`` is the CSV line, or the entry's number in a Bundle.
    """

    file: str
    line: int | None
    values: dict[str, str]


def batch_of_rows(tables: Mapping[str, Iterable[TextRow]], today: date,
                  problems: Iterable[Problem] = ()) -> tuple[Batch, list[Problem]]:
    """The records of every text row, as a batch, and every problem met building them."""
    batch, found, memo = Batch(), list(problems), CellMemo()
    for name, rows in tables.items():
        read = ROW_READERS[name]
        kept: list[Row[Any]] = []
        for text in rows:
            values = text.values
            reader = RowReader(text.file, text.line, values, memo=memo)
            if name == "patients":
                batch.listed.add(restore_formula(values.get("patient_id", "").strip()))
            pseudonym = reader.cell("patient_id", cells.text) or ""
            confirmed = reader.confirmed()
            entry = read(reader, today)
            found += reader.problems
            if entry is not None and not reader.problems:
                kept.append(Row(entry, pseudonym, text.file, text.line, confirmed))
        if name == "patients":
            batch.patients.extend(kept)
        else:
            batch.records.setdefault(name, []).extend(kept)
    return batch, found


def _consumed(table: RawTable) -> Iterator[TextRow]:
    """The table's rows as text rows, each let go of once built (the folder's text need not
    stay in memory beside the records built from it)."""
    rows, table.rows = table.rows, []
    rows.reverse()
    while rows:
        line, values = rows.pop()
        yield TextRow(table.spec.filename, line, values)


def batch_of(folder: RawFolder, today: date) -> tuple[Batch, list[Problem]]:
    """The records of every row of a tidy CSV folder, as a batch, and every problem met.
    The folder's rows are consumed."""
    tables = {name: _consumed(table) for name, table in folder.tables.items()}
    return batch_of_rows(tables, today, folder.problems)


__all__ = ["ROW_READERS", "CellMemo", "RowReader", "TextRow", "batch_of", "batch_of_rows"]
