"""Import and export of the tidy CSV format (docs/data-format.md).

Import reads every file, validates every row and the rules across rows, and then writes all
of it in one transaction with one audit entry — or, when anything is wrong, raises
:class:`ImportRejected` with the full list of problems and writes nothing.
Export writes exactly the format import reads, so export → import → export is the identity.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import Progress
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alsrwe.interop.problems import ImportRejected, Problem
from alsrwe.interop.tidy_schema import TABLES, TableSpec, looks_identifying
from alsrwe.interop.tidy_timeline import PatientDates
from alsrwe.interop.tidy_validate import RawTable, Record, validate
from alsrwe.store import models
from alsrwe.store.bulk import upsert
from alsrwe.store.db import unit_of_work
from alsrwe.store.queries import record_audit

MODELS: dict[str, type[models.Base]] = {
    "alsfrs": models.AlsfrsAssessment,
    "measurements": models.Measurement,
    "administrations": models.Administration,
    "medications": models.Medication,
    "adverse_events": models.AdverseEvent,
    "milestones": models.Milestone,
}
"""Child tables by file name; patients and sites are written first, by their own step."""


@dataclass(slots=True)
class ImportReport:
    """What an import did: (inserted, updated, unchanged) per file, columns it ignored."""

    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)


def read_tidy_dir(
    directory: Path,
) -> tuple[dict[str, RawTable], list[Problem], dict[str, list[str]]]:
    """Read the files present in ``directory`` as text; check headers before any row."""
    raw: dict[str, RawTable] = {}
    problems: list[Problem] = []
    ignored: dict[str, list[str]] = {}
    for spec in TABLES:
        path = directory / spec.filename
        if not path.exists():
            continue
        try:
            header, rows, ragged = _read_file(path)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            problems.append(Problem(spec.filename, None, None, f"cannot be read: {_reason(error)}"))
            continue
        header_problems = _check_header(spec, header)
        problems.extend(header_problems)
        if header_problems:
            continue
        problems.extend(Problem(spec.filename, line, None,
                                f"has {width} cells, the header has {len(header)}")
                        for line, width in ragged)
        extra = [name for name in header if name not in spec.columns]
        if extra:
            ignored[spec.name] = extra
        raw[spec.name] = RawTable(spec, header, rows)
    return raw, problems, ignored


def _read_file(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]],
                                    list[tuple[int, int]]]:
    """Header, non-empty rows (with line numbers) and rows whose width differs from it."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        header = [name.strip() for name in next(reader, [])]
        rows, ragged = [], []
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                ragged.append((line, len(values)))
            rows.append((line, dict(zip(header, values, strict=False))))
    return header, rows, ragged


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.object[error.start]:#x} at position {error.start})"
    if isinstance(error, IsADirectoryError):
        return "is a folder, not a file"
    return str(error)


def _check_header(spec: TableSpec, header: Sequence[str]) -> list[Problem]:
    problems = [Problem(spec.filename, 1, name, "is a required column and is missing")
                for name in spec.required if name not in header]
    problems += [Problem(spec.filename, 1, name, "looks like a direct identifier; alsrwe keeps "
                         "pseudonymous data only — remove the column")
                 for name in header if looks_identifying(name, spec.columns)]
    duplicated = {name for name in header if header.count(name) > 1}
    problems += [Problem(spec.filename, 1, name, "appears more than once in the header")
                 for name in sorted(duplicated)]
    return problems


def import_tidy(engine: Engine, directory: Path, *, today: date, progress: bool = False,
                actor: str = "alsrwe import") -> ImportReport:
    """Validate and import a folder of tidy CSV files in one transaction."""
    raw, problems, ignored = read_tidy_dir(directory)
    if not raw and not problems:
        raise ImportRejected([Problem(str(directory), None, None,
                                      "holds none of the tidy CSV files (patients.csv, …)")])
    with unit_of_work(engine) as session:
        checked = validate(raw, today, registered_timelines(session))
        problems.extend(checked.problems)
        if problems:
            raise ImportRejected(problems)
        report = ImportReport(ignored_columns=ignored)
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("importing", total=len(checked.records))
            _write_patients(session, checked.records.get("patients", []), report)
            bar.advance(task)
            ids = dict(session.execute(select(models.Patient.pseudonym, models.Patient.id)).all())
            for name, model in MODELS.items():
                if name in checked.records:
                    rows = [_with_patient_id(rec, ids) for rec in checked.records[name]]
                    key = next(spec.key for spec in TABLES if spec.name == name)
                    key = tuple("patient_id" if col == "patient_id" else col for col in key)
                    counts = upsert(session, model, rows, key)
                    report.counts[name] = (counts.inserted, counts.updated, counts.unchanged)
                bar.advance(task)
        record_audit(session, actor=actor, action="import", entity="tidy_csv",
                     detail={"directory": str(directory), "counts": report.counts})
    return report


def registered_timelines(session: Session) -> dict[str, PatientDates]:
    """Every registered patient's onset and death date (for the cross-file rules)."""
    deaths = dict(session.execute(
        select(models.Patient.pseudonym, models.Milestone.date)
        .join(models.Milestone, models.Milestone.patient_id == models.Patient.id)
        .where(models.Milestone.kind == "death")).all())
    return {pid: PatientDates(onset, deaths.get(pid)) for pid, onset in session.execute(
        select(models.Patient.pseudonym, models.Patient.onset_date)).all()}


def _with_patient_id(record: Record, ids: dict[str, int]) -> dict[str, Any]:
    row = {name: value for name, value in record.items() if name != "pseudonym"}
    row["patient_id"] = ids[record["pseudonym"]]
    return row


def _write_patients(session: Session, records: list[Record], report: ImportReport) -> None:
    if not records:
        return
    names: dict[str, str | None] = {}
    for rec in records:
        if rec["site_name"] or rec["site"] not in names:
            names[rec["site"]] = rec["site_name"]
    sites = [{"code": code, "name": name} for code, name in names.items()]
    existing = dict(session.execute(select(models.Site.code, models.Site.name)).all())
    sites = [s for s in sites if s["code"] not in existing or (s["name"] and
             existing[s["code"]] != s["name"])]
    upsert(session, models.Site, sites, ("code",))
    site_ids = dict(session.execute(select(models.Site.code, models.Site.id)).all())
    rows = [{**{k: v for k, v in rec.items() if k not in ("site", "site_name")},
             "site_id": site_ids[rec["site"]]} for rec in records]
    counts = upsert(session, models.Patient, rows, ("pseudonym",))
    report.counts["patients"] = (counts.inserted, counts.updated, counts.unchanged)


def write_frames(tables: dict[str, pd.DataFrame], directory: Path) -> None:
    """Write data frames (e.g. a synthetic cohort) as tidy CSV files, ISO dates."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False, date_format="%Y-%m-%d")


def export_tidy(engine: Engine, directory: Path) -> dict[str, int]:
    """Write the whole registry as tidy CSV files; returns the rows written per file."""
    from alsrwe.interop.tidy_export import export_rows

    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with unit_of_work(engine, read_only=True) as session:
        for spec, rows in export_rows(session):
            with (directory / spec.filename).open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(spec.columns)
                for row in rows:
                    writer.writerow(row)
                counts[spec.name] = len(rows)
    return counts
