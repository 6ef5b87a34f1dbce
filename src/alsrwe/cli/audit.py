"""The audit trail at the command line: verify its chain, list its entries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from alsrwe.cli.common import (
    DatabaseOption,
    app,
    err,
    existing_registry,
    out,
    registry_engine,
    user_errors,
)

audit_app = typer.Typer(help="Check and read the audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

DETAIL_WIDTH = 120
"""Characters of an entry's detail shown per row (the JSON output has all of it)."""


@audit_app.command("verify")
def audit_verify(database: DatabaseOption = None) -> None:
    """Check the hash chain of every entry; name the first broken one (exit 1)."""
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.reads.audit_log import chain_head, verify_chain

    with user_errors(), registry_engine(existing_registry(database)) as engine, unit_of_work(
            engine, read_only=True) as session:
        broken = verify_chain(session)
        head = chain_head(session)
    if broken is not None:
        err.print(f"[red]audit trail broken[/red] at {broken}", highlight=False)
        raise typer.Exit(1)
    out.print(f"audit trail intact: {head.entries} entries, last {head.last_id}, "
              f"head {head.last_hash or '-'}", highlight=False)


def _day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)",
                                 param_hint=option) from None


@audit_app.command("show")
def audit_show(
    database: DatabaseOption = None,
    patient: Annotated[str | None, typer.Option(help="Only entries about this pseudonym.")] = None,
    user: Annotated[str | None, typer.Option(help="Only entries by this user.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (e.g. import).")] = None,
    since: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="To this day, inclusive.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest entries shown.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the newest audit entries, filtered by patient, user, action and date."""
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.reads.audit_log import AuditFilter, audit_entries

    wanted = AuditFilter(patient=patient, actor=user, action=action,
                         since=_day(since, "--since"), until=_day(until, "--until"))
    with user_errors(), registry_engine(existing_registry(database)) as engine, unit_of_work(
            engine, read_only=True) as session:
        rows = audit_entries(session, wanted, limit=limit)
    if as_json:
        for row in rows:
            typer.echo(json.dumps({"id": row.id, "at": row.at.isoformat(), "actor": row.actor,
                                   "action": row.action, "entity": row.entity,
                                   "patient": row.pseudonym, "detail": row.detail},
                                  ensure_ascii=False))
        return
    table = Table("id", "at (UTC)", "user", "action", "patient", "detail",
                  title=f"audit trail: {len(rows)} newest matching entries", title_justify="left")
    for row in rows:
        detail = json.dumps(row.detail, ensure_ascii=False) if row.detail else ""
        table.add_row(str(row.id), row.at.strftime("%Y-%m-%d %H:%M:%S"), row.actor, row.action,
                      row.pseudonym or "", detail[:DETAIL_WIDTH])
    out.print(table)
