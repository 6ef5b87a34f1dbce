"""The patient page's rendered record, kept per patient revision (least recently used first out).

A patient page is read far more often than the record behind it changes, and rendering it
(charts, stages, the dosing calendar, the tables) was most of its cost. What is kept is only
the part that is a function of the record: the header facts and the course (charts and
tables), never the user's name, role or CSRF token, which each request adds around it.

The key is (patient id, revision, site code, today, regimen). ``patients.revision`` is raised
by database triggers on every change to the patient or any of their record rows, whoever
writes (the app, the importer, SQL by hand), and the request reads it before the record, so
a page is never older than its key: a write is visible on the next request, in every process.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

from markupsafe import Markup

from alsrwe.store.reads.patient_file import ScoredAssessment
from alsrwe.store.reads.patients import PatientStamp

PageKey = tuple[int, int, str, dt.date, str]


@dataclass(frozen=True, slots=True)
class RenderedPatient:
    """The cacheable parts of one patient's page, already rendered (autoescaped HTML)."""

    patient: PatientStamp
    header: Markup
    course: Markup
    has_figures: bool
    to_review: tuple[ScoredAssessment, ...]
    """Self-reports awaiting review: data, since their buttons carry the session's token."""
    deceased: bool = False
    """A deceased patient's page offers no new clinical entries."""
    carrier: bool = False
    """A presymptomatic carrier (who may convert to ALS on the details page)."""
    acknowledgeable: tuple[tuple[str, str, str], ...] = ()
    """(flag kind, sample date, words) of the header's CSF and NfL flags a clinician may
    acknowledge: data, since their buttons carry the session's token."""
    open_treatment: int | None = None
    """The id of the running treatment period (what the pause/stop button ends)."""


def page_key(stamp: PatientStamp, today: dt.date, regimen_id: str) -> PageKey:
    return (stamp.id, stamp.revision, stamp.site, today, regimen_id)


class PageCache:
    """At most ``entries`` rendered pages (0 keeps none); thread-safe (sync routes use it)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._pages: OrderedDict[PageKey, RenderedPatient] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: PageKey) -> RenderedPatient | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: PageKey, page: RenderedPatient) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.entries:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


__all__ = ["PageCache", "PageKey", "RenderedPatient", "page_key"]
