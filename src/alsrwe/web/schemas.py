"""Pydantic schemas of the JSON API, named as in full-stack-fastapi-template.

``XBase`` holds the fields a client may send and read, ``XCreate``/``XUpdate`` (to come with
the write endpoints) what it sends, ``XPublic`` what the API returns, ``XsPublic`` a page of
them. Query models (``XListQuery``) are shared by the list page and the API so both filter
the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from alsrwe.domain.events import OnsetRegion
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.sod1 import Zygosity
from alsrwe.store.models import MAX_ID
from alsrwe.store.reads.directory import MAX_PAGE_SIZE, PatientFilter

if TYPE_CHECKING:
    from alsrwe.store.reads.patient_file import PatientFile


NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
"""What every text the API reads may hold, as a JSON Schema pattern: no character of Unicode
category Cc (C0 controls, DEL, C1 controls), as ``alsrwe.domain.cells`` refuses them."""


@dataclass(frozen=True, slots=True)
class Documented:
    """JSON Schema keywords of a rule that the edge or the domain enforces in its own words
    (the words the pages and the importer use), stated in the OpenAPI document so that a
    client knows it; pydantic does not check them a second time."""

    keywords: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, **keywords: Any) -> Documented:
        return cls(tuple(keywords.items()))

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema


NoControlCharacters = Documented.of(pattern=NO_CONTROL_CHARACTERS)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (JSON Schema's ``format: date``) is a date: pydantic alone would
    also read ``0`` or ``"1700000000"`` as seconds since 1970."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
"""A date in a query string or a JSON body: ``YYYY-MM-DD`` only."""


def _blank_is_none(value: Any) -> Any:
    """HTML forms send an unset filter as an empty string: treat it as absent."""
    return None if value == "" else value


Blankable = BeforeValidator(_blank_is_none)


PseudonymPart = Annotated[str, StringConstraints(max_length=40), NoControlCharacters]
SiteCode = Annotated[str, StringConstraints(max_length=16), NoControlCharacters]
VariantName = Annotated[str, StringConstraints(max_length=64), NoControlCharacters]


class PatientListQuery(BaseModel):
    """Filters and paging of the patient list (page and ``GET /api/v1/patients``)."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[PseudonymPart | None, Blankable, Field(description="Part of a pseudonym")] = None
    site: Annotated[SiteCode | None, Blankable, Field(description="Site code")] = None
    status: Annotated[PatientStatus | None, Blankable] = None
    variant: Annotated[
        VariantName | None, Blankable, Field(description="HGVS or legacy SOD1 name, exact")
    ] = None
    on_treatment: Annotated[
        bool | None, Blankable, Field(description="At least one dose of tofersen given")
    ] = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 25
    offset: Annotated[int, Field(ge=0, le=MAX_ID)] = 0

    def to_filter(self) -> PatientFilter:
        return PatientFilter(
            search=self.q,
            site=self.site,
            status=self.status,
            variant=self.variant,
            on_treatment=self.on_treatment,
        )


class PatientBase(BaseModel):
    """A patient or presymptomatic carrier, as in patients.csv (docs/data-format.md)."""

    model_config = ConfigDict(from_attributes=True)

    pseudonym: str = Field(max_length=40)
    sex: Sex
    birth_year: int
    status: PatientStatus
    sod1_hgvs: str
    sod1_legacy: str
    zygosity: Zygosity
    onset_date: dt.date | None
    onset_region: OnsetRegion | None
    diagnosis_date: dt.date | None


class PatientPublic(PatientBase):
    id: int
    site: str = Field(description="Site code")
    on_treatment: bool = Field(description="At least one dose of tofersen given")


class PatientsPublic(BaseModel):
    data: list[PatientPublic]
    count: int = Field(description="Patients matching the filters (all pages)")
    limit: int
    offset: int


class NextDosePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    date: dt.date
    number: int
    phase: str
    overdue_days: int


