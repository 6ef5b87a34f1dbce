"""The cohort report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from alsrwe.cli.common import (
    AcceptWarnings,
    DatabaseOption,
    app,
    existing_registry,
    out,
    user_errors,
)


@app.command()
def analyze(
    database: DatabaseOption = None,
    site: Annotated[str | None, typer.Option(help="Only this site's patients.")] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder for report.html and its files.")] = Path("report"),
    csv_dir: Annotated[Path | None, typer.Option(
        "--csv", help="Analyse a tidy CSV folder (checked as an import) instead of the "
                      "registry.")] = None,
    engine: Annotated[str, typer.Option(
        help="duckdb (copy into DuckDB) or native (run inside a PostgreSQL registry).")
    ] = "duckdb",
    accept_warnings: AcceptWarnings = False,
) -> None:
    """Write the cohort report (report.html + JSON/CSV of every table) for the registry."""
    from alsrwe.analytics import Cohort, ReportSettings, build_report
    from alsrwe.interop.tidy_csv import check_tidy_dir

    with user_errors():
        if csv_dir is not None:
            check_tidy_dir(csv_dir, today=date.today(), accept_warnings=accept_warnings)
            cohort = Cohort.from_csv_dir(csv_dir)
        else:
            cohort = Cohort.from_registry(existing_registry(database), engine=engine)
        with out_progress() as step:
            path = build_report(cohort, out_dir, ReportSettings(site=site), progress=step)
    out.print(f"report written: [bold]{path.resolve()}[/bold]")


@contextmanager
def out_progress() -> Iterator[Callable[[str], None]]:
    """A spinner naming the analysis that is running."""
    with out.status("analysing…") as status:
        yield lambda title: status.update(f"analysing: {title}")

