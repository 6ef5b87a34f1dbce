"""Adverse events awaiting follow-up: label warnings first, then serious, grade, recency."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from alsrwe.domain.flags import OPEN_OUTCOMES
from alsrwe.domain.safety import WARNING_TERMS
from alsrwe.store.models import (
    AdverseEvent,
    Patient,
)
from alsrwe.store.reads.dashboard.queues import (
    PatientRef,
    QueuePage,
    Slice,
    first_row,
    living,
)
from alsrwe.store.reads.patients import ID_CHUNK
from alsrwe.store.scope import SiteScope


@dataclass(frozen=True, slots=True)
class AdverseEventToFollow:
    patient: PatientRef
    event: AdverseEvent
    warning: bool
    """A label warning term (myelitis, radiculitis, papilledema, raised ICP, meningitis)."""


# --- Adverse events ----------------------------------------------------------------------------


def _open_events(scope: SiteScope, since: dt.date | None, *columns: Any) -> Select[Any]:
    query = living(scope, (
        select(*columns).select_from(AdverseEvent)
        .join(Patient, AdverseEvent.patient_id == Patient.id)
        .where(AdverseEvent.outcome.in_(OPEN_OUTCOMES))
    ))
    if since is not None:
        query = query.where(AdverseEvent.onset_date >= since)
    return query


def open_adverse_events(
    session: Session, scope: SiteScope, window: Slice | None = None,
    since: dt.date | None = None,
) -> QueuePage[AdverseEventToFollow]:
    """Adverse events awaiting follow-up: warning terms, then serious, then higher grade,
    then the most recent onset first."""
    window = window or Slice(limit=None)
    total = session.scalar(_open_events(scope, since, func.count(AdverseEvent.id))) or 0
    warning_first = case((AdverseEvent.term.in_(sorted(WARNING_TERMS)), 0), else_=1)
    query = _open_events(scope, since, AdverseEvent, Patient.id, Patient.pseudonym)
    ordered = query.order_by(warning_first, AdverseEvent.serious.desc(),
                             AdverseEvent.grade.desc(), AdverseEvent.onset_date.desc(),
                             Patient.pseudonym, AdverseEvent.id)
    offset = first_row(window, total)
    if window.limit is not None:
        ordered = ordered.limit(window.limit).offset(offset)
    rows = [AdverseEventToFollow(PatientRef(pid, name), event, event.term in WARNING_TERMS)
            for event, pid, name in session.execute(ordered)]
    return QueuePage(rows, total, offset, window.limit)


def open_events_by_patient(session: Session, patient_ids: Collection[int]
                           ) -> dict[int, list[AdverseEvent]]:
    """Each patient's adverse events awaiting follow-up, most recent onset first."""
    wanted = sorted(set(patient_ids))
    found: dict[int, list[AdverseEvent]] = defaultdict(list)
    for start in range(0, len(wanted), ID_CHUNK):
        for event in session.scalars(
            select(AdverseEvent)
            .where(AdverseEvent.patient_id.in_(wanted[start:start + ID_CHUNK]),
                   AdverseEvent.outcome.in_(OPEN_OUTCOMES))
            .order_by(AdverseEvent.onset_date.desc())
        ):
            found[event.patient_id].append(event)
    return dict(found)
