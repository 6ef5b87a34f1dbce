"""The site dashboard: every queue asked for, as of a day, within the user's sites."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from alsrwe.domain.regimens import Regimen
from alsrwe.store.reads.dashboard.doses import DoseDue, doses_due
from alsrwe.store.reads.dashboard.events import AdverseEventToFollow, open_adverse_events
from alsrwe.store.reads.dashboard.flag_queues import CsfFlagRow, NflAlert, flagged_csf, nfl_alerts
from alsrwe.store.reads.dashboard.queues import (
    QueueKind,
    QueuePage,
    Slice,
    sliced,
)
from alsrwe.store.reads.dashboard.reviews import SelfReportToReview, self_reports_to_review
from alsrwe.store.scope import SiteScope


@dataclass(frozen=True, slots=True)
class SiteDashboard:
    """The queues asked for (``None`` for a queue filtered out) as of ``today``."""

    today: dt.date
    overdue: QueuePage[DoseDue] | None = None
    due_soon: QueuePage[DoseDue] | None = None
    adverse_events: QueuePage[AdverseEventToFollow] | None = None
    csf_flags: QueuePage[CsfFlagRow] | None = None
    csf_acknowledged: list[CsfFlagRow] = field(default_factory=list)
    nfl_alerts: QueuePage[NflAlert] | None = None
    nfl_acknowledged: list[NflAlert] = field(default_factory=list)
    self_reports: QueuePage[SelfReportToReview] | None = None


# --- The dashboard -----------------------------------------------------------------------------


def site_dashboard(
    session: Session, scope: SiteScope, *, today: dt.date, regimen: Regimen,
    queues: Collection[QueueKind] = tuple(QueueKind),
    pages: Mapping[QueueKind, Slice] | None = None,
    since: dt.date | None = None,
) -> SiteDashboard:
    """The ``queues`` asked for, for the sites in ``scope``: each sorted most urgent first and
    sliced by ``pages`` (first ``QUEUE_PAGE_SIZE`` rows by default); ``since`` keeps items
    dated on or after it (the due date, onset, sample or report date)."""
    chosen = frozenset(queues)
    pages = pages or {}

    def page(kind: QueueKind) -> Slice:
        return pages.get(kind, Slice())

    board: dict[str, Any] = {}
    if chosen & {QueueKind.OVERDUE, QueueKind.DUE_SOON}:
        overdue, soon = doses_due(session, scope, today, regimen, since)
        if QueueKind.OVERDUE in chosen:
            board["overdue"] = sliced(overdue, page(QueueKind.OVERDUE))
        if QueueKind.DUE_SOON in chosen:
            board["due_soon"] = sliced(soon, page(QueueKind.DUE_SOON))
    if QueueKind.ADVERSE_EVENTS in chosen:
        board["adverse_events"] = open_adverse_events(
            session, scope, page(QueueKind.ADVERSE_EVENTS), since)
    if QueueKind.CSF_FLAGS in chosen:
        csf = flagged_csf(session, scope, since=since)
        board["csf_flags"] = sliced([r for r in csf if r.acknowledged is None],
                                    page(QueueKind.CSF_FLAGS))
        board["csf_acknowledged"] = [r for r in csf if r.acknowledged is not None]
    if QueueKind.NFL_ALERTS in chosen:
        nfl = nfl_alerts(session, scope, since=since)
        board["nfl_alerts"] = sliced([a for a in nfl if a.acknowledged is None],
                                     page(QueueKind.NFL_ALERTS))
        board["nfl_acknowledged"] = [a for a in nfl if a.acknowledged is not None]
    if QueueKind.SELF_REPORTS in chosen:
        board["self_reports"] = self_reports_to_review(
            session, scope, page(QueueKind.SELF_REPORTS), since)
    return SiteDashboard(today=today, **board)