class PatientDetailPublic(PatientPublic):
    """A patient with the clinical state the domain derives from their record."""

    kings_stage: str | None = Field(description="King's stage from the latest ALSFRS-R; 5 death")
    mitos_stage: str | None = Field(description="MiToS stage from the latest ALSFRS-R; 5 death")
    delta_frs_per_month: float | None = Field(description="ΔFRS, points/month since onset")
    latest_alsfrs_total: int | None
    latest_alsfrs_date: dt.date | None
    death_date: dt.date | None
    first_dose_date: dt.date | None
    days_on_treatment: int | None
    regimen: str = Field(description="Regimen id of the next-dose computation")
    next_dose: NextDosePublic | None
    genetic_test_date: dt.date | None = None
    counselling_date: dt.date | None = None
    treatment_status: str | None = Field(
        default=None, description="Latest treatment course: active, paused or stopped")
    flags: list[str] = Field(default_factory=list,
                             description="What needs attention, urgent first, in words")
    version: int = Field(default=1, description="The patient's details' version (also the "
                                                "ETag): send it back with a change")

    @classmethod
    def of(cls, record: PatientFile) -> PatientDetailPublic:
        """The detail of a patient's file (the read model of the patient page)."""
        patient = record.patient
        return cls(
            id=patient.id,
            pseudonym=patient.pseudonym,
            site=record.site,
            sex=patient.sex,
            birth_year=patient.birth_year,
            status=patient.status,
            sod1_hgvs=patient.sod1_hgvs,
            sod1_legacy=patient.sod1_legacy,
            zygosity=patient.zygosity,
            onset_date=patient.onset_date,
            onset_region=patient.onset_region,
            diagnosis_date=patient.diagnosis_date,
            on_treatment=record.first_dose is not None,
            kings_stage=record.kings_stage,
            mitos_stage=record.mitos_stage,
            delta_frs_per_month=record.delta_frs,
            latest_alsfrs_total=record.latest.total if record.latest else None,
            latest_alsfrs_date=record.latest.date if record.latest else None,
            death_date=record.death,
            first_dose_date=record.first_dose,
            days_on_treatment=record.days_on_treatment,
            regimen=record.regimen.id,
            next_dose=NextDosePublic.model_validate(record.next_dose) if record.next_dose else None,
            genetic_test_date=patient.genetic_test_date,
            counselling_date=patient.counselling_date,
            treatment_status=record.course.status.value if record.course else None,
            flags=[flag.text for flag in record.flags],
            version=patient.version,
        )


class TreatmentPublic(BaseModel):
    """A treatment period; ``end_*`` are null while it runs."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    regimen: str
    start_date: dt.date
    end_date: dt.date | None
    end_kind: str | None = Field(description="paused or stopped")
    end_reason: str | None
    version: int = Field(description="Send it back with a change (If-Match or body)")


class TreatmentsPublic(BaseModel):
    data: list[TreatmentPublic]


class VoidedPublic(BaseModel):
    """A voided record: kept out of every analysis, with who voided it, when and why."""

    model_config = ConfigDict(from_attributes=True)

    record_id: int
    table_name: str
    voided_by: str
    voided_at: dt.datetime
    reason: str


class Sod1Public(BaseModel):
    """An SOD1 variant name as entered and as alsrwe stores it (docs/domain-rules.md §8)."""

    input: str
    hgvs: str = Field(description="HGVS protein name on NP_000445.1")
    legacy: str = Field(description="Legacy name (mature-protein numbering), e.g. A4V")


class ErrorPublic(BaseModel):
    detail: str


__all__ = [
    "ISO_DATE",
    "NO_CONTROL_CHARACTERS",
    "Documented",
    "ErrorPublic",
    "IsoDate",
    "NoControlCharacters",
    "NextDosePublic",
    "PatientBase",
    "PatientDetailPublic",
    "PatientListQuery",
    "PatientPublic",
    "PatientsPublic",
    "Sod1Public",
    "TreatmentPublic",
    "TreatmentsPublic",
    "VoidedPublic",
]
