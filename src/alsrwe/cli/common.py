"""The one command line of alsrwe (Typer + rich), thin over the layers.

User errors (the domain's :class:`~alsrwe.domain.errors.AlsrweError` tree: invalid input,
not found, conflict) print one clear line per problem on stderr and exit with status 2; they
never show a traceback. Every command that writes says which database it wrote; a command
that fails leaves no new database file behind; reading commands never create a registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DataError,
    IntegrityError,
    NoSuchModuleError,
    ProgrammingError,
)

from alsrwe.domain.errors import (
    AlsrweError,
    Conflict,
    InvalidInput,
    UnconfirmedWarnings,
)
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS
from alsrwe.store.db import Settings, make_engine, migrate

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
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        error_line(f"{where}: {first['msg']}")
        raise typer.Exit(2) from None
    except (ArgumentError, NoSuchModuleError) as error:
        error_line(f"--database: not a usable database URL ({error})")
        raise typer.Exit(2) from None
    except OSError as error:
        error_line(f"{error.filename or ''}: {error.strerror or error}")
        raise typer.Exit(2) from None
    except DatabaseError as error:
        if isinstance(error, IntegrityError | ProgrammingError | DataError):
            raise  # a bug, not the user's database: keep the traceback
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        error_line(f"cannot use the database: {reason}")
        raise typer.Exit(2) from None


def database_url(database: str | None) -> str:
    return database or Settings().database_url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (absolute), or None for a server or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "").resolve()


def shown(url: str) -> str:
    """How a command names the database it used: a SQLite file's absolute path, else the URL."""
    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


def existing_registry(database: str | None) -> str:
    """The URL of a registry that must already exist (only init and demo create one)."""
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
    engine = make_engine(url)
    try:
        if create:
            migrate(engine)
        yield engine
    finally:
        engine.dispose()

