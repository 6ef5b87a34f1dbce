"""The one command line of alsrwe (Typer + rich), thin over the layers.

User errors (the domain's :class:`~alsrwe.domain.errors.AlsrweError` tree: invalid input,
not found, conflict) print one clear line per problem on stderr and exit with status 2; they
never show a traceback. Every command that writes says which database it wrote; a command
that fails leaves no new database file behind; reading commands never create a registry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DataError,
    IntegrityError,
    NoSuchModuleError,
    ProgrammingError,
)

from alsrwe.domain.access import normalize_username
from alsrwe.domain.errors import (
    AlsrweError,
    Conflict,
    DomainError,
    InvalidInput,
    Problem,
    UnconfirmedWarnings,
)
from alsrwe.domain.regimens import REGIMENS, Regimen
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS
from alsrwe.interop.tidy_csv import check_tidy_dir, export_tidy, import_tidy, write_frames
from alsrwe.store.db import Settings, current_revision, make_engine, migrate, unit_of_work
from alsrwe.store.reads.counts import RegistryCounts, registry_counts
from alsrwe.store.reads.origin import DEMO_ACTOR, registry_origin
from alsrwe.store.reads.summary import dosing_calendar, patient_summary
from alsrwe.store.reads.users import get_user
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.accounts import create_account

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
AcceptWarnings = Annotated[bool, typer.Option(
    "--accept-warnings",
    help=f"Confirm every plausibility warning (otherwise a row confirms its own in the "
         f"{CONFIRMED_WARNINGS} column).")]


def _error(text: str) -> None:
    err.print(f"[red]error[/red] {text}", highlight=False)


def _invalid(error: InvalidInput) -> None:
    for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
        label = "[yellow]warning[/yellow]" if problem.soft else "[red]error[/red]"
        err.print(f"{label} {problem}", highlight=False)
    hidden = len(error.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        err.print(f"… and {hidden} more", highlight=False)
    if isinstance(error, UnconfirmedWarnings):
        err.print(f"{len(error.problems)} warning(s) need confirmation: check them, then pass "
                  f"--accept-warnings or list their codes in the row's {CONFIRMED_WARNINGS} "
                  "column; nothing was written", highlight=False)
    else:
        err.print(f"rejected: {len(error.hard)} problem(s); nothing was written",
                  highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """The CLI's one error boundary: user errors become lines on stderr and exit status 2."""
    try:
        yield
    except InvalidInput as error:
        _invalid(error)
        raise typer.Exit(2) from None
    except AlsrweError as error:
        _error(str(error))
        raise typer.Exit(2) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        _error(f"{where}: {first['msg']}")
        raise typer.Exit(2) from None
    except (ArgumentError, NoSuchModuleError) as error:
        _error(f"--database: not a usable database URL ({error})")
        raise typer.Exit(2) from None
    except OSError as error:
        _error(f"{error.filename or ''}: {error.strerror or error}")
        raise typer.Exit(2) from None
    except DatabaseError as error:
        if isinstance(error, IntegrityError | ProgrammingError | DataError):
            raise  # a bug, not the user's database: keep the traceback
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        _error(f"cannot use the database: {reason}")
        raise typer.Exit(2) from None


def _database_url(database: str | None) -> str:
    return database or Settings().database_url


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (absolute), or None for a server or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "").resolve()


def _shown(url: str) -> str:
    """How a command names the database it used: a SQLite file's absolute path, else the URL."""
    path = _sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


def _existing_registry(database: str | None) -> str:
    """The URL of a registry that must already exist (only init and demo create one)."""
    url = _database_url(database)
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        raise Conflict(f"no registry at {path}: create it with `alsrwe init`, or name another "
                       "with --database / ALSRWE_DATABASE_URL")
    return make_url(url).render_as_string(hide_password=False)


