"""Which format an import path holds, and the options that belong to one format only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alsrwe.domain.errors import InvalidInput
from alsrwe.interop.formats import Format, detect_format, export_path, import_path
from alsrwe.interop.tidy_csv.manifest import MANIFEST

TODAY = date(2026, 12, 1)


def _problem(error: pytest.ExceptionInfo[InvalidInput]) -> str:
    return str(error.value.problems[0])


def test_a_tidy_folder_is_csv(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id\n", encoding="utf-8")
    assert detect_format(tmp_path) is Format.CSV


@pytest.mark.parametrize("name", ["bundle.json", "Observation.ndjson"])
def test_a_json_or_ndjson_file_is_fhir(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("{}", encoding="utf-8")
    assert detect_format(path) is Format.FHIR
    assert detect_format(tmp_path) is Format.FHIR  # a folder of them too


def test_an_exported_tidy_folder_is_csv_not_fhir(tmp_path: Path) -> None:
    """``alsrwe export`` writes its manifest (alsrwe-export.json) beside the CSV files."""
    (tmp_path / "patients.csv").write_text("patient_id\n", encoding="utf-8")
    (tmp_path / MANIFEST).write_text("{}", encoding="utf-8")
    assert detect_format(tmp_path) is Format.CSV


def test_nothing_known_names_the_formats(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        detect_format(tmp_path)
    assert "none of the formats" in _problem(error)
    assert str(tmp_path) in _problem(error)


def test_a_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        detect_format(tmp_path / "absent")


def test_two_formats_in_one_folder_ask_for_format(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id\n", encoding="utf-8")
    (tmp_path / "bundle.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        detect_format(tmp_path)
    assert "csv or fhir" in _problem(error) and "--format" in _problem(error)


def test_options_of_another_format_are_refused(tmp_path: Path) -> None:
    engine = None  # refused before any database is touched
    with pytest.raises(InvalidInput, match="--overwrite-newer"):
        import_path(engine, tmp_path, Format.FHIR, today=TODAY,  # type: ignore[arg-type]
                    overwrite_newer=True)
    with pytest.raises(InvalidInput, match="--mapping"):
        import_path(engine, tmp_path, Format.CSV, today=TODAY,  # type: ignore[arg-type]
                    mapping=tmp_path / "m.toml")
    with pytest.raises(InvalidInput, match="--ndjson"):
        export_path(engine, tmp_path, Format.OMOP, ndjson=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="--parquet"):
        export_path(engine, tmp_path, Format.FHIR, parquet=True)  # type: ignore[arg-type]
