"""Home (by role), the triage dashboard, the infusion-day list; ``/overview`` leads to the cohort.

The dashboard (record-level) shows each queue most urgent first, its total in the heading and
``QUEUE_PAGE_SIZE`` rows at a time; a GET form filters by site, queue and age, and each queue
pages with ``<queue>_page=N`` (or ``all``) so that every page keeps the others' state. Two
forms post back to it and return to the same query string: acknowledging a CSF or NfL flag
(any record-level role) and marking self-reports reviewed (``self_report_reviewers`` only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session
from starlette.responses import Response

from alsrwe.domain import cells
from alsrwe.domain.access import Role
from alsrwe.domain.errors import InvalidInput, NotFound, Problem
from alsrwe.domain.flags import FlagKind
from alsrwe.store.models import MAX_ID
from alsrwe.store.reads.counts import visible_sites
from alsrwe.store.reads.dashboard import (
    DISCREPANCY_POINTS,
    DUE_WINDOW_DAYS,
    QUEUE_PAGE_SIZE,
    QueueKind,
    Slice,
    infusion_list,
    site_dashboard,
)
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import acknowledge_flag
from alsrwe.store.writes.self_reports import review_self_report
from alsrwe.web.auth import utc_now
from alsrwe.web.deps import (
    ActiveRegimen,
    CurrentUser,
    Db,
    Principal,
    Settings,
    Today,
    require_aggregate_access,
    require_record_access,
)
from alsrwe.web.errors import Forbidden
from alsrwe.web.form_reader import FormReader, form_values
from alsrwe.web.schemas import Blankable, SiteCode
from alsrwe.web.templating import render

router = APIRouter(include_in_schema=False)
RecordUser = Annotated[Principal, Depends(require_record_access)]

QUEUE_TITLES = {
    QueueKind.OVERDUE: "Overdue doses",
    QueueKind.DUE_SOON: "Doses due soon",
    QueueKind.ADVERSE_EVENTS: "Adverse events awaiting follow-up",
    QueueKind.CSF_FLAGS: "CSF flags",
    QueueKind.NFL_ALERTS: "Carriers' NfL alerts",
    QueueKind.SELF_REPORTS: "Self-reports to review",
}
"""The queues in the order the page shows them (and the queue filter lists them)."""


class Age(StrEnum):
    """How far back an item's date may lie (the due date, onset, sample or report date)."""

    DAYS_30 = "30"
    DAYS_90 = "90"
    YEAR = "365"


AGE_LABELS = {None: "any date", Age.DAYS_30: "last 30 days", Age.DAYS_90: "last 90 days",
              Age.YEAR: "last year"}
