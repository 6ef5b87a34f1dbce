"""Every view of a patient's record is audited, written shortly after by a background writer.

ICH E6(R3) and GDPR Art. 30 ask who accessed which personal data, so each successful read of
a patient's record (a page or an API read found in the user's scope; a 404 records nothing)
becomes an audit entry. A page is a reader — on SQLite a deferred transaction that never
takes the write lock, so pages keep loading while an import writes — so the view is not
written in the request: it is queued with its time and written, in batches, by one
background thread (:class:`ViewLog`), which retries while the database is locked or away and
writes what is left when the app stops.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from alsrwe.store.db import unit_of_work
from alsrwe.store.writes.disclosures import record_view
from alsrwe.web.deps import CurrentUser, RecordId
from alsrwe.web.principal import Principal

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 0.5
"""How long a view waits, at most, before the writer wakes up."""
MAX_PENDING = 100_000
"""Views kept while the database is away (newer ones are logged as lost beyond this)."""


@dataclass(frozen=True, slots=True)
class View:
    actor: str
    what: str
    patient_id: int | None
    detail: dict[str, Any]


class ViewLog:
    """A queue of views and the thread that writes them into the audit trail."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pending: deque[View] = deque()
        self.lock = threading.Lock()
        self.flushing = threading.Lock()
        """One flush at a time (the writer's and an explicit one), so no view is written twice."""
        self.wake = threading.Event()
        self.stopping = False
        self.thread: threading.Thread | None = None

    def add(self, view: View) -> None:
        with self.lock:
            if len(self.pending) >= MAX_PENDING:  # the database has been away for long
                logger.error("view of patient %s by %s not audited: queue full",
                             view.patient_id, view.actor)
                return
            self.pending.append(view)
        self.wake.set()

    def flush(self) -> int:
        """Write every queued view now, in one transaction; the number written."""
        with self.flushing:
            with self.lock:
                batch = list(self.pending)
            if not batch:
                return 0
            with unit_of_work(self.engine) as session:
                for view in batch:
                    record_view(session, view.actor, view.what, view.patient_id, view.detail)
            with self.lock:
                for _ in batch:
                    self.pending.popleft()
            return len(batch)

    def _run(self) -> None:
        while not self.stopping:
            self.wake.wait(FLUSH_SECONDS)
            self.wake.clear()
            try:
                self.flush()
            except DBAPIError as error:  # locked or away: keep them, try again later
                logger.warning("views not yet audited (%d queued): %s", len(self.pending),
                               error.orig)
                self.wake.wait(FLUSH_SECONDS * 4)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="alsrwe-view-log", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        try:
            self.flush()
        except DBAPIError as error:
            logger.error("%d views not audited at shutdown: %s", len(self.pending), error.orig)


def log_view(request: Request, user: Principal, what: str, patient_id: int | None,
             detail: dict[str, Any] | None = None) -> None:
    """Queue the audit entry of ``user`` seeing ``what`` (a page or an API read)."""
    view_log: ViewLog = request.app.state.view_log
    view_log.add(View(user.username, what, patient_id, {
        "path": request.url.path, "seen_at": dt.datetime.now(dt.UTC).isoformat(),
        **(detail or {})}))


def viewed_patient_records(request: Request, user: CurrentUser,
                           patient_id: RecordId) -> Iterator[None]:
    """A router dependency: after a read of a patient's records succeeded, log the view (a
    404 or any error ends the request before this runs)."""
    yield
    log_view(request, user, request.url.path.rsplit("/", 1)[-1], patient_id,
             {"query": str(request.url.query)[:200]} if request.url.query else None)


__all__ = ["View", "ViewLog", "log_view", "viewed_patient_records"]
