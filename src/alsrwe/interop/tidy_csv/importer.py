"""Import of a tidy CSV folder (docs/data-format.md): read, judge, write — or refuse it whole.

The reader (:mod:`.files`, :mod:`.rows`) turns the folder into the domain's records and the
problems met reading them; the store's write path (:func:`alsrwe.store.writes.write_batch`)
judges the batch with the rulebook and writes all of it in one transaction with one audit
entry — or, when anything is wrong, raises every problem together and writes nothing.
:func:`check_tidy_dir` runs the same reader and rulebook without a registry
(``alsrwe analyze --csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from alsrwe.domain.errors import InvalidInput, Problem, raise_problems
from alsrwe.domain.plausibility import (
    DEFAULT_SETTINGS,
    Batch,
    PlausibilitySettings,
    check_batch,
)
from alsrwe.domain.tidy_format import FILENAMES, TABLES, TABLES_BY_NAME
from alsrwe.interop.progress import NO_PROGRESS, Progress
from alsrwe.interop.tidy_csv.digest import folder_digest
from alsrwe.interop.tidy_csv.files import RawFolder, ignored_columns, read_folder
from alsrwe.interop.tidy_csv.manifest import exported_at
from alsrwe.interop.tidy_csv.rows import TextRow, batch_of, batch_of_rows
from alsrwe.store.db import unit_of_work
from alsrwe.store.writes import UnchangedImport, earlier_import, record_if_unchanged
from alsrwe.store.writes.imports import ImportSource, judge_batch, write_batch


@dataclass(slots=True)
class ImportReport:
    """What an import did: (inserted, updated, unchanged) per file, columns it ignored, and
    how many plausibility warnings were confirmed (by the earlier import, for an unchanged
    re-import)."""

    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    confirmed_warnings: int = 0
    unchanged_since: int | None = None
    """The earlier import this one repeated, when its files, options and the registry were
    unchanged since (nothing was read or written)."""


def _folder(directory: Path) -> Path:
    if not directory.is_dir():
        raise InvalidInput([Problem(None, "is not a folder", file=str(directory))])
    return directory


def _read(directory: Path, today: date, progress: Progress = NO_PROGRESS,
          ) -> tuple[RawFolder, Batch, list[Problem]]:
    folder = read_folder(_folder(directory), progress)
    if not folder.tables and not folder.problems:
        raise InvalidInput([Problem(None, f"holds none of the tidy CSV files "
                                          f"({', '.join(FILENAMES)})", file=str(directory))])
    batch, problems = batch_of(folder, today)
    return folder, batch, problems


def _record_if_unchanged(engine: Engine, directory: Path, digest: str,
                         actor: str) -> UnchangedImport | None:
    """Asked in a read-only transaction first: the write lock is taken only to record a
    repeat (and the fingerprint compared again under it)."""
    with unit_of_work(engine, read_only=True) as session:
        if earlier_import(session, digest) is None:
            return None
    files = {spec.name: spec.filename for spec in TABLES if (directory / spec.filename).exists()}
    with unit_of_work(engine) as session:
        return record_if_unchanged(session, digest, actor=actor, source=str(directory),
                                   files=files)


def import_tidy(engine: Engine, directory: Path, *, today: date, actor: str = "alsrwe import",
                accept_warnings: bool = False, overwrite_newer: bool = False,
                settings: PlausibilitySettings = DEFAULT_SETTINGS,
                progress: Progress = NO_PROGRESS) -> ImportReport:
    """Validate and import a folder of tidy CSV files in one transaction.

    ``accept_warnings`` confirms every plausibility warning (``--accept-warnings``); without
    it a warning passes only when its row lists its code in ``confirmed_warnings``. A folder
    that ``alsrwe export`` wrote refuses every row that would overwrite a change made after
    the export, unless ``overwrite_newer`` (``--overwrite-newer``). A re-import of the same
    files with the same options into a registry unchanged since is recognised by its
    fingerprint and recorded without reading the rows (:mod:`alsrwe.store.writes.reimport`).
    """
    digest = folder_digest(directory, today=today, accept_warnings=accept_warnings,
                           overwrite_newer=overwrite_newer, settings=settings)
    if digest is not None:
        unchanged = _record_if_unchanged(engine, directory, digest, actor)
        if unchanged is not None:
            progress(f"unchanged since import {unchanged.same_as}", 1, 1)
            return ImportReport(unchanged.counts, ignored_columns(directory),
                                unchanged.confirmed_warnings, unchanged_since=unchanged.same_as)
    folder, batch, problems = _read(directory, today, progress)
    files = {name: TABLES_BY_NAME[name].filename for name in folder.tables}
    source = ImportSource(str(directory), files, exported_at(directory), overwrite_newer, digest)
    report = write_import(engine, batch, problems, source=source, today=today, actor=actor,
                          accept_warnings=accept_warnings, settings=settings, progress=progress)
    report.ignored_columns = folder.ignored_columns
    return report


WRITING = "checking and writing the records"
"""The progress label of an import's last step (the rulebook, then the write), after its files
are read."""


def write_import(engine: Engine, batch: Batch, problems: Sequence[Problem], *,
                 source: ImportSource, today: date, actor: str, accept_warnings: bool = False,
                 settings: PlausibilitySettings = DEFAULT_SETTINGS,
                 progress: Progress = NO_PROGRESS) -> ImportReport:
    """Judge a reader's batch with the rulebook and write it in one transaction, or raise
    every problem (the reader's first) and write nothing: every format's last step."""
    records = len(batch.patients) + sum(len(rows) for rows in batch.records.values())
    progress(WRITING, 0, records)
    with unit_of_work(engine, read_only=True) as session:  # judged before the write lock
        judged = judge_batch(session, batch, today=today, read_problems=problems,
                             accept_warnings=accept_warnings, settings=settings)
    with unit_of_work(engine) as session:
        written = write_batch(session, batch, actor=actor, today=today, source=source,
                              read_problems=problems, accept_warnings=accept_warnings,
                              settings=settings, judged=judged)
    progress(WRITING, records, records)
    return ImportReport(written.counts, {}, written.confirmed_warnings)


def import_text_rows(engine: Engine, tables: Mapping[str, Iterable[TextRow]],
                     problems: Sequence[Problem] = (), *, source: ImportSource, today: date,
                     actor: str, accept_warnings: bool = False,
                     settings: PlausibilitySettings = DEFAULT_SETTINGS,
                     progress: Progress = NO_PROGRESS) -> ImportReport:
    """Build, judge and write the text rows a reader produced (FHIR, REDCap, OMOP)."""
    batch, found = batch_of_rows(tables, today, problems)
    return write_import(engine, batch, found, source=source, today=today, actor=actor,
                        accept_warnings=accept_warnings, settings=settings, progress=progress)


def check_text_rows(tables: Mapping[str, Iterable[TextRow]], problems: Sequence[Problem] = (),
                    *, today: date, accept_warnings: bool = False,
                    settings: PlausibilitySettings = DEFAULT_SETTINGS) -> Batch:
    """Build and judge text rows by themselves (no registry); raise their problems."""
    batch, found = batch_of_rows(tables, today, problems)
    check = check_batch(batch, {}, {}, today=today, settings=settings,
                        accept_warnings=accept_warnings)
    raise_problems([*found, *check.problems])
    return batch


def check_tidy_dir(directory: Path, *, today: date, accept_warnings: bool = False,
                   settings: PlausibilitySettings = DEFAULT_SETTINGS) -> None:
    """Judge a tidy CSV folder by itself (no registry) as an import would; raise its problems."""
    _, batch, problems = _read(directory, today)
    check = check_batch(batch, {}, {}, today=today, settings=settings,
                        accept_warnings=accept_warnings)
    raise_problems([*problems, *check.problems])


def write_frames(tables: dict[str, pd.DataFrame], directory: Path) -> None:
    """Write data frames (e.g. a synthetic cohort) as tidy CSV files, ISO dates."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False, date_format="%Y-%m-%d")


__all__ = ["ImportReport", "check_text_rows", "check_tidy_dir", "import_text_rows", "import_tidy",
           "write_frames", "write_import"]
