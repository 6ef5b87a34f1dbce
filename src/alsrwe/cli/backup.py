"""Backups: ``alsrwe backup FILE`` and ``alsrwe restore FILE`` (docs/deployment.md, Backups)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alsrwe.cli.common import (
    DatabaseOption,
    app,
    database_url,
    existing_registry,
    out,
    shown,
    user_errors,
)

if TYPE_CHECKING:
    from alsrwe.store.backup import Manifest


def _summary(manifest: Manifest) -> str:
    snapshot = manifest.snapshot
    chain = snapshot.audit_chain
    entries = f"{chain['entries']} audit entries" if chain else "audit chain not recorded"
    return (f"{sum(snapshot.row_counts.values())} rows in {len(snapshot.row_counts)} tables, "
            f"schema {snapshot.schema_revision}, {entries}, sha256 "
            f"{manifest.payload_sha256[:16]}…")


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(
        help="The backup file to write (replaced if it exists): a tar of manifest.json and "
             "the database.", dir_okay=False)],
    database: DatabaseOption = None,
) -> None:
    """Back up the registry into one file: consistent even while it is served; audited."""
    from alsrwe.store.backup import create_backup

    with user_errors():
        url = existing_registry(database)
        with out.status("backing up…"):
            manifest = create_backup(url, file)
    out.print(f"backed up [bold]{shown(url)}[/bold] to [bold]{file}[/bold]: "
              f"{_summary(manifest)}", highlight=False)


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `alsrwe backup`.",
                                         dir_okay=False)],
    database: DatabaseOption = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace the registry already in the target database (otherwise "
                          "the target must be new or empty).")] = False,
) -> None:
    """Restore a backup into a new or empty database (--replace: over a registry), checked.

    The payload must match its manifest; afterwards the row counts must equal the manifest's
    and the audit chain must verify. A SQLite target is replaced only once all of it passed.
    """
    from alsrwe.store.backup import restore_backup
    from alsrwe.store.db import head_revision

    with user_errors():
        url = database_url(database)
        with out.status("restoring and checking…"):
            manifest = restore_backup(file, url, replace=replace)
    head = head_revision()
    migrated = ("" if manifest.snapshot.schema_revision == head
                else f"; migrated to schema {head}")
    out.print(f"restored [bold]{file}[/bold] (made {manifest.created_at}) into "
              f"[bold]{shown(url)}[/bold]: {_summary(manifest)}{migrated}; audit chain verified",
              highlight=False)
