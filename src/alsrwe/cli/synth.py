"""`alsrwe synth`: a synthetic cohort of any size as tidy CSV, to try alsrwe at scale.

The folder holds exactly the tidy files (docs/data-format.md), so ``alsrwe import DIR`` and
``alsrwe analyze --csv-dir DIR`` read it as they would a clinic's; the known truth (latent
slopes, treatment start, …, one row per person) goes beside it as ``DIR.truth.csv``, where no
importer looks. Only synthetic people: nothing here comes from a patient.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from alsrwe.cli.common import app, out, user_errors
from alsrwe.domain.errors import DomainError


def truth_path(folder: Path) -> Path:
    """Where the truth of the cohort in ``folder`` is written: beside the folder."""
    return folder.with_name(folder.name + ".truth.csv")


def _check_free(folder: Path, truth: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DomainError("DIR", f"{folder} exists and is not an empty folder; alsrwe synth "
                                 "never writes over files: choose a new folder")
    if truth.exists():
        raise DomainError("DIR", f"{truth} exists; alsrwe synth never writes over files")


@app.command()
def synth(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A new (or empty) folder.")],
    patients: Annotated[int, typer.Option(help="Synthetic patients with ALS.")] = 300,
    carriers: Annotated[int, typer.Option(help="Synthetic presymptomatic carriers.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files.")] = 2026,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="No date after this (YYYY-MM-DD); default: today.")] = None,
) -> None:
    """Write a seeded synthetic cohort as tidy CSV in DIR, its truth in DIR.truth.csv."""
    with user_errors():
        try:
            day = date.fromisoformat(as_of) if as_of else date.today()
        except ValueError:
            raise DomainError("--as-of", f"{as_of!r} is not a date (YYYY-MM-DD)") from None
        truth = truth_path(folder)
        _check_free(folder, truth)
        from alsrwe.interop.tidy_csv import write_frames
        from alsrwe.synth import CohortParams, generate_cohort

        params = CohortParams(seed=seed, n_patients=patients, n_carriers=carriers, as_of=day)
        with out.status(f"generating {patients:,} patients and {carriers:,} carriers…"):
            cohort = generate_cohort(params)
        with out.status(f"writing the tidy CSV files to {folder}…"):
            write_frames(cohort.tables(), folder)
            cohort.truth.to_csv(truth, index=False, date_format="%Y-%m-%d")
    rows = sum(len(frame) for frame in cohort.tables().values())
    out.print(f"{rows:,} rows in {len(cohort.tables())} tidy files in [bold]{folder}[/bold]; "
              f"truth in {truth} (seed {seed}, as of {day})")
    out.print(f"Try: [bold]alsrwe import {folder}[/bold] or [bold]alsrwe analyze --csv-dir "
              f"{folder}[/bold]")
