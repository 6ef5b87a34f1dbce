"""Home (by role), the site dashboard (record-level); ``/overview`` leads to the cohort page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from alsrwe.domain.access import Role
from alsrwe.store.reads.dashboard import DUE_WINDOW_DAYS, site_dashboard
from alsrwe.web.deps import (
    ActiveRegimen,
    CurrentUser,
    Db,
    Principal,
    Today,
    require_aggregate_access,
    require_record_access,
)
from alsrwe.web.templating import render

router = APIRouter(include_in_schema=False)


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
    request: Request,
    db: Db,
    today: Today,
    regimen: ActiveRegimen,
    user: Annotated[Principal, Depends(require_record_access)],
) -> Response:
    board = site_dashboard(db, user.scope, today=today, regimen=regimen)
    return render(request, "dashboard.html", user=user, board=board, regimen=regimen,
                  window_days=DUE_WINDOW_DAYS)


@router.get("/overview")
def overview(user: Annotated[Principal, Depends(require_aggregate_access)]) -> Response:
    """The analysts' former landing page, now the cross-site cohort page."""
    return RedirectResponse("/cohort", status_code=303)
