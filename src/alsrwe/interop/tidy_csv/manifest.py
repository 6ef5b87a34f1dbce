"""The export's manifest: when a folder was exported, so a re-import knows what changed since.

A clinic exports, edits the spreadsheets for a week and imports them again; meanwhile a
colleague corrected a value in the web app. Without knowing when the files were exported, the
re-import would silently put the old value back. ``alsrwe export`` therefore writes
:data:`MANIFEST` beside the CSV files (the time it read the registry, its audit chain head and
the row counts), and an import of that folder refuses, row by row, every update that would
overwrite a change made after that time, unless ``--overwrite-newer`` confirms it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.domain.tidy_format import MANIFEST

FORMAT = "alsrwe tidy CSV export 1"


def write_manifest(directory: Path, exported_at: dt.datetime, counts: dict[str, int],
                   audit_head: dict[str, Any]) -> None:
    text = json.dumps({"format": FORMAT, "exported_at": exported_at.isoformat(),
                       "audit_head": audit_head, "rows": counts}, indent=2)
    (directory / MANIFEST).write_text(text + "\n", encoding="utf-8")


def exported_at(directory: Path) -> dt.datetime | None:
    """When the folder was exported (``None`` for a folder without a manifest)."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        when = dt.datetime.fromisoformat(data["exported_at"])
        if data.get("format") != FORMAT or when.tzinfo is None:
            raise ValueError("not an alsrwe export manifest")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise InvalidInput([Problem(None, f"is not a readable export manifest ({error}); "
                                          "delete it to import the files as new data",
                                    file=MANIFEST)]) from None
    return when


__all__ = ["MANIFEST", "exported_at", "write_manifest"]
