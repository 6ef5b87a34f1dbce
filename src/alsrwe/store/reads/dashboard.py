"""The site dashboard: what needs a clinician's attention, most urgent first, site-scoped.

Six queues, each counted in full and shown a page at a time (:class:`QueuePage`):

- doses overdue (most days overdue first) and due within ``DUE_WINDOW_DAYS`` (soonest first),
  from the schedule engine; a treatment course (``alsrwe.domain.treatments``) decides whether a
  patient is due at all and which doses count;
- adverse events awaiting follow-up (outcome recovering, not recovered or unknown): the label's
  warning terms first, then serious, then higher grade, then the most recent onset;
- CSF flags on each patient's latest CSF sample (``csf_flags``, convention 8), newest first;
- carriers whose plasma NfL crossed the surveillance threshold (``nfl_trigger``, convention 10),
  compared within one assay platform only (convention 9), newest first;
- ALSFRS-R self-reports no clinician has reviewed yet, newest first, each next to the clinic
  rating it can be compared with.

A patient who has died leaves every queue. A flag a clinician acknowledged for the latest
sample leaves its queue (it is counted apart, with who and when); a newer flagged sample
brings the patient back. The infusion-day list (:func:`infusion_list`) is the lumbar-puncture
list of a day or a week, built from the same schedules.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar, TypeVarTuple

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AlsfrsR, AssessmentSource
from alsrwe.domain.biomarkers import (
    DEFAULT_CSF_THRESHOLDS,
    NFL_KINDS,
    CsfFlags,
    CsfThresholds,
    MeasurementKind,
    csf_flags,
    nfl_platform,
)
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.flags import FlagKind, Sample, rising_nfl
from alsrwe.domain.nfl_surveillance import (
    DEFAULT_SURVEILLANCE_RULE,
    SurveillanceRule,
    nfl_trigger,
)
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.regimens import AdministrationStatus, Due, Regimen, next_due
from alsrwe.domain.safety import WARNING_TERMS, AeOutcome
from alsrwe.domain.treatments import doses_in_course, scheduled
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    FlagAcknowledgement,
    Measurement,
    Milestone,
    Patient,
    Site,
    Treatment,
)
from alsrwe.store.reads.patients import ID_CHUNK
from alsrwe.store.reads.treatments import courses_by_patient
from alsrwe.store.scope import SiteScope

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

DUE_WINDOW_DAYS = 7
"""'Due this week': today and the six days after it (alsrwe display choice)."""

QUEUE_PAGE_SIZE = 10
"""Rows of each queue shown at first; the rest are a page or 'show all' away (alsrwe choice)."""

DISCREPANCY_POINTS = 6
"""A self-report this many ALSFRS-R points or more from the clinic rating is flagged for the
reviewer (alsrwe display choice: about a quarter of a year's typical decline)."""

FOLLOW_UP_OUTCOMES = (AeOutcome.RECOVERING, AeOutcome.NOT_RECOVERED, AeOutcome.UNKNOWN)
"""Outcomes of adverse events that are still open and need follow-up."""

CSF_KINDS = (MeasurementKind.CSF_WBC, MeasurementKind.CSF_PROTEIN)


class QueueKind(StrEnum):
    """The dashboard's queues; the value names the queue in query strings and anchors."""

    OVERDUE = "overdue"
    DUE_SOON = "due"
    ADVERSE_EVENTS = "ae"
    CSF_FLAGS = "csf"
    NFL_ALERTS = "nfl"
    SELF_REPORTS = "review"


@dataclass(frozen=True, slots=True)
class Slice:
    """Which rows of a queue to show: ``limit`` None shows them all."""

    offset: int = 0
    limit: int | None = QUEUE_PAGE_SIZE

    def __post_init__(self) -> None:
        if self.offset < 0 or (self.limit is not None and self.limit < 1):
            raise ValueError("a slice starts at 0 or later and shows at least one row")


@dataclass(frozen=True, slots=True)
class QueuePage(Generic[T]):
    """The shown rows of a queue, how many it holds in all, and where the rows start."""

    rows: list[T]
    total: int
    offset: int
    limit: int | None

    @property
    def has_previous(self) -> bool:
        return self.limit is not None and self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.limit is not None and self.offset + self.limit < self.total

    @property
    def number(self) -> int:
        """The 1-based page number (1 when every row is shown)."""
        return 1 if not self.limit else self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return 1 if not self.limit else max(1, -(-self.total // self.limit))


def _first_row(window: Slice, total: int) -> int:
    """Where the page starts: on a page boundary, and an offset past the end shows the last."""
    if window.limit is None:
        return 0
    last_page = max(total - 1, 0) // window.limit * window.limit
    return max(0, min(window.offset // window.limit * window.limit, last_page))


def sliced(items: Sequence[T], window: Slice) -> QueuePage[T]:
    """A page of an already sorted queue."""
    offset = _first_row(window, len(items))
    end = len(items) if window.limit is None else offset + window.limit
    return QueuePage(list(items[offset:end]), len(items), offset, window.limit)


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
class Acknowledgement:
    """Who saw a flag on which sample, when, and what they noted."""

    by: str
    at: dt.datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class CsfFlagRow:
    patient: PatientRef
    date: dt.date
    wbc_per_ul: float | None
    protein_mg_dl: float | None
    flags: CsfFlags
    acknowledged: Acknowledgement | None = None


@dataclass(frozen=True, slots=True)
class NflAlert:
    patient: PatientRef
    baseline_date: dt.date
    baseline_pg_ml: float
    latest_date: dt.date
    latest_pg_ml: float
    assay: str | None
    acknowledged: Acknowledgement | None = None


@dataclass(frozen=True, slots=True)
class AdverseEventToFollow:
    patient: PatientRef
    event: AdverseEvent
    warning: bool
    """A label warning term (myelitis, radiculitis, papilledema, raised ICP, meningitis)."""


@dataclass(frozen=True, slots=True)
class ClinicRating:
    date: dt.date
    total: int


@dataclass(frozen=True, slots=True)
class SelfReportToReview:
    patient: PatientRef
    assessment_id: int
    date: dt.date
    total: int
    clinic: ClinicRating | None = None
    """The patient's latest clinic rating on or before the self-report's date."""

    @property
    def difference(self) -> int | None:
        """Self-report total minus the clinic total (negative: the patient rates lower)."""
        return None if self.clinic is None else self.total - self.clinic.total

    @property
    def discrepant(self) -> bool:
        return self.difference is not None and abs(self.difference) >= DISCREPANCY_POINTS


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


def _dead() -> Select[int]:
    return select(Milestone.patient_id).where(Milestone.kind == MilestoneKind.DEATH)


def _living(scope: SiteScope, query: Select[*Ts]) -> Select[*Ts]:
    """``query`` (from ``patients``) kept to living patients of the sites in scope."""
    return scope.patients(query).where(Patient.id.not_in(_dead()))


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
    dosed = session.execute(_living(scope, (
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
    with_periods = session.execute(_living(scope, (
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


# --- Adverse events ----------------------------------------------------------------------------


def _open_events(scope: SiteScope, since: dt.date | None, *columns: Any) -> Select[Any]:
    query = _living(scope, (
        select(*columns).select_from(AdverseEvent)
        .join(Patient, AdverseEvent.patient_id == Patient.id)
        .where(AdverseEvent.outcome.in_(FOLLOW_UP_OUTCOMES))
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
    offset = _first_row(window, total)
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
                   AdverseEvent.outcome.in_(FOLLOW_UP_OUTCOMES))
            .order_by(AdverseEvent.onset_date.desc())
        ):
            found[event.patient_id].append(event)
    return dict(found)


# --- CSF and NfL flags -------------------------------------------------------------------------


def _measurements(
    session: Session,
    scope: SiteScope,
    kinds: tuple[MeasurementKind, ...],
    status: PatientStatus | None = None,
) -> dict[PatientRef, list[Measurement]]:
    """Measurements of ``kinds`` per living patient in scope, oldest first."""
    query = _living(scope, (
        select(Measurement, Patient.pseudonym)
        .join(Patient, Measurement.patient_id == Patient.id)
        .where(Measurement.kind.in_(kinds))
        .order_by(Measurement.patient_id, Measurement.date)
    ))
    if status is not None:
        query = query.where(Patient.status == status)
    found: dict[PatientRef, list[Measurement]] = defaultdict(list)
    for row, pseudonym in session.execute(query):
        found[PatientRef(row.patient_id, pseudonym)].append(row)
    return found


def _acknowledgements(session: Session, scope: SiteScope, flag: FlagKind
                      ) -> dict[tuple[int, dt.date], Acknowledgement]:
    query = scope.patients(
        select(FlagAcknowledgement)
        .join(Patient, FlagAcknowledgement.patient_id == Patient.id)
        .where(FlagAcknowledgement.flag == flag)
    )
    return {(row.patient_id, row.sample_date):
            Acknowledgement(row.acknowledged_by, row.acknowledged_at, row.note)
            for row in session.scalars(query)}


def csf_sample(ref: PatientRef, rows: Sequence[Measurement], day: dt.date,
               thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS) -> CsfFlagRow:
    """The CSF sample of ``day`` (WBC and/or protein measured on it) with its flags."""
    values = {row.kind: row.value for row in rows if row.date == day}
    wbc = values.get(MeasurementKind.CSF_WBC)
    protein = values.get(MeasurementKind.CSF_PROTEIN)
    return CsfFlagRow(ref, day, wbc, protein, csf_flags(wbc, protein, thresholds))


def latest_csf(session: Session, scope: SiteScope,
               thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS) -> dict[int, CsfFlagRow]:
    """Each living patient's latest CSF sample, flagged or not, by patient id."""
    return {ref.id: csf_sample(ref, rows, rows[-1].date, thresholds)
            for ref, rows in _measurements(session, scope, CSF_KINDS).items()}


def flagged_csf(
    session: Session, scope: SiteScope, thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS,
    since: dt.date | None = None,
) -> list[CsfFlagRow]:
    """Patients whose latest CSF sample is flagged, newest sample first, each with the
    acknowledgement of that sample if a clinician gave one."""
    acknowledged = _acknowledgements(session, scope, FlagKind.CSF)
    flagged = [
        CsfFlagRow(row.patient, row.date, row.wbc_per_ul, row.protein_mg_dl, row.flags,
                   acknowledged.get((row.patient.id, row.date)))
        for row in latest_csf(session, scope, thresholds).values()
        if row.flags.any and (since is None or row.date >= since)
    ]
    flagged.sort(key=lambda r: (r.date, r.patient.pseudonym), reverse=True)
    return flagged


def _nfl_alert(ref: PatientRef, rows: Sequence[Measurement], rule: SurveillanceRule
               ) -> NflAlert | None:
    """The alert of the last of ``rows`` (oldest first) against the earliest value on its
    platform, or None when it did not cross the threshold."""
    latest = rows[-1]
    platform = nfl_platform(latest.assay)
    baseline = next(r for r in rows if nfl_platform(r.assay) == platform)
    if baseline is latest or not nfl_trigger(baseline.value, latest.value, rule):
        return None
    return NflAlert(ref, baseline.date, baseline.value, latest.date, latest.value, latest.assay)


def nfl_alerts(
    session: Session, scope: SiteScope, rule: SurveillanceRule = DEFAULT_SURVEILLANCE_RULE,
    since: dt.date | None = None,
) -> list[NflAlert]:
    """Carriers whose latest plasma NfL rose past the surveillance rule from their baseline,
    newest first, each with the acknowledgement of that sample if given.

    The baseline is the earliest value on the same assay platform as the latest value.
    """
    acknowledged = _acknowledgements(session, scope, FlagKind.NFL)
    kinds = (MeasurementKind.NFL_PLASMA,)
    alerts = []
    for ref, rows in _measurements(session, scope, kinds, PatientStatus.CARRIER).items():
        alert = _nfl_alert(ref, rows, rule)
        if alert is not None and (since is None or alert.latest_date >= since):
            ack = acknowledged.get((ref.id, alert.latest_date))
            alerts.append(NflAlert(ref, alert.baseline_date, alert.baseline_pg_ml,
                                   alert.latest_date, alert.latest_pg_ml, alert.assay, ack))
    alerts.sort(key=lambda a: (a.latest_date, a.patient.pseudonym), reverse=True)
    return alerts


def sample_is_flagged(
    session: Session, patient: Patient, flag: FlagKind, sample_date: dt.date, *,
    thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS,
    rule: SurveillanceRule = DEFAULT_SURVEILLANCE_RULE,
) -> bool:
    """Whether the patient's sample of ``sample_date`` carries ``flag``: a CSF flag on that
    sample; for NfL, a carrier's plasma NfL past the surveillance rule (the dashboard's queue)
    or a rising NfL of the patient page's header (docs/domain-rules.md §13)."""
    ref = PatientRef(patient.id, patient.pseudonym)
    kinds = CSF_KINDS if flag is FlagKind.CSF else tuple(NFL_KINDS)
    rows = list(session.scalars(
        select(Measurement)
        .where(Measurement.patient_id == patient.id, Measurement.kind.in_(kinds),
               Measurement.date <= sample_date)
        .order_by(Measurement.date)
    ))
    if not rows or rows[-1].date != sample_date:
        return False
    if flag is FlagKind.CSF:
        return csf_sample(ref, rows, sample_date, thresholds).flags.any
    rising = rising_nfl([Sample(m.date, m.kind, m.value, m.assay) for m in rows])
    if rising is not None and rising.date == sample_date:
        return True
    plasma = [m for m in rows if m.kind is MeasurementKind.NFL_PLASMA]
    return (patient.status is PatientStatus.CARRIER and bool(plasma)
            and plasma[-1].date == sample_date and _nfl_alert(ref, plasma, rule) is not None)


# --- Self-reports ------------------------------------------------------------------------------


def _clinic_ratings(session: Session, patient_ids: Collection[int]
                    ) -> dict[int, list[ClinicRating]]:
    """Each patient's clinic ratings (date, total by the domain), oldest first."""
    wanted = sorted(set(patient_ids))
    found: dict[int, list[ClinicRating]] = defaultdict(list)
    for start in range(0, len(wanted), ID_CHUNK):
        for row in session.scalars(
            select(AlsfrsAssessment)
            .where(AlsfrsAssessment.patient_id.in_(wanted[start:start + ID_CHUNK]),
                   AlsfrsAssessment.source == AssessmentSource.CLINIC)
            .order_by(AlsfrsAssessment.date)
        ):
            total = AlsfrsR.from_items(row.items, gastrostomy=row.gastrostomy).total
            found[row.patient_id].append(ClinicRating(row.date, total))
    return found


def _compared(ratings: Iterable[ClinicRating], day: dt.date) -> ClinicRating | None:
    before = [r for r in ratings if r.date <= day]
    return before[-1] if before else None


def self_reports_to_review(
    session: Session, scope: SiteScope, window: Slice | None = None,
    since: dt.date | None = None,
) -> QueuePage[SelfReportToReview]:
    """Self-reported ALSFRS-R ratings not yet reviewed, newest first (totals by the domain),
    each with the patient's latest clinic rating on or before its date."""
    window = window or Slice(limit=None)

    def to_review(*columns: Any) -> Select[Any]:
        query = _living(scope, (
            select(*columns).select_from(AlsfrsAssessment)
            .join(Patient, AlsfrsAssessment.patient_id == Patient.id)
            .where(AlsfrsAssessment.source == AssessmentSource.SELF,
                   AlsfrsAssessment.reviewed_at.is_(None))
        ))
        return query if since is None else query.where(AlsfrsAssessment.date >= since)

    total = session.scalar(to_review(func.count(AlsfrsAssessment.id))) or 0
    ordered = to_review(AlsfrsAssessment, Patient.pseudonym).order_by(
        AlsfrsAssessment.date.desc(), Patient.pseudonym, AlsfrsAssessment.id)
    offset = _first_row(window, total)
    if window.limit is not None:
        ordered = ordered.limit(window.limit).offset(offset)
    found = list(session.execute(ordered))
    clinic = _clinic_ratings(session, [row.patient_id for row, _ in found])
    rows = [
        SelfReportToReview(PatientRef(row.patient_id, pseudonym), row.id, row.date,
                           AlsfrsR.from_items(row.items, gastrostomy=row.gastrostomy).total,
                           _compared(clinic.get(row.patient_id, ()), row.date))
        for row, pseudonym in found
    ]
    return QueuePage(rows, total, offset, window.limit)


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


__all__ = [
    "DISCREPANCY_POINTS",
    "DUE_WINDOW_DAYS",
    "FOLLOW_UP_OUTCOMES",
    "QUEUE_PAGE_SIZE",
    "Acknowledgement",
    "AdverseEventToFollow",
    "ClinicRating",
    "CsfFlagRow",
    "DosePlan",
    "DoseDue",
    "InfusionList",
    "InfusionRow",
    "NflAlert",
    "PatientRef",
    "QueueKind",
    "QueuePage",
    "SelfReportToReview",
    "SiteDashboard",
    "Slice",
    "dose_plans",
    "doses_due",
    "flagged_csf",
    "infusion_list",
    "latest_csf",
    "nfl_alerts",
    "open_adverse_events",
    "open_events_by_patient",
    "sample_is_flagged",
    "self_reports_to_review",
    "site_dashboard",
    "sliced",
]
