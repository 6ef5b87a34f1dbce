"""What the JSON API accepts for writes: one ``XCreate`` per record, ``XUpdate`` for follow-up.

Only types are checked here (and that no text holds a control character); every clinical rule
(ranges, units, combinations, duplicates, the patient's timeline) is the domain's and the
rulebook's, reached through the store's write path, and comes back as a 422 detail with the
field and the same words the pages show. A plausibility warning (``type: soft_rule``) is
confirmed by sending the request again with its ``code`` in ``confirm_warnings``. Responses
reuse the read API's ``XPublic`` schemas (``schemas_records.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.biomarkers import KIND_SPECS, MeasurementKind
from alsrwe.domain.cells import check_text
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.plausibility import SOFT_CODES
from alsrwe.domain.regimens import REGIMENS, AdministrationStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.domain.treatments import TreatmentEnd

ITEM = "0-4, 4 = normal"
UNITS = "; ".join(f"{k.value}: {', '.join(s.accepted_units)}" for k, s in KIND_SPECS.items())


def _known_warning(code: str) -> str:
    if code not in SOFT_CODES:
        raise ValueError(f"{code!r} is not a warning that can be confirmed; use one of "
                         f"{', '.join(sorted(SOFT_CODES))}")
    return code


def _no_control_characters(value: str) -> str:
    check_text(value)  # a CellError is a ValueError: pydantic reports it on the field
    return value


Text = Annotated[str, AfterValidator(_no_control_characters)]
"""A string without NUL bytes or other control characters."""
WarningCode = Annotated[str, AfterValidator(_known_warning)]


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm_warnings: list[WarningCode] = Field(
        default_factory=list, description="Codes of the plausibility warnings (422 detail "
                                          "items of type soft_rule) you confirm")


class AlsfrsCreate(_Create):
    """An ALSFRS-R rating by the clinic; item 5 is scored on the 5b scale when gastrostomy."""

    date: dt.date
    gastrostomy: bool = Field(default=False, description="Item 5 scored as 5b (with gastrostomy)")
    q1: int = Field(description=f"Speech, {ITEM}")
    q2: int = Field(description=f"Salivation, {ITEM}")
    q3: int = Field(description=f"Swallowing, {ITEM}")
    q4: int = Field(description=f"Handwriting, {ITEM}")
    q5: int = Field(description=f"Cutting food (5a) or, with gastrostomy, 5b, {ITEM}")
    q6: int = Field(description=f"Dressing and hygiene, {ITEM}")
    q7: int = Field(description=f"Turning in bed, {ITEM}")
    q8: int = Field(description=f"Walking, {ITEM}")
    q9: int = Field(description=f"Climbing stairs, {ITEM}")
    q10: int = Field(description=f"Dyspnea, {ITEM}")
    q11: int = Field(description=f"Orthopnea, {ITEM}")
    q12: int = Field(description=f"Respiratory insufficiency, {ITEM}")

    def items(self) -> list[int]:
        return [getattr(self, q) for q in ITEM_COLUMNS]


class MeasurementCreate(_Create):
    """A measurement in any accepted unit; it is stored in the kind's canonical unit."""

    date: dt.date
    kind: MeasurementKind
    value: float
    unit: Text = Field(max_length=16, description=f"Accepted units by kind: {UNITS}")
    assay: Text | None = Field(default=None, max_length=40)
    lab: Text | None = Field(default=None, max_length=100)


class AdministrationCreate(_Create):
    """A planned dose and what happened to it; ``dose_mg`` is required when given."""

    date: dt.date
    drug: Text = Field(default="tofersen", max_length=64)
    status: AdministrationStatus
    dose_mg: float | None = None
    lot: Text | None = Field(default=None, max_length=64)
    csf_removed_ml: float | None = None


class AdverseEventCreate(_Create):
    """An adverse event: a controlled term, or ``other`` with ``term_text``; CTCAE grade 1-5."""

    onset_date: dt.date
    term: AeTerm
    term_text: Text | None = Field(default=None, max_length=200)
    grade: int = Field(description="CTCAE grade 1-5; 5 only with outcome fatal")
    serious: bool
    related: bool
    outcome: AeOutcome
    action: AeAction | None = None
    resolved_date: dt.date | None = Field(
        default=None, description="Only with an outcome that ends the event")


class AdverseEventUpdate(_Create):
    """A follow-up: only the fields sent change; the event is validated again as a whole."""

    outcome: AeOutcome | None = None
    resolved_date: dt.date | None = None
    action: AeAction | None = None
    grade: int | None = None
    serious: bool | None = None
    related: bool | None = None


class MilestoneCreate(_Create):
    """A milestone: each kind once per patient, none before onset or after death."""

    kind: MilestoneKind
    date: dt.date


