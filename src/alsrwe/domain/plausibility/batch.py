"""The rulebook over a whole import: every row against the others and against the registry.

An import (tidy CSV today; FHIR, REDCap and OMOP readers later) hands a :class:`Batch` of
built records, each placed in its file and row. Besides the rules of each record
(:func:`alsrwe.domain.plausibility.record_problems`, judged against the patient's history
merged with the import), an import has rules of its own: a natural key given twice, a child
row whose patient is neither imported nor registered, a pseudonym that clashes in letter
case, and each patient's milestones taken together. Every problem is collected and placed,
so a data manager fixing a spreadsheet sees the whole list at once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from alsrwe.domain.errors import DomainError, Problem
from alsrwe.domain.events import validate_milestones
from alsrwe.domain.plausibility.history import PatientHistory, merged_history
from alsrwe.domain.plausibility.identity import pseudonym_key, pseudonym_problems
from alsrwe.domain.plausibility.rules import (
    DUPLICATE_ROW,
    UNKNOWN_PATIENT,
    check_patient,
    record_problems,
    settle,
)
from alsrwe.domain.plausibility.settings import DEFAULT_SETTINGS, PlausibilitySettings
from alsrwe.domain.records import MilestoneEntry, PatientEntry, RecordEntry, entry_key
from alsrwe.domain.tidy_format import TABLES_BY_NAME

E = TypeVar("E", PatientEntry, RecordEntry)


@dataclass(frozen=True, slots=True)
class Row(Generic[E]):
    """A built record with the patient it belongs to, where it was read, and the warning
    codes its row confirms (the ``confirmed_warnings`` column)."""

    entry: E
    pseudonym: str
    file: str | None = None
    line: int | None = None
    confirmed: frozenset[str] = frozenset()


@dataclass(slots=True)
class Batch:
    """An import: patient rows and record rows by table (in file order).

    ``listed`` holds the pseudonym of every patient row read, also of rows that failed to
    build, so that their records are not reported again as belonging to no patient.
    """

    patients: list[Row[PatientEntry]] = field(default_factory=list)
    records: dict[str, list[Row[RecordEntry]]] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)

    def pseudonyms(self) -> set[str]:
        return {row.pseudonym for row in self.patients} | {
            row.pseudonym for rows in self.records.values() for row in rows}


@dataclass(slots=True)
class BatchCheck:
    """What the rulebook found: ``problems`` stop the import (hard, or soft and unconfirmed);
    ``confirmed[(table, index)]`` are the soft ones confirmed for that row, to store with it."""

    problems: list[Problem] = field(default_factory=list)
    confirmed: dict[tuple[str, int], tuple[Problem, ...]] = field(default_factory=dict)


def _key_columns(table: str) -> str:
    return ", ".join(TABLES_BY_NAME[table].key)


def _duplicates(table: str, rows: Sequence[Row[Any]]) -> list[Problem]:
    seen: dict[tuple[Any, ...], int | None] = {}
    problems = []
    for row in rows:
        key = (pseudonym_key(row.pseudonym),) + (
            () if isinstance(row.entry, PatientEntry) else entry_key(row.entry))
        if key in seen:
            problems.append(Problem(TABLES_BY_NAME[table].key[-1],
                                    f"repeats ({_key_columns(table)}) of row {seen[key]}",
                                    DUPLICATE_ROW, file=row.file, row=row.line))
        else:
            seen[key] = row.line
    return problems


def _offending(rows: Sequence[Row[RecordEntry]], rule: str) -> Row[RecordEntry]:
    """The row whose milestone kind the domain's message names, else the last."""
    for row in rows:
        assert isinstance(row.entry, MilestoneEntry)
        if str(row.entry.milestone.kind) in rule.split(" on ")[0]:
            return row
    return rows[-1]


def _milestone_order(rows: Sequence[Row[RecordEntry]],
                     history: PatientHistory) -> list[Problem]:
    """The patient's milestones, registered and imported, judged together."""
    try:
        validate_milestones(history.milestones, onset=history.onset)
    except DomainError as error:
        row = _offending(rows, error.rule)
        return [Problem(error.field, error.rule, error.code, file=row.file, row=row.line)]
    return []


def _settled(check: BatchCheck, key: tuple[str, int], row: Row[Any],
             problems: list[Problem], accept_warnings: bool) -> None:
    stopping, accepted = settle(problems, row.confirmed, accept_all=accept_warnings)
    check.problems += [p.at(row.file, row.line) for p in stopping]
    if accepted:
        check.confirmed[key] = tuple(p.at(row.file, row.line) for p in accepted)


def check_batch(
    batch: Batch,
    registered: Mapping[str, PatientHistory],
    registered_keys: Mapping[str, str],
    *,
    today: dt.date,
    settings: PlausibilitySettings = DEFAULT_SETTINGS,
    accept_warnings: bool = False,
) -> BatchCheck:
    """Judge an import. ``registered`` holds the histories of the registered patients the
    import names; ``registered_keys`` maps :func:`pseudonym_key` → spelling for every
    registered pseudonym (for the letter-case rule)."""
    check = BatchCheck()
    check.problems += _duplicates("patients", batch.patients)
    for table, rows in batch.records.items():
        check.problems += _duplicates(table, rows)
    imported = {row.pseudonym: row.entry for row in batch.patients}
    seen_keys = dict(registered_keys)
    for index, patient_row in enumerate(batch.patients):
        pid = patient_row.pseudonym
        problems = pseudonym_problems(pid, seen_keys)
        seen_keys.setdefault(pseudonym_key(pid), pid)
        problems += check_patient(patient_row.entry, registered.get(pid), today=today)
        _settled(check, ("patients", index), patient_row, problems, accept_warnings)
    known = set(registered) | batch.listed | set(imported)
    by_patient: dict[str, list[RecordEntry]] = defaultdict(list)
    for rows in batch.records.values():
        for row in rows:
            by_patient[row.pseudonym].append(row.entry)
    histories = {pid: merged_history(pid, registered.get(pid), imported.get(pid), entries)
                 for pid, entries in by_patient.items() if pid in known}
    for table, rows in batch.records.items():
        for index, row in enumerate(rows):
            if row.pseudonym not in known:
                clash = pseudonym_problems(row.pseudonym, registered_keys)
                check.problems += [p.at(row.file, row.line) for p in clash] or [Problem(
                    "patient_id", f"'{row.pseudonym}' is neither in patients.csv nor in the "
                    "registry", UNKNOWN_PATIENT, file=row.file, row=row.line)]
                continue
            history = histories[row.pseudonym]
            problems = record_problems(row.entry, history, today=today, settings=settings)
            _settled(check, (table, index), row, problems, accept_warnings)
    milestones: dict[str, list[Row[RecordEntry]]] = defaultdict(list)
    for row in batch.records.get("milestones", []):
        if row.pseudonym in histories:
            milestones[row.pseudonym].append(row)
    for pid, rows in milestones.items():
        check.problems += _milestone_order(rows, histories[pid])
    return check


__all__ = ["Batch", "BatchCheck", "Row", "check_batch"]
