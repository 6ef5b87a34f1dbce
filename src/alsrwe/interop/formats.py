"""The exchange formats alsrwe reads and writes, and how an import tells them apart.

``alsrwe import PATH`` and ``alsrwe export DIR`` take ``--format csv|fhir|redcap|omop``; when
it is left out, the import looks at PATH and takes the one format that fits (a folder of tidy CSV
files, a FHIR Bundle or NDJSON file, a REDCap project folder, an OMOP folder or DuckDB file),
and says so when none or several do. Each format's module is imported only when it is used.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.domain.tidy_format import FILENAMES, MANIFEST
from alsrwe.interop.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from alsrwe.interop.tidy_csv.importer import ImportReport



class Format(StrEnum):
    """An exchange format (docs/data-format.md for tidy CSV, docs/interop.md for the others)."""

    CSV = "csv"
    FHIR = "fhir"
    REDCAP = "redcap"
    OMOP = "omop"


FHIR_SUFFIXES = (".json", ".ndjson")


def _is_tidy(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in FILENAMES)


def _is_fhir(path: Path) -> bool:
    """A .json or .ndjson file, or a folder holding one (not the tidy export's manifest)."""
    if path.is_file():
        return path.suffix.lower() in FHIR_SUFFIXES and path.name != MANIFEST
    return path.is_dir() and any(p.suffix.lower() in FHIR_SUFFIXES and p.name != MANIFEST
                                 and p.is_file() for p in path.iterdir())


def _is_redcap(path: Path) -> bool:
    from alsrwe.interop.redcap import looks_like_redcap

    return looks_like_redcap(path)


def _is_omop(path: Path) -> bool:
    from alsrwe.interop.omop import looks_like_omop

    return looks_like_omop(path)


_DETECTORS = {Format.CSV: _is_tidy, Format.FHIR: _is_fhir, Format.REDCAP: _is_redcap,
              Format.OMOP: _is_omop}


def detect_format(path: Path) -> Format:
    """The one format that ``path`` holds; an error naming the candidates when it is unclear."""
    if not path.exists():
        raise InvalidInput([Problem(None, "does not exist", file=str(path))])
    found = [fmt for fmt, looks in _DETECTORS.items() if looks(path)]
    if len(found) == 1:
        return found[0]
    if not found:
        rule = ("is none of the formats alsrwe reads: a folder of tidy CSV files, a FHIR Bundle "
                "(.json) or NDJSON file, a REDCap project folder (data dictionary + records), "
                "or an OMOP CDM folder (person.csv/.parquet …) or .duckdb file")
    else:
        rule = (f"could be read as {' or '.join(found)}; say which with --format "
                f"{'|'.join(found)}")
    raise InvalidInput([Problem(None, rule, file=str(path))])


def import_path(engine: Engine, path: Path, fmt: Format | None = None, *, today: date,
                actor: str = "alsrwe import", accept_warnings: bool = False,
                overwrite_newer: bool = False, mapping: Path | None = None,
                progress: Progress = NO_PROGRESS) -> ImportReport:
    """Import ``path`` in ``fmt`` (detected when ``None``): one transaction, all or nothing."""
    fmt = fmt or detect_format(path)
    if overwrite_newer and fmt is not Format.CSV:
        raise InvalidInput([Problem("--overwrite-newer", "applies to tidy CSV folders that "
                                    "alsrwe exported, not to " + fmt.value)])
    if mapping is not None and fmt is not Format.REDCAP:
        raise InvalidInput([Problem("--mapping", "applies to REDCap projects only")])
    common: dict[str, Any] = {"today": today, "actor": actor, "accept_warnings": accept_warnings,
                              "progress": progress}
    if fmt is Format.CSV:
        from alsrwe.interop.tidy_csv import import_tidy

        return import_tidy(engine, path, today=today, actor=actor,
                           accept_warnings=accept_warnings, overwrite_newer=overwrite_newer,
                           progress=progress)
    if fmt is Format.FHIR:
        from alsrwe.interop.fhir import import_fhir

        return import_fhir(engine, path, **common)
    if fmt is Format.REDCAP:
        from alsrwe.interop.redcap import import_redcap_folder

        return import_redcap_folder(engine, path, mapping=mapping, **common)
    from alsrwe.interop.omop import import_omop

    return import_omop(engine, path, **common)


def export_path(engine: Engine, directory: Path, fmt: Format = Format.CSV, *,
                actor: str = "alsrwe export", ndjson: bool = False, parquet: bool = False,
                progress: Progress = NO_PROGRESS) -> dict[str, int]:
    """Export the registry into ``directory`` in ``fmt``; counts per file or resource type."""
    if ndjson and fmt is not Format.FHIR:
        raise InvalidInput([Problem("--ndjson", "applies to --format fhir only")])
    if parquet and fmt is not Format.OMOP:
        raise InvalidInput([Problem("--parquet", "applies to --format omop only")])
    if fmt is Format.CSV:
        from alsrwe.interop.tidy_csv import export_tidy

        return export_tidy(engine, directory, actor=actor)
    if fmt is Format.FHIR:
        from alsrwe.interop.fhir import export_fhir

        return export_fhir(engine, directory, actor=actor, ndjson=ndjson, progress=progress)
    if fmt is Format.REDCAP:
        from alsrwe.interop.redcap import export_redcap

        return export_redcap(engine, directory, actor=actor, progress=progress)
    from alsrwe.interop.omop import export_omop

    return export_omop(engine, directory, file_format="parquet" if parquet else "csv",
                       actor=actor, progress=progress)


__all__ = ["Format", "detect_format", "export_path", "import_path"]
