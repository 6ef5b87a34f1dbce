"""Self-reports: a clinician issues a link, the patient spends it once, a clinician reviews.

The store keeps only the token's keyed hash (made at the edge, like session ids) and the
link's life: expiry, use and revocation (reads: :mod:`alsrwe.store.reads.self_reports`). No
link is issued to a patient who has died; their old links can still be revoked.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.errors import InvalidInput, NotFound, Problem
from alsrwe.domain.plausibility.timeline import AFTER_DEATH
from alsrwe.store.audit import record_audit
from alsrwe.store.models import AlsfrsAssessment, Patient, SelfReportLink
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.reads.records import death_date, scoped_record
from alsrwe.store.scope import SiteScope


def issue_link(
    session: Session, scope: SiteScope, patient_id: int, token_hash: str, *, created_by: int,
    actor: str, now: dt.datetime, lifetime: dt.timedelta,
) -> SelfReportLink:
    """Store a new link for a living patient in scope (NotFound otherwise), audited."""
    patient = patient_in_scope(session, scope, patient_id)
    death = death_date(session, patient.id)
    if death is not None:
        raise InvalidInput([Problem(None, f"{patient.pseudonym} died on {death.isoformat()}: no "
                                          "self-report link is issued", AFTER_DEATH)])
    link = SelfReportLink(token_hash=token_hash, patient_id=patient.id, created_by=created_by,
                          created_at=now, expires_at=now + lifetime)
    session.add(link)
    session.flush()
    record_audit(session, actor, "self_report_link_issue", "self_report_links",
                 {"patient": patient.pseudonym, "id": link.id,
                  "expires_at": link.expires_at.isoformat()}, patient_id=patient.id)
    return link


def spend_link(session: Session, link: SelfReportLink, now: dt.datetime) -> bool:
    """Mark an open link used; ``False`` if it was spent, revoked or expired meanwhile.

    One conditional UPDATE, so two submissions (or a submission and a revocation) racing on
    one link cannot both succeed.
    """
    result = session.execute(
        update(SelfReportLink)
        .where(SelfReportLink.id == link.id, SelfReportLink.used_at.is_(None),
               SelfReportLink.revoked_at.is_(None), SelfReportLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(link)
    return int(getattr(result, "rowcount", 0) or 0) == 1


def revoke_link(
    session: Session, scope: SiteScope, patient_id: int, link_id: int, actor: str,
    now: dt.datetime,
) -> SelfReportLink:
    """Close one of the patient's unused links before it expires, audited; revoking a revoked
    link again changes nothing (the first revocation stays).

    NotFound when the patient is outside ``scope`` or the link is not theirs; InvalidInput when
    the link was already used (its answers are stored: revoking would say otherwise).
    """
    patient = patient_in_scope(session, scope, patient_id)
    link = session.get(SelfReportLink, link_id)
    if link is None or link.patient_id != patient.id:
        raise NotFound("no such self-report link")
    # Conditional, as spend_link is: a patient sending their answers right now wins or loses
    # as a whole, never leaving a link both used and revoked.
    result = session.execute(
        update(SelfReportLink)
        .where(SelfReportLink.id == link.id, SelfReportLink.used_at.is_(None),
               SelfReportLink.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor)
        .execution_options(synchronize_session=False)
    )
    session.refresh(link)
    if int(getattr(result, "rowcount", 0) or 0) == 1:
        record_audit(session, actor, "self_report_link_revoke", "self_report_links",
                     {"patient": patient.pseudonym, "id": link.id}, patient_id=patient.id)
    elif link.used_at is not None:
        raise InvalidInput([Problem(None, f"link {link.id} was already used on "
                                          f"{link.used_at.date().isoformat()}: a used link "
                                          "cannot be revoked")])
    return link


def review_self_report(
    session: Session, scope: SiteScope, assessment_id: int, *, actor: str, now: dt.datetime,
    patient_id: int | None = None,
) -> AlsfrsAssessment:
    """Record that ``actor`` reviewed a self-reported ALSFRS-R, audited; a second review of the
    same rating changes nothing (the first reviewer and time stay).

    NotFound when the rating is absent, outside ``scope`` or (given ``patient_id``) not that
    patient's; InvalidInput when it is a clinic rating (only self-reports are reviewed).
    """
    row = scoped_record(session, scope, AlsfrsAssessment, assessment_id)
    if patient_id is not None and row.patient_id != patient_id:
        raise NotFound("no such alsfrs assessment")
    if row.source is not AssessmentSource.SELF:
        raise InvalidInput([Problem("assessment_id", "only a self-report is reviewed; this is a "
                                                     "clinic rating")])
    if row.reviewed_at is None:
        row.reviewed_at, row.reviewed_by = now, actor
        session.flush()
        pseudonym = session.scalar(select(Patient.pseudonym).where(Patient.id == row.patient_id))
        record_audit(session, actor, "self_report_review", "alsfrs_assessments",
                     {"patient": pseudonym, "id": row.id, "date": row.date.isoformat()},
                     patient_id=row.patient_id)
    return row


__all__ = ["issue_link", "review_self_report", "revoke_link", "spend_link"]
