"""Import of a REDCap project export: dictionary, mapping, records → the one write path.

The order is the order in which things can go wrong: the data dictionary is read, the
mapping is loaded and checked against it (nothing else is read while the mapping is wrong),
then the records are streamed into tidy text rows, which
:func:`~alsrwe.interop.tidy_csv.importer.import_text_rows` builds, judges with the rulebook
and writes in one transaction — or refuses whole. Every problem is then named in REDCap's
terms: the records file, its line, the field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from alsrwe.domain.errors import InvalidInput, Problem, raise_problems
from alsrwe.interop.progress import NO_PROGRESS, Progress
from alsrwe.interop.redcap.dictionary import DataDictionary, read_dictionary
from alsrwe.interop.redcap.folder import read_event_names, read_redcap_project
from alsrwe.interop.redcap.mapping import CLINIC_MAPPING, RedcapMapping, load_mapping
from alsrwe.interop.redcap.plan import Plan, compile_mapping
from alsrwe.interop.redcap.reader import RedcapRows, read_rows
from alsrwe.interop.redcap.records import RecordsFile
from alsrwe.interop.tidy_csv.importer import ImportReport, check_text_rows, import_text_rows
from alsrwe.store.writes.imports import ImportSource


def _load(dictionary: Path, mapping: Path, events: Path | None,
          ) -> tuple[DataDictionary, Plan]:
    """The dictionary and the compiled mapping, or every problem of both."""
    problems: list[Problem] = []
    found_dictionary: DataDictionary | None = None
    found_mapping: RedcapMapping | None = None
    try:
        found_dictionary = read_dictionary(dictionary)
    except InvalidInput as error:
        problems += error.problems
    try:
        found_mapping = load_mapping(mapping)
    except InvalidInput as error:
        problems += error.problems
    names = read_event_names(events) if events is not None else None
    if found_dictionary is None or found_mapping is None:
        raise InvalidInput(problems)
    plan, problems = compile_mapping(found_mapping, found_dictionary, mapping.name, names)
    if plan is None:
        raise InvalidInput(problems)
    return found_dictionary, plan


def read_redcap(dictionary: Path, records: Path, mapping: Path | None = None, *,
                events: Path | None = None, progress: Progress = NO_PROGRESS) -> RedcapRows:
    """Read a project export into tidy text rows and the problems met (nothing judged yet)."""
    found, plan = _load(dictionary, mapping or CLINIC_MAPPING, events)
    return read_rows(RecordsFile(records, found, plan, progress), plan)


def _report(rows: RedcapRows, report: ImportReport) -> ImportReport:
    if rows.ignored:
        report.ignored_columns = {rows.file: rows.ignored}
    return report


def import_redcap(engine: Engine, dictionary: Path, records: Path, mapping: Path | None = None,
                  *, today: date, actor: str = "alsrwe import", accept_warnings: bool = False,
                  progress: Progress = NO_PROGRESS, events: Path | None = None) -> ImportReport:
    """Validate and import a REDCap export (data dictionary + records, read through
    ``mapping``, by default the shipped clinic mapping) in one transaction, or raise every
    problem, named by file, line and REDCap field, and write nothing."""
    rows = read_redcap(dictionary, records, mapping, events=events, progress=progress)
    files = dict.fromkeys(rows.tables, rows.file)
    source = ImportSource(f"redcap:{records.resolve()}", files)
    try:
        report = import_text_rows(engine, rows.tables, rows.problems, source=source,
                                  today=today, actor=actor, accept_warnings=accept_warnings,
                                  progress=progress)
    except InvalidInput as error:
        raise_problems(rows.translated(error.problems))
        raise
    return _report(rows, report)


def import_redcap_folder(engine: Engine, folder: Path, *, today: date,
                         actor: str = "alsrwe import", accept_warnings: bool = False,
                         mapping: Path | None = None,
                         progress: Progress = NO_PROGRESS) -> ImportReport:
    """Import the project export in ``folder`` (files found as :mod:`.folder` says), read
    through ``mapping`` when given, else the folder's own or the shipped clinic mapping."""
    project = read_redcap_project(folder)
    return import_redcap(engine, project.dictionary, project.records, mapping or project.mapping,
                         today=today, actor=actor, accept_warnings=accept_warnings,
                         progress=progress, events=project.events)


def check_redcap_folder(folder: Path, *, today: date, accept_warnings: bool = False) -> None:
    """Judge the project export in ``folder`` by itself (no registry); raise its problems."""
    project = read_redcap_project(folder)
    rows = read_redcap(project.dictionary, project.records, project.mapping,
                       events=project.events)
    try:
        check_text_rows(rows.tables, rows.problems, today=today,
                        accept_warnings=accept_warnings)
    except InvalidInput as error:
        raise_problems(rows.translated(error.problems))
        raise


__all__ = ["check_redcap_folder", "import_redcap", "import_redcap_folder", "read_redcap"]
