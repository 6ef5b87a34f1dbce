"""The registry's commands: create it, import and export (tidy CSV, FHIR, REDCap, OMOP), demo."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from alsrwe.cli.common import (
    AcceptWarnings,
    DatabaseOption,
    app,
    database_url,
    existing_registry,
    new_file_guard,
    out,
    registry_engine,
    shown,
    user_errors,
)
from alsrwe.cli.progress import progress_bars
from alsrwe.cli.users import add_user
from alsrwe.domain.errors import Conflict
from alsrwe.interop.formats import Format

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from alsrwe.store.reads.counts import RegistryCounts


@app.command()
def init(database: DatabaseOption = None) -> None:
    """Create the registry database, or migrate it to the current schema."""
    with user_errors():
        url = database_url(database)
        with new_file_guard(url), registry_engine(url, create=True):
            pass
    out.print(f"registry ready at [bold]{shown(url)}[/bold]")


FormatOption = Annotated[Format | None, typer.Option(
    "--format", "-f", case_sensitive=False,
    help="csv (tidy CSV folder), fhir (Bundle or NDJSON), redcap (project folder: data "
         "dictionary + records + mapping), omop (CDM folder or .duckdb); detected when left out.")]


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="Folder or file to import (see --format).")],
    database: DatabaseOption = None,
    fmt: FormatOption = None,
    accept_warnings: AcceptWarnings = False,
    overwrite_newer: Annotated[bool, typer.Option(
        "--overwrite-newer", help="Let rows of an exported folder overwrite values changed in "
                                  "the registry after the export (listed otherwise).")] = False,
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="REDCap: the TOML mapping of the project's fields (default: the "
                          "project folder's mapping.toml, else alsrwe's clinic mapping).")] = None,
) -> None:
    """Import tidy CSV, FHIR, REDCap or OMOP data in one transaction: all of it, or nothing."""
    from alsrwe.interop.formats import detect_format, import_path

    with user_errors():
        chosen = fmt or detect_format(path)
        url = existing_registry(database)
        with registry_engine(url, create=True) as engine, progress_bars("reading") as progress:
            report = import_path(engine, path, chosen, today=date.today(),
                                 accept_warnings=accept_warnings,
                                 overwrite_newer=overwrite_newer, mapping=mapping,
                                 progress=progress)
    print_import_report(report.counts, report.ignored_columns, report.confirmed_warnings,
                        as_files=chosen is Format.CSV)
    if report.unchanged_since is not None:
        out.print(f"[green]nothing to do[/green]: the files, the options and the registry are "
                  f"as they were after import {report.unchanged_since}, so no row was read, "
                  "judged or written")
    out.print(f"imported into [bold]{shown(url)}[/bold] ({chosen.value}, from {escape(str(path))})")


@app.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write the files into.")],
    database: DatabaseOption = None,
    fmt: Annotated[Format, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="csv (tidy CSV, what `alsrwe import` reads), fhir (a transaction Bundle), redcap "
             "(data dictionary, events, records, mapping), omop (CDM v5.4 tables).")
    ] = Format.CSV,
    ndjson: Annotated[bool, typer.Option(
        "--ndjson", help="FHIR: one NDJSON file per resource type (Bulk Data) instead of a "
                         "Bundle.")] = False,
    parquet: Annotated[bool, typer.Option(
        "--parquet", help="OMOP: Parquet files instead of CSV.")] = False,
) -> None:
    """Export the registry as tidy CSV, FHIR R4, a REDCap project or OMOP CDM tables."""
    from alsrwe.interop.formats import export_path

    with (user_errors(), registry_engine(existing_registry(database)) as engine,
          progress_bars("writing") as progress):
        counts = export_path(engine, directory, fmt, ndjson=ndjson, parquet=parquet,
                             progress=progress)
    unit = "resources" if fmt is Format.FHIR else "rows"
    table = Table("file" if fmt is not Format.FHIR else "resource", unit,
                  title=f"exported {fmt.value} to {directory}")
    for name, rows in counts.items():
        table.add_row(f"{name}.csv" if fmt is Format.CSV else name, str(rows))
    out.print(table)


def _refuse_foreign_registry(engine: Engine, url: str) -> None:
    """``alsrwe demo`` writes only into an empty registry or one it wrote itself."""
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.reads.origin import registry_origin

    with unit_of_work(engine, read_only=True) as session:
        origin = registry_origin(session)
    if not origin.demo_only:
        raise Conflict(
            f"{shown(url)} holds a registry with data not written by alsrwe demo "
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
    from alsrwe.interop.tidy_csv import import_tidy, write_frames
    from alsrwe.store.db import current_revision, migrate, unit_of_work
    from alsrwe.store.reads.counts import registry_counts
    from alsrwe.store.reads.origin import DEMO_ACTOR
    from alsrwe.store.scope import SiteScope
    from alsrwe.synth import CohortParams, generate_cohort

    with user_errors():
        params = CohortParams(seed=seed, n_patients=patients, n_carriers=carriers,
                              as_of=date.today())
        url = database_url(database)
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
            print_import_report(report.counts, report.ignored_columns,
                                 report.confirmed_warnings)
            logins = _demo_users(engine)
            with unit_of_work(engine, read_only=True) as session:
                counts = registry_counts(session, SiteScope.every_site(), suppress_below=0)
    _print_cohort_summary(counts)
    _print_demo_logins(logins)
    out.print(f"demo registry at [bold]{shown(url)}[/bold]")
    first = cohort.patients["patient_id"].iloc[0]
    out.print(f"\nTry: [bold]alsrwe patient {first}[/bold] and [bold]alsrwe schedule "
              f"{first}[/bold]")



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
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.reads.origin import DEMO_ACTOR
    from alsrwe.store.reads.users import get_user

    logins = []
    for username, role, sites in DEMO_USERS:
        with unit_of_work(engine, read_only=True) as session:
            exists = get_user(session, username) is not None
        if not exists:
            add_user(engine, username, DEMO_PASSWORD, role, list(sites), actor=DEMO_ACTOR)
        logins.append((username, role, ", ".join(sites) or "all"))
    return logins


def _print_demo_logins(logins: list[tuple[str, str, str]]) -> None:
    table = Table("username", "role", "sites", "password", title="demo logins (synthetic data)",
                  title_justify="left")
    for username, role, sites in logins:
        table.add_row(username, role, sites, DEMO_PASSWORD)
    out.print(table)


def print_import_report(counts: dict[str, tuple[int, int, int]],
                         ignored: dict[str, list[str]], confirmed: int,
                         as_files: bool = True) -> None:
    """Rows inserted, updated and unchanged per tidy file (or per table, for other formats)."""
    table = Table("file" if as_files else "records", "inserted", "updated", "unchanged",
                  title="import")
    for name, (inserted, updated, unchanged) in counts.items():
        table.add_row(f"{name}.csv" if as_files else name, str(inserted), str(updated),
                      str(unchanged))
    out.print(table)
    for name, columns in ignored.items():
        where = f"{name}.csv: ignored columns" if as_files else f"{name}: ignored"
        out.print(f"[yellow]note[/yellow] {escape(where)} {escape(', '.join(columns))}")
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

