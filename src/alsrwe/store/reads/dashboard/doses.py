"""Who is due a dose, by the treatment course, and the lumbar-puncture list of a day or week."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.regimens import AdministrationStatus, Due, Regimen, next_due
from alsrwe.domain.treatments import doses_in_course, scheduled
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    Patient,
    Site,
    Treatment,
)
from alsrwe.store.reads.dashboard.events import open_events_by_patient
from alsrwe.store.reads.dashboard.flag_queues import CsfFlagRow, latest_csf
from alsrwe.store.reads.dashboard.queues import (
    PatientRef,
    living,
)
from alsrwe.store.reads.treatments import courses_by_patient
from alsrwe.store.scope import SiteScope

DUE_WINDOW_DAYS = 7
"""'Due this week': today and the six days after it (alsrwe display choice)."""


@dataclass(frozen=True, slots=True)
class DoseDue:
    patient: PatientRef
    due: Due


# --- Doses: who is due, by the treatment course -----------------------------------------------


@dataclass(frozen=True, slots=True)
class DosePlan:
    """What a patient's next dose is computed from: the regimen, the doses that count, and
    where the course started (dose 1 is due then when no dose of the course was given)."""

    patient: PatientRef
    site: str
    regimen: Regimen
    given: list[dt.date]
    """The doses of the course, oldest first (every dose when no course is recorded)."""
    start: dt.date | None
    history: list[dt.date]
    """Every dose of the drug given, in this course or before it, oldest first."""

    def until(self, day: dt.date) -> DosePlan:
        """The plan as it stood at the end of ``day`` (the doses given by then)."""
        return DosePlan(self.patient, self.site, self.regimen,
                        [d for d in self.given if d <= day], self.start,
                        [d for d in self.history if d <= day])

    @property
    def last_dose(self) -> dt.date | None:
        return self.history[-1] if self.history else None


def dose_plans(
    session: Session, scope: SiteScope, regimen: Regimen, *, given_until: dt.date
) -> list[DosePlan]:
    """Living patients in scope who are on the drug, with doses given up to ``given_until``.

    A patient whose latest course of the drug is paused or stopped is not scheduled; with a
    running course the course's regimen applies, from the doses given since it started; with
    no course recorded but doses given, the site regimen applies, from every dose.
    """
    dosed = session.execute(living(scope, (
        select(Patient.id, Patient.pseudonym, Site.code, Administration.date)
        .join(Site, Site.id == Patient.site_id)
        .join(Administration, Administration.patient_id == Patient.id)
        .where(Administration.drug == regimen.drug,
               Administration.status == AdministrationStatus.GIVEN,
               Administration.date <= given_until)
    )))
    refs: dict[int, tuple[PatientRef, str]] = {}
    given: dict[int, set[dt.date]] = defaultdict(set)
    for patient_id, pseudonym, site, day in dosed:
        refs[patient_id] = (PatientRef(patient_id, pseudonym), site)
        given[patient_id].add(day)
    with_periods = session.execute(living(scope, (
        select(Patient.id, Patient.pseudonym, Site.code)
        .join(Site, Site.id == Patient.site_id)
        .where(Patient.id.in_(select(Treatment.patient_id)))
    )))
    for patient_id, pseudonym, site in with_periods:
        refs.setdefault(patient_id, (PatientRef(patient_id, pseudonym), site))
    courses = courses_by_patient(session, refs, regimen.drug)
    plans = []
    for patient_id, (ref, site) in refs.items():
        days = sorted(given.get(patient_id, ()))
        latest = courses.get(patient_id)
        if not scheduled(latest):
            continue
        if latest is None and not days:
            continue
        plans.append(DosePlan(
            ref, site, regimen if latest is None else latest.regimen,
            doses_in_course(days, latest), None if latest is None else latest.start, days,
        ))
    return plans


def _next_due(plan: DosePlan, as_of: dt.date) -> Due:
    return next_due(plan.regimen, plan.given, as_of, start=plan.start)


def doses_due(
    session: Session, scope: SiteScope, today: dt.date, regimen: Regimen,
    since: dt.date | None = None,
) -> tuple[list[DoseDue], list[DoseDue]]:
    """(overdue, due within the window): overdue ones most days overdue first, due ones
    soonest first; ``since`` keeps doses that fell due on or after it."""
    overdue, soon = [], []
    horizon = today + dt.timedelta(days=DUE_WINDOW_DAYS - 1)
    for plan in dose_plans(session, scope, regimen, given_until=today):
        due = _next_due(plan, today)
        if since is not None and due.date < since:
            continue
        if due.overdue_days > 0:
            overdue.append(DoseDue(plan.patient, due))
        elif due.date <= horizon:
            soon.append(DoseDue(plan.patient, due))
    overdue.sort(key=lambda d: (-d.due.overdue_days, d.patient.pseudonym))
    soon.sort(key=lambda d: (d.due.date, d.patient.pseudonym))
    return overdue, soon


# --- The infusion-day list ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InfusionRow:
    """One patient on the infusion list: the dose due, the last dose, CSF and open events."""

    patient: PatientRef
    site: str
    due: Due
    """The next dose as of the window's first day (``overdue_days`` counted to that day)."""
    last_dose: dt.date | None
    given: dt.date | None
    """A dose already given within the window (up to today), if any."""
    csf: CsfFlagRow | None
    open_events: list[AdverseEvent]


@dataclass(frozen=True, slots=True)
class InfusionList:
    start: dt.date
    end: dt.date
    rows: list[InfusionRow]


def infusion_list(
    session: Session, scope: SiteScope, *, start: dt.date, days: int, today: dt.date,
    regimen: Regimen,
) -> InfusionList:
    """Who is due a dose from ``start`` for ``days`` days (or overdue on ``start``), soonest
    first: living patients in scope whose course is running.

    The schedule continues from the doses given before the window, so a patient dosed during
    the window stays on its list (with the dose shown as given).
    """
    end = start + dt.timedelta(days=days - 1)
    before_window = min(start - dt.timedelta(days=1), today)
    due_rows: list[tuple[DosePlan, Due, dt.date | None]] = []
    for plan in dose_plans(session, scope, regimen, given_until=min(end, today)):
        due = _next_due(plan.until(before_window), start)
        if due.date <= end:
            in_window = [day for day in plan.given if day >= start]
            due_rows.append((plan.until(before_window), due, in_window[0] if in_window else None))
    ids = [plan.patient.id for plan, _, _ in due_rows]
    csf = latest_csf(session, scope) if ids else {}
    events = open_events_by_patient(session, ids)
    rows = [InfusionRow(plan.patient, plan.site, due, plan.last_dose, given,
                        csf.get(plan.patient.id), events.get(plan.patient.id, []))
            for plan, due, given in due_rows]
    rows.sort(key=lambda r: (r.due.date, r.site, r.patient.pseudonym))
    return InfusionList(start, end, rows)
