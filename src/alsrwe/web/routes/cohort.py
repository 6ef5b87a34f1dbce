"""The cohort page: the evidence engine's summary and figures for the user's sites.

Clinicians and data managers see their own site(s); admins and analysts every site (or one,
chosen). Everything on it is aggregate, and for analysts Table 1 suppresses small cells.
The analyses run on a copy of the registry in DuckDB and are cached (``cohort_view``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine
from starlette.responses import Response

from alsrwe.domain.access import Role
from alsrwe.domain.errors import NotFound
from alsrwe.domain.privacy import SUPPRESS_BELOW
from alsrwe.store.reads.counts import data_version, registry_counts, visible_sites
from alsrwe.web.cohort_view import CohortCache, CohortKey, CohortView
from alsrwe.web.deps import CurrentUser, Db, get_engine, require_cohort_access
from alsrwe.web.templating import render

REFRESH_SECONDS = 3
MAX_WAIT_SECONDS = 30.0

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_cohort_access)])


async def cohort_cache(request: Request) -> CohortCache:
    cache: CohortCache = request.app.state.cohort_cache
    return cache


@router.get("/cohort")
def cohort_page(
    request: Request,
    db: Db,
    user: CurrentUser,
    engine: Annotated[Engine, Depends(get_engine)],
    cache: Annotated[CohortCache, Depends(cohort_cache)],
    site: Annotated[str | None, Query(max_length=16)] = None,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 2.0,
) -> Response:
    """Table 1 and every analysis of the report (aggregate only) for the sites in view.

    Waits up to ``wait`` seconds for the analyses; until they are done the page says so and
    reloads itself every few seconds.
    """
    codes = [s.code for s in visible_sites(db, user.scope)]
    if site and site not in codes:
        raise NotFound("no such site")
    chosen = (site,) if site else (None if user.scope.all_sites else tuple(codes))
    suppress = SUPPRESS_BELOW if user.role is Role.ANALYST else 0
    key = CohortKey(chosen, suppress, data_version(db))
    counts = registry_counts(db, user.scope, suppress_below=suppress) if not site else None
    url = engine.url.render_as_string(hide_password=False)
    # End this request's transaction before waiting for the analyses: it would hold a pooled
    # connection idle and, on SQLite, the write lock (BEGIN IMMEDIATE) against every request.
    db.commit()
    outcome = cache.get(url, key, wait)
    view = outcome if isinstance(outcome, CohortView) else None
    return render(request, "cohort.html", user=user, view=view, sites=codes, site=site,
                  scope_label=", ".join(chosen) if chosen else "all sites", counts=counts,
                  elapsed=None if view else outcome, refresh=REFRESH_SECONDS,
                  ttl_minutes=round(cache.ttl_seconds / 60))
