"""An unchanged re-import is recognised by its fingerprint and reads, judges and writes
nothing — and any change of the files, the options, the rulebook or the registry since
makes the import run in full (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from alsrwe.domain.plausibility import PlausibilitySettings
from alsrwe.interop.tidy_csv import digest, import_tidy
from alsrwe.store import models
from alsrwe.store.db import unit_of_work
from tests.interop.test_tidy_csv import MEASUREMENTS, TODAY, VALID, write

RECORDS = {"patients": 3, "alsfrs": 4, "measurements": 4, "administrations": 4,
           "medications": 1, "adverse_events": 2, "milestones": 1}
"""The records of VALID per table (counted from its text above)."""


def _audited(engine: Engine) -> list[dict[str, object]]:
    with unit_of_work(engine, read_only=True) as session:
        return [entry.detail for entry in session.scalars(
            select(models.AuditEntry).where(models.AuditEntry.action == "import")
            .order_by(models.AuditEntry.id))]


def _stored_nfl(engine: Engine) -> list[float]:
    with unit_of_work(engine, read_only=True) as session:
        return list(session.scalars(select(models.Measurement.value).where(
            models.Measurement.kind == "nfl_serum").order_by(models.Measurement.date)))


def test_an_unchanged_reimport_repeats_the_earlier_one(engine: Engine, tmp_path: Path) -> None:
    folder = write(tmp_path / "in", VALID)
    first = import_tidy(engine, folder, today=TODAY)
    assert first.unchanged_since is None
    assert {table: sum(counts) for table, counts in first.counts.items()} == RECORDS
    again = import_tidy(engine, folder, today=TODAY)
    (audit_first, audit_again) = _audited(engine)
    assert again.unchanged_since == audit_first["import_id"]
    assert again.counts == {table: (0, 0, n) for table, n in RECORDS.items()}
    assert again.confirmed_warnings == first.confirmed_warnings
    assert audit_again["unchanged_since_import"] == audit_first["import_id"]
    assert audit_again["counts"] == {table: [0, 0, n] for table, n in RECORDS.items()}
    third = import_tidy(engine, folder, today=TODAY)  # the repeat keeps the fingerprint
    assert third.unchanged_since == audit_again["import_id"]


def test_a_change_in_the_registry_since_runs_the_import_in_full(engine: Engine,
                                                                tmp_path: Path) -> None:
    """Another writer changed a stored value after the import: the re-import must put the
    file's value back (one update), which a skipped re-import would not."""
    folder = write(tmp_path / "in", VALID)
    import_tidy(engine, folder, today=TODAY)
    with unit_of_work(engine) as session:
        stored = session.scalars(select(models.Measurement).where(
            models.Measurement.kind == "nfl_serum").order_by(models.Measurement.date)).first()
        assert stored is not None
        stored.value = 99.0  # the revision triggers raise the patient's revision
    assert _stored_nfl(engine) == [99.0, 31.2]
    again = import_tidy(engine, folder, today=TODAY)
    assert again.unchanged_since is None
    assert again.counts["measurements"] == (0, 1, 3)
    assert _stored_nfl(engine) == [78.5, 31.2]


def test_a_new_record_from_elsewhere_runs_the_import_in_full(engine: Engine,
                                                             tmp_path: Path) -> None:
    folder = write(tmp_path / "in", VALID)
    import_tidy(engine, folder, today=TODAY)
    extra = "patient_id,date,kind,value,unit,assay,lab\nBER-002,2023-03-01,nfl_serum,40,pg/mL,,\n"
    import_tidy(engine, write(tmp_path / "extra", {"measurements": extra}), today=TODAY)
    again = import_tidy(engine, folder, today=TODAY)
    assert again.unchanged_since is None
    assert again.counts == {table: (0, 0, n) for table, n in RECORDS.items()}


@pytest.mark.parametrize("change", ["file", "today", "accept_warnings", "rulebook"])
def test_other_files_options_or_rules_run_the_import_in_full(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    folder = write(tmp_path / "in", VALID)
    import_tidy(engine, folder, today=TODAY)
    today, accept = TODAY, False
    if change == "file":
        write(folder, {"measurements": MEASUREMENTS.replace("78.5", "78.6")})
    elif change == "today":
        today = TODAY + timedelta(days=1)
    elif change == "accept_warnings":
        accept = True
    else:
        monkeypatch.setattr(digest, "code_digest", lambda: "an upgraded rulebook")
    again = import_tidy(engine, folder, today=today, accept_warnings=accept)
    assert again.unchanged_since is None
    expected = (0, 1, 3) if change == "file" else (0, 0, 4)
    assert again.counts["measurements"] == expected


def test_a_refused_import_leaves_no_fingerprint(engine: Engine, tmp_path: Path) -> None:
    from alsrwe.domain.errors import InvalidInput

    bad = write(tmp_path / "bad", {**VALID, "measurements": MEASUREMENTS.replace("78.5", "x")})
    for _ in range(2):  # refused both times, by the rulebook, not by a remembered verdict
        with pytest.raises(InvalidInput, match="value"):
            import_tidy(engine, bad, today=TODAY)
    with unit_of_work(engine, read_only=True) as session:
        assert session.scalars(select(models.ImportRun)).first() is None


def test_a_folder_with_a_stray_file_gets_no_digest(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", VALID)
    options = {"today": TODAY, "accept_warnings": False, "overwrite_newer": False,
               "settings": PlausibilitySettings()}
    assert digest.folder_digest(folder, **options) is not None
    (folder / "notes.csv").write_text("x\n")
    assert digest.folder_digest(folder, **options) is None
