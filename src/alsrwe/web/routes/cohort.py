"""The cohort page: the evidence engine's summary and figures for the user's sites.

Clinicians and data managers see their own site(s); admins and analysts every site (or one,
chosen). Everything on it is aggregate, and for analysts Table 1 suppresses small cells.
The analyses run on a copy of the registry in DuckDB and are cached (``cohort_view``).
While they run, the page says so and its script (``static/cohort.js``) asks
``/cohort/status`` every few seconds, then reloads the page: no meta refresh, which would
reload under a screen reader's cursor and lose the reader's place.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.responses import Response

from alsrwe.domain.access import Role
from alsrwe.domain.errors import NotFound
from alsrwe.domain.privacy import SUPPRESS_BELOW
from alsrwe.store.reads.counts import data_version, registry_counts, visible_sites
from alsrwe.web.cohort_view import CohortCache, CohortKey, CohortView
from alsrwe.web.deps import CurrentUser, Db, get_engine, require_cohort_access
from alsrwe.web.principal import Principal
from alsrwe.web.templating import NO_STORE, render

POLL_SECONDS = 2
"""How often the computing page's script asks whether the analyses are done."""
MAX_WAIT_SECONDS = 30.0

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_cohort_access)])

Site = Annotated[str | None, Query(max_length=16)]


async def cohort_cache(request: Request) -> CohortCache:
    cache: CohortCache = request.app.state.cohort_cache
    return cache


def _sites_in_view(db: Db, user: Principal, site: str | None) -> tuple[list[str], CohortKey]:
    """The user's site codes and the key of the view they asked for (404 for another site)."""
    codes = [s.code for s in visible_sites(db, user.scope)]
    if site and site not in codes:
        raise NotFound("no such site")
    chosen = (site,) if site else (None if user.scope.all_sites else tuple(codes))
    suppress = SUPPRESS_BELOW if user.role is Role.ANALYST else 0
    return codes, CohortKey(chosen, suppress, data_version(db))


def _outcome(db: Db, engine: Engine, cache: CohortCache, key: CohortKey,
             wait: float) -> CohortView | float:
    url = engine.url.render_as_string(hide_password=False)
    # End this request's transaction before waiting for the analyses: it would hold a pooled
    # connection idle and, on SQLite, the write lock (BEGIN IMMEDIATE) against every request.
    db.commit()
    return cache.get(url, key, wait)


def _query(site: str | None) -> str:
    return f"?{urlencode({'site': site})}" if site else ""


@router.get("/cohort")
def cohort_page(
    request: Request,
    db: Db,
    user: CurrentUser,
    engine: Annotated[Engine, Depends(get_engine)],
    cache: Annotated[CohortCache, Depends(cohort_cache)],
    site: Site = None,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 2.0,
) -> Response:
    """Table 1 and every analysis of the report (aggregate only) for the sites in view.

    Waits up to ``wait`` seconds for the analyses; until they are done the page says so, with
    a link to refresh it (and, with JavaScript, reloads itself once they are).
    """
    codes, key = _sites_in_view(db, user, site)
    counts = (registry_counts(db, user.scope, suppress_below=key.suppress_below)
              if not site else None)
    outcome = _outcome(db, engine, cache, key, wait)
    view = outcome if isinstance(outcome, CohortView) else None
    return render(request, "cohort.html", user=user, view=view, sites=codes, site=site,
                  scope_label=", ".join(key.sites) if key.sites else "all sites",
                  counts=counts, elapsed=None if view else outcome,
                  page_url=f"/cohort{_query(site)}",
                  status_url=f"/cohort/status{_query(site)}", poll_seconds=POLL_SECONDS,
                  ttl_minutes=round(cache.ttl_seconds / 60))


@router.get("/cohort/status")
def cohort_status(
    db: Db,
    user: CurrentUser,
    engine: Annotated[Engine, Depends(get_engine)],
    cache: Annotated[CohortCache, Depends(cohort_cache)],
    site: Site = None,
) -> Response:
    """``{"ready": true}`` once the page's view is computed, else the seconds it has taken so
    far (``elapsed_seconds``); asking starts the computation if nothing has."""
    _, key = _sites_in_view(db, user, site)
    outcome = _outcome(db, engine, cache, key, 0)
    if isinstance(outcome, CohortView):
        return JSONResponse({"ready": True, "elapsed_seconds": None}, headers=NO_STORE)
    return JSONResponse({"ready": False, "elapsed_seconds": round(outcome, 1)},
                        headers=NO_STORE)
