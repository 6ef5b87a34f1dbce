"""Rules of an adverse event against the patient's doses (docs/domain-rules.md §11.2).

A post-lumbar puncture headache is, by definition, a headache that begins within 5 days of a
lumbar puncture (ICHD-3 7.2.1, ``POST_LP_HEADACHE_DAYS``): one coded with no intrathecal dose
given in the 5 days up to its onset is more likely a headache of another cause, or a lumbar
puncture that was not recorded. Soft: the clinic confirms it (e.g. a diagnostic lumbar
puncture elsewhere) or records the dose.
"""

from __future__ import annotations

import datetime as dt

from alsrwe.domain.dosing import Route
from alsrwe.domain.errors import Problem
from alsrwe.domain.plausibility.history import PatientHistory
from alsrwe.domain.records import AdverseEventEntry
from alsrwe.domain.regimens import regimens_for_drug
from alsrwe.domain.safety import POST_LP_HEADACHE_DAYS, AeTerm

NO_RECENT_LUMBAR_PUNCTURE = "adverse_event.no_recent_lumbar_puncture"


def _intrathecal(drug: str) -> bool:
    return any(regimen.route is Route.INTRATHECAL for regimen in regimens_for_drug(drug))


def last_lumbar_puncture(history: PatientHistory, day: dt.date) -> dt.date | None:
    """The latest intrathecal dose given on or before ``day`` (each is a lumbar puncture)."""
    latest = None
    for drug, days in history.given_doses.items():
        if not _intrathecal(drug):
            continue
        before = [d for d in days if d <= day]
        if before and (latest is None or before[-1] > latest):
            latest = before[-1]
    return latest


def adverse_event_problems(entry: AdverseEventEntry, history: PatientHistory) -> list[Problem]:
    """The soft rule of a post-lumbar puncture headache without a recent lumbar puncture."""
    event = entry.event
    if event.term is not AeTerm.POST_LUMBAR_PUNCTURE_HEADACHE:
        return []
    last = last_lumbar_puncture(history, event.onset)
    if last is not None and (event.onset - last).days <= POST_LP_HEADACHE_DAYS:
        return []
    since = (f"no intrathecal dose is recorded on or before its onset on {event.onset}"
             if last is None else f"the last intrathecal dose before its onset on "
             f"{event.onset} was on {last}, {(event.onset - last).days} days earlier")
    return [Problem("term", f"a post-lumbar puncture headache begins within "
                            f"{POST_LP_HEADACHE_DAYS} days of a lumbar puncture (ICHD-3 7.2.1); "
                            f"{since}: record the dose, or confirm",
                    NO_RECENT_LUMBAR_PUNCTURE, soft=True)]


__all__ = ["NO_RECENT_LUMBAR_PUNCTURE", "adverse_event_problems", "last_lumbar_puncture"]
