"""The command line: commands work end to end, user errors are one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alsrwe.cli import app
from tests.interop.test_tidy_csv import VALID, write

runner = CliRunner()


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    folder = write(tmp_path / "in", VALID)
    assert runner.invoke(app, ["init", "--database", url]).exit_code == 0
    result = runner.invoke(app, ["import", str(folder), "--database", url])
    assert result.exit_code == 0, result.output
    return url


def test_init_creates_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    for _ in range(2):
        result = runner.invoke(app, ["init", "--database", url])
        assert result.exit_code == 0, result.output
        assert "registry ready" in result.output


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSRWE_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_patient_summary(registry: str) -> None:
    result = runner.invoke(app, ["patient", "BER-001", "--database", registry])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.replace("│", " ").split())
    # The headline is the latest clinic rating (docs/domain-rules.md §13), 2023-04-12: items
    # 4,4,3 | 3,2,3 | 3,2,1 | 4,4,4 → total 37; bulbar, upper and lower limb involved, no NIV
    # → King's 3; no MiToS domain lost; ΔFRS = 11 points / (407 days / 30.4375) = 0.82. The
    # self-report of 2023-04-20 (items 4,4,3 | 3,2,3 | 3,2,1 | 3,4,4 = 36) awaits review.
    # Dose 3 given 2023-02-09 → #4 + 28 days.
    for expected in ("p.Ala5Val (legacy A4V), heterozygous", "37/48 on 2023-04-12 (clinic)",
                     "bulbar 11, fine motor 8, gross motor 6, respiratory 12",
                     "King's stage 3", "MiToS stage 0", "ΔFRS 0.82 points/month",
                     "self-report 36/48 on 2023-04-20, awaiting a clinician's review",
                     "#4 (maintenance) due 2023-03-09"):
        assert expected in text, expected


def test_schedule_shows_doses_and_next(registry: str) -> None:
    result = runner.invoke(app, ["schedule", "BER-001", "--database", registry])
    assert result.exit_code == 0, result.output
    # Loading doses 2023-01-10, 01-24, then dose 3 due 02-07 was missed and given 02-09.
    assert "2023-02-07" in result.output and "missed" in result.output
    assert "2023-02-09" in result.output
    assert "2023-03-09" in result.output  # first maintenance: 28 days after the actual dose 3


def test_unknown_patient_is_one_line_and_status_2(registry: str) -> None:
    result = runner.invoke(app, ["patient", "NOPE-9", "--database", registry])
    assert result.exit_code == 2
    assert "NOPE-9" in result.output
    assert "Traceback" not in result.output


def test_unknown_regimen_is_refused(registry: str) -> None:
    result = runner.invoke(app, ["schedule", "BER-001", "--regimen", "x", "--database", registry])
    assert result.exit_code == 2
    assert "tofersen_us" in result.output


def test_bad_import_lists_problems_and_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    assert runner.invoke(app, ["init", "--database", url]).exit_code == 0
    files = dict(VALID)
    files["alsfrs"] = files["alsfrs"].replace("2023-04-12,4,4,3,3,2", "2023-04-12,4,4,3,9,2")
    result = runner.invoke(app, ["import", str(write(tmp_path / "in", files)), "--database", url])
    assert result.exit_code == 2
    assert "alsfrs.csv, row 3, column q4" in result.output
    assert "nothing was written" in result.output
    assert "Traceback" not in result.output
    export = runner.invoke(app, ["export", str(tmp_path / "out"), "--database", url])
    assert export.exit_code == 0
    assert (tmp_path / "out" / "patients.csv").read_text().count("\n") == 1


def test_export_round_trip(registry: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--database", registry])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "alsfrs.csv").read_text().count("\n") == 5


def test_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nothing"),
                                 "--database", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2
    assert "nothing: does not exist" in result.output
    assert not (tmp_path / "x.db").exists()


def test_demo_builds_a_registry_and_is_repeatable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ["demo", "--database", url, "--patients", "30", "--carriers", "5"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "registry: 35 people" in first.output
    assert "30 patients, 5 carriers" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "registry: 35 people" in again.output  # natural keys: nothing duplicated
    patient = runner.invoke(app, ["patient", "BER-0001", "--database", url])
    assert patient.exit_code == 0, patient.output


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("nonsense", "not a usable database URL"),
        ("nodriver://x/y", "not a usable database URL"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/none", "cannot use the database"),
    ],
)
def test_bad_database_is_one_line(url: str, words: str) -> None:
    result = runner.invoke(app, ["init", "--database", url])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["init"], ["patient", "BER-0001"], ["export", "{out}"]])
def test_a_corrupt_sqlite_file_is_one_line(tmp_path: Path, command: list[str]) -> None:
    corrupt = tmp_path / "alsrwe.db"
    corrupt.write_bytes(b"not a database, but 4 KB of something else " * 100)
    arguments = [part.format(out=tmp_path / "out") for part in command]
    result = runner.invoke(app, [*arguments, "--database", f"sqlite:///{corrupt}"])
    assert result.exit_code == 2, result.output
    assert "cannot use the database: file is not a database" in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")
def test_analyze_writes_the_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert runner.invoke(app, ["demo", "--database", url, "--patients", "80",
                               "--carriers", "5"]).exit_code == 0
    result = runner.invoke(app, ["analyze", "--database", url, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "report written" in result.output
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "Table 1" in html
    unknown = runner.invoke(app, ["analyze", "--database", url, "--site", "NOPE",
                                  "--out", str(tmp_path / "s")])
    assert unknown.exit_code == 2
    assert "no patient of site 'NOPE'" in unknown.output


@pytest.mark.parametrize("command", [["patient", "X-1"], ["schedule", "X-1"], ["export", "out"],
                                     ["analyze"]])
def test_reading_commands_never_create_a_registry(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "missing.db"
    result = runner.invoke(app, [*command, "--database", f"sqlite:///{missing}"])
    assert result.exit_code == 2, result.output
    assert "alsrwe init" in result.output
    assert not missing.exists()


def test_export_onto_a_file_is_one_line(registry: str, tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    result = runner.invoke(app, ["export", str(target), "--database", registry])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_demo_never_writes_into_a_registry_with_other_data(registry: str, tmp_path: Path) -> None:
    before = (tmp_path / "cli.db").read_bytes()
    result = runner.invoke(app, ["demo", "--database", registry, "--patients", "5",
                                 "--carriers", "1"])
    assert result.exit_code == 2, result.output
    assert "not written by alsrwe demo" in result.output and "cli.db" in result.output
    assert "--database" in result.output  # how to proceed
    assert (tmp_path / "cli.db").read_bytes() == before


@pytest.mark.parametrize("args", [
    ["demo", "--patients", "-5"],
    ["user", "add", "bob", "--role", "nurse", "--password", "x" * 12],
    ["import", "in"],
])
def test_a_failed_command_leaves_no_new_database(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "new.db"
    write(tmp_path / "in", VALID)
    command = [a if a != "in" else str(tmp_path / "in") for a in args]
    result = runner.invoke(app, [*command, "--database", f"sqlite:///{missing}"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not missing.exists() and not list(tmp_path.glob("new.db*"))


def test_commands_that_write_say_which_database(registry: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(write(tmp_path / "again", VALID)),
                                 "--database", registry])
    assert result.exit_code == 0, result.output
    assert f"imported into {tmp_path / 'cli.db'}" in " ".join(result.output.split())


def test_an_import_folder_with_a_miscased_or_unknown_file_is_refused(
    registry: str, tmp_path: Path
) -> None:
    folder = write(tmp_path / "odd", {"patients": VALID["patients"]})
    (folder / "ALSFRS.csv").write_text(VALID["alsfrs"])
    (folder / "notes.csv").write_text("call the lab\n")
    result = runner.invoke(app, ["import", str(folder), "--database", registry])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "ALSFRS.csv: is not named as the format requires: rename it to alsfrs.csv" in text
    assert "notes.csv: is not a file of the tidy format" in text


def test_warnings_need_accept_warnings_on_import(registry: str, tmp_path: Path) -> None:
    files = {"measurements": "patient_id,date,kind,value,unit\n"
                             "BER-001,2023-05-01,nfl_serum,118600,pg/mL\n"}
    folder = write(tmp_path / "nfl", files)
    refused = runner.invoke(app, ["import", str(folder), "--database", registry])
    assert refused.exit_code == 2
    assert "--accept-warnings" in refused.output and "118600 pg/mL" in refused.output
    accepted = runner.invoke(app, ["import", str(folder), "--database", registry,
                                   "--accept-warnings"])
    assert accepted.exit_code == 0, accepted.output
    assert "1 plausibility warning(s) confirmed" in accepted.output


def test_analyze_csv_runs_the_importers_checks(tmp_path: Path) -> None:
    files = dict(VALID)
    files["alsfrs"] = files["alsfrs"].replace("2023-04-12,4,4,3,3,2", "2023-04-12,4,4,3,9,2")
    result = runner.invoke(app, ["analyze", "--csv", str(write(tmp_path / "in", files)),
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "alsfrs.csv, row 3, column q4" in result.output
    assert not (tmp_path / "r").exists()


def test_an_unchanged_reimport_says_it_had_nothing_to_do(registry: str, tmp_path: Path) -> None:
    folder = write(tmp_path / "in", VALID)  # the files the registry fixture imported
    again = runner.invoke(app, ["import", str(folder), "--database", registry])
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output and "import 1" in " ".join(again.output.split())
