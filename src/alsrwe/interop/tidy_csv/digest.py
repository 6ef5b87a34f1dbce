"""What a tidy CSV import would read, digested: the files' bytes, the settings, the rulebook.

:mod:`alsrwe.store.writes.reimport` binds this digest to the registry's version to recognise
a re-import that would change nothing. Everything the verdict depends on is in it: each of
the format's files byte for byte (a changed cell, header or line ending changes it), the
import's date, its flags and plausibility settings, and the source of the code that reads
and judges rows (the domain's rulebook, this reader, the write path), so that a new rule
after an upgrade is never skipped. A folder holding anything but the format's regular files
gets no digest: the full reader reports what is wrong with it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import date
from pathlib import Path

from alsrwe.domain.plausibility import PlausibilitySettings
from alsrwe.domain.tidy_format import TABLES
from alsrwe.interop.input_files import checked_size
from alsrwe.interop.tidy_csv.files import folder_problems

BLOCK = 1 << 20
"""Bytes hashed per read: 1 MiB, so that a large file is digested in bounded memory."""
_PACKAGE = Path(__file__).resolve().parents[2]
_JUDGING_CODE = ("domain", "interop/tidy_csv", "store/writes", "store/models")
"""The packages whose source decides what an import reads, refuses and writes."""


@functools.cache
def code_digest() -> str:
    """The digest of the source that reads, judges and writes an import (once per process)."""
    digest = hashlib.sha256()
    for folder in _JUDGING_CODE:
        for path in sorted((_PACKAGE / folder).rglob("*.py")):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    checked_size(path)  # a regular file within the bound, as the reader requires
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def folder_digest(directory: Path, *, today: date, accept_warnings: bool,
                  overwrite_newer: bool, settings: PlausibilitySettings) -> str | None:
    """The digest of an import of ``directory`` with these options; None when the folder
    cannot be imported as it is (or a file cannot be read)."""
    if not directory.is_dir() or folder_problems(directory):
        return None
    try:
        files = {spec.filename: _file_digest(directory / spec.filename) for spec in TABLES
                 if (directory / spec.filename).exists()}
    except OSError:
        return None
    if not files:
        return None
    described = {"files": files, "today": today.isoformat(), "accept_warnings": accept_warnings,
                 "overwrite_newer": overwrite_newer, "settings": repr(settings),
                 "code": code_digest()}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


__all__ = ["code_digest", "folder_digest"]
