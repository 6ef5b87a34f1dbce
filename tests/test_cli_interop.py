"""`alsrwe export --format …` and `alsrwe import PATH` end to end, through each format.

Every format's export of the small registry of tests/test_cli.py is imported into a new
registry by the command line (the format detected from the path); the tidy export of that
registry must be the first registry's, byte for byte (for OMOP: what OMOP carries). Malformed
input is one clear error, exit status 2, and nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alsrwe.cli import app
from tests.interop.test_tidy_csv import VALID, write

runner = CliRunner()


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    assert runner.invoke(app, ["init", "--database", url]).exit_code == 0
    result = runner.invoke(app, ["import", str(write(tmp_path / "in", VALID)),
                                 "--database", url, "--accept-warnings"])
    assert result.exit_code == 0, result.output
    return url


def _tidy(url: str, folder: Path) -> dict[str, str]:
    result = runner.invoke(app, ["export", str(folder), "--database", url])
    assert result.exit_code == 0, result.output
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.csv"))}


def _new_registry(tmp_path: Path, name: str) -> str:
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    assert runner.invoke(app, ["init", "--database", url]).exit_code == 0
    return url


@pytest.mark.parametrize(("fmt", "options", "imported"), [
    ("fhir", [], "bundle.json"),
    ("fhir", ["--ndjson"], ""),
    ("redcap", [], ""),
])
def test_each_format_round_trips_through_the_command_line(
        registry: str, tmp_path: Path, fmt: str, options: list[str], imported: str) -> None:
    out = tmp_path / fmt
    exported = runner.invoke(app, ["export", str(out), "--format", fmt, *options,
                                   "--database", registry])
    assert exported.exit_code == 0, exported.output
    assert f"exported {fmt}" in exported.output
    target = _new_registry(tmp_path, f"target-{fmt}")
    result = runner.invoke(app, ["import", str(out / imported), "--database", target,
                                 "--accept-warnings"])
    assert result.exit_code == 0, result.output
    assert f"({fmt}, from" in " ".join(result.output.split())
    assert _tidy(target, tmp_path / "again") == _tidy(registry, tmp_path / "first")


def test_omop_export_and_import(registry: str, tmp_path: Path) -> None:
    out = tmp_path / "omop"
    exported = runner.invoke(app, ["export", str(out), "--format", "omop", "--parquet",
                                   "--database", registry])
    assert exported.exit_code == 0, exported.output
    assert (out / "person.parquet").is_file()
    target = _new_registry(tmp_path, "target-omop")
    result = runner.invoke(app, ["import", str(out), "--database", target, "--accept-warnings"])
    assert result.exit_code == 0, result.output
    first, again = _tidy(registry, tmp_path / "first"), _tidy(target, tmp_path / "again")
    assert first["patients.csv"] == again["patients.csv"]
    assert first["alsfrs.csv"] == again["alsfrs.csv"]


def test_a_broken_fhir_file_is_one_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    target = _new_registry(tmp_path, "target")
    bundle = tmp_path / "bundle.json"
    bundle.write_text('{"resourceType": "Bundle", "type": "transaction", "entry": [', "utf-8")
    result = runner.invoke(app, ["import", str(bundle), "--database", target])
    assert result.exit_code == 2
    assert "bundle.json" in result.output and "Traceback" not in result.output
    assert "nothing was written" in result.output


def test_a_bad_value_in_a_fhir_bundle_names_the_resource(registry: str, tmp_path: Path) -> None:
    out = tmp_path / "fhir"
    assert runner.invoke(app, ["export", str(out), "--format", "fhir",
                               "--database", registry]).exit_code == 0
    bundle = json.loads((out / "bundle.json").read_text(encoding="utf-8"))
    response = next(e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "QuestionnaireResponse")
    item = next(i for i in response["item"] if i["linkId"] == "q3")
    item["answer"][0]["valueInteger"] = 5
    (out / "bundle.json").write_text(json.dumps(bundle), encoding="utf-8")
    target = _new_registry(tmp_path, "target")
    result = runner.invoke(app, ["import", str(out / "bundle.json"), "--database", target])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert f"QuestionnaireResponse/{response['id']}" in text
    assert "item[q3].answer[0].valueInteger" in text and "got 5" in text
    assert "nothing was written" in text


def test_an_unknown_path_names_the_formats(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    result = runner.invoke(app, ["import", str(tmp_path), "--database",
                                 f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2
    assert "none of the formats" in " ".join(result.output.split())
    assert not (tmp_path / "x.db").exists()


def test_a_tidy_export_imports_back_without_format(registry: str, tmp_path: Path) -> None:
    """The export's manifest (a .json file) does not make the folder look like FHIR."""
    first = _tidy(registry, tmp_path / "out")
    target = _new_registry(tmp_path, "target")
    result = runner.invoke(app, ["import", str(tmp_path / "out"), "--database", target])
    assert result.exit_code == 0, result.output
    assert "(csv, from" in " ".join(result.output.split())
    assert _tidy(target, tmp_path / "again") == first
