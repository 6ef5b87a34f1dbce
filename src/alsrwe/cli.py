"""The one command line of alsrwe (Typer + rich), thin over the layers.

User errors (bad input, unknown patient, rejected import) print one clear line per problem on
stderr and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from alsrwe.domain.errors import DomainError
from alsrwe.domain.regimens import REGIMENS, Regimen
from alsrwe.interop.problems import ImportRejected
from alsrwe.interop.tidy_csv import export_tidy, import_tidy, write_frames
from alsrwe.store.db import Settings, make_engine, migrate, unit_of_work
from alsrwe.store.patient_view import PatientNotFound, dosing_calendar, patient_summary
from alsrwe.store.queries import cohort_summary
from alsrwe.web.errors import AccountError
from alsrwe.web.server import DatabaseNotReady

app = typer.Typer(
    help="alsrwe: registry and real-world evidence for ALS disease-modifying therapy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)

MAX_PROBLEMS_SHOWN = 25

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        "-d",
        help="SQLAlchemy URL of the registry (default: $ALSRWE_DATABASE_URL or ./alsrwe.db).",
    ),
]


class UserError(ValueError):
    """A mistake in what the user asked for, rendered as one line."""


@contextmanager
def user_errors() -> Iterator[None]:
    """The CLI's one error boundary: user errors become lines on stderr and exit status 2."""
    try:
        yield
    except ImportRejected as rejected:
        for problem in rejected.problems[:MAX_PROBLEMS_SHOWN]:
            err.print(f"[red]error[/red] {problem}", markup=True, highlight=False)
        hidden = len(rejected.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            err.print(f"[red]error[/red] … and {hidden} more problems", highlight=False)
        err.print(f"import rejected: {len(rejected.problems)} problem(s); nothing was written",
                  highlight=False)
        raise typer.Exit(2) from None
    except (DomainError, UserError, PatientNotFound, AccountError, DatabaseNotReady) as error:
        err.print(f"[red]error[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        err.print(f"[red]error[/red] {where}: {first['msg']}", highlight=False)
        raise typer.Exit(2) from None
    except (ArgumentError, NoSuchModuleError) as error:
        err.print(f"[red]error[/red] --database: not a usable database URL ({error})",
                  highlight=False)
        raise typer.Exit(2) from None
    except OSError as error:
        err.print(f"[red]error[/red] {error.filename or ''}: {error.strerror or error}",
                  highlight=False)
        raise typer.Exit(2) from None
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        err.print(f"[red]error[/red] cannot open the database: {reason}", highlight=False)
        raise typer.Exit(2) from None


def _database_url(database: str | None) -> str:
    return database or Settings().database_url


def _existing_registry(database: str | None) -> str:
    """The URL of a registry that must already exist (reading commands never create one)."""
    url = make_url(_database_url(database))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database or "")
        if not path.exists():
            raise UserError(f"no registry at {path}: run `alsrwe init` or `alsrwe demo` first")
    return url.render_as_string(hide_password=False)


@app.command()
def init(database: DatabaseOption = None) -> None:
    """Create the registry database, or migrate it to the current schema."""
    with user_errors():
        engine = make_engine(_database_url(database))
        try:
            migrate(engine)
        finally:
            engine.dispose()
    out.print(f"registry ready at [bold]{engine.url.render_as_string(hide_password=True)}[/bold]")


@app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="Folder with the tidy CSV files.")],
    database: DatabaseOption = None,
) -> None:
    """Import a folder of tidy CSV files (docs/data-format.md) in one transaction."""
    with user_errors():
        if not directory.is_dir():
            raise UserError(f"{directory}: not a folder")
        engine = make_engine(_database_url(database))
        try:
            migrate(engine)
            report = import_tidy(engine, directory, today=date.today(), progress=True)
        finally:
            engine.dispose()
    _print_import_report(report.counts, report.ignored_columns)


@app.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write the tidy CSV files into.")],
    database: DatabaseOption = None,
) -> None:
    """Export the registry as tidy CSV files (the format `alsrwe import` reads)."""
    with user_errors():
        engine = make_engine(_existing_registry(database))
        try:
            counts = export_tidy(engine, directory)
        finally:
            engine.dispose()
    table = Table("file", "rows", title=f"exported to {directory}")
    for name, rows in counts.items():
        table.add_row(f"{name}.csv", str(rows))
    out.print(table)


