"""The patient file: everything the web's patient page shows about one patient, site-scoped.

Clinical values (scores, stages, ΔFRS, next dose, calendar, flags) are computed by the domain;
this module gathers the rows, asks the domain, and hands back plain dataclasses and ORM rows.

The headline ALSFRS-R is the latest clinic rating (a self-report only once reviewed and when
there is no clinic rating), so a patient's unreviewed self-report never drives the stages or
ΔFRS. The schedule follows the patient's treatment course when one is recorded (its regimen,
the doses since it began; none while paused or stopped), else the site's regimen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import (
    AlsfrsR,
    AssessmentSource,
    delta_frs,
    kings_stage,
    mitos_stage,
    stages,
)
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.flags import EventFacts, Flag, FlagKind, Sample, patient_flags
from alsrwe.domain.regimens import AdministrationStatus, Due, Regimen, next_due
from alsrwe.domain.treatments import Course, course, doses_in_course, scheduled
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    ConfirmedWarnings,
    FlagAcknowledgement,
    Measurement,
    Medication,
    Milestone,
    Patient,
    Treatment,
    VoidedRecord,
)
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.reads.records import (
    acknowledgements_for,
    administrations_for,
    adverse_events_for,
    assessments_for,
    headline_rating,
    measurements_for,
    medications_for,
    milestones_for,
    voided_for,
)
from alsrwe.store.reads.summary import DosingCalendar, calendar_of
from alsrwe.store.reads.treatments import period_of, treatment_rows
from alsrwe.store.scope import SiteScope


@dataclass(frozen=True, slots=True)
class ScoredAssessment:
    """One ALSFRS-R rating with its total, domain sub-scores and stages (by the domain).

    ``reviewed_at``/``reviewed_by``: a self-report's review by a clinician (None until then,
    and always for clinic ratings).
    """

    id: int
    date: dt.date
    source: AssessmentSource
    items: tuple[int, ...]
    gastrostomy: bool
    total: int
    bulbar: int
    fine_motor: int
    gross_motor: int
    respiratory: int
    kings_stage: str
    mitos_stage: int
    reviewed_at: dt.datetime | None
    reviewed_by: str | None
    confirmed_warnings: ConfirmedWarnings | None = None
    version: int = 1

    @property
    def awaits_review(self) -> bool:
        return self.source is AssessmentSource.SELF and self.reviewed_at is None

    @property
    def is_self_report(self) -> bool:
        return self.source is AssessmentSource.SELF


def score(row: AlsfrsAssessment) -> ScoredAssessment:
    """Score a stored assessment with the domain's rules."""
    rating = AlsfrsR.from_items(row.items, gastrostomy=row.gastrostomy)
    return ScoredAssessment(
        id=row.id,
        date=row.date,
        source=row.source,
        items=rating.items,
        gastrostomy=rating.gastrostomy,
        total=rating.total,
        bulbar=rating.bulbar,
        fine_motor=rating.fine_motor,
        gross_motor=rating.gross_motor,
        respiratory=rating.respiratory,
        kings_stage=kings_stage(rating),
        mitos_stage=mitos_stage(rating),
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        confirmed_warnings=row.confirmed_warnings,
        version=row.version,
    )


@dataclass(frozen=True, slots=True)
class ConfirmedWarning:
    """A plausibility warning someone confirmed when the record was entered."""

    date: dt.date
    record: str
    message: str


@dataclass(frozen=True, slots=True)
class PatientFile:
    """One patient's record as of ``today``; ``None`` fields are unknown or not applicable.

    ``latest`` is the headline rating (clinic-rated; see the module's docstring) and
    ``latest_self`` a self-report awaiting review that is newer than it. ``course`` is where
    the latest treatment course stands; ``flags`` what needs attention, urgent first.
    """

    patient: Patient
    site: str
    today: dt.date
    regimen: Regimen
    death: dt.date | None
    kings_stage: str | None
    mitos_stage: str | None
    delta_frs: float | None
    latest: ScoredAssessment | None
    latest_self: ScoredAssessment | None
    first_dose: dt.date | None
    days_on_treatment: int | None
    next_dose: Due | None
    calendar: DosingCalendar
    assessments: list[ScoredAssessment]
    measurements: list[Measurement]
    administrations: list[Administration]
    adverse_events: list[AdverseEvent]
    milestones: list[Milestone]
    course: Course | None = None
    treatments: list[Treatment] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    voided: list[VoidedRecord] = field(default_factory=list)
    acknowledgements: list[FlagAcknowledgement] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    @property
    def deceased(self) -> bool:
        return self.death is not None

    @property
    def open_treatment(self) -> Treatment | None:
        """The running treatment period, if any (what a pause or a stop ends)."""
        return next((t for t in reversed(self.treatments) if t.end_date is None), None)

    @property
    def to_review(self) -> list[ScoredAssessment]:
        """Self-reports no clinician has reviewed yet, oldest first."""
        return [a for a in self.assessments if a.awaits_review]

    @property
    def confirmed_warnings(self) -> list[ConfirmedWarning]:
        """Every plausibility warning confirmed for one of the patient's records, newest first."""
        found = [ConfirmedWarning(day, what, item["message"])
                 for day, what, stored in self._warned() for item in stored or ()]
        return sorted(found, key=lambda w: w.date, reverse=True)

    def _warned(self) -> list[tuple[dt.date, str, ConfirmedWarnings | None]]:
        return [
            *((a.date, "ALSFRS-R", a.confirmed_warnings) for a in self.assessments),
            *((m.date, m.kind.value.replace("_", " "), m.confirmed_warnings)
              for m in self.measurements),
            *((d.date, f"dose of {d.drug}", d.confirmed_warnings) for d in self.administrations),
            *((e.onset_date, f"adverse event {e.term.value}", e.confirmed_warnings)
              for e in self.adverse_events),
            *((m.date, m.kind.value, m.confirmed_warnings) for m in self.milestones),
        ]

    @property
    def dose_dates(self) -> list[dt.date]:
        """Dates of the doses of the regimen's drug that were given (marked on the charts)."""
        return _given(self.administrations, self.regimen.drug)