PageNumber = Annotated[int, Field(ge=1, le=MAX_ID // QUEUE_PAGE_SIZE)]
PageParam = Annotated[PageNumber | Literal["all"] | None, Blankable]
"""A queue's page: its number from 1, or ``all``."""


class DashboardQuery(BaseModel):
    """The dashboard's filters and each queue's page, all in the query string."""

    model_config = ConfigDict(extra="forbid")

    site: Annotated[SiteCode | None, Blankable] = None
    queue: Annotated[QueueKind | None, Blankable] = None
    age: Annotated[Age | None, Blankable] = None
    overdue_page: PageParam = None
    due_page: PageParam = None
    ae_page: PageParam = None
    csf_page: PageParam = None
    nfl_page: PageParam = None
    review_page: PageParam = None
    csf_acknowledged: bool = False
    nfl_acknowledged: bool = False

    def page_of(self, kind: QueueKind) -> Slice:
        chosen: int | str | None = getattr(self, f"{kind.value}_page")
        if chosen == "all":
            return Slice(0, None)
        number = chosen if isinstance(chosen, int) else 1
        return Slice((number - 1) * QUEUE_PAGE_SIZE, QUEUE_PAGE_SIZE)

    def since(self, today: dt.date) -> dt.date | None:
        return None if self.age is None else today - dt.timedelta(days=int(self.age))

    def url(self, **changes: object) -> str:
        """The dashboard's URL with these parameters changed (None drops one)."""
        params = self.model_dump(mode="json", exclude_defaults=True)
        params.update(changes)
        kept = {k: ("1" if v is True else v) for k, v in params.items()
                if v is not None and v is not False}
        return f"/dashboard?{urlencode(kept)}" if kept else "/dashboard"


def _scope(db: Session, user: Principal, site: str | None) -> tuple[SiteScope, list[str]]:
    """The scope narrowed to the chosen site, and the codes of the user's sites."""
    sites = visible_sites(db, user.scope)
    if site is None:
        return user.scope, [s.code for s in sites]
    chosen = [s.id for s in sites if s.code == site]
    if not chosen:
        raise InvalidInput([Problem("site", f"{site!r} is not one of your sites")])
    return SiteScope.only(chosen), [s.code for s in sites]


def _pager(query: DashboardQuery) -> Callable[[QueueKind, int | str | None], str]:
    def page_url(kind: QueueKind, page: int | str | None) -> str:
        return query.url(**{f"{kind.value}_page": page}) + f"#{kind.value}-heading"

    return page_url


@router.get("/")
def home(request: Request, user: CurrentUser) -> Response:
    """Each role's landing page: the dashboard, the aggregate overview, or the self-report note."""
    if user.sees_records:
        return RedirectResponse("/dashboard", status_code=303)
    if user.role is Role.ANALYST:
        return RedirectResponse("/cohort", status_code=303)
    return render(request, "patient_home.html", user=user)


@router.get("/dashboard")
def dashboard(
    request: Request, db: Db, today: Today, regimen: ActiveRegimen, settings: Settings,
    user: RecordUser, query: Annotated[DashboardQuery, Query()],
) -> Response:
    """The queues of the user's sites (or the chosen one), each a page at a time."""
    scope, sites = _scope(db, user, query.site)
    queues = [query.queue] if query.queue is not None else list(QueueKind)
    board = site_dashboard(db, scope, today=today, regimen=regimen, queues=queues,
                           pages={kind: query.page_of(kind) for kind in QueueKind},
                           since=query.since(today))
    back = f"?{request.url.query}" if request.url.query else ""
    return render(request, "dashboard.html", user=user, board=board, regimen=regimen,
                  window_days=DUE_WINDOW_DAYS, query=query, sites=sites,
                  queue_titles=QUEUE_TITLES, age_labels=AGE_LABELS, page_url=_pager(query),
                  back=back, reviewer=user.role in settings.self_report_reviewers,
                  discrepancy_points=DISCREPANCY_POINTS, flag_kinds=FlagKind, kinds=QueueKind,
                  page_size=QUEUE_PAGE_SIZE)


async def _submitted(request: Request) -> dict[str, str]:
    return form_values(await request.form())


async def _assessment_ids(request: Request) -> list[str]:
    """Every ``assessment_id`` of the form (one per ticked box)."""
    return [v for v in (await request.form()).getlist("assessment_id") if isinstance(v, str)]


def _back(request: Request, anchor: str) -> RedirectResponse:
    """Back to the dashboard with the query string the form was posted with."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/dashboard{query}#{anchor}", status_code=303)


@router.post("/dashboard/flags/acknowledge")
def acknowledge(
    request: Request, db: Db, user: RecordUser,
    values: Annotated[dict[str, str], Depends(_submitted)],
) -> Response:
    """Acknowledge the flag of one sample (fields patient_id, flag, sample_date, note)."""
    reader = FormReader(values)
    patient_id = reader.cell("patient_id", cells.integer, low=1, high=MAX_ID)
    if patient_id is None:
        raise NotFound("no such patient")
    sample_date = reader.cell("sample_date", cells.iso_date)
    flag = reader.text("flag")
    note = reader.optional_text("note")
    if reader.problems or sample_date is None:
        raise InvalidInput([Problem(name, rule) for name, rule in reader.problems.items()]
                           or [Problem("sample_date", "is required")])
    row = acknowledge_flag(db, user.scope, patient_id, flag, sample_date, actor=user.username,
                           now=utc_now(), note=note)
    return _back(request, f"{row.flag.value}-heading")


@router.post("/dashboard/self-reports/review")
def review_selected(
    request: Request, db: Db, user: RecordUser, settings: Settings,
    selected: Annotated[list[str], Depends(_assessment_ids)],
) -> Response:
    """Mark every ticked self-report reviewed, in one transaction (all or none)."""
    if user.role not in settings.self_report_reviewers:
        raise Forbidden("your role does not review self-reports")
    now = utc_now()
    for value in selected:
        assessment_id = FormReader({"assessment_id": value}).cell(
            "assessment_id", cells.integer, low=1, high=MAX_ID)
        if assessment_id is None:
            raise NotFound("no such self-report")
        review_self_report(db, user.scope, assessment_id, actor=user.username, now=now)
    return _back(request, "review-heading")


WINDOW_DAYS = (1, 7)
"""The infusion list covers a day or a week."""


class InfusionQuery(BaseModel):
    """The infusion list's window: ``days`` days (1 or 7) from ``start`` (default today)."""

    model_config = ConfigDict(extra="forbid")

    start: Annotated[dt.date | None, Blankable] = None
    days: int = 1

    @field_validator("days")
    @classmethod
    def _a_day_or_a_week(cls, value: int) -> int:
        if value not in WINDOW_DAYS:
            raise ValueError("must be 1 (a day) or 7 (a week)")
        return value


@router.get("/dashboard/infusions")
def infusions(
    request: Request, db: Db, today: Today, regimen: ActiveRegimen, user: RecordUser,
    query: Annotated[InfusionQuery, Query()],
) -> Response:
    """The lumbar-puncture list of a day or a week across the user's sites, printable."""
    start = query.start or today
    listing = infusion_list(db, user.scope, start=start, days=query.days, today=today,
                            regimen=regimen)
    step = dt.timedelta(days=query.days)
    return render(request, "infusions.html", user=user, listing=listing, regimen=regimen,
                  days=query.days, today=today,
                  previous_url=_infusions_url(start - step, query.days),
                  next_url=_infusions_url(start + step, query.days),
                  day_url=_infusions_url(start, 1), week_url=_infusions_url(start, 7))


def _infusions_url(start: dt.date, days: int) -> str:
    return f"/dashboard/infusions?{urlencode({'start': start.isoformat(), 'days': days})}"


@router.get("/overview")
def overview(user: Annotated[Principal, Depends(require_aggregate_access)]) -> Response:
    """The analysts' former landing page, now the cross-site cohort page."""
    return RedirectResponse("/cohort", status_code=303)