@app.command()
def demo(
    database: DatabaseOption = None,
    patients: Annotated[int, typer.Option(help="Synthetic patients with ALS.")] = 300,
    carriers: Annotated[int, typer.Option(help="Synthetic presymptomatic carriers.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic cohort.")] = 2026,
) -> None:
    """Set up a registry with a seeded synthetic 3-site cohort and print its summary."""
    from alsrwe.synth import CohortParams, generate_cohort

    with user_errors():
        url = _database_url(database)
        engine = make_engine(url)
        try:
            migrate(engine)
            with out.status("generating the synthetic cohort…"):
                cohort = generate_cohort(CohortParams(
                    seed=seed, n_patients=patients, n_carriers=carriers, as_of=date.today()
                ))
            with tempfile.TemporaryDirectory(prefix="alsrwe-demo-") as folder:
                write_frames(cohort.tables(), Path(folder))
                report = import_tidy(engine, Path(folder), today=date.today(), progress=True,
                                     actor="alsrwe demo")
            _print_import_report(report.counts, report.ignored_columns)
            with unit_of_work(engine) as session:
                summary = cohort_summary(session)
            logins = _demo_users(engine)
        finally:
            engine.dispose()
    _print_cohort_summary(summary)
    _print_demo_logins(logins)
    out.print("\nTry: [bold]alsrwe patient "
              f"{cohort.patients['patient_id'].iloc[0]}[/bold] and "
              f"[bold]alsrwe schedule {cohort.patients['patient_id'].iloc[0]}[/bold]")


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, help="Processes sharing the port (for a server: one per core).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the clinic web app (and its JSON API) over the registry."""
    from alsrwe.web.server import serve as run_server
    from alsrwe.web.settings import WebSettings

    with user_errors():
        settings = WebSettings(database_url=_existing_registry(database))
        out.print(f"alsrwe web app on [bold]http://{host}:{port}/[/bold] with {workers} "
                  f"worker{'s' if workers > 1 else ''} (Ctrl-C stops it)")
        try:
            run_server(host, port, settings, workers=workers, access_log=access_log,
                       log_level=log_level)
        except OSError as error:
            raise UserError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None


user_app = typer.Typer(help="Manage the web app's user accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (lower-case letters, digits, ._@-).")],
    role: Annotated[str, typer.Option(
        help="admin, clinician, data_manager, analyst or patient.")],
    site: Annotated[list[str] | None, typer.Option(
        help="Site code the user works at (repeat for several; none for admin/analyst).")] = None,
    database: DatabaseOption = None,
    password: Annotated[str | None, typer.Option(
        help="Password (12+ characters); asked for when omitted.", hide_input=True)] = None,
) -> None:
    """Create a user of the web app with a role and the sites they may see."""
    from alsrwe.web.auth import create_user

    with user_errors():
        secret = password or typer.prompt("password", hide_input=True,
                                          confirmation_prompt=True)
        engine = make_engine(_database_url(database))
        try:
            migrate(engine)
            create_user(engine, username, secret, role, list(site or []))
        finally:
            engine.dispose()
    out.print(f"user [bold]{username}[/bold] created ({role})")


@app.command()
def analyze(
    database: DatabaseOption = None,
    site: Annotated[str | None, typer.Option(help="Only this site's patients.")] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder for report.html and its files.")] = Path("report"),
    csv_dir: Annotated[Path | None, typer.Option(
        "--csv", help="Analyse a tidy CSV folder instead of the registry.")] = None,
    engine: Annotated[str, typer.Option(
        help="duckdb (copy into DuckDB) or native (run inside a PostgreSQL registry).")
    ] = "duckdb",
) -> None:
    """Write the cohort report (report.html + JSON/CSV of every table) for the registry."""
    from alsrwe.analytics.data import Cohort
    from alsrwe.analytics.report import ReportSettings, build_report

    with user_errors():
        if csv_dir is not None:
            cohort = Cohort.from_csv_dir(csv_dir)
        else:
            cohort = Cohort.from_registry(_existing_registry(database), engine=engine)
        with out_progress() as step:
            path = build_report(cohort, out_dir, ReportSettings(site=site), progress=step)
    out.print(f"report written: [bold]{path.resolve()}[/bold]")


@contextmanager
def out_progress() -> Iterator[Callable[[str], None]]:
    """A spinner naming the analysis that is running."""
    with out.status("analysing…") as status:
        yield lambda title: status.update(f"analysing: {title}")


