"""Writing a REDCap project as files REDCap uploads: dictionary, events, records, mapping.

Shared by alsrwe's own export and the synthetic example project. A :class:`Layout` is the
project's design (fields, events with their instruments, repeating instruments); rows are
written in REDCap's own export layout: the record id, ``redcap_event_name``,
``redcap_repeat_instrument``, ``redcap_repeat_instance``, then each form's fields followed by
``{form}_complete`` (2 = Complete where the row holds the form's data, 0 where the form
belongs to the row but is empty, blank where it does not belong).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alsrwe.interop.progress import NO_PROGRESS, PROGRESS_EVERY, Progress
from alsrwe.interop.redcap.dictionary import DictionaryField, write_dictionary
from alsrwe.interop.redcap.records import EVENT, INSTANCE, INSTRUMENT

DICTIONARY_FILE = "data_dictionary.csv"
RECORDS_FILE = "records.csv"
EVENTS_FILE = "events.csv"
DESIGNATIONS_FILE = "instrument_designations.csv"
REPEATING_FILE = "repeating_instruments.csv"
COMPLETE = "2"
INCOMPLETE = "0"


@dataclass(frozen=True, slots=True)
class Event:
    """One event of arm 1; REDCap derives ``unique`` from ``name`` ("Visit 1" →
    ``visit_1_arm_1``), so names are chosen to give exactly the unique names written."""

    name: str
    unique: str
    forms: tuple[str, ...]
    repeating: bool = False
    arm: int = 1


@dataclass(slots=True)
class Layout:
    """A project design: fields in dictionary order, events, repeating (event, form)."""

    fields: list[DictionaryField]
    events: list[Event] = field(default_factory=list)
    repeating: list[tuple[str, str]] = field(default_factory=list)

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.form for f in self.fields))

    def form_columns(self, form: str) -> list[str]:
        return [c for f in self.fields if f.form == form for c in f.columns()]

    def header(self) -> list[str]:
        columns = [self.fields[0].name]
        if self.events:
            columns.append(EVENT)
        if self.repeating or any(e.repeating for e in self.events):
            columns += [INSTRUMENT, INSTANCE]
        for form in self.forms:
            columns += [c for c in self.form_columns(form) if c != self.fields[0].name]
            columns.append(f"{form}_complete")
        return columns


@dataclass(frozen=True, slots=True)
class Row:
    """One records row: its place and its cells by records column."""

    record: str
    event: str
    values: dict[str, str]
    instrument: str = ""
    instance: int | None = None


def _statuses(layout: Layout, row: Row) -> dict[str, str]:
    event = next((e for e in layout.events if e.unique == row.event), None)
    repeating = set(layout.repeating)
    statuses = {}
    for form in layout.forms:
        if row.instrument:
            carried = form == row.instrument
        elif event is None:
            carried = not any(f == form for _, f in layout.repeating)
        else:
            carried = form in event.forms and (event.unique, form) not in repeating
        filled = any(row.values.get(c) for c in layout.form_columns(form)
                     if c != layout.fields[0].name)
        statuses[f"{form}_complete"] = (COMPLETE if filled else INCOMPLETE) if carried else ""
    return statuses


def _write_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_records(path: Path, layout: Layout, rows: Iterable[Row],
                  progress: Progress = NO_PROGRESS) -> int:
    """The records CSV in REDCap's export layout; returns the rows written."""
    header = layout.header()
    record_id = layout.fields[0].name

    def cells() -> Iterator[list[str]]:
        done = 0
        for row in rows:
            values = {**row.values, **_statuses(layout, row), record_id: row.record,
                      EVENT: row.event, INSTRUMENT: row.instrument,
                      INSTANCE: "" if row.instance is None else str(row.instance)}
            yield [values.get(column, "") for column in header]
            done += 1
            if done % PROGRESS_EVERY == 0:
                progress(path.name, done, None)
        progress(path.name, done, done)

    return _write_csv(path, header, cells())


def write_layout(directory: Path, layout: Layout) -> None:
    """The dictionary and, for a longitudinal project, the events, designation and
    repeating-instrument files."""
    write_dictionary(directory / DICTIONARY_FILE, layout.fields)
    if not layout.events:
        return
    _write_csv(directory / EVENTS_FILE, ["event_name", "arm_num", "unique_event_name",
                                         "custom_event_label"],
               ([e.name, str(e.arm), e.unique, ""] for e in layout.events))
    _write_csv(directory / DESIGNATIONS_FILE, ["arm_num", "unique_event_name", "form"],
               ([str(e.arm), e.unique, form] for e in layout.events for form in e.forms))
    repeating = [[event, form, ""] for event, form in layout.repeating]
    repeating += [[e.unique, "", ""] for e in layout.events if e.repeating]
    if repeating:
        _write_csv(directory / REPEATING_FILE, ["event_name", "form_name", "custom_form_label"],
                   repeating)


__all__ = ["DICTIONARY_FILE", "DESIGNATIONS_FILE", "EVENTS_FILE", "REPEATING_FILE",
           "RECORDS_FILE", "Event", "Layout", "Row", "write_layout", "write_records"]
