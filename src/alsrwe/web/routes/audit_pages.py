"""The audit trail in the web app: the administrators' page, a patient's history ("who
changed this value, when, from what") and the patient's record as it was on a past date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from alsrwe.store.models import MAX_ID
from alsrwe.store.reads.audit_log import (
    AuditFilter,
    audit_entries,
    chain_head,
    patient_imports,
    verify_chain,
)
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.reads.point_in_time import patient_as_of
from alsrwe.web.deps import CurrentUser, Db, RecordId, require_admin, require_record_access
from alsrwe.web.templating import render
from alsrwe.web.viewing import log_view

router = APIRouter(include_in_schema=False)
PAGE = 100
"""Entries per page of the audit trail."""

ShortText = Annotated[str | None, Field(default=None, max_length=100, pattern=r"^[^\x00]*$")]


class AuditQuery(BaseModel):
    """The audit page's filters (all optional)."""

    model_config = ConfigDict(extra="forbid")

    patient: ShortText = None
    user: ShortText = None
    action: ShortText = None
    since: dt.date | None = None
    until: dt.date | None = None
    before: int | None = Field(default=None, ge=1, le=MAX_ID)

    def to_filter(self) -> AuditFilter:
        return AuditFilter(patient=self.patient or None, actor=self.user or None,
                           action=self.action or None, since=self.since, until=self.until)


@router.get("/admin/audit", dependencies=[Depends(require_admin)])
def audit_page(request: Request, db: Db, user: CurrentUser,
               query: Annotated[AuditQuery, Query()]) -> Response:
    """The newest entries, filtered; the chain's head; a check of the whole chain on demand."""
    rows = audit_entries(db, query.to_filter(), limit=PAGE, before_id=query.before)
    params = query.model_dump(mode="json", exclude={"before"}, exclude_none=True)
    older = (f"/admin/audit?{urlencode({**params, 'before': rows[-1].id})}"
             if len(rows) == PAGE else None)
    return render(request, "audit.html", user=user, rows=rows, query=query,
                  head=chain_head(db), older_url=older, verified=None)


@router.post("/admin/audit/verify", dependencies=[Depends(require_admin)])
def audit_verify(request: Request, db: Db, user: CurrentUser) -> Response:
    """Check every entry's hash and link (as ``alsrwe audit verify`` does)."""
    broken = verify_chain(db)
    rows = audit_entries(db, AuditFilter(), limit=PAGE)
    return render(request, "audit.html", user=user, rows=rows, query=AuditQuery(),
                  head=chain_head(db), older_url=None,
                  verified="intact" if broken is None else str(broken))


@router.get("/patients/{patient_id}/history", dependencies=[Depends(require_record_access)])
def patient_history(request: Request, db: Db, user: CurrentUser,
                    patient_id: RecordId) -> Response:
    """Every audited change and view of the patient's record, newest first, with the values
    before and after each change."""
    patient = patient_in_scope(db, user.scope, patient_id)
    rows = sorted([*audit_entries(db, AuditFilter(patient=patient.pseudonym), limit=1000),
                   *patient_imports(db, patient.id)], key=lambda row: -row.id)
    log_view(request, user, "patient_history", patient.id)
    return render(request, "patient_history.html", user=user, patient=patient, rows=rows)


class AsOfQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: dt.datetime | dt.date | None = None


@router.get("/patients/{patient_id}/as-of", dependencies=[Depends(require_record_access)])
def patient_as_of_page(request: Request, db: Db, user: CurrentUser, patient_id: RecordId,
                       query: Annotated[AsOfQuery, Query()]) -> Response:
    """The record as it stood at a moment (a date means the end of that day, UTC)."""
    patient = patient_in_scope(db, user.scope, patient_id)
    at = query.at
    if at is None:
        moment = dt.datetime.now(dt.UTC)
    elif isinstance(at, dt.datetime):
        moment = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    else:
        moment = dt.datetime.combine(at + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    past = patient_as_of(db, user.scope, patient.id, moment)
    log_view(request, user, "patient_as_of", patient.id, {"at": moment.isoformat()})
    return render(request, "patient_as_of.html", user=user, patient=patient, past=past,
                  day=(moment - dt.timedelta(microseconds=1)).date())
