"""The patient list: search by pseudonym and filters, one page at a time, scoped to sites.

One read model serves the list page and ``GET /api/v1/patients``, so both filter and scope
identically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from alsrwe.domain.drugs import Drug
from alsrwe.domain.events import OnsetRegion
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.domain.sod1 import Zygosity
from alsrwe.store.models import Administration, Patient, Site
from alsrwe.store.scope import SiteScope

MAX_PAGE_SIZE = 200
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class PatientFilter:
    """What the list shows: all fields optional; ``search`` matches part of the pseudonym.

    ``variant`` matches the HGVS protein name or the legacy name exactly (``p.Ala5Val``,
    ``A4V``); ``on_treatment`` means at least one dose of ``drug`` was given.
    """

    search: str | None = None
    site: str | None = None
    status: PatientStatus | None = None
    variant: str | None = None
    on_treatment: bool | None = None
    drug: str = Drug.TOFERSEN.value


@dataclass(frozen=True, slots=True)
class PatientListRow:
    """One patient as the list (and the API) shows them."""

    id: int
    pseudonym: str
    site: str
    sex: Sex
    birth_year: int
    status: PatientStatus
    sod1_hgvs: str
    sod1_legacy: str
    zygosity: Zygosity
    onset_date: dt.date | None
    onset_region: OnsetRegion | None
    diagnosis_date: dt.date | None
    on_treatment: bool


@dataclass(frozen=True, slots=True)
class PatientPage:
    """One page of the list: the rows, how many match in total, and where the page starts."""

    rows: list[PatientListRow]
    total: int
    limit: int
    offset: int

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.rows) < self.total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _given_dose_of(drug: str) -> tuple[Any, ...]:
    """The conditions of "this patient had a dose of ``drug`` given" (correlated on Patient)."""
    return (Administration.patient_id == Patient.id, Administration.drug == drug,
            Administration.status == AdministrationStatus.GIVEN)


def _treated(drug: str) -> Any:
    return exists().where(*_given_dose_of(drug))


def _filtered(query: Select[*Ts], scope: SiteScope, chosen: PatientFilter) -> Select[*Ts]:
    """``query`` (over ``patients``) restricted to the scope and the filters, with no join:
    counting through a join to ``sites`` cost PostgreSQL 3.6 ms at 10,000 patients, 1 without.
    """
    query = scope.patients(query)
    if chosen.search:
        pattern = f"%{_escape_like(chosen.search.strip().lower())}%"
        query = query.where(func.lower(Patient.pseudonym).like(pattern, escape="\\"))
    if chosen.site:
        query = query.where(Patient.site_id.in_(select(Site.id).where(Site.code == chosen.site)))
    if chosen.status is not None:
        query = query.where(Patient.status == chosen.status)
    if chosen.variant:
        query = query.where(
            or_(Patient.sod1_hgvs == chosen.variant, Patient.sod1_legacy == chosen.variant)
        )
    if chosen.on_treatment is not None:
        treated = _treated(chosen.drug)
        query = query.where(treated if chosen.on_treatment else ~treated)
    return query


def _treated_flag(drug: str) -> Any:
    """Whether the row's patient had a dose of ``drug`` given: a scalar subquery (LIMIT 1).

    In the select list it runs for the page's rows only (0.15 ms for 25 on PostgreSQL at
    10,000 patients); written as EXISTS, PostgreSQL chose to hash every given dose (25 ms).
    """
    first = (
        select(literal(1))
        .where(*_given_dose_of(drug))
        .limit(1)
        .correlate(Patient)
        .scalar_subquery()
    )
    return first.is_not(None).label("on_treatment")


def _list_columns(drug: str) -> tuple[Any, ...]:
    """The columns of a list row, named as :class:`PatientListRow`'s fields."""
    return (
        Patient.id, Patient.pseudonym, Site.code.label("site"), Patient.sex, Patient.birth_year,
        Patient.status, Patient.sod1_hgvs, Patient.sod1_legacy, Patient.zygosity,
        Patient.onset_date, Patient.onset_region, Patient.diagnosis_date, _treated_flag(drug),
    )


def list_patients(
    session: Session,
    scope: SiteScope,
    chosen: PatientFilter,
    *,
    limit: int = 25,
    offset: int = 0,
) -> PatientPage:
    """The patients in ``scope`` matching ``chosen``, ordered by pseudonym.

    Two statements (the count, the page) and plain column rows, not ORM objects: the list
    never changes what it shows, and building mapped objects cost more than the query.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    total = session.scalar(_filtered(select(func.count()).select_from(Patient), scope,
                                     chosen)) or 0
    query = _filtered(select(*_list_columns(chosen.drug)).join(Site, Patient.site_id == Site.id),
                      scope, chosen)
    page = session.execute(query.order_by(Patient.pseudonym).limit(limit).offset(offset))
    rows = [PatientListRow(**row._mapping) for row in page]
    return PatientPage(rows, total, limit, offset)


@dataclass(frozen=True, slots=True)
class FilterChoices:
    """The values the list's filters offer: sites and variants within the scope."""

    sites: list[str]
    variants: list[tuple[str, str]]


def filter_choices(session: Session, scope: SiteScope) -> FilterChoices:
    """Site codes and (HGVS, legacy) variants present in the scope, for the filter menus."""
    site_query = select(Site.code).order_by(Site.code)
    if not scope.all_sites:
        site_query = site_query.where(Site.id.in_(sorted(scope.site_ids)))
    variants = session.execute(
        scope.patients(select(Patient.sod1_hgvs, Patient.sod1_legacy))
        .distinct()
        .order_by(Patient.sod1_legacy)
    )
    return FilterChoices(list(session.scalars(site_query)), [(h, lg) for h, lg in variants])


__all__ = [
    "MAX_PAGE_SIZE",
    "FilterChoices",
    "PatientFilter",
    "PatientListRow",
    "PatientPage",
    "filter_choices",
    "list_patients",
]