def _given(doses: list[Administration], drug: str) -> list[dt.date]:
    return sorted(
        {d.date for d in doses if d.drug == drug and d.status is AdministrationStatus.GIVEN}
    )


def _rating(latest: ScoredAssessment | None) -> AlsfrsR | None:
    return None if latest is None else AlsfrsR(latest.items, latest.gastrostomy)


def _delta_frs(patient: Patient, latest: ScoredAssessment | None) -> float | None:
    if latest is None or patient.onset_date is None or latest.date <= patient.onset_date:
        return None
    return delta_frs(latest.total, patient.onset_date, latest.date)


def _flags(due: Due | None, events: list[AdverseEvent], measurements: list[Measurement],
           assessments: list[ScoredAssessment], seen: list[FlagAcknowledgement],
           today: dt.date) -> list[Flag]:
    return patient_flags(
        due=due,
        events=[EventFacts(e.term, e.onset_date, e.outcome, e.serious) for e in events],
        samples=[Sample(m.date, m.kind, m.value, m.assay) for m in measurements],
        pending_self_reports=[a.date for a in assessments if a.awaits_review],
        today=today,
        csf_seen=[a.sample_date for a in seen if a.flag is FlagKind.CSF],
        nfl_seen=[a.sample_date for a in seen if a.flag is FlagKind.NFL])


def patient_file(
    session: Session, scope: SiteScope, patient_id: int, *, today: dt.date, regimen: Regimen
) -> PatientFile:
    """The patient's file; NotFound when the patient does not exist or is out of scope.

    ``regimen`` is the site's, used when the patient has no treatment course recorded.
    """
    patient = patient_in_scope(session, scope, patient_id)
    assessments = [score(row) for row in assessments_for(session, patient.id)]
    latest = headline_rating(assessments)
    pending = [a for a in assessments if a.awaits_review]
    newer_self = pending[-1] if pending and (latest is None or pending[-1].date >= latest.date) \
        else None
    milestones = milestones_for(session, patient.id)
    death = next((m.date for m in milestones if m.kind is MilestoneKind.DEATH), None)
    administrations = administrations_for(session, patient.id)
    treatments = treatment_rows(session, patient.id)
    current = course([period_of(t) for t in treatments])
    if current is not None:
        regimen = current.regimen
    given = _given(administrations, regimen.drug)
    in_course = doses_in_course(given, current)
    end = min(death, today) if death is not None else today
    kings, mitos = stages(_rating(latest), death is not None)
    due = (next_due(regimen, in_course, today)
           if in_course and death is None and scheduled(current) else None)
    course_doses = [d for d in administrations if current is None or d.date >= current.start]
    measurements = measurements_for(session, patient.id)
    events = adverse_events_for(session, patient.id)
    seen = acknowledgements_for(session, patient.id)
    return PatientFile(
        patient=patient,
        site=patient.site.code,
        today=today,
        regimen=regimen,
        death=death,
        kings_stage=kings,
        mitos_stage=mitos,
        delta_frs=_delta_frs(patient, latest),
        latest=latest,
        latest_self=newer_self,
        first_dose=given[0] if given else None,
        days_on_treatment=(end - given[0]).days if given else None,
        next_dose=due,
        calendar=calendar_of(patient.pseudonym, course_doses, today=today, regimen=regimen,
                             ahead=4 if due is not None else 0),
        assessments=assessments,
        measurements=measurements,
        administrations=administrations,
        adverse_events=events,
        milestones=milestones,
        course=current,
        treatments=treatments,
        medications=medications_for(session, patient.id),
        voided=voided_for(session, patient.id),
        acknowledgements=seen,
        flags=[] if death is not None else _flags(due, events, measurements, assessments, seen,
                                                  today),
    )


__all__ = ["ConfirmedWarning", "PatientFile", "ScoredAssessment", "patient_file", "score"]
