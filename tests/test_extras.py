"""The light install runs the demo; each optional feature names the extra it needs.

``pip install alsrwe`` leaves out the PostgreSQL driver, the FHIR models, the federation's
cryptography and Spark (alsrwe.extras). The suite runs with every extra installed, so their
absence is simulated: a fresh interpreter whose import system refuses those modules, as a
light install would, runs the demo, the report and the web app, and the optional features
answer with the extra to install.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from alsrwe.domain.errors import MissingExtra
from alsrwe.extras import EXTRAS, needs

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
LIGHT = sorted({module for _, modules in EXTRAS.values() for module in modules}
               | {"uvloop", "httptools"})
"""What a light install lacks: every extra's modules, and the ``server`` extra's."""

ABSENT = """
import importlib.abc, sys

class _Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {absent!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _Absent())
"""


def _project() -> dict[str, object]:
    with PYPROJECT.open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def _closure(requirements: list[str]) -> set[str]:
    """The installed distributions that ``requirements`` pull in, transitively (no extras
    beyond those the requirements name)."""
    seen: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        wanted = [""] + sorted(requirement.extras)
        key_new = [f"{name}[{e}]" for e in wanted if f"{name}[{e}]" not in seen]
        if not key_new:
            continue
        seen.update(key_new)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for line in requires:
            for e in wanted:
                todo.append((Requirement(line), e))
    return {key.partition("[")[0] for key in seen}


def test_each_extra_is_a_group_of_pyproject() -> None:
    groups = _project()["optional-dependencies"]
    assert isinstance(groups, dict)
    for extra in EXTRAS:
        assert extra in groups, extra
    assert set(EXTRAS) | {"server"} <= {
        e for line in groups["all"] for e in Requirement(line).extras}


def test_the_light_install_pulls_in_no_optional_module() -> None:
    """The runtime dependencies, followed through every package they need, install none of
    the modules the extras provide (so the features behind them really are optional)."""
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    light = _closure(dependencies)
    providers = packages_distributions()
    for module in LIGHT:
        for dist in providers.get(module, []):
            assert canonicalize_name(dist) not in light, (module, dist)
    assert {"sqlalchemy", "pandas", "fastapi", "uvicorn"} <= light


def test_needs_names_the_extra_of_a_missing_module() -> None:
    with pytest.raises(MissingExtra) as raised, needs("fhir"):
        raise ModuleNotFoundError("No module named 'fhir.resources'", name="fhir.resources")
    assert str(raised.value) == ("FHIR R4 needs alsrwe's optional dependencies, which are not "
                                 "installed: pip install 'alsrwe[fhir]'")
    assert raised.value.extra == "fhir"


def test_needs_sees_a_missing_module_that_a_library_re_raised() -> None:
    """Ibis answers a missing psycopg with an ImportError of its own, raised from it."""
    with pytest.raises(MissingExtra, match=r"alsrwe\[postgres\]"), needs("postgres"):
        try:
            raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")
        except ModuleNotFoundError as error:
            raise ImportError("Failed to import the postgres backend") from error


def test_needs_lets_other_import_errors_through() -> None:
    with pytest.raises(ModuleNotFoundError, match="numpyy"), needs("postgres"):
        raise ModuleNotFoundError("No module named 'numpyy'", name="numpyy")


def _light(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that cannot import what a light install lacks."""
    script = ABSENT.format(absent=set(LIGHT)) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def _cli(*args: str) -> str:
    """Code that runs the CLI with ``args``."""
    return f"import sys\nfrom alsrwe.cli import main\nsys.argv = ['alsrwe', *{list(args)!r}]\n" \
        "main()\n"


def test_the_demo_report_and_web_app_run_on_the_light_install(tmp_path: Path) -> None:
    demo = _light(_cli("demo", "--patients", "40", "--carriers", "6"), tmp_path)
    assert demo.returncode == 0, demo.stderr
    report = _light(_cli("analyze", "--out", "report"), tmp_path)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000

    pages = _light("""
        import json
        from fastapi.testclient import TestClient
        from alsrwe.web.app import create_app
        from alsrwe.web.routes.assets import PLOTLY_PATH
        from alsrwe.web.settings import WebSettings
        import sys
        with TestClient(create_app(WebSettings(database_url="sqlite:///alsrwe.db"))) as client:
            login = client.get("/login")
            plotly = client.get(PLOTLY_PATH)
            metadata = client.get("/fhir/R4/metadata")
            api = client.get("/api/v1/me")
        print(json.dumps({"login": login.status_code, "plotly": plotly.status_code,
                          "metadata": metadata.status_code, "outcome": metadata.json(),
                          "api": api.status_code,
                          "loaded": sorted({m.partition(".")[0] for m in sys.modules})}))
    """, tmp_path)
    assert pages.returncode == 0, pages.stderr
    answers = json.loads(pages.stdout.strip().splitlines()[-1])
    assert answers["login"] == answers["plotly"] == 200
    assert answers["api"] == 401
    assert answers["metadata"] == 501
    issue = answers["outcome"]["issue"][0]
    assert issue["code"] == "not-supported"
    assert "pip install 'alsrwe[fhir]'" in issue["diagnostics"]
    assert not set(answers["loaded"]) & set(LIGHT)


@pytest.mark.parametrize(("args", "extra"), [
    (("export", "--format", "fhir", "out"), "fhir"),
    (("patient", "BER-0001", "--database", "postgresql+psycopg://postgres@127.0.0.1/test"),
     "postgres"),
    (("federate", "init", "hub", "--role", "coordinator", "--name", "hub"), "federation"),
    (("analyze", "--engine", "native", "--database",
      "postgresql+psycopg://postgres@127.0.0.1/test"), "postgres"),
])
def test_an_optional_command_names_its_extra(tmp_path: Path, args: tuple[str, ...],
                                             extra: str) -> None:
    if args[0] == "export":
        assert _light(_cli("demo", "--patients", "5", "--carriers", "0"), tmp_path
                      ).returncode == 0
    result = _light(_cli(*args), tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"pip install 'alsrwe[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not re.search(r"^\s*File ", result.stderr, re.MULTILINE)
    assert not (tmp_path / "out").exists() and not (tmp_path / "hub").exists()
