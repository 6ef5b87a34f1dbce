"""How a long import or export reports its progress without knowing who is watching.

Readers and writers call ``progress(label, done, total)`` now and then (``label`` names the
file or resource type, ``done`` counts rows or resources, ``total`` is ``None`` while
unknown); the CLI draws bars from it, tests and the web app pass :data:`NO_PROGRESS`.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int | None], None]


def _silent(label: str, done: int, total: int | None) -> None:
    """Progress nobody watches."""


NO_PROGRESS: Progress = _silent

PROGRESS_EVERY = 1_000
"""Rows or resources between two progress calls (and one call at the end of each file)."""

__all__ = ["NO_PROGRESS", "PROGRESS_EVERY", "Progress"]
