"""Schemas of the read-only record API (``api_records.py``): one ``XPublic`` per entity.

Each list answers an ``XsPublic`` page: ``data`` plus ``count`` (rows matching the filters,
all pages), ``limit`` and ``offset``. Values are in the store's canonical units
(docs/data-format.md). Aggregate schemas carry no identifiers; a count of ``null`` is a
suppressed small cell (1 to ``suppress_below - 1``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.errors import Problem
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.store.models import MAX_ID
from alsrwe.store.reads.directory import MAX_PAGE_SIZE
from alsrwe.store.reads.record_pages import Paging
from alsrwe.web.errors import InvalidParameters
from alsrwe.web.schemas import IsoDate, NoControlCharacters


class RecordListQuery(BaseModel):
    """Paging and an optional date range (inclusive) shared by every record list."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 25
    offset: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
    start: IsoDate | None = Field(default=None, description="On or after this date")
    end: IsoDate | None = Field(default=None, description="On or before this date, not before "
                                                          "start")

    def paging(self) -> Paging:
        """The page asked for; a 422 naming ``end`` when it is before ``start`` (a rule of
        two parameters, which JSON Schema cannot state)."""
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InvalidParameters([(("query", "end"), Problem(
                "end", f"{self.end} is before start {self.start}"))])
        return Paging(self.limit, self.offset, self.start, self.end)


class AlsfrsListQuery(RecordListQuery):
    source: AssessmentSource | None = Field(default=None,
                                            description="clinic, or self (self-report)")


class MeasurementListQuery(RecordListQuery):
    kind: MeasurementKind | None = None


class AdministrationListQuery(RecordListQuery):
    drug: Annotated[str, StringConstraints(max_length=64), NoControlCharacters] | None = None
    status: AdministrationStatus | None = None


class _Page(BaseModel):
    count: int = Field(description="Rows matching the filters (all pages)")
    limit: int
    offset: int


class AlsfrsPublic(BaseModel):
    """An ALSFRS-R rating with its total, domain sub-scores and stages (computed)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="For PATCH /alsfrs/{id} and POST /alsfrs/{id}/review")
    version: int = Field(description="Send it back with a change (If-Match or body)")
    date: dt.date
    source: AssessmentSource
    items: list[int] = Field(description="q1 … q12, each 0-4; q5 is 5b when gastrostomy")
    gastrostomy: bool
    total: int = Field(ge=0, le=48)
    bulbar: int
    fine_motor: int
    gross_motor: int
    respiratory: int
    kings_stage: str = Field(description="King's stage (Balendra et al. 2014)")
    mitos_stage: int = Field(description="MiToS stage (Chiò et al. 2015)")
    reviewed_at: dt.datetime | None = Field(
        default=None, description="When a clinician reviewed this self-report")
    reviewed_by: str | None = Field(default=None, description="Who reviewed it (username)")


class AlsfrsListPublic(_Page):
    data: list[AlsfrsPublic]


class MeasurementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int = Field(description="Send it back with a change (If-Match or body)")
    date: dt.date
    kind: MeasurementKind
    value: float
    unit: str = Field(description="The kind's canonical unit")
    assay: str | None
    lab: str | None


class MeasurementsPublic(_Page):
    data: list[MeasurementPublic]


class AdministrationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int = Field(description="Send it back with a change (If-Match or body)")
    date: dt.date
    drug: str
    dose_mg: float | None
    status: AdministrationStatus
    lot: str | None
    csf_removed_ml: float | None


class AdministrationsPublic(_Page):
    data: list[AdministrationPublic]


class AdverseEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int = Field(description="Send it back with a change (If-Match or body)")
    onset_date: dt.date
    term: AeTerm
    term_text: str | None
    grade: int = Field(ge=1, le=5, description="CTCAE grade")
    serious: bool
    related: bool
    outcome: AeOutcome
    action: AeAction | None
    resolved_date: dt.date | None


class AdverseEventsPublic(_Page):
    data: list[AdverseEventPublic]


class MilestonePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int = Field(description="Send it back with a change (If-Match or body)")
    date: dt.date
    kind: MilestoneKind


class MilestonesPublic(_Page):
    data: list[MilestonePublic]


class MedicationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int = Field(description="Send it back with a change (If-Match or body)")
    drug: str
    start_date: dt.date
    stop_date: dt.date | None = Field(description="null while ongoing")


class MedicationsPublic(_Page):
    data: list[MedicationPublic]


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str | None


class SitesPublic(BaseModel):
    data: list[SitePublic]
    count: int


SuppressedCount = Annotated[
    int | None, Field(description="null: between 1 and suppress_below - 1 (suppressed)")
]


class VariantCountPublic(BaseModel):
    hgvs: str
    legacy: str
    people: SuppressedCount


class CohortSummaryPublic(BaseModel):
    """Counts of the patients in the user's sites; no identifiers, small cells suppressed."""

    people: int = Field(description="Patients and presymptomatic carriers")
    by_status: dict[str, SuppressedCount]
    by_site: dict[str, SuppressedCount]
    variants: list[VariantCountPublic]
    on_treatment: SuppressedCount
    assessments: int = Field(description="ALSFRS-R ratings, clinic and self-report")
    deaths: SuppressedCount
    adverse_events_by_term: dict[str, SuppressedCount]
    suppress_below: int


__all__ = [
    "AdministrationListQuery",
    "AdministrationPublic",
    "AdministrationsPublic",
    "AdverseEventPublic",
    "AdverseEventsPublic",
    "AlsfrsListPublic",
    "AlsfrsListQuery",
    "AlsfrsPublic",
    "CohortSummaryPublic",
    "MeasurementListQuery",
    "MeasurementPublic",
    "MeasurementsPublic",
    "MedicationPublic",
    "MedicationsPublic",
    "MilestonePublic",
    "MilestonesPublic",
    "RecordListQuery",
    "SitePublic",
    "SitesPublic",
    "VariantCountPublic",
]