@contextmanager
def new_file_guard(url: str) -> Iterator[None]:
    """Remove a SQLite file (and its -wal/-shm) that this command created, if it fails."""
    path = _sqlite_file(url)
    existed = path is None or path.exists()
    try:
        yield
    except BaseException:
        if not existed and path is not None:
            for leftover in (path, path.with_name(path.name + "-wal"),
                             path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
        raise


@contextmanager
def registry_engine(url: str, *, create: bool = False) -> Iterator[Engine]:
    """An engine on ``url`` (migrated when ``create``), disposed after the block."""
    engine = make_engine(url)
    try:
        if create:
            migrate(engine)
        yield engine
    finally:
        engine.dispose()


@app.command()
def init(database: DatabaseOption = None) -> None:
    """Create the registry database, or migrate it to the current schema."""
    with user_errors():
        url = _database_url(database)
        with new_file_guard(url), registry_engine(url, create=True):
            pass
    out.print(f"registry ready at [bold]{_shown(url)}[/bold]")


@app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="Folder with the tidy CSV files.")],
    database: DatabaseOption = None,
    accept_warnings: AcceptWarnings = False,
) -> None:
    """Import a folder of tidy CSV files (docs/data-format.md) in one transaction."""
    with user_errors():
        if not directory.is_dir():
            raise InvalidInput([Problem(None, "not a folder", file=str(directory))])
        url = _existing_registry(database)
        with registry_engine(url, create=True) as engine, out.status("checking and importing…"):
            report = import_tidy(engine, directory, today=date.today(),
                                 accept_warnings=accept_warnings)
    _print_import_report(report.counts, report.ignored_columns, report.confirmed_warnings)
    out.print(f"imported into [bold]{_shown(url)}[/bold]")


@app.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write the tidy CSV files into.")],
    database: DatabaseOption = None,
) -> None:
    """Export the registry as tidy CSV files (the format `alsrwe import` reads)."""
    with user_errors(), registry_engine(_existing_registry(database)) as engine:
        counts = export_tidy(engine, directory)
    table = Table("file", "rows", title=f"exported to {directory}")
    for name, rows in counts.items():
        table.add_row(f"{name}.csv", str(rows))
    out.print(table)


def _refuse_foreign_registry(engine: Engine, url: str) -> None:
    """``alsrwe demo`` writes only into an empty registry or one it wrote itself."""
    with unit_of_work(engine, read_only=True) as session:
        origin = registry_origin(session)
    if not origin.demo_only:
        raise Conflict(
            f"{_shown(url)} holds a registry with data not written by alsrwe demo "
            f"({origin.patients} people, {origin.users} users, {origin.other_writes} changes by "
            "others); the demo never writes into it. Name a new database with --database "
            "(e.g. sqlite:///alsrwe-demo.db), or delete this one first if it is only an old "
            "demo you no longer need")


@app.command()
def demo(
    database: DatabaseOption = None,
    patients: Annotated[int, typer.Option(help="Synthetic patients with ALS.")] = 300,
    carriers: Annotated[int, typer.Option(help="Synthetic presymptomatic carriers.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic cohort.")] = 2026,
) -> None:
    """Set up a registry with a seeded synthetic 3-site cohort and print its summary.

    Only into a new or empty registry, or one the demo made: never over real data.
    """
    from alsrwe.synth import CohortParams, generate_cohort

    with user_errors():
        params = CohortParams(seed=seed, n_patients=patients, n_carriers=carriers,
                              as_of=date.today())
        url = _database_url(database)
        with new_file_guard(url), registry_engine(url) as engine:
            if current_revision(engine) is not None:
                _refuse_foreign_registry(engine, url)
            migrate(engine)
            with out.status("generating the synthetic cohort…"):
                cohort = generate_cohort(params)
            with tempfile.TemporaryDirectory(prefix="alsrwe-demo-") as folder:
                write_frames(cohort.tables(), Path(folder))
                report = import_tidy(engine, Path(folder), today=date.today(),
                                     actor=DEMO_ACTOR)
            _print_import_report(report.counts, report.ignored_columns,
                                 report.confirmed_warnings)
            logins = _demo_users(engine)
            with unit_of_work(engine, read_only=True) as session:
                counts = registry_counts(session, SiteScope.every_site(), suppress_below=0)
    _print_cohort_summary(counts)
    _print_demo_logins(logins)
    out.print(f"demo registry at [bold]{_shown(url)}[/bold]")
    first = cohort.patients["patient_id"].iloc[0]
    out.print(f"\nTry: [bold]alsrwe patient {first}[/bold] and [bold]alsrwe schedule "
              f"{first}[/bold]")


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
            raise Conflict(f"cannot serve on {host}:{port}: {error.strerror or error}") from None


