"""The site dashboard: what needs a clinician's attention, computed by the domain, site-scoped.

- doses due within ``DUE_WINDOW_DAYS`` or overdue (schedule engine, from the doses given);
- adverse events awaiting follow-up (outcome recovering, not recovered or unknown);
- CSF flags on each patient's latest CSF sample (``csf_flags``, convention 8);
- carriers whose plasma NfL crossed the surveillance threshold (``nfl_trigger``, convention 10),
  compared within one assay platform only (convention 9);
- ALSFRS-R self-reports no clinician has reviewed yet.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AlsfrsR, AssessmentSource
from alsrwe.domain.biomarkers import (
    DEFAULT_CSF_THRESHOLDS,
    CsfFlags,
    CsfThresholds,
    MeasurementKind,
    csf_flags,
    nfl_platform,
)
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.nfl_surveillance import (
    DEFAULT_SURVEILLANCE_RULE,
    SurveillanceRule,
    nfl_trigger,
)
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.regimens import AdministrationStatus, Due, Regimen, next_due
from alsrwe.domain.safety import AeOutcome
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Measurement,
    Milestone,
    Patient,
)
from alsrwe.store.scope import SiteScope

DUE_WINDOW_DAYS = 7
"""'Due this week': today and the six days after it (alsrwe display choice)."""

FOLLOW_UP_OUTCOMES = (AeOutcome.RECOVERING, AeOutcome.NOT_RECOVERED, AeOutcome.UNKNOWN)
"""Outcomes of adverse events that are still open and need follow-up."""


@dataclass(frozen=True, slots=True)
class PatientRef:
    """Enough to name and link a patient on the dashboard."""

    id: int
    pseudonym: str


@dataclass(frozen=True, slots=True)
class DoseDue:
    patient: PatientRef
    due: Due


@dataclass(frozen=True, slots=True)
class CsfFlagRow:
    patient: PatientRef
    date: dt.date
    wbc_per_ul: float | None
    protein_mg_dl: float | None
    flags: CsfFlags


@dataclass(frozen=True, slots=True)
class NflAlert:
    patient: PatientRef
    baseline_date: dt.date
    baseline_pg_ml: float
    latest_date: dt.date
    latest_pg_ml: float
    assay: str | None


@dataclass(frozen=True, slots=True)
class SelfReportToReview:
    patient: PatientRef
    assessment_id: int
    date: dt.date
    total: int


@dataclass(frozen=True, slots=True)
class SiteDashboard:
    today: dt.date
    overdue: list[DoseDue]
    due_soon: list[DoseDue]
    adverse_events: list[tuple[PatientRef, AdverseEvent]]
    csf_flags: list[CsfFlagRow]
    nfl_alerts: list[NflAlert]
    self_reports: list[SelfReportToReview]


def doses_due(
    session: Session, scope: SiteScope, today: dt.date, regimen: Regimen
) -> tuple[list[DoseDue], list[DoseDue]]:
    """(overdue, due within the window) for living patients with at least one dose given."""
    dead = select(Milestone.patient_id).where(Milestone.kind == MilestoneKind.DEATH)
    rows = session.execute(
        scope.patients(
            select(Patient.id, Patient.pseudonym, Administration.date)
            .join(Administration, Administration.patient_id == Patient.id)
            .where(
                Administration.drug == regimen.drug,
                Administration.status == AdministrationStatus.GIVEN,
                Administration.date <= today,
                Patient.id.not_in(dead),
            )
        )
    )
    given: dict[PatientRef, set[dt.date]] = defaultdict(set)
    for patient_id, pseudonym, day in rows:
        given[PatientRef(patient_id, pseudonym)].add(day)
    overdue, soon = [], []
    horizon = today + dt.timedelta(days=DUE_WINDOW_DAYS - 1)
    for ref, days in given.items():
        due = next_due(regimen, sorted(days), today)
        if due.overdue_days > 0:
            overdue.append(DoseDue(ref, due))
        elif due.date <= horizon:
            soon.append(DoseDue(ref, due))
    overdue.sort(key=lambda d: (-d.due.overdue_days, d.patient.pseudonym))
    soon.sort(key=lambda d: (d.due.date, d.patient.pseudonym))
    return overdue, soon


def open_adverse_events(
    session: Session, scope: SiteScope
) -> list[tuple[PatientRef, AdverseEvent]]:
    """Adverse events still awaiting follow-up, most recent onset first."""
    query = scope.patients(
        select(AdverseEvent, Patient.id, Patient.pseudonym)
        .join(Patient, AdverseEvent.patient_id == Patient.id)
        .where(AdverseEvent.outcome.in_(FOLLOW_UP_OUTCOMES))
        .order_by(AdverseEvent.onset_date.desc(), Patient.pseudonym)
    )
    return [(PatientRef(pid, name), event) for event, pid, name in session.execute(query)]


def _measurements(
    session: Session,
    scope: SiteScope,
    kinds: tuple[MeasurementKind, ...],
    status: PatientStatus | None = None,
) -> dict[PatientRef, list[Measurement]]:
    """Measurements of ``kinds`` per patient in scope, oldest first."""
    query = scope.patients(
        select(Measurement, Patient.pseudonym)
        .join(Patient, Measurement.patient_id == Patient.id)
        .where(Measurement.kind.in_(kinds))
        .order_by(Measurement.patient_id, Measurement.date)
    )
    if status is not None:
        query = query.where(Patient.status == status)
    found: dict[PatientRef, list[Measurement]] = defaultdict(list)
    for row, pseudonym in session.execute(query):
        found[PatientRef(row.patient_id, pseudonym)].append(row)
    return found


def flagged_csf(
    session: Session, scope: SiteScope, thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS
) -> list[CsfFlagRow]:
    """Patients whose latest CSF sample (WBC and/or protein on its date) is flagged."""
    kinds = (MeasurementKind.CSF_WBC, MeasurementKind.CSF_PROTEIN)
    flagged = []
    for ref, rows in _measurements(session, scope, kinds).items():
        latest = rows[-1].date
        values = {row.kind: row.value for row in rows if row.date == latest}
        wbc = values.get(MeasurementKind.CSF_WBC)
        protein = values.get(MeasurementKind.CSF_PROTEIN)
        flags = csf_flags(wbc, protein, thresholds)
        if flags.any:
            flagged.append(CsfFlagRow(ref, latest, wbc, protein, flags))
    flagged.sort(key=lambda r: (r.date, r.patient.pseudonym), reverse=True)
    return flagged


def nfl_alerts(
    session: Session, scope: SiteScope, rule: SurveillanceRule = DEFAULT_SURVEILLANCE_RULE
) -> list[NflAlert]:
    """Carriers whose latest plasma NfL rose past the surveillance rule from their baseline.

    The baseline is the earliest value on the same assay platform as the latest value.
    """
    kinds = (MeasurementKind.NFL_PLASMA,)
    alerts = []
    for ref, rows in _measurements(session, scope, kinds, PatientStatus.CARRIER).items():
        latest = rows[-1]
        platform = nfl_platform(latest.assay)
        baseline = next(r for r in rows if nfl_platform(r.assay) == platform)
        if baseline is not latest and nfl_trigger(baseline.value, latest.value, rule):
            alerts.append(
                NflAlert(ref, baseline.date, baseline.value, latest.date, latest.value,
                         latest.assay)
            )
    alerts.sort(key=lambda a: (a.latest_date, a.patient.pseudonym), reverse=True)
    return alerts


def self_reports_to_review(session: Session, scope: SiteScope) -> list[SelfReportToReview]:
    """Self-reported ALSFRS-R ratings not yet reviewed, oldest first (the total by the domain)."""
    query = scope.patients(
        select(AlsfrsAssessment, Patient.pseudonym)
        .join(Patient, AlsfrsAssessment.patient_id == Patient.id)
        .where(AlsfrsAssessment.source == AssessmentSource.SELF,
               AlsfrsAssessment.reviewed_at.is_(None))
        .order_by(AlsfrsAssessment.date, Patient.pseudonym)
    )
    return [
        SelfReportToReview(PatientRef(row.patient_id, pseudonym), row.id, row.date,
                           AlsfrsR.from_items(row.items, gastrostomy=row.gastrostomy).total)
        for row, pseudonym in session.execute(query)
    ]


def site_dashboard(
    session: Session, scope: SiteScope, *, today: dt.date, regimen: Regimen
) -> SiteDashboard:
    """Everything the dashboard lists, for the sites in ``scope``."""
    overdue, soon = doses_due(session, scope, today, regimen)
    return SiteDashboard(
        today=today,
        overdue=overdue,
        due_soon=soon,
        adverse_events=open_adverse_events(session, scope),
        csf_flags=flagged_csf(session, scope),
        nfl_alerts=nfl_alerts(session, scope),
        self_reports=self_reports_to_review(session, scope),
    )


__all__ = [
    "DUE_WINDOW_DAYS",
    "FOLLOW_UP_OUTCOMES",
    "CsfFlagRow",
    "DoseDue",
    "NflAlert",
    "PatientRef",
    "SelfReportToReview",
    "SiteDashboard",
    "doses_due",
    "flagged_csf",
    "nfl_alerts",
    "open_adverse_events",
    "self_reports_to_review",
    "site_dashboard",
]
