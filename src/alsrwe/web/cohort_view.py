"""The cohort page's content: the evidence engine run on the registry, cached for a while.

The analyses take seconds (the registry is copied into DuckDB, the progression bootstrap
resamples patients), so a result is computed once per (sites, suppression, data version) and
kept for :data:`CACHE_SECONDS`. Computations run one at a time on a single background thread
(matplotlib's figure state is not thread-safe, and two at once would only compete for the
same cores); a page waits a moment for it and otherwise says "computing…" and reloads.

Everything shown is aggregate: Table 1 (small cells suppressed for analysts), headlines,
cohort-level tables and figures without labels. No per-patient table, so no pseudonym.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from alsrwe.analytics import (
    AnalysisError,
    Cohort,
    CohortError,
    nfl_response,
    progression,
    safety_incidence,
    survival,
)
from alsrwe.analytics import figures as svg
from alsrwe.analytics.data import SCHEMAS
from alsrwe.analytics.report import html_table
from alsrwe.analytics.report_sections import alsfrs_spaghetti, nfl_spaghetti
from alsrwe.analytics.table1 import table1
from alsrwe.domain.alsfrs import DAYS_PER_MONTH

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


def sites_cohort(cohort: Cohort, sites: tuple[str, ...]) -> Cohort:
    """The cohort restricted to patients of ``sites`` (filtered in the engine)."""
    patients = cohort.table("patients")
    ids = patients.filter(patients.site.isin(list(sites))).select("patient_id")
    tables = {}
    for name in SCHEMAS:
        table = cohort.table(name)
        tables[name] = table.filter(table.patient_id.isin(ids.patient_id))
    return Cohort(cohort.con, tables, source=f"{cohort.source} (sites {', '.join(sites)})")


def _number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _progression(cohort: Cohort, finding: Finding) -> None:
    result = progression(cohort)
    low, high = result.percent_slower_ci
    finding.headline = (
        f"ALSFRS-R declined {_number(result.percent_slower)}% slower than expected "
        f"(95% bootstrap CI {_number(low)}% to {_number(high)}%) in {result.n_included} "
        f"patients; expected = {result.settings.expected.replace('_', ' ')}: "
        f"{_number(result.expected_rate_per_month, 2)} vs observed "
        f"{_number(result.observed_rate_per_month, 2)} points/month")
    finding.figures.append(alsfrs_spaghetti(cohort, result.settings.drug))
    included = result.patients[result.patients["included"]]
    finding.figures.append(svg.paired_rates(
        included, before="expected_rate_per_month", after="observed_rate_per_month",
        title="rate of decline: expected vs on treatment"))
    finding.tables.append(("cohort estimates", html_table(result.to_frame())))
    finding.tables.append(("attrition", html_table(result.attrition.to_frame())))


def _nfl(cohort: Cohort, finding: Finding) -> None:
    result = nfl_response(cohort)
    model = result.mixed_model
    if model is not None:
        finding.headline = (
            f"{result.settings.kind} ({result.assay}): mean ratio per month on treatment "
            f"{model.ratio_per_month:.3f} (95% CI {model.lower:.3f}–{model.upper:.3f}), "
            f"{model.n_patients} patients")
    finding.figures.append(nfl_spaghetti(cohort, result.settings.drug, result.settings.kind))
    finding.tables.append(("geometric mean ratio to baseline by window",
                           html_table(result.windows)))
    finding.tables.append(("attrition", html_table(result.attrition.to_frame())))


def _safety(cohort: Cohort, finding: Finding) -> None:
    result = safety_incidence(cohort)
    finding.headline = (f"{result.person_years:.1f} patient-years of exposure; incidence per "
                        "100 patient-years with exact Poisson 95% CIs")
    finding.tables.append(("incidence", html_table(result.rates)))
    finding.tables.append(("CSF findings at lumbar punctures", html_table(result.csf)))


def _survival(cohort: Cohort, finding: Finding) -> None:
    result = survival(cohort)
    parts = []
    for origin, km in result.curves.items():
        parts.append(f"from {origin}: {_number(km.median / DAYS_PER_MONTH, 1)} "
                     f"months (95% CI {_number(km.median_lower / DAYS_PER_MONTH, 1)}–"
                     f"{_number(km.median_upper / DAYS_PER_MONTH, 1)}; {km.events} events "
                     f"in {km.n})")
    finding.headline = "Kaplan–Meier median event-free time " + "; ".join(parts)
    curves = result.curve_frame()
    for origin in curves["origin"].unique() if not curves.empty else []:
        rows = curves[curves["origin"] == origin].assign(
            group=f"from {origin}", time=lambda f: f["time"] / DAYS_PER_MONTH)
        finding.figures.append(svg.survival_curves(
            rows, title=f"composite endpoint from {origin}", xlabel="months"))
    finding.tables.append(("medians and hazard ratios", html_table(result.to_frame())))


ANALYSES: tuple[tuple[str, Callable[[Cohort, Finding], None]], ...] = (
    ("Progression before and on treatment", _progression),
    ("Neurofilament light chain response", _nfl),
    ("Safety", _safety),
    ("Survival without death, tracheostomy or permanent ventilation", _survival),
)


def compute_view(database_url: str, key: CohortKey) -> CohortView:
    """Load the registry into DuckDB, restrict it to ``key.sites`` and run every analysis."""
    start = time.perf_counter()
    cohort = Cohort.from_registry(database_url)
    if key.sites is not None:
        cohort = sites_cohort(cohort, key.sites)
    findings = []
    try:
        first = html_table(table1(cohort, suppress_below=key.suppress_below), max_rows=200)
    except (CohortError, AnalysisError, ValueError) as error:
        return CohortView(key, "", [], time.perf_counter() - start, _now(), refused=str(error))
    for title, run in ANALYSES:
        finding = Finding(title)
        try:
            run(cohort, finding)
        except (AnalysisError, CohortError) as error:
            finding = Finding(title, refused=str(error))
        findings.append(finding)
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


class CohortCache:
    """Computed views by key, each kept for ``ttl_seconds``; one computation at a time."""

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
            self._evict(now)
            entry = self._entries.get(key)
            if entry is None:
                entry = _Entry(_executor().submit(self._compute, database_url, key), now)
                self._entries[key] = entry
        try:
            return entry.future.result(timeout=wait_seconds)
        except TimeoutError:
            return time.monotonic() - entry.started
        except Exception:
            with self._lock:  # a crash is not cached: the next request tries again
                self._entries.pop(key, None)
            raise

    def _evict(self, now: float) -> None:
        stale = [k for k, e in self._entries.items()
                 if e.future.done() and now - e.started > self.ttl_seconds]
        for k in stale:
            del self._entries[k]

    def close(self) -> None:
        """Forget every view and cancel computations of this cache that have not started."""
        with self._lock:
            for entry in self._entries.values():
                entry.future.cancel()
            self._entries.clear()


__all__ = ["CACHE_SECONDS", "CohortCache", "CohortKey", "CohortView", "Finding",
           "compute_view", "sites_cohort"]
