"""`alsrwe synth DIR`: a seeded synthetic cohort as tidy CSV that alsrwe imports as it is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from alsrwe.cli import app
from alsrwe.cli.synth import truth_path
from alsrwe.synth import CohortParams, generate_cohort
from alsrwe.synth.cohort import TABLES

runner = CliRunner()
ARGS = ["--patients", "40", "--carriers", "5", "--seed", "11", "--as-of", "2026-06-30"]


def test_synth_writes_the_tidy_files_and_the_truth_beside_them(tmp_path: Path) -> None:
    folder = tmp_path / "cohort"
    result = runner.invoke(app, ["synth", str(folder), *ARGS])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    expected = generate_cohort(CohortParams(seed=11, n_patients=40, n_carriers=5,
                                            as_of=date(2026, 6, 30)))
    patients = (folder / "patients.csv").read_text(encoding="utf-8").splitlines()
    assert len(patients) == 1 + len(expected.patients) == 46
    truth = truth_path(folder).read_text(encoding="utf-8").splitlines()
    assert truth[0].startswith("patient_id,") and len(truth) == 46


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert runner.invoke(app, ["synth", str(tmp_path / name), *ARGS]).exit_code == 0
    for table in TABLES:
        assert (tmp_path / "a" / f"{table}.csv").read_bytes() == \
            (tmp_path / "b" / f"{table}.csv").read_bytes()


def test_the_folder_imports_into_a_new_registry(tmp_path: Path) -> None:
    folder, url = tmp_path / "cohort", f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["synth", str(folder), *ARGS]).exit_code == 0
    assert runner.invoke(app, ["init", "--database", url]).exit_code == 0
    result = runner.invoke(app, ["import", str(folder), "--database", url])
    assert result.exit_code == 0, result.output
    assert "patients.csv" in result.output and "nothing was written" not in result.output


def test_synth_never_writes_over_files(tmp_path: Path) -> None:
    folder = tmp_path / "cohort"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["synth", str(folder), *ARGS])
    assert result.exit_code == 2 and "never writes over files" in result.output
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_a_bad_date_or_count_names_the_option(tmp_path: Path) -> None:
    bad_date = runner.invoke(app, ["synth", str(tmp_path / "x"), "--as-of", "2026-13-01"])
    assert bad_date.exit_code == 2 and "--as-of" in bad_date.output
    negative = runner.invoke(app, ["synth", str(tmp_path / "y"), "--patients", "-1"])
    assert negative.exit_code == 2 and "n_patients" in negative.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
