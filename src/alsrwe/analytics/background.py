"""A second process for the work that can run beside the analyses: drawing the figures.

Drawing a figure (layout, SVG, PNG) costs more than the analysis behind it: on the demo the
figures take about half of the report's time on one core. Inside :func:`drawn_in_background`
:func:`alsrwe.analytics.report.figures.render` hands each figure, pickled, to a second process
(:func:`alsrwe.analytics.drawing.draw_pickled`)
and the report goes on with the next analysis; the figure's files wait for it at the end.

The process is spawned, not forked (the parent may hold DuckDB's threads and connections), so
a script that uses this must guard its entry point with ``if __name__ == "__main__":``; the
report builder therefore never starts it itself: ``alsrwe analyze`` does, before its imports,
so the second process's imports overlap the first process's. This module imports only the
standard library, so the CLI can start it at once.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from multiprocessing import get_context

_POOL: ContextVar[ProcessPoolExecutor | None] = ContextVar("alsrwe_background", default=None)

WARM_MODULE = "alsrwe.analytics.drawing"
"""Imported by the second process as soon as it starts (it draws with that module)."""


@contextmanager
def drawn_in_background() -> Iterator[None]:
    """Inside the block, figures are drawn by a second process; leaving the block waits for
    those still being drawn. A machine with a single core draws them in this process."""
    if (os.cpu_count() or 1) < 2:
        yield
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    pool.submit(importlib.import_module, WARM_MODULE)
    token = _POOL.set(pool)
    try:
        yield
    finally:
        _POOL.reset(token)
        pool.shutdown(wait=True, cancel_futures=True)


def background_pool() -> ProcessPoolExecutor | None:
    """The second process of the enclosing :func:`drawn_in_background`, if any."""
    return _POOL.get()


__all__ = ["WARM_MODULE", "background_pool", "drawn_in_background"]
