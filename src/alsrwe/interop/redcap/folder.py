"""Finding a REDCap project's files in a folder, by what they hold rather than their names.

REDCap names its downloads after the project and the time (``ALSClinic_DataDictionary_
2026-07-01.csv``, ``ALSClinic_DATA_2026-07-01_1200.csv``), so files are told apart by their
header:

- the **data dictionary** is the CSV whose header begins with ``Variable / Field Name``;
- the **events** file has ``event_name``, ``arm_num`` and ``unique_event_name``; the
  **instrument designations** ``arm_num``, ``unique_event_name`` and ``form``; the
  **repeating instruments** ``form_name`` and ``custom_form_label`` (all optional; the events
  file, when there, is used to check the event names of the mapping);
- the **records** export is the one other CSV;
- the **mapping** is the one ``.toml`` file; without one, the shipped mapping of a typical
  clinic project (``alsrwe_clinic.toml``) is used.

Other files (a README, hidden files) are left alone; a second dictionary, records file or
mapping is a problem naming both files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.interop.input_files import open_text
from alsrwe.interop.redcap.dictionary import NAME

EVENTS_COLUMNS = frozenset({"event_name", "arm_num", "unique_event_name"})
DESIGNATION_COLUMNS = frozenset({"arm_num", "unique_event_name", "form"})
REPEATING_COLUMNS = frozenset({"form_name", "custom_form_label"})


@dataclass(frozen=True, slots=True)
class RedcapProject:
    """The files of one project export found in a folder."""

    folder: Path
    dictionary: Path
    records: Path
    mapping: Path | None = None
    events: Path | None = None
    designations: Path | None = None
    repeating: Path | None = None


def _header(path: Path) -> list[str]:
    try:
        with open_text(path) as handle:
            return [cell.strip() for cell in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _kind(path: Path) -> str:
    """What a CSV file is, by its header."""
    header = _header(path)
    columns = set(header)
    if header[:1] == [NAME]:
        return "dictionary"
    if columns >= DESIGNATION_COLUMNS:
        return "designations"
    if columns >= EVENTS_COLUMNS:
        return "events"
    if columns >= REPEATING_COLUMNS:
        return "repeating"
    return "records"


_WHAT = {"dictionary": "data dictionary", "records": "records file", "mapping": "mapping",
         "events": "events file", "designations": "instrument designation file",
         "repeating": "repeating instruments file"}


def _files(folder: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {kind: [] for kind in _WHAT}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        suffix = entry.suffix.lower()
        if suffix == ".toml":
            found["mapping"].append(entry)
        elif suffix == ".csv":
            found[_kind(entry)].append(entry)
    return found


def read_redcap_project(path: Path) -> RedcapProject:
    """The project files in folder ``path``; InvalidInput names what is missing or twice."""
    if not path.is_dir():
        raise InvalidInput([Problem(None, "is not a folder", file=str(path))])
    found = _files(path)
    problems = []
    for kind, paths in found.items():
        for extra in paths[1:]:
            problems.append(Problem(None, f"is a second {_WHAT[kind]} ({paths[0].name} is "
                                          "another); a folder holds one project export",
                                    file=extra.name))
    if not found["dictionary"]:
        problems.append(Problem(None, f"holds no REDCap data dictionary (a CSV file whose "
                                      f"header begins with '{NAME}')", file=str(path)))
    if not found["records"]:
        problems.append(Problem(None, "holds no REDCap records export (a CSV file of raw "
                                      "data)", file=str(path)))
    if problems:
        raise InvalidInput(problems)

    def first(kind: str) -> Path | None:
        return found[kind][0] if found[kind] else None

    return RedcapProject(path, found["dictionary"][0], found["records"][0], first("mapping"),
                         first("events"), first("designations"), first("repeating"))


def looks_like_redcap(path: Path) -> bool:
    """Whether ``path`` is a REDCap export (a folder holding a data dictionary, or a data
    dictionary itself): for choosing the importer by what was given."""
    try:
        if path.is_file():
            return path.suffix.lower() == ".csv" and _header(path)[:1] == [NAME]
        if path.is_dir():
            return any(entry.suffix.lower() == ".csv" and _header(entry)[:1] == [NAME]
                       for entry in path.iterdir() if entry.is_file())
    except OSError:
        return False
    return False


def read_event_names(path: Path) -> frozenset[str]:
    """The unique event names of an events file (InvalidInput if it cannot be read)."""
    try:
        with open_text(path) as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InvalidInput([Problem(None, f"cannot be read: {error}", file=path.name)]) from None
    return frozenset((row.get("unique_event_name") or "").strip() for row in rows) - {""}


__all__ = ["RedcapProject", "looks_like_redcap", "read_event_names", "read_redcap_project"]
