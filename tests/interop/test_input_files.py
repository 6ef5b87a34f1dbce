"""Importers open only regular files of bounded size: devices, FIFOs and oversized files are
refused with a message naming the file, and nothing is written (every format)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from alsrwe.domain.errors import InvalidInput
from alsrwe.interop.formats import Format, import_path
from alsrwe.interop.input_files import RefusedFile, checked_size, open_text
from tests.interop.test_tidy_csv import TODAY, VALID, write


def test_a_device_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "bundle.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(RefusedFile, match="not a regular file"):
        open_text(link)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "records.ndjson"
    os.mkfifo(fifo)
    with pytest.raises(RefusedFile, match="not a regular file"):
        checked_size(fifo)  # opening it would block until a writer came


def test_a_file_above_the_bound_is_refused(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "patients.csv"
    big.write_text(VALID["patients"], encoding="utf-8")
    monkeypatch.setenv("ALSRWE_MAX_IMPORT_FILE_BYTES", "100")
    with pytest.raises(RefusedFile, match="are not imported"):
        checked_size(big)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_format_reports_a_refused_file_and_writes_nothing(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write(tmp_path / "tidy", VALID)
    monkeypatch.setenv("ALSRWE_MAX_IMPORT_FILE_BYTES", "200")
    with pytest.raises(InvalidInput) as tidy:
        import_path(engine, folder, Format.CSV, today=TODAY)
    assert any(p.file == "measurements.csv" and "are not imported" in p.rule
               for p in tidy.value.problems)
    fifo = tmp_path / "fhir" / "patients.ndjson"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    monkeypatch.delenv("ALSRWE_MAX_IMPORT_FILE_BYTES")
    with pytest.raises(InvalidInput) as fhir:
        import_path(engine, fifo.parent, Format.FHIR, today=TODAY)
    assert "patients.ndjson" in str(fhir.value)
