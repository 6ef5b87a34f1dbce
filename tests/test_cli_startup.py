"""The CLI answers at once: building it and its help loads none of the heavy libraries.

Guarded structurally (which modules a fresh interpreter loads), not by timing, which a busy
machine would make flaky. Each command imports what its work needs inside its function.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import typer

from alsrwe.cli import app
from alsrwe.cli.extract import KEY_FILE_ENV, KEY_FILENAME, DateChoice

HEAVY = ("pandas", "numpy", "scipy", "ibis", "duckdb", "fastapi", "uvicorn", "jinja2",
         "matplotlib", "plotly", "lifelines", "fhir.resources", "pyarrow",
         # the store's stack: ~0.4 s on its own, more than --help may take
         "sqlalchemy", "alembic")

REPORT_HEAVY = f"""
import sys
heavy = {HEAVY!r}
loaded = sorted(h for h in heavy
                if any(name == h or name.startswith(h + ".") for name in sys.modules))
print("HEAVY:" + ",".join(loaded))
"""


def _command_paths() -> list[list[str]]:
    """Every command and group of the app, as the words that name it (the root is [])."""
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:  # typer's own (vendored) click types
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def _heavy_loaded(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the heavy modules it left in sys.modules."""
    result = subprocess.run([sys.executable, "-c", code + REPORT_HEAVY], capture_output=True,
                            text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("HEAVY:"))
    return [name for name in line.removeprefix("HEAVY:").split(",") if name]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _heavy_loaded("import alsrwe.cli") == []


def test_every_help_loads_no_heavy_library() -> None:
    """The app's help and each command's, built in one fresh interpreter."""
    paths = _command_paths()
    assert len(paths) > 10  # the walk found the commands
    code = textwrap.dedent(f"""
        from typer.testing import CliRunner
        from alsrwe.cli import app
        runner = CliRunner()
        for path in {paths!r}:
            result = runner.invoke(app, [*path, "--help"])
            assert result.exit_code == 0, (path, result.output)
            assert "Usage" in result.output, path
    """)
    assert _heavy_loaded(code) == []


@pytest.mark.parametrize("args", [["--help"], ["import", "--help"], ["patient", "--help"]])
def test_console_script_help_imports_no_heavy_library(args: list[str]) -> None:
    """The installed ``alsrwe`` script itself, traced by Python's own -X importtime."""
    script = Path(sys.executable).with_name("alsrwe")
    if not script.exists():
        pytest.skip("the alsrwe console script is not installed beside this interpreter")
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run([str(script), *args], capture_output=True, text=True, env=env,
                            check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "typer" in imported  # the trace worked
    assert [h for h in HEAVY
            if any(name == h or name.startswith(h + ".") for name in imported)] == []
    assert "Usage" in result.stdout


def test_cli_copies_of_interop_choices_match() -> None:
    """The CLI copies these (to stay light); they must equal what interop accepts."""
    from alsrwe.interop.extract import KEY_FILE_ENV as INTEROP_KEY_FILE_ENV
    from alsrwe.interop.extract import KEY_FILENAME as INTEROP_KEY_FILENAME
    from alsrwe.interop.extract import DateMode

    assert [(m.name, m.value) for m in DateChoice] == [(m.name, m.value) for m in DateMode]
    assert (KEY_FILE_ENV, KEY_FILENAME) == (INTEROP_KEY_FILE_ENV, INTEROP_KEY_FILENAME)
