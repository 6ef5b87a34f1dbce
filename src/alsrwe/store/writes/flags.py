"""A clinician acknowledges a CSF or NfL flag on one sample: it leaves the dashboard's queue
until a newer sample is flagged (reads: :mod:`alsrwe.store.reads.dashboard`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.domain.flags import FlagKind
from alsrwe.domain.records import clean_text
from alsrwe.store.audit import record_audit
from alsrwe.store.models import FlagAcknowledgement
from alsrwe.store.reads.dashboard import sample_is_flagged
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.scope import SiteScope


def acknowledge_flag(
    session: Session, scope: SiteScope, patient_id: int, flag: FlagKind | str,
    sample_date: dt.date, *, actor: str, now: dt.datetime, note: str | None = None,
) -> FlagAcknowledgement:
    """Record that ``actor`` saw the ``flag`` on the patient's sample of ``sample_date``,
    audited; a second acknowledgement of the same sample changes nothing (the first stays).

    NotFound when the patient is absent or outside ``scope``; InvalidInput when the flag is
    unknown or the patient has no such flagged sample (by the dashboard's rules).
    """
    patient = patient_in_scope(session, scope, patient_id)
    try:
        kind = FlagKind(flag)
    except ValueError:
        raise InvalidInput([Problem("flag", f"{flag!r} must be one of: "
                                            f"{', '.join(k.value for k in FlagKind)}")]) from None
    text = clean_text("note", note)  # control characters, length (the domain's limit)
    earlier = session.scalar(select(FlagAcknowledgement).where(
        FlagAcknowledgement.patient_id == patient.id, FlagAcknowledgement.flag == kind,
        FlagAcknowledgement.sample_date == sample_date))
    if earlier is not None:
        return earlier
    if not sample_is_flagged(session, patient, kind, sample_date):
        raise InvalidInput([Problem("sample_date", f"{patient.pseudonym} has no {kind.value} "
                                                   f"flag on {sample_date.isoformat()}")])
    row = FlagAcknowledgement(patient_id=patient.id, flag=kind, sample_date=sample_date,
                              note=text, acknowledged_by=actor, acknowledged_at=now)
    session.add(row)
    session.flush()
    record_audit(session, actor, "flag_acknowledge", "flag_acknowledgements",
                 {"patient": patient.pseudonym, "flag": kind.value,
                  "sample_date": sample_date.isoformat(), "id": row.id}, patient_id=patient.id)
    return row


__all__ = ["acknowledge_flag"]
