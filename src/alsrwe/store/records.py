"""Write use cases of the forms and the API: one function per kind of record.

Each function validates through the domain (a rule lives there, never here), refuses a
patient outside the caller's :class:`SiteScope` exactly as a missing one
(:class:`RecordNotFound`), writes in the caller's transaction with one audit entry, and never
commits. Every broken rule becomes a :class:`RecordInvalid` whose ``problems`` map the field
(as the forms and ``tidy CSV`` name it) to the rule in words; the web shows each message next
to its field and the API returns them as 422 details.

    ValueError
     └── RecordInvalid       field → message, nothing written
    LookupError
     └── RecordNotFound      absent, or at a site outside the scope (a 404 at the edge)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AlsfrsR, AssessmentSource
from alsrwe.domain.biomarkers import normalize_measurement
from alsrwe.domain.errors import DomainError
from alsrwe.domain.events import Milestone as MilestoneEvent
from alsrwe.domain.events import milestone, validate_milestones
from alsrwe.domain.regimens import check_administration
from alsrwe.domain.safety import adverse_event
from alsrwe.store.models import (
    ALSFRS_ITEMS,
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    Base,
    Measurement,
    Milestone,
    Patient,
)
from alsrwe.store.patient_file import scoped_patient
from alsrwe.store.queries import milestones_for, record_audit
from alsrwe.store.scope import SiteScope

AE_FOLLOW_UP_FIELDS = frozenset({"outcome", "resolved_date", "action", "grade", "serious"})
"""What a follow-up of an adverse event may change (the event's identity stays)."""


class RecordInvalid(ValueError):
    """Input that breaks one or more rules; ``problems`` maps each field to its message."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {rule}" for field, rule in self.problems.items()))


class RecordNotFound(LookupError):
    """The patient or record does not exist, or belongs to a site outside the scope."""


def load_patient(session: Session, scope: SiteScope, patient_id: int) -> Patient:
    """The patient if in scope; RecordNotFound otherwise (the same for absent and foreign)."""
    patient = scoped_patient(session, scope, patient_id)
    if patient is None:
        raise RecordNotFound("no such patient")
    return patient


@contextmanager
def domain_rules() -> Iterator[None]:
    """Turn a domain error into the field problem it names."""
    try:
        yield
    except DomainError as error:
        raise RecordInvalid({error.field: error.rule}) from error


def not_in_future(field: str, day: dt.date, today: dt.date | None) -> None:
    if today is not None and day > today:
        raise RecordInvalid({field: f"{day.isoformat()} is in the future "
                                    f"(after {today.isoformat()})"})


def _refuse_duplicate(
    session: Session, model: type[Base], field: str, message: str, **key: Any
) -> None:
    """A natural key already taken is the user's mistake (a field problem), not a crash."""
    if session.scalar(select(model).filter_by(**key).limit(1)) is not None:
        raise RecordInvalid({field: message})


def _save(
    session: Session, row: Base, actor: str, action: str, patient: Patient,
    detail: Mapping[str, Any] | None = None,
) -> None:
    session.add(row)
    session.flush()
    record_audit(session, actor, action, str(row.__tablename__),
                 {"patient": patient.pseudonym, "id": getattr(row, "id", None), **(detail or {})})


def record_alsfrs(
    session: Session, scope: SiteScope, patient_id: int, date: dt.date, items: Sequence[int],
    gastrostomy: bool, source: AssessmentSource, actor: str, *, today: dt.date | None = None,
) -> AlsfrsAssessment:
    """Add an ALSFRS-R rating: 12 items in order, item 5 on the 5b scale with a gastrostomy.

    Problems name the item as the domain does (``q1`` … ``q5a``/``q5b`` … ``q12``); one
    rating per patient, date and source.
    """
    patient = load_patient(session, scope, patient_id)
    not_in_future("date", date, today)
    with domain_rules():
        rating = AlsfrsR.from_items(items, gastrostomy=gastrostomy)
    _refuse_duplicate(
        session, AlsfrsAssessment, "date",
        f"an ALSFRS-R rating ({source.value}) is already recorded on {date.isoformat()}",
        patient_id=patient.id, date=date, source=source,
    )
    row = AlsfrsAssessment(patient_id=patient.id, date=date, gastrostomy=rating.gastrostomy,
                           source=source, **dict(zip(ALSFRS_ITEMS, rating.items, strict=True)))
    _save(session, row, actor, "alsfrs_add", patient,
          {"date": date.isoformat(), "source": source.value, "total": rating.total})
    return row


def record_measurement(
    session: Session, scope: SiteScope, patient_id: int, *, date: dt.date, kind: str,
    value: float, unit: str, assay: str | None = None, lab: str | None = None, actor: str,
    today: dt.date | None = None,
) -> Measurement:
    """Add a measurement, converted to its kind's canonical unit by the domain."""
    patient = load_patient(session, scope, patient_id)
    not_in_future("date", date, today)
    with domain_rules():
        measured = normalize_measurement(kind, value, unit, assay=assay, lab=lab)
    _refuse_duplicate(
        session, Measurement, "kind",
        f"a {measured.kind.value} value is already recorded on {date.isoformat()}",
        patient_id=patient.id, date=date, kind=measured.kind,
    )
    row = Measurement(patient_id=patient.id, date=date, kind=measured.kind, value=measured.value,
                      unit=measured.unit, assay=measured.assay, lab=measured.lab)
    _save(session, row, actor, "measurement_add", patient,
          {"date": date.isoformat(), "kind": measured.kind.value})
    return row


def record_administration(
    session: Session, scope: SiteScope, patient_id: int, *, date: dt.date, drug: str,
    status: str, dose_mg: float | None = None, lot: str | None = None,
    csf_removed_ml: float | None = None, actor: str, today: dt.date | None = None,
) -> Administration:
    """Add a planned dose and what happened to it (given, missed, deferred)."""
    patient = load_patient(session, scope, patient_id)
    not_in_future("date", date, today)
    with domain_rules():
        parsed = check_administration(drug, status, dose_mg, csf_removed_ml)
    name = drug.strip().lower()
    _refuse_duplicate(
        session, Administration, "date",
        f"a dose of {name} is already recorded on {date.isoformat()}",
        patient_id=patient.id, date=date, drug=name,
    )
    row = Administration(patient_id=patient.id, date=date, drug=name, dose_mg=dose_mg,
                         status=parsed, lot=(lot or "").strip() or None,
                         csf_removed_ml=csf_removed_ml)
    _save(session, row, actor, "administration_add", patient,
          {"date": date.isoformat(), "drug": name, "status": parsed.value})
    return row


def record_adverse_event(
    session: Session, scope: SiteScope, patient_id: int, *, onset_date: dt.date, term: str,
    grade: int, serious: bool, related: bool, outcome: str, term_text: str | None = None,
    action: str | None = None, resolved_date: dt.date | None = None, actor: str,
    today: dt.date | None = None,
) -> AdverseEvent:
    """Add an adverse event (controlled term or ``other`` with text; CTCAE grade)."""
    patient = load_patient(session, scope, patient_id)
    not_in_future("onset_date", onset_date, today)
    if resolved_date is not None:
        not_in_future("resolved_date", resolved_date, today)
    with domain_rules():
        event = adverse_event(term, onset_date, grade, serious, related, outcome,
                              resolved=resolved_date, term_text=term_text, action=action)
    _refuse_duplicate(
        session, AdverseEvent, "term",
        f"a {event.term.value} event with onset {onset_date.isoformat()} is already recorded",
        patient_id=patient.id, onset_date=onset_date, term=event.term,
    )
    row = AdverseEvent(patient_id=patient.id, onset_date=onset_date, term=event.term,
                       term_text=event.term_text, grade=event.grade, serious=event.serious,
                       related=event.related, outcome=event.outcome, action=event.action,
                       resolved_date=event.resolved)
    _save(session, row, actor, "adverse_event_add", patient,
          {"onset_date": onset_date.isoformat(), "term": event.term.value})
    return row


def scoped_adverse_event(session: Session, scope: SiteScope, event_id: int) -> AdverseEvent:
    """The adverse event if its patient is in scope; RecordNotFound otherwise."""
    query = scope.patients(
        select(AdverseEvent).join(Patient, Patient.id == AdverseEvent.patient_id)
        .where(AdverseEvent.id == event_id)
    )
    event = session.scalars(query).one_or_none()
    if event is None:
        raise RecordNotFound("no such adverse event")
    return event


def update_adverse_event(
    session: Session, scope: SiteScope, event_id: int, changes: Mapping[str, Any], *,
    actor: str, today: dt.date | None = None,
) -> AdverseEvent:
    """Follow an adverse event up: change outcome, resolved date, action, grade or seriousness.

    The whole event, as changed, is validated again by the domain.
    """
    row = scoped_adverse_event(session, scope, event_id)
    unknown = sorted(set(changes) - AE_FOLLOW_UP_FIELDS)
    if unknown:
        raise RecordInvalid(dict.fromkeys(unknown, "cannot be changed in a follow-up"))
    merged = {name: getattr(row, name) for name in AE_FOLLOW_UP_FIELDS} | dict(changes)
    if merged["resolved_date"] is not None:
        not_in_future("resolved_date", merged["resolved_date"], today)
    with domain_rules():
        event = adverse_event(row.term, row.onset_date, merged["grade"], merged["serious"],
                              row.related, merged["outcome"], resolved=merged["resolved_date"],
                              term_text=row.term_text, action=merged["action"])
    row.outcome, row.resolved_date, row.action = event.outcome, event.resolved, event.action
    row.grade, row.serious = event.grade, event.serious
    session.flush()
    record_audit(session, actor, "adverse_event_update", "adverse_events",
                 {"patient": _pseudonym(session, row.patient_id), "id": row.id,
                  "changed": sorted(changes)})
    return row


def _pseudonym(session: Session, patient_id: int) -> str | None:
    return session.scalar(select(Patient.pseudonym).where(Patient.id == patient_id))


def record_milestone(
    session: Session, scope: SiteScope, patient_id: int, *, kind: str, date: dt.date,
    actor: str, today: dt.date | None = None,
) -> Milestone:
    """Add a milestone: each kind once, none before onset, none after death (domain rules)."""
    patient = load_patient(session, scope, patient_id)
    not_in_future("date", date, today)
    with domain_rules():
        new = milestone(kind, date)
        existing = [MilestoneEvent(m.kind, m.date) for m in milestones_for(session, patient.id)]
        validate_milestones([*existing, new], onset=patient.onset_date)
    row = Milestone(patient_id=patient.id, date=date, kind=new.kind)
    _save(session, row, actor, "milestone_add", patient,
          {"date": date.isoformat(), "kind": new.kind.value})
    return row


__all__ = [
    "AE_FOLLOW_UP_FIELDS",
    "RecordInvalid",
    "RecordNotFound",
    "load_patient",
    "record_administration",
    "record_adverse_event",
    "record_alsfrs",
    "record_measurement",
    "record_milestone",
    "scoped_adverse_event",
    "update_adverse_event",
]
