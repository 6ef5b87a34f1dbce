"""One patient at the command line: summary and dosing calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from alsrwe.cli.common import (
    DatabaseOption,
    app,
    existing_registry,
    out,
    registry_engine,
    user_errors,
)
from alsrwe.domain.errors import (
    DomainError,
)
from alsrwe.domain.regimens import REGIMENS, Regimen


@app.command()
def patient(
    patient_id: Annotated[str, typer.Argument(help="The patient's pseudonym, e.g. BER-0017.")],
    database: DatabaseOption = None,
    regimen: Annotated[str, typer.Option(help="Regimen for the next dose.")] = "tofersen_us",
) -> None:
    """Summary of one patient: variant, stage, ΔFRS, latest scores and the next dose."""
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.reads.summary import patient_summary

    with user_errors():
        chosen = _regimen(regimen)
        with registry_engine(existing_registry(database)) as engine, unit_of_work(
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
    from alsrwe.store.db import unit_of_work
    from alsrwe.store.reads.summary import dosing_calendar

    with user_errors():
        chosen = _regimen(regimen)
        with registry_engine(existing_registry(database)) as engine, unit_of_work(
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

