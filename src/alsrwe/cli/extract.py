"""``alsrwe extract DIR``: the pseudonymised research extract (docs/extract.md)."""

from __future__ import annotations

import getpass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from alsrwe.cli.common import (
    DatabaseOption,
    app,
    existing_registry,
    out,
    registry_engine,
    sqlite_file,
    user_errors,
)
from alsrwe.domain.privacy import SUPPRESS_BELOW

# Copies of alsrwe.interop.extract's names that the options need when the app is built:
# importing that package loads pandas (tests/test_cli_startup.py keeps them equal).
KEY_FILENAME = "alsrwe-extract.key"
KEY_FILE_ENV = "ALSRWE_EXTRACT_SECRET_FILE"


class DateChoice(StrEnum):
    """The choices of --dates: :class:`alsrwe.interop.extract.DateMode`'s values."""

    ONSET = "onset"
    SHIFT = "shift"


def default_key_path(url: str) -> Path:
    """``alsrwe-extract.key`` beside a SQLite registry, else in the current folder."""
    database = sqlite_file(url)
    return (database.parent if database is not None else Path.cwd()) / KEY_FILENAME


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command()
def extract(
    directory: Annotated[Path, typer.Argument(help="New or empty folder for the extract.")],
    database: DatabaseOption = None,
    dates: Annotated[DateChoice, typer.Option(
        "--dates", help="onset: days since symptom onset (carriers: since their earliest "
                        "registry date); shift: dates shifted per patient by a keyed ±182 days."
    )] = DateChoice.ONSET,
    min_cell: Annotated[int, typer.Option(
        "--min-cell", min=1,
        help=f"Aggregate counts from 1 to N-1 are suppressed (default {SUPPRESS_BELOW}, "
             "alsrwe's; DataSHIELD's nfilter.tab is 3).")] = SUPPRESS_BELOW,
    secret_file: Annotated[Path | None, typer.Option(
        "--secret-file", envvar=KEY_FILE_ENV,
        help=f"The site's extract key (default ${KEY_FILE_ENV}, else {KEY_FILENAME} beside a "
             "SQLite registry or in the current folder); created when missing.")] = None,
    aggregates_only: Annotated[bool, typer.Option(
        "--aggregates-only", help="Write only the suppressed aggregate tables and the "
                                  "manifest, no record-level files.")] = False,
) -> None:
    """Write a pseudonymised research extract: keyed ids, no free text, suppressed counts."""
    from alsrwe.interop.extract import (
        DateMode,
        check_destination,
        load_or_create_key,
        write_extract,
    )

    with user_errors():
        url = existing_registry(database)
        key_path = secret_file or default_key_path(url)
        check_destination(directory, key_path)
        key = load_or_create_key(key_path)
        if key.created:
            out.print(f"created a new extract key at [bold]{key.path}[/bold] (mode 0600): keep "
                      "it private and keep it, the same key gives the same ids")
        with registry_engine(url) as engine:
            report = write_extract(engine, directory, key.key, actor=_actor(),
                                   mode=DateMode(dates.value), min_cell=min_cell,
                                   aggregates_only=aggregates_only)
    table = Table("file", "rows", title=f"extract written to {report.directory}")
    for name, rows in report.counts.items():
        table.add_row(f"{name}.csv", str(rows))
    out.print(table)
    out.print(f"dates: {dates.value}; small cells: under {min_cell} suppressed; key "
              f"fingerprint {report.manifest['key_fingerprint']}; audited")
