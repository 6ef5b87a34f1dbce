"""The one command line of alsrwe (Typer + rich), thin over the layers.

User errors (the domain's :class:`~alsrwe.domain.errors.AlsrweError` tree: invalid input,
not found, conflict) print one clear line per problem on stderr and exit with status 2; they
never show a traceback. Every command that writes says which database it wrote; a command
that fails leaves no new database file behind; reading commands never create a registry.

Startup: this package imports only typer, rich, the standard library and the cheap domain
modules at import time, so ``--help`` answers at once; SQLAlchemy, pydantic, the store, interop
and everything they pull in (pandas, …) are imported inside the functions that use them
(tests/test_cli_startup.py guards it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from alsrwe.domain.errors import (
    AlsrweError,
    Conflict,
    InvalidInput,
    UnconfirmedWarnings,
)
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS

if TYPE_CHECKING:
    from sqlalchemy import Engine

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


def error_line(text: str) -> None:
    """One error on stderr; the text is shown as it is (``item[q3]`` is no markup)."""
    err.print(f"[red]error[/red] {escape(text)}", highlight=False)


def show_invalid(error: InvalidInput) -> None:
    for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
        label = "[yellow]warning[/yellow]" if problem.soft else "[red]error[/red]"
        err.print(f"{label} {escape(str(problem))}", highlight=False)
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
        show_invalid(error)
        raise typer.Exit(2) from None
    except AlsrweError as error:
        error_line(str(error))
        raise typer.Exit(2) from None
    except OSError as error:
        error_line(f"{error.filename or ''}: {error.strerror or error}")
        raise typer.Exit(2) from None
    except Exception as error:
        if not _library_error(error):
            raise
        raise typer.Exit(2) from None


def _library_error(error: Exception) -> bool:
    """Print a pydantic or SQLAlchemy user error (True), else False: imported only on failure."""
    from pydantic import ValidationError
    from sqlalchemy.exc import (
        ArgumentError,
        DatabaseError,
        DataError,
        IntegrityError,
        NoSuchModuleError,
        ProgrammingError,
    )

    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        error_line(f"{where}: {first['msg']}")
        return True
    if isinstance(error, ArgumentError | NoSuchModuleError):
        error_line(f"--database: not a usable database URL ({error})")
        return True
    if isinstance(error, DatabaseError):
        if isinstance(error, IntegrityError | ProgrammingError | DataError):
            return False  # a bug, not the user's database: keep the traceback
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        error_line(f"cannot use the database: {reason}")
        return True
    return False


def database_url(database: str | None) -> str:
    if database:
        return database
    from alsrwe.store.db import Settings

    return Settings().database_url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (absolute), or None for a server or an in-memory database."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "").resolve()


def shown(url: str) -> str:
    """How a command names the database it used: a SQLite file's absolute path, else the URL."""
    from sqlalchemy import make_url

    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


def existing_registry(database: str | None) -> str:
    """The URL of a registry that must already exist (only init and demo create one)."""
    from sqlalchemy import make_url

    url = database_url(database)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise Conflict(f"no registry at {path}: create it with `alsrwe init`, or name another "
                       "with --database / ALSRWE_DATABASE_URL")
    return make_url(url).render_as_string(hide_password=False)


@contextmanager
def new_file_guard(url: str) -> Iterator[None]:
    """Remove a SQLite file (and its -wal/-shm) that this command created, if it fails."""
    path = sqlite_file(url)
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
    from alsrwe.store.db import make_engine, migrate

    engine = make_engine(url)
    try:
        if create:
            migrate(engine)
        yield engine
    finally:
        engine.dispose()