@app.command()
def patient(
    patient_id: Annotated[str, typer.Argument(help="The patient's pseudonym, e.g. BER-0017.")],
    database: DatabaseOption = None,
    regimen: Annotated[str, typer.Option(help="Regimen for the next dose.")] = "tofersen_us",
) -> None:
    """Summary of one patient: variant, stage, ΔFRS, latest scores and the next dose."""
    with user_errors():
        chosen = _regimen(regimen)
        engine = make_engine(_existing_registry(database))
        try:
            with unit_of_work(engine, read_only=True) as session:
                summary = patient_summary(session, patient_id, today=date.today(),
                                          regimen=chosen)
        finally:
            engine.dispose()
    table = Table(show_header=False, title=f"patient {summary.pseudonym}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, value in summary.rows():
        table.add_row(label, value)
    out.print(table)


@app.command()
def schedule(
    patient_id: Annotated[str, typer.Argument(help="The patient's pseudonym.")],
    database: DatabaseOption = None,
    regimen: Annotated[str, typer.Option(help="Regimen of the calendar.")] = "tofersen_us",
    ahead: Annotated[int, typer.Option(help="Planned doses to show ahead.")] = 4,
) -> None:
    """The dosing calendar: doses given (with delays), missed ones and the next planned."""
    with user_errors():
        chosen = _regimen(regimen)
        engine = make_engine(_existing_registry(database))
        try:
            with unit_of_work(engine, read_only=True) as session:
                calendar = dosing_calendar(session, patient_id, today=date.today(),
                                           regimen=chosen, ahead=ahead)
        finally:
            engine.dispose()
    table = Table(*calendar.columns, title=calendar.title, title_justify="left")
    for row in calendar.rows:
        table.add_row(*row)
    out.print(table)
    out.print(calendar.footer)


def _regimen(regimen_id: str) -> Regimen:
    try:
        return REGIMENS[regimen_id]
    except KeyError:
        known = ", ".join(sorted(REGIMENS))
        raise UserError(f"--regimen: '{regimen_id}' is not one of: {known}") from None


DEMO_PASSWORD = "alsrwe-demo-2026"
"""Password of the demo's users: printed on purpose, for a synthetic demo registry only."""

DEMO_USERS = (
    ("admin", "admin", ()),
    ("clinician.ber", "clinician", ("BER",)),
    ("datamanager.ber", "data_manager", ("BER",)),
    ("analyst", "analyst", ()),
    ("patient.ber", "patient", ("BER",)),
)


def _demo_users(engine: Engine) -> list[tuple[str, str, str]]:
    """One user per role (created once; a re-run keeps them): (username, role, sites)."""
    from alsrwe.store.users import get_user
    from alsrwe.web.auth import create_user

    logins = []
    for username, role, sites in DEMO_USERS:
        with unit_of_work(engine) as session:
            exists = get_user(session, username) is not None
        if not exists:
            create_user(engine, username, DEMO_PASSWORD, role, list(sites))
        logins.append((username, role, ", ".join(sites) or "all"))
    return logins


def _print_demo_logins(logins: list[tuple[str, str, str]]) -> None:
    table = Table("username", "role", "sites", "password", title="demo logins (synthetic data)",
                  title_justify="left")
    for username, role, sites in logins:
        table.add_row(username, role, sites, DEMO_PASSWORD)
    out.print(table)


def _print_import_report(counts: dict[str, tuple[int, int, int]],
                         ignored: dict[str, list[str]]) -> None:
    table = Table("file", "inserted", "updated", "unchanged", title="import")
    for name, (inserted, updated, unchanged) in counts.items():
        table.add_row(f"{name}.csv", str(inserted), str(updated), str(unchanged))
    out.print(table)
    for name, columns in ignored.items():
        out.print(f"[yellow]note[/yellow] {name}.csv: ignored columns {', '.join(columns)}")


def _print_cohort_summary(summary: dict[str, Any]) -> None:
    """The registry at a glance: people by site and status, variants, treatment, safety."""
    out.print(f"\n[bold]registry: {summary['patients']} people[/bold]")
    head = Table("site", "people")
    for site, count in summary["by_site"].items():
        head.add_row(site, str(count))
    out.print(head)
    status = ", ".join(f"{count} {name}s" for name, count in summary["by_status"].items())
    out.print(f"{status}; {summary['on_treatment']} with a tofersen dose given; "
              f"{summary['assessments']} ALSFRS-R assessments; {summary['deaths']} deaths")
    variants = Table("SOD1 variant (HGVS)", "legacy", "people", title="commonest variants",
                     title_justify="left")
    for variant in summary["variants"]:
        variants.add_row(variant["hgvs"], variant["legacy"], str(variant["patients"]))
    out.print(variants)
    events = Table("adverse event", "events", title="adverse events", title_justify="left")
    for term, count in sorted(summary["adverse_events_by_term"].items(),
                              key=lambda item: -item[1]):
        events.add_row(term, str(count))
    out.print(events)


def main() -> None:
    """Console-script entry point."""
    app()
