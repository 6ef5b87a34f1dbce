"""Progress bars for long imports and exports: one bar per file or resource type, from rich.

The interop layer reports ``(label, done, total)``; here each label gets a bar that names it and
counts rows or resources (with the rate, and the time left once the total is known). Bars go to
stderr, so an export's table on stdout stays clean; when stderr is not a terminal (a log, a
pipe) nothing is drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from alsrwe.cli.common import err

if TYPE_CHECKING:
    from alsrwe.interop.progress import Progress as ProgressCallback


class RateColumn(ProgressColumn):
    """Rows (or resources) per second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


@contextmanager
def progress_bars(verb: str) -> Iterator[ProgressCallback]:
    """A progress callback drawing a bar per label (``verb`` heads each: "reading", …)."""
    from alsrwe.interop.tidy_csv.importer import WRITING  # pandas: only when a bar is drawn

    columns = (TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), RateColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=err, transient=False, disable=not err.is_terminal) as bars:

        def report(label: str, done: int, total: int | None) -> None:
            if label not in tasks:
                shown = label if label == WRITING else f"{verb} [bold]{escape(label)}[/bold]"
                tasks[label] = bars.add_task(shown, total=total)
            bars.update(tasks[label], completed=done, total=total)

        yield report


__all__ = ["progress_bars"]