user_app = typer.Typer(help="Manage the web app's user accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _add_user(engine: Engine, username: str, password: str, role: str, sites: list[str],
              actor: str) -> None:
    with unit_of_work(engine) as session:
        create_account(session, username, password, role, sites, actor=actor)


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
    with user_errors():
        url = _existing_registry(database)
        secret = password or typer.prompt("password", hide_input=True,
                                          confirmation_prompt=True)
        with registry_engine(url, create=True) as engine:
            _add_user(engine, username, secret, role, list(site or []), actor="cli")
    out.print(f"user [bold]{normalize_username(username)}[/bold] created ({role}) in "
              f"[bold]{_shown(url)}[/bold]")


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

    with user_errors():
        if csv_dir is not None:
            check_tidy_dir(csv_dir, today=date.today(), accept_warnings=accept_warnings)
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
        with registry_engine(_existing_registry(database)) as engine, unit_of_work(
                engine, read_only=True) as session:
            summary = patient_summary(session, patient_id, today=date.today(), regimen=chosen)
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
        with registry_engine(_existing_registry(database)) as engine, unit_of_work(
                engine, read_only=True) as session:
            calendar = dosing_calendar(session, patient_id, today=date.today(),
                                       regimen=chosen, ahead=ahead)
    table = Table(*calendar.columns, title=calendar.title, title_justify="left")
    for row in calendar.rows:
        table.add_row(*row)
    out.print(table)
    out.print(calendar.footer)


def _regimen(regimen_id: str) -> Regimen:
    if regimen_id not in REGIMENS:
        known = ", ".join(sorted(REGIMENS))
        raise DomainError("--regimen", f"'{regimen_id}' is not one of: {known}")
    return REGIMENS[regimen_id]


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
    logins = []
    for username, role, sites in DEMO_USERS:
        with unit_of_work(engine, read_only=True) as session:
            exists = get_user(session, username) is not None
        if not exists:
            _add_user(engine, username, DEMO_PASSWORD, role, list(sites), actor=DEMO_ACTOR)
        logins.append((username, role, ", ".join(sites) or "all"))
    return logins


def _print_demo_logins(logins: list[tuple[str, str, str]]) -> None:
    table = Table("username", "role", "sites", "password", title="demo logins (synthetic data)",
                  title_justify="left")
    for username, role, sites in logins:
        table.add_row(username, role, sites, DEMO_PASSWORD)
    out.print(table)


def _print_import_report(counts: dict[str, tuple[int, int, int]],
                         ignored: dict[str, list[str]], confirmed: int) -> None:
    table = Table("file", "inserted", "updated", "unchanged", title="import")
    for name, (inserted, updated, unchanged) in counts.items():
        table.add_row(f"{name}.csv", str(inserted), str(updated), str(unchanged))
    out.print(table)
    for name, columns in ignored.items():
        out.print(f"[yellow]note[/yellow] {name}.csv: ignored columns {', '.join(columns)}")
    if confirmed:
        out.print(f"[yellow]note[/yellow] {confirmed} plausibility warning(s) confirmed and "
                  "kept with their records")


def _print_cohort_summary(counts: RegistryCounts, top_variants: int = 5) -> None:
    """The registry at a glance: people by site and status, variants, treatment, safety."""
    out.print(f"\n[bold]registry: {counts.people} people[/bold]")
    head = Table("site", "people")
    for site, count in counts.by_site.items():
        head.add_row(site, str(count))
    out.print(head)
    status = ", ".join(f"{count} {name}s" for name, count in counts.by_status.items())
    out.print(f"{status}; {counts.on_treatment} with a tofersen dose given; "
              f"{counts.assessments} ALSFRS-R assessments; {counts.deaths} deaths")
    variants = Table("SOD1 variant (HGVS)", "legacy", "people", title="commonest variants",
                     title_justify="left")
    for hgvs, legacy, people in counts.variants[:top_variants]:
        variants.add_row(hgvs, legacy, str(people))
    out.print(variants)
    events = Table("adverse event", "events", title="adverse events", title_justify="left")
    for term, n in sorted(counts.adverse_events_by_term.items(), key=lambda item: -(item[1] or 0)):
        events.add_row(term, str(n))
    out.print(events)


def main() -> None:
    """Console-script entry point."""
    app()
