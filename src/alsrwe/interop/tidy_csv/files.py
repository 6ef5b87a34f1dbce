"""Reading a folder of tidy CSV files as text: which files, their headers, their rows.

The folder may hold only the format's files, named exactly (``patients.csv`` … lower case):
a mis-cased name (``ALSFRS.csv``) or an unknown file (``notes.csv``) is a problem that names
it and lists the expected names, never a file silently left out. Only regular files are read
(no links, pipes or devices). Headers are checked before any row: required columns, columns
that look like direct identifiers (refused: alsrwe keeps pseudonymous data only), repeats.
"""

from __future__ import annotations

import csv
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alsrwe.domain.errors import Problem
from alsrwe.domain.plausibility.rules import IDENTIFYING_COLUMN
from alsrwe.domain.privacy import looks_identifying
from alsrwe.domain.tidy_format import FILENAMES, TABLES, TABLES_BY_NAME, TableSpec
from alsrwe.interop.input_files import bytes_read, checked_size, open_text
from alsrwe.interop.progress import NO_PROGRESS, PROGRESS_EVERY, Progress
from alsrwe.interop.tidy_csv.manifest import MANIFEST

_EXPECTED = ", ".join(FILENAMES)


@dataclass(slots=True)
class RawTable:
    """A file as read: its header and its non-empty rows as text, with their line numbers."""

    spec: TableSpec
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


@dataclass(slots=True)
class RawFolder:
    """The tables read, the problems met, and the extra columns that were ignored."""

    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)


def folder_problems(directory: Path) -> list[Problem]:
    """Every entry of the folder that is not one of the format's files."""
    problems = []
    by_lower = {name.lower(): name for name in FILENAMES}
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name == MANIFEST:
            continue  # hidden files (.DS_Store, editors' locks) and the export's manifest
        if name in FILENAMES:
            mode = entry.lstat().st_mode
            if stat.S_ISDIR(mode):
                problems.append(Problem(None, "cannot be read: is a folder, not a file",
                                        file=name))
            elif not stat.S_ISREG(mode):
                problems.append(Problem(None, "cannot be read: is not a regular file (a link, "
                                              "pipe or device); copy the file itself here",
                                        file=name))
            continue
        if name.lower() in by_lower:
            rule = f"is not named as the format requires: rename it to {by_lower[name.lower()]}"
        else:
            rule = f"is not a file of the tidy format; a folder holds only {_EXPECTED}"
        problems.append(Problem(None, rule, file=name))
    return problems


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.object[error.start]:#x} at position {error.start})"
    if isinstance(error, IsADirectoryError):
        return "is a folder, not a file"
    return str(error)


def _read_file(path: Path, progress: Progress = NO_PROGRESS,
               ) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[tuple[int, int]]]:
    """Header, non-empty rows (with line numbers) and rows whose width differs from it.

    Progress counts rows against a total estimated from the bytes read so far (exact at the
    end), so that a bar shows a rate and the time left from the first second."""
    size = checked_size(path)
    with open_text(path) as handle:
        reader = csv.reader(handle, strict=True)
        header = [name.strip() for name in next(reader, [])]
        rows, ragged = [], []
        for values in reader:
            line = reader.line_num
            if not "".join(values).strip():
                continue
            if len(values) != len(header):
                ragged.append((line, len(values)))
            rows.append((line, dict(zip(header, values, strict=False))))
            if len(rows) % PROGRESS_EVERY == 0:
                done = bytes_read(handle)
                progress(path.name, len(rows),
                         max(len(rows), round(len(rows) * size / done)) if done else None)
    progress(path.name, len(rows), len(rows))
    return header, rows, ragged


def _header_problems(spec: TableSpec, header: Sequence[str]) -> list[Problem]:
    problems = [Problem(name, "is a required column and is missing", file=spec.filename, row=1)
                for name in spec.required if name not in header]
    problems += [Problem(name, "looks like a direct identifier; alsrwe keeps pseudonymous "
                               "data only — remove the column", IDENTIFYING_COLUMN,
                         file=spec.filename, row=1)
                 for name in header if looks_identifying(name, spec.columns)]
    repeated = {name for name in header if header.count(name) > 1}
    problems += [Problem(name, "appears more than once in the header", file=spec.filename,
                         row=1) for name in sorted(repeated)]
    return problems


def _extra_columns(spec: TableSpec, header: Sequence[str]) -> list[str]:
    return [name for name in header if name not in spec.columns]


def ignored_columns(directory: Path) -> dict[str, list[str]]:
    """The columns of each file's header that are not the format's (read from the headers
    alone, for an unchanged re-import that reads no rows)."""
    found = {}
    for spec in TABLES:
        path = directory / spec.filename
        if not path.exists():
            continue
        with open_text(path) as handle:
            header = [name.strip() for name in next(csv.reader(handle), [])]
        if extra := _extra_columns(spec, header):
            found[spec.name] = extra
    return found


def read_folder(directory: Path, progress: Progress = NO_PROGRESS) -> RawFolder:
    """Read the format's files present in ``directory`` as text; report all else."""
    folder = RawFolder(problems=folder_problems(directory))
    unreadable = {p.file for p in folder.problems}
    for spec in TABLES:
        path = directory / spec.filename
        if spec.filename in unreadable or not path.exists():
            continue
        try:
            header, rows, ragged = _read_file(path, progress)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            folder.problems.append(Problem(None, f"cannot be read: {_reason(error)}",
                                           file=spec.filename))
            continue
        header_problems = _header_problems(spec, header)
        folder.problems += header_problems
        if header_problems:
            continue
        folder.problems += [Problem(None, f"has {width} cells, the header has {len(header)}",
                                    file=spec.filename, row=line) for line, width in ragged]
        if extra := _extra_columns(spec, header):
            folder.ignored_columns[spec.name] = extra
        folder.tables[spec.name] = RawTable(TABLES_BY_NAME[spec.name], header, rows)
    return folder


__all__ = ["RawFolder", "RawTable", "folder_problems", "ignored_columns", "read_folder"]
