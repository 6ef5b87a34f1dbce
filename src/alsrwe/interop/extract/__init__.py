"""The research extract (``alsrwe extract DIR``, docs/extract.md): a pseudonymised dataset
for sharing across sites, written as CSV files with a ``manifest.json``, and audited.

Layout of ``DIR`` (which must be new or empty, so that nothing else travels with it):

- ``records/``: one CSV per table (patients, alsfrs, biomarkers, doses, medications,
  adverse_events, milestones, treatments), keyed by extract ids, without free text;
- ``aggregates/``: count tables with small-cell and complementary suppression;
- ``manifest.json``: when, how (date mode, threshold, key fingerprint), rows per file.

The extract is read, written and audited (``store.writes.disclosures.record_export``) in one
unit of work; the files are written into a hidden staging folder beside ``DIR`` and moved into
place only once the audit entry is in, so a failed extract leaves neither files nor an entry.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from alsrwe import __version__
from alsrwe.domain.disclosure import (
    BIRTH_BAND_YEARS,
    ID_HEX_LENGTH,
    ID_PREFIX,
    MAX_SHIFT_DAYS,
    ProtectedTable,
    key_fingerprint,
)
from alsrwe.domain.errors import Conflict
from alsrwe.domain.privacy import SUPPRESS_BELOW
from alsrwe.interop.extract.secret import (
    KEY_FILE_ENV,
    KEY_FILENAME,
    ExtractKey,
    load_or_create_key,
)
from alsrwe.interop.extract.tables import DateMode, Extract, RecordTable, build_extract
from alsrwe.interop.tidy_csv.export import format_cell
from alsrwe.store.db import unit_of_work
from alsrwe.store.reads.extract_rows import extract_rows
from alsrwe.store.writes.disclosures import record_export

SUPPRESSED = "*"
"""How a hidden count is written (the same mark for primary and secondary suppression)."""
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class ExtractReport:
    directory: Path
    counts: dict[str, int]
    """Rows written per file (``records/…`` and ``aggregates/…``, without ``.csv``)."""
    manifest: dict[str, Any]


def check_destination(directory: Path, key_path: Path | None = None) -> None:
    """Refuse a folder that holds anything, or that the key file would be in."""
    target = directory.absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Conflict(f"{target}: an extract goes into a new or empty folder, so that no other "
                       "file (such as a tidy export, with pseudonyms) travels with it")
    if key_path is not None and key_path.absolute().resolve().is_relative_to(target.resolve()):
        raise Conflict(f"{key_path}: the extract key must not be inside the extract folder "
                       f"{target}")


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    """One CSV file; every cell as the tidy export writes it (formula text neutralised)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([format_cell(h) for h in header])
        writer.writerows([[format_cell(v) for v in row] for row in rows])


def _shown(value: int | None) -> Any:
    return SUPPRESSED if value is None else value


def _aggregate_rows(table: ProtectedTable) -> list[list[Any]]:
    rows = [[label, *map(_shown, cells), _shown(total)]
            for label, cells, total in zip(table.rows, table.cells, table.row_totals,
                                           strict=True)]
    rows.append(["total", *map(_shown, table.column_totals), _shown(table.total)])
    return rows


def _write_files(folder: Path, extract: Extract) -> dict[str, int]:
    counts: dict[str, int] = {}
    records: list[RecordTable] = extract.records
    if records:
        (folder / "records").mkdir()
    for table in records:
        _write_csv(folder / "records" / f"{table.name}.csv", list(table.columns),
                   [list(row) for row in table.rows])
        counts[f"records/{table.name}"] = len(table.rows)
    (folder / "aggregates").mkdir()
    for name, protected in extract.aggregates.items():
        header = [extract.row_label[name], *protected.columns, "total"]
        _write_csv(folder / "aggregates" / f"{name}.csv", header, _aggregate_rows(protected))
        counts[f"aggregates/{name}"] = len(protected.rows)
    return counts


def _manifest(extract: Extract, counts: dict[str, int], *, mode: DateMode, min_cell: int,
              fingerprint: str) -> dict[str, Any]:
    dates = ("days since symptom onset; carriers: days since their earliest registry date "
             "(patients.time_origin)" if mode is DateMode.ONSET else
             f"shifted per patient by a keyed number of days in ±1…±{MAX_SHIFT_DAYS}, never 0; "
             "intervals within a patient are exact")
    return {
        "extract": "alsrwe research extract (docs/extract.md)",
        "alsrwe_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "date_mode": mode.value,
        "dates": dates,
        **({"max_shift_days": MAX_SHIFT_DAYS} if mode is DateMode.SHIFT else {}),
        "ids": f"{ID_PREFIX} + the first {ID_HEX_LENGTH} hex characters of "
               "HMAC-SHA256(key, pseudonym)",
        "key_fingerprint": fingerprint,
        "birth_band_years": BIRTH_BAND_YEARS,
        "min_cell": min_cell,
        "suppressed_marker": SUPPRESSED,
        "suppression": {name: {"primary": t.primary, "secondary": t.secondary}
                        for name, t in extract.aggregates.items()},
        "rows": counts,
    }


def write_extract(engine: Engine, directory: Path, key: bytes, *, actor: str,
                  mode: DateMode = DateMode.ONSET, min_cell: int = SUPPRESS_BELOW,
                  aggregates_only: bool = False) -> ExtractReport:
    """Read the registry, build the extract, write it into ``directory`` and audit it."""
    check_destination(directory)
    target = directory.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".alsrwe-extract-", dir=target.parent))
    moved = False
    fingerprint = key_fingerprint(key)
    try:
        with unit_of_work(engine) as session:
            extract = build_extract(extract_rows(session), key, mode, min_cell,
                                    aggregates_only)
            counts = _write_files(staging, extract)
            manifest = _manifest(extract, counts, mode=mode, min_cell=min_cell,
                                 fingerprint=fingerprint)
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                            + "\n", encoding="utf-8")
            record_export(session, actor, "extract", str(target), counts, {
                "date_mode": mode.value, "min_cell": min_cell, "key_fingerprint": fingerprint,
                "aggregates_only": aggregates_only, "alsrwe_version": __version__})
            os.replace(staging, target)
            moved = True
    except BaseException:
        shutil.rmtree(target if moved else staging, ignore_errors=True)
        raise
    return ExtractReport(target, counts, manifest)


__all__ = [
    "KEY_FILENAME",
    "KEY_FILE_ENV",
    "MANIFEST",
    "SUPPRESSED",
    "DateMode",
    "ExtractKey",
    "ExtractReport",
    "check_destination",
    "load_or_create_key",
    "write_extract",
]