class AlsfrsUpdate(_Create):
    """A correction of a rating: only the fields sent change; the rating is checked again."""

    date: dt.date | None = None
    gastrostomy: bool | None = Field(default=None, description="Item 5 scored as 5b")
    q1: int | None = None
    q2: int | None = None
    q3: int | None = None
    q4: int | None = None
    q5: int | None = Field(default=None, description="5a, or 5b with gastrostomy")
    q6: int | None = None
    q7: int | None = None
    q8: int | None = None
    q9: int | None = None
    q10: int | None = None
    q11: int | None = None
    q12: int | None = None


class MeasurementUpdate(_Create):
    """A correction of a measurement; send ``unit`` with ``value`` (else the stored unit)."""

    date: dt.date | None = None
    kind: MeasurementKind | None = None
    value: float | None = None
    unit: Text | None = Field(default=None, max_length=16)
    assay: Text | None = Field(default=None, max_length=40)
    lab: Text | None = Field(default=None, max_length=100)


class AdministrationUpdate(_Create):
    """A correction of a dose: only the fields sent change; the dose is checked again."""

    date: dt.date | None = None
    drug: Text | None = Field(default=None, max_length=64)
    status: AdministrationStatus | None = None
    dose_mg: float | None = None
    lot: Text | None = Field(default=None, max_length=64)
    csf_removed_ml: float | None = None


class MilestoneUpdate(_Create):
    """A correction of a milestone, checked again with the patient's other milestones."""

    kind: MilestoneKind | None = None
    date: dt.date | None = None


SOD1 = "legacy (A4V), HGVS protein (p.Ala5Val, p.(Ala5Val), p.A5V) or cDNA (c.14C>T)"
REGIMEN_IDS = ", ".join(sorted(REGIMENS))


class PatientCreate(_Create):
    """A new patient or presymptomatic carrier at one of your sites (as in patients.csv)."""

    patient_id: Text = Field(max_length=40, description="Pseudonym, unique in the registry")
    site: Text = Field(max_length=16, description="Site code (one of your sites)")
    sex: Sex
    birth_year: int
    status: PatientStatus
    sod1_variant: Text = Field(max_length=64, description=f"SOD1 variant: {SOD1}")
    zygosity: Zygosity = Zygosity.HETEROZYGOUS
    onset_date: dt.date | None = Field(default=None, description="Required for a patient; "
                                                                 "none for a carrier")
    onset_region: OnsetRegion | None = None
    diagnosis_date: dt.date | None = None
    genetic_test_date: dt.date | None = Field(default=None,
                                              description="When the SOD1 result was reported")
    counselling_date: dt.date | None = Field(default=None,
                                             description="When genetic counselling took place")


class PatientUpdate(_Create):
    """A change of a patient's details; only the fields sent change (a carrier's conversion
    to ALS: ``status`` patient with ``onset_date``). Pseudonym and site do not change."""

    sex: Sex | None = None
    birth_year: int | None = None
    status: PatientStatus | None = None
    sod1_variant: Text | None = Field(default=None, max_length=64, description=SOD1)
    zygosity: Zygosity | None = None
    onset_date: dt.date | None = None
    onset_region: OnsetRegion | None = None
    diagnosis_date: dt.date | None = None
    genetic_test_date: dt.date | None = None
    counselling_date: dt.date | None = None


class TreatmentCreate(BaseModel):
    """Start a treatment period on a regimen."""

    model_config = ConfigDict(extra="forbid")

    regimen: Text = Field(max_length=32, description=f"One of: {REGIMEN_IDS}")
    start_date: dt.date


class TreatmentEndRequest(BaseModel):
    """Pause or stop a running treatment period, with the reason."""

    model_config = ConfigDict(extra="forbid")

    end_kind: TreatmentEnd
    end_date: dt.date
    end_reason: Text = Field(max_length=200)


class MedicationCreate(_Create):
    """A concomitant medication course (riluzole, edaravone, …; brand names accepted)."""

    drug: Text = Field(max_length=64)
    start_date: dt.date
    stop_date: dt.date | None = Field(default=None, description="null while ongoing")


class MedicationUpdate(_Create):
    """A correction of a medication course, e.g. its stop date."""

    drug: Text | None = Field(default=None, max_length=64)
    start_date: dt.date | None = None
    stop_date: dt.date | None = None


class VoidRequest(BaseModel):
    """Void a record entered in error: it leaves every analysis and is kept with the reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500)


__all__ = [
    "REGIMEN_IDS",
    "SOD1",
    "MedicationCreate",
    "MedicationUpdate",
    "PatientCreate",
    "PatientUpdate",
    "TreatmentCreate",
    "TreatmentEndRequest",
    "VoidRequest",
    "AdministrationCreate",
    "AdministrationUpdate",
    "AdverseEventCreate",
    "AdverseEventUpdate",
    "AlsfrsCreate",
    "AlsfrsUpdate",
    "MeasurementCreate",
    "MeasurementUpdate",
    "MilestoneCreate",
    "MilestoneUpdate",
]
