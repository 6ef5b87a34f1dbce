"""The web app's user accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from alsrwe.cli.common import (
    DatabaseOption,
    app,
    existing_registry,
    out,
    registry_engine,
    shown,
    user_errors,
)
from alsrwe.domain.access import normalize_username

if TYPE_CHECKING:
    from sqlalchemy import Engine

user_app = typer.Typer(help="Manage the web app's user accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def add_user(engine: Engine, username: str, password: str, role: str, sites: list[str],
              actor: str) -> None:
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.writes.accounts import create_account

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
        url = existing_registry(database)
        secret = password or typer.prompt("password", hide_input=True,
                                          confirmation_prompt=True)
        with registry_engine(url, create=True) as engine:
            add_user(engine, username, secret, role, list(site or []), actor="cli")
    out.print(f"user [bold]{normalize_username(username)}[/bold] created ({role}) in "
              f"[bold]{shown(url)}[/bold]")



@user_app.command("role")
def user_role(
    username: Annotated[str, typer.Argument(help="The user's login name.")],
    role: Annotated[str, typer.Option(
        help="admin, clinician, data_manager, analyst or patient.")],
    site: Annotated[list[str] | None, typer.Option(
        help="Site code (repeat for several; none for admin/analyst).")] = None,
    database: DatabaseOption = None,
) -> None:
    """Change a user's role and sites (audited; their open sessions end)."""
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.writes.accounts import change_role

    with user_errors():
        url = existing_registry(database)
        with registry_engine(url) as engine, unit_of_work(engine) as session:
            change_role(session, username, role, list(site or []), actor="cli")
    out.print(f"user [bold]{normalize_username(username)}[/bold] is now {role} in "
              f"[bold]{shown(url)}[/bold]")
