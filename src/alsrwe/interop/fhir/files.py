"""FHIR files in and out: a Bundle (``.json``), NDJSON (``.ndjson``, FHIR Bulk Data), a folder.

An NDJSON file is read line by line and never held whole: each line's resource is read and
dropped, leaving only its parts (:mod:`.reader`). A ``.json`` file holds one Bundle or one
resource. A folder holds such files only (hidden files aside); anything else in it is a
problem that names it. Writing: one transaction Bundle, or one NDJSON file per resource type.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alsrwe.interop.fhir.bundle import bundle_of
from alsrwe.interop.fhir.reader import ResourceReader
from alsrwe.interop.input_files import open_text
from alsrwe.interop.progress import NO_PROGRESS, PROGRESS_EVERY, Progress

SUFFIXES = (".json", ".ndjson")
BUNDLE_FILE = "bundle.json"


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.object[error.start]:#x} at position {error.start})"
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON: {error.msg} (line {error.lineno}, column {error.colno})"
    return str(error)


def _read_ndjson(path: Path, label: str, reader: ResourceReader) -> None:
    with open_text(path, newline=None) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                reader.file_problem(label, f"line is not JSON: {error.msg}", number)
                continue
            reader.read(label, number, item)


def read_file(path: Path, reader: ResourceReader, label: str | None = None) -> None:
    """Read one ``.json`` or ``.ndjson`` file into ``reader`` (problems placed in it)."""
    label = label or path.name
    try:
        if path.suffix.lower() == ".ndjson":
            _read_ndjson(path, label, reader)
        else:
            with open_text(path, newline=None) as handle:
                reader.read(label, None, json.load(handle))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        reader.file_problem(label, f"cannot be read: {_reason(error)}")
    reader.end_file(label)


def _folder_files(directory: Path, reader: ResourceReader) -> list[Path]:
    files = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        mode = entry.lstat().st_mode
        if entry.suffix.lower() in SUFFIXES and stat.S_ISREG(mode):
            files.append(entry)
        else:
            reader.file_problem(entry.name, "is not a FHIR file: a folder holds only Bundles "
                                            "(.json) and NDJSON files (.ndjson)")
    return files


def read_path(path: Path, reader: ResourceReader) -> None:
    """Read a FHIR file, or every FHIR file of a folder, into ``reader``."""
    if path.is_dir():
        for file in _folder_files(path, reader):
            read_file(file, reader)
    elif path.is_file() and path.suffix.lower() in SUFFIXES:
        read_file(path, reader)
    elif path.exists():
        reader.file_problem(str(path), "is not a FHIR file (.json Bundle or .ndjson)")
    else:
        reader.file_problem(str(path), "does not exist")


def _dump(resource: dict[str, Any], *, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(resource, ensure_ascii=False, indent=2)
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def write_bundle(resources: Sequence[dict[str, Any]], directory: Path,
                 progress: Progress = NO_PROGRESS) -> Path:
    """``directory/bundle.json``: every resource in one transaction Bundle."""
    target = directory / BUNDLE_FILE
    target.write_text(_dump(bundle_of(resources, "transaction"), pretty=True) + "\n",
                      encoding="utf-8")
    progress(BUNDLE_FILE, len(resources), len(resources))
    return target


def write_ndjson(resources: Iterable[dict[str, Any]], directory: Path,
                 progress: Progress = NO_PROGRESS) -> list[Path]:
    """One ``<Type>.ndjson`` per resource type (FHIR Bulk Data), one resource a line."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    written = []
    for kind in sorted(by_type):
        target = directory / f"{kind}.ndjson"
        with target.open("w", encoding="utf-8", newline="\n") as handle:
            for done, resource in enumerate(by_type[kind], start=1):
                handle.write(_dump(resource) + "\n")
                if done % PROGRESS_EVERY == 0:
                    progress(target.name, done, len(by_type[kind]))
        progress(target.name, len(by_type[kind]), len(by_type[kind]))
        written.append(target)
    return written


__all__ = ["BUNDLE_FILE", "SUFFIXES", "read_file", "read_path", "write_bundle", "write_ndjson"]
