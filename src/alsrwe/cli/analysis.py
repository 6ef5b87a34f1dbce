"""The cohort report, and its exact re-run from a saved ``report.settings.json``.

``--settings FILE`` reads the settings an earlier run saved beside its report (every
analysis' settings, the site, the drug, the suppression threshold) and runs them again
unchanged on the data named by ``--database`` or ``--csv``. Options that the file also sets
(``--site``) are not silently overridden: one that agrees with the file is accepted, one that
differs is a conflict (exit 2) — edit the file (or drop ``--settings``) to change it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alsrwe.cli.common import (
    AcceptWarnings,
    DatabaseOption,
    app,
    existing_registry,
    out,
    user_errors,
)
from alsrwe.domain.errors import Conflict

if TYPE_CHECKING:
    from alsrwe.analytics import ReportSettings


class InvalidSettings(Conflict):
    """A --settings file that cannot be re-run: unreadable, invalid, or contradicted."""


@app.command()
def analyze(
    database: DatabaseOption = None,
    site: Annotated[str | None, typer.Option(help="Only this site's patients.")] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder for report.html and its files.")] = Path("report"),
    csv_dir: Annotated[Path | None, typer.Option(
        "--csv", "--csv-dir", help="Analyse a tidy CSV folder (checked as an import) "
                                   "instead of the registry.")] = None,
    engine: Annotated[str, typer.Option(
        help="duckdb (copy into DuckDB) or native (run inside a PostgreSQL registry).")
    ] = "duckdb",
    accept_warnings: AcceptWarnings = False,
    settings_file: Annotated[Path | None, typer.Option(
        "--settings", help="Re-run exactly with a report.settings.json of an earlier run; "
                           "a --site that differs from the file's is an error.")] = None,
) -> None:
    """Write the cohort report (report.html + JSON/CSV of every table) for the registry."""
    with user_errors(), out_progress() as step:
        step("loading the analyses")
        from alsrwe.analytics import Cohort, ReportSettings, build_report
        from alsrwe.interop.tidy_csv import check_tidy_dir

        settings = ReportSettings(site=site)
        if settings_file is not None:
            settings = saved_settings(settings_file, site)
        if csv_dir is not None:
            step(f"checking {csv_dir}")
            check_tidy_dir(csv_dir, today=date.today(), accept_warnings=accept_warnings)
            cohort = Cohort.from_csv_dir(csv_dir)
        else:
            url = existing_registry(database)
            step("reading the registry")
            cohort = Cohort.from_registry(url, engine=engine)
        path = build_report(cohort, out_dir, settings, progress=step)
    out.print(f"report written: [bold]{path.resolve()}[/bold]")


@contextmanager
def out_progress() -> Iterator[Callable[[str], None]]:
    """A spinner naming the analysis that is running."""
    with out.status("analysing…") as status:
        yield lambda title: status.update(f"analysing: {title}")



def saved_settings(path: Path, site: str | None) -> ReportSettings:
    """The ReportSettings saved in ``path``; a bad file names the file and the field (exit 2)."""
    from pydantic import ValidationError

    from alsrwe.analytics import ReportSettings

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidSettings(f"--settings {path}: cannot be read ({error.strerror})") from None
    try:
        settings = ReportSettings.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(the whole file)"
        raise InvalidSettings(f"--settings {path}: {where}: {first['msg']}") from None
    if site is not None and site != settings.site:
        raise InvalidSettings(f"--site {site} conflicts with site {settings.site!r} in {path}; "
                              "drop --site to re-run exactly, or edit the file")
    return settings
