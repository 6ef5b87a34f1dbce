"""The cohort page's content: the evidence engine run on the registry, cached for a while.

The analyses take seconds (the registry is copied into DuckDB, mixed models are fitted
and figures drawn), so a result is computed once per (sites, suppression, data version) and
kept for :data:`CACHE_SECONDS`. Computations run one at a time on a single background thread
(matplotlib's figure state is not thread-safe, and two at once would only compete for the
same cores); a page waits a moment for it and otherwise says "computing…" while its script
asks ``/cohort/status`` until the view is ready. A view older than that, of data that have not
changed since, is still shown while its recomputation runs: only new data make a user wait.

Everything shown is aggregate: Table 1 (small cells suppressed for analysts), then every
analysis of the report with the report's own presentation
(:mod:`alsrwe.analytics.report.presentations`) — headline, figures without labels, tables,
attrition and diagnostics — but without its per-patient tables, so no pseudonym.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from alsrwe.analytics import AnalysisError, Cohort, CohortError
from alsrwe.analytics.analyses.table1 import table1
from alsrwe.analytics.cohort.sites import restrict_to_sites
from alsrwe.analytics.report.figures import svg_only
from alsrwe.analytics.report.formatting import html_table
from alsrwe.analytics.report.presentations import ANALYSES, Outcome, evaluate

CACHE_SECONDS = 300.0
"""How long a computed cohort view is shown before it is recomputed (data changes also do)."""


@dataclass(frozen=True, slots=True)
class CohortKey:
    """What a cohort view depends on: the sites (``None``: all), suppression, data version."""

    sites: tuple[str, ...] | None
    suppress_below: int
    data_version: str


@dataclass(slots=True)
class Finding:
    """One analysis as the page shows it; ``refused`` is the analysis' own reason."""

    title: str
    headline: str = ""
    figures: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    refused: str = ""


@dataclass(frozen=True, slots=True)
class CohortView:
    key: CohortKey
    table1: str
    findings: list[Finding]
    seconds: float
    computed_at: dt.datetime
    refused: str = ""


def _finding(outcome: Outcome) -> Finding:
    """An analysis' presentation as the page shows it: its aggregate tables only."""
    title, shown = outcome.analysis.title, outcome.presentation
    if shown is None:
        return Finding(title, refused=outcome.refused)
    tables = [(table.caption, html_table(table.frame)) for table in shown.aggregate_tables]
    tables += [("attrition", html_table(shown.attrition)),
               ("diagnostics", html_table(shown.diagnostics))]
    return Finding(title, shown.headline, [figure.svg for figure in shown.figures], tables)


def compute_view(database_url: str, key: CohortKey) -> CohortView:
    """Load the registry into DuckDB, restrict it to ``key.sites`` and run every analysis."""
    start = time.perf_counter()
    cohort = Cohort.from_registry(database_url)
    if key.sites is not None:
        cohort = restrict_to_sites(cohort, key.sites, allow_empty=True)
    try:
        first = html_table(table1(cohort, suppress_below=key.suppress_below), max_rows=200)
    except (CohortError, AnalysisError, ValueError) as error:
        return CohortView(key, "", [], time.perf_counter() - start, _now(), refused=str(error))
    with svg_only():
        findings = [_finding(evaluate(analysis, cohort)) for analysis in ANALYSES]
    return CohortView(key, first, findings, time.perf_counter() - start, _now())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_executor_lock = threading.Lock()
_executors: list[ThreadPoolExecutor] = []


def _executor() -> ThreadPoolExecutor:
    """The process' one cohort thread, shared by every app (and test) in the process."""
    with _executor_lock:
        if not _executors:
            _executors.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="cohort"))
        return _executors[0]


@dataclass(slots=True)
class _Entry:
    future: Future[CohortView]
    started: float
    stale: CohortView | None = None
    """The expired view of the same key (same data), shown until ``future`` is done."""


def _result(entry: _Entry) -> CohortView | None:
    """The entry's view if its computation has succeeded, else None."""
    if not entry.future.done() or entry.future.cancelled() or entry.future.exception():
        return None
    return entry.future.result()


class CohortCache:
    """Computed views by key, each kept for ``ttl_seconds``; one computation at a time.

    After ``ttl_seconds`` a view is recomputed on its next request, and shown meanwhile. Views
    of an older data version are forgotten once expired.
    """

    def __init__(self, ttl_seconds: float = CACHE_SECONDS,
                 compute: Callable[[str, CohortKey], CohortView] = compute_view) -> None:
        self.ttl_seconds = ttl_seconds
        self._compute = compute
        self._entries: dict[CohortKey, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, database_url: str, key: CohortKey, wait_seconds: float) -> CohortView | float:
        """The view, waiting up to ``wait_seconds`` for it; else seconds since it started."""
        now = time.monotonic()
        with self._lock:
            self._evict(now, key.data_version)
            entry = self._entries.get(key)
            if entry is None or self._expired(entry, now):
                stale = None if entry is None else _result(entry)
                entry = _Entry(_executor().submit(self._compute, database_url, key), now, stale)
                self._entries[key] = entry
        if entry.stale is not None and not entry.future.done():
            return entry.stale
        try:
            return entry.future.result(timeout=wait_seconds)
        except TimeoutError:
            return time.monotonic() - entry.started
        except Exception:
            with self._lock:  # a crash is not cached: the next request tries again
                self._entries.pop(key, None)
            raise

    def _expired(self, entry: _Entry, now: float) -> bool:
        return entry.future.done() and now - entry.started > self.ttl_seconds

    def _evict(self, now: float, data_version: str) -> None:
        """Forget expired views of other data versions (the current one's are refreshed)."""
        old = [k for k, e in self._entries.items()
               if k.data_version != data_version and self._expired(e, now)]
        for k in old:
            del self._entries[k]

    def close(self) -> None:
        """Forget every view and cancel computations of this cache that have not started."""
        with self._lock:
            for entry in self._entries.values():
                entry.future.cancel()
            self._entries.clear()


__all__ = ["CACHE_SECONDS", "CohortCache", "CohortKey", "CohortView", "Finding",
           "compute_view"]
