"""Export the registry as FHIR R4, import FHIR into it: all of it in one transaction, or nothing.

Export reads the registry's tidy text tables (what a tidy CSV export writes), maps them to
validated resources and writes a transaction Bundle or NDJSON, audited as an export. Import
reads every resource, collects every problem of every resource, and hands the tidy rows to
the one write path (:func:`~alsrwe.interop.tidy_csv.importer.import_text_rows`) in one call:
the builder and the rulebook judge them as they judge a CSV row, and their problems come back
placed at the FHIR resource and element.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from alsrwe.domain.errors import InvalidInput, Problem, UnconfirmedWarnings
from alsrwe.interop.fhir.alsfrs import questionnaire
from alsrwe.interop.fhir.assemble import ResourceRows, locate
from alsrwe.interop.fhir.files import read_path, write_bundle, write_ndjson
from alsrwe.interop.fhir.reader import ResourceReader
from alsrwe.interop.fhir.writer import resources_for
from alsrwe.interop.progress import NO_PROGRESS, Progress
from alsrwe.interop.tidy_csv.export import text_tables
from alsrwe.interop.tidy_csv.importer import ImportReport, import_text_rows
from alsrwe.store.db import unit_of_work
from alsrwe.store.writes.disclosures import record_export
from alsrwe.store.writes.imports import ImportSource

IGNORED = "fhir"
"""The key of ``ImportReport.ignored_columns`` that lists the resources not recorded."""


def export_resources(engine: Engine) -> list[dict[str, Any]]:
    """The whole registry as validated resources, alsrwe's Questionnaire first."""
    with unit_of_work(engine, read_only=True) as session:
        tables = text_tables(session)
    return [questionnaire(), *resources_for(tables)]


def export_fhir(engine: Engine, directory: Path, *, actor: str = "alsrwe export",
                ndjson: bool = False, progress: Progress = NO_PROGRESS) -> dict[str, int]:
    """Write the registry as ``directory/bundle.json`` (a transaction Bundle with the
    Questionnaire) or one NDJSON file per resource type; audited. Returns resources per type."""
    resources = export_resources(engine)  # validated: nothing is written if one is refused
    directory.mkdir(parents=True, exist_ok=True)
    if ndjson:
        write_ndjson(resources, directory, progress)
    else:
        write_bundle(resources, directory, progress)
    counts = dict(sorted(Counter(r["resourceType"] for r in resources).items()))
    with unit_of_work(engine) as session:
        record_export(session, actor, "export", str(directory.resolve()), counts,
                      {"format": "fhir-ndjson" if ndjson else "fhir-bundle"})
    return counts


def ignored_report(ignored: Mapping[str, int]) -> dict[str, list[str]]:
    """Ignored resources as ``ImportReport.ignored_columns`` lists them:
    ``{"fhir": ["Encounter ×3", …]}``."""
    return {IGNORED: [f"{kind} ×{count}" for kind, count in ignored.items()]} if ignored else {}


def _raise_located(problems: Sequence[Problem]) -> None:
    if any(not p.soft for p in problems):
        raise InvalidInput(problems)
    raise UnconfirmedWarnings(problems)


def write_rows(engine: Engine, rows: ResourceRows, problems: Sequence[Problem],
               ignored: Mapping[str, int], *, source: str, today: date, actor: str,
               accept_warnings: bool = False, progress: Progress = NO_PROGRESS) -> ImportReport:
    """Hand what a FHIR reader read to the write path; its problems come back placed at the
    FHIR resource and element."""
    files = {table: ", ".join(sorted(names)) for table, names in rows.files.items()}
    try:
        report = import_text_rows(engine, rows, problems, source=ImportSource(source, files),
                                  today=today, actor=actor, accept_warnings=accept_warnings,
                                  progress=progress)
    except InvalidInput as error:
        _raise_located(locate(error.problems, rows, keep=problems))
        raise
    report.ignored_columns = ignored_report(ignored)
    return report


def import_fhir(engine: Engine, path: Path, *, today: date, actor: str = "alsrwe import",
                accept_warnings: bool = False, progress: Progress = NO_PROGRESS) -> ImportReport:
    """Import a Bundle, an NDJSON file or a folder of them in one transaction, or nothing.

    Every problem of every resource is reported together (file, resource, entry, element);
    resources of types alsrwe does not record are counted in the report, not refused.
    """
    reader = ResourceReader(progress)
    read_path(path, reader)
    rows, problems, ignored = reader.finish()
    if not rows and not problems:
        shown = f" (ignored: {', '.join(ignored_report(ignored)[IGNORED])})" if ignored else ""
        raise InvalidInput([Problem(None, f"holds no resource alsrwe records{shown}",
                                    file=str(path))])
    return write_rows(engine, rows, problems, ignored, source=str(path), today=today,
                      actor=actor, accept_warnings=accept_warnings, progress=progress)


def import_resources(engine: Engine, resources: Iterable[tuple[int | None, dict[str, Any]]], *,
                     file: str, today: date, actor: str, accept_warnings: bool = False,
                     known_patients: Mapping[str, str] | None = None) -> ImportReport:
    """Import resources already in memory (a POSTed resource or Bundle; see
    :func:`~.reader.rows_of_resources`) in one transaction, problems placed in FHIR."""
    reader = ResourceReader()
    for entry, resource in resources:
        reader.read(file, entry, resource)
    rows, problems, ignored = reader.finish(known_patients)
    return write_rows(engine, rows, problems, ignored, source=file, today=today, actor=actor,
                      accept_warnings=accept_warnings)


__all__ = ["IGNORED", "export_fhir", "export_resources", "ignored_report", "import_fhir",
           "import_resources", "write_rows"]
