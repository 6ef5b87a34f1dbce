"""`alsrwe analyze --settings report.settings.json` re-runs a report exactly: same bytes.

The first run goes through the command line in this process; the re-run is a separate Python
process with another hash seed, so that set or dict ordering that depends on string hashing,
dates written into figures, or unseeded randomness would show up as a differing file. Only the
"generated …" time of report.html may differ, and it is masked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alsrwe.cli import app
from alsrwe.interop.tidy_csv import write_frames
from alsrwe.synth import CohortParams, generate_cohort

runner = CliRunner()
GENERATED = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


@pytest.fixture(scope="module")
def tidy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cohort = generate_cohort(CohortParams(seed=11, n_patients=80, n_carriers=6))
    folder = tmp_path_factory.mktemp("tidy")
    write_frames(cohort.tables(), folder)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_rerun_from_the_saved_settings_gives_the_same_bytes(tidy_dir: Path,
                                                            tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    ran = runner.invoke(app, ["analyze", "--csv-dir", str(tidy_dir), "--accept-warnings",
                              "--site", "BER", "--out", str(first)])
    assert ran.exit_code == 0, ran.output
    settings = first / "report.settings.json"
    assert json.loads(settings.read_text())["site"] == "BER"
    again = subprocess.run(
        [sys.executable, "-c", "from alsrwe.cli import main; main()", "analyze", "--csv-dir",
         str(tidy_dir), "--accept-warnings", "--settings", str(settings), "--out", str(second)],
        env={**os.environ, "PYTHONHASHSEED": "12345"}, capture_output=True, text=True,
        check=False)
    assert again.returncode == 0, again.stderr
    before, after = _files(first), _files(second)
    assert sorted(before) == sorted(after)
    kinds = {Path(name).suffix for name in before}
    assert {".html", ".json", ".csv", ".svg", ".png"} <= kinds
    for name, content in before.items():
        if name == "report.html":
            text, rerun = (GENERATED.sub("generated …", c.decode("utf-8"))
                           for c in (content, after[name]))
            assert "site BER" in rerun  # the site came from the settings file
            assert text == rerun
        else:
            assert content == after[name], f"{name} differs on the re-run"


def test_bad_or_contradicted_settings_are_refused_naming_the_field(tidy_dir: Path,
                                                                   tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"progression": {"min_pre_assessments": 0}}), encoding="utf-8")
    result = runner.invoke(app, ["analyze", "--csv-dir", str(tidy_dir), "--accept-warnings",
                                 "--settings", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "progression.min_pre_assessments" in result.output and "bad.json" in result.output
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"bootstrapp": 5}), encoding="utf-8")
    result = runner.invoke(app, ["analyze", "--csv-dir", str(tidy_dir), "--settings",
                                 str(unknown)])
    assert result.exit_code == 2 and "bootstrapp" in result.output
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"site": "BER"}), encoding="utf-8")
    result = runner.invoke(app, ["analyze", "--csv-dir", str(tidy_dir), "--settings",
                                 str(saved), "--site", "MUC"])
    assert result.exit_code == 2
    assert "--site MUC conflicts with site 'BER'" in " ".join(result.output.split())
    assert not (tmp_path / "r").exists()
