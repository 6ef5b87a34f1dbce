"""What the JSON API accepts for writes: one ``XCreate`` per record, ``XUpdate`` for follow-up.

Only types are checked here (and that no text holds a control character); every clinical rule
(ranges, units, combinations, duplicates, the patient's timeline) is the domain's and the
rulebook's, reached through the store's write path, and comes back as a 422 detail with the
field and the same words the pages show. A plausibility warning (``type: soft_rule``) is
confirmed by sending the request again with its ``code`` in ``confirm_warnings``. Responses
reuse the read API's ``XPublic`` schemas (``schemas_records.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.biomarkers import KIND_SPECS, MeasurementKind
from alsrwe.domain.cells import check_text
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.patient import (
    MIN_BIRTH_YEAR,
    PSEUDONYM_PATTERN,
    SITE_CODE_PATTERN,
    PatientStatus,
    Sex,
)
from alsrwe.domain.plausibility import SOFT_CODES
from alsrwe.domain.regimens import REGIMENS, AdministrationStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.domain.treatments import TreatmentEnd
from alsrwe.store.models import MAX_ID
from alsrwe.web.schemas import Documented, IsoDate, NoControlCharacters

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


INTEGER_TEXT = "^[+-]?[0-9]+(\\.0*)?$"
NUMBER_TEXT = "^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$"
"""A number written as text, as a cell of the tidy CSV format holds it (``alsrwe.domain.cells``):
the API takes ``"100"`` for 100, as the pages and the importer do."""
NOT_FINITE = frozenset({"nan", "inf", "infinity"})


def _whole_number(value: Any) -> Any:
    """A JSON number or its text; never ``true``/``false`` (pydantic alone takes ``true`` for 1
    and ``false`` for 0: an ALSFRS-R item 12 of 0 was stored from ``"q12": false``)."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, str):
        if not re.fullmatch(INTEGER_TEXT, value):
            raise ValueError(f"'{value}' is not a whole number")
        return int(float(value)) if "." in value else int(value)
    return value


def _number(value: Any) -> Any:
    """A JSON number or its text; never ``true``/``false``. ``"inf"`` and ``"nan"`` are read,
    for the domain to refuse them in the words the pages and the importer use."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, str):
        if not (re.fullmatch(NUMBER_TEXT, value) or value.lower().lstrip("+-") in NOT_FINITE):
            raise ValueError(f"'{value}' is not a number")
        return float(value)
    return value


@dataclass(frozen=True, slots=True)
class _OrText:
    """The JSON schema of a number, or of its text (``pattern``)."""

    pattern: str

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"anyOf": [handler(core_schema), {"type": "string", "pattern": self.pattern}]}


Text = Annotated[str, AfterValidator(_no_control_characters), NoControlCharacters]
"""A string without NUL bytes or other control characters (and the document says so)."""
_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"
FILLED = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"
Filled = Annotated[Text, Documented.of(pattern=FILLED)]
"""A text the record needs: not blank (the domain says "is required" of a blank one)."""
WarningCode = Annotated[str, AfterValidator(_known_warning),
                        Documented.of(enum=sorted(SOFT_CODES))]


WholeNumber = BeforeValidator(_whole_number)
IntegerText = _OrText(INTEGER_TEXT)
Int = Annotated[int, WholeNumber, IntegerText]
"""A whole number: ``4``, ``4.0`` or ``"4"``, never ``true``."""
Number = Annotated[float, BeforeValidator(_number), _OrText(NUMBER_TEXT)]
"""A number (``100``, ``1e2`` or ``"100"``), never ``true``."""
Flag = Annotated[bool, Strict()]
"""``true`` or ``false`` only (never ``1`` or ``"yes"``)."""
Day = IsoDate
Item = Annotated[int, WholeNumber, Documented.of(minimum=0, maximum=4),
                 _OrText("^(\\+?0*[0-4]|-0+)(\\.0*)?$")]
"""An ALSFRS-R item: the domain refuses one outside 0-4 in the words of the form."""
Grade = Annotated[int, WholeNumber, Documented.of(minimum=1, maximum=5),
                  _OrText("^\\+?0*[1-5](\\.0*)?$")]
BirthYear = Annotated[int, WholeNumber, Documented.of(minimum=MIN_BIRTH_YEAR), IntegerText]
"""From 1900 to this year (the domain refuses a later one: this year is not in a schema)."""


class _NeverNull:
    """Takes null out of an update field's JSON schema: the field may be left out, but a value
    the record cannot lack is never null (the domain refuses a null with "cannot be empty",
    the words of the pages). Validation is that of ``X | None``, unchanged."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        if "anyOf" not in schema:
            return schema
        options = [option for option in schema.pop("anyOf") if option != {"type": "null"}]
        if len(options) == 1:
            schema.update(options[0])
        else:
            schema["anyOf"] = options
        return schema


NeverNull = _NeverNull()
"""``Annotated[X | None, NeverNull] = None``: optional in an update, never null."""


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm_warnings: list[WarningCode] = Field(
        default_factory=list, description="Codes of the plausibility warnings (422 detail "
                                          "items of type soft_rule) you confirm")


StatedVersion = Annotated[int | None, Field(
    default=None, ge=1, le=MAX_ID,
    description="The version of the record you read (its `version`); or send it as the "
                "If-Match ETag. One of the two is required: 428 without, 409 if stale.")]


class _Change(_Create):
    """A change of a stored record: made on the version the client read."""

    version: StatedVersion = None


class AlsfrsCreate(_Create):
    """An ALSFRS-R rating by the clinic; item 5 is scored on the 5b scale when gastrostomy."""

    date: Day
    gastrostomy: Flag = Field(default=False, description="Item 5 scored as 5b (with gastrostomy)")
    q1: Item = Field(description=f"Speech, {ITEM}")
    q2: Item = Field(description=f"Salivation, {ITEM}")
    q3: Item = Field(description=f"Swallowing, {ITEM}")
    q4: Item = Field(description=f"Handwriting, {ITEM}")
    q5: Item = Field(description=f"Cutting food (5a) or, with gastrostomy, 5b, {ITEM}")
    q6: Item = Field(description=f"Dressing and hygiene, {ITEM}")
    q7: Item = Field(description=f"Turning in bed, {ITEM}")
    q8: Item = Field(description=f"Walking, {ITEM}")
    q9: Item = Field(description=f"Climbing stairs, {ITEM}")
    q10: Item = Field(description=f"Dyspnea, {ITEM}")
    q11: Item = Field(description=f"Orthopnea, {ITEM}")
    q12: Item = Field(description=f"Respiratory insufficiency, {ITEM}")

    def items(self) -> list[int]:
        return [getattr(self, q) for q in ITEM_COLUMNS]


class MeasurementCreate(_Create):
    """A measurement in any accepted unit; it is stored in the kind's canonical unit."""

    date: Day
    kind: MeasurementKind
    value: Number
    unit: Filled = Field(max_length=16, description=f"Accepted units by kind: {UNITS}")
    assay: Text | None = Field(default=None, max_length=40)
    lab: Text | None = Field(default=None, max_length=100)


class AdministrationCreate(_Create):
    """A planned dose and what happened to it; ``dose_mg`` is required when given."""

    date: Day
    drug: Filled = Field(default="tofersen", max_length=64)
    status: AdministrationStatus
    dose_mg: Number | None = None
    lot: Text | None = Field(default=None, max_length=64)
    csf_removed_ml: Number | None = None


class AdverseEventCreate(_Create):
    """An adverse event: a controlled term, or ``other`` with ``term_text``; CTCAE grade 1-5."""

    onset_date: Day
    term: AeTerm
    term_text: Text | None = Field(default=None, max_length=200)
    grade: Grade = Field(description="CTCAE grade 1-5; 5 only with outcome fatal")
    serious: Flag
    related: Flag
    outcome: AeOutcome
    action: AeAction | None = None
    resolved_date: Day | None = Field(
        default=None, description="Only with an outcome that ends the event")


class AdverseEventUpdate(_Change):
    """A follow-up: only the fields sent change; the event is validated again as a whole."""

    outcome: Annotated[AeOutcome | None, NeverNull] = None
    resolved_date: Day | None = None
    action: AeAction | None = None
    grade: Annotated[Grade | None, NeverNull] = None
    serious: Annotated[Flag | None, NeverNull] = None
    related: Annotated[Flag | None, NeverNull] = None


class MilestoneCreate(_Create):
    """A milestone: each kind once per patient, none before onset or after death."""

    kind: MilestoneKind
    date: Day


class AlsfrsUpdate(_Change):
    """A correction of a rating: only the fields sent change; the rating is checked again."""

    date: Annotated[Day | None, NeverNull] = None
    gastrostomy: Annotated[Flag | None, NeverNull] = Field(default=None,
                                                           description="Item 5 scored as 5b")
    q1: Annotated[Item | None, NeverNull] = None
    q2: Annotated[Item | None, NeverNull] = None
    q3: Annotated[Item | None, NeverNull] = None
    q4: Annotated[Item | None, NeverNull] = None
    q5: Annotated[Item | None, NeverNull] = Field(default=None,
                                                  description="5a, or 5b with gastrostomy")
    q6: Annotated[Item | None, NeverNull] = None
    q7: Annotated[Item | None, NeverNull] = None
    q8: Annotated[Item | None, NeverNull] = None
    q9: Annotated[Item | None, NeverNull] = None
    q10: Annotated[Item | None, NeverNull] = None
    q11: Annotated[Item | None, NeverNull] = None
    q12: Annotated[Item | None, NeverNull] = None


class MeasurementUpdate(_Change):
    """A correction of a measurement; send ``unit`` with ``value`` (else the stored unit)."""

    date: Annotated[Day | None, NeverNull] = None
    kind: Annotated[MeasurementKind | None, NeverNull] = None
    value: Annotated[Number | None, NeverNull] = None
    unit: Annotated[Filled | None, NeverNull] = Field(default=None, max_length=16)
    assay: Text | None = Field(default=None, max_length=40)
    lab: Text | None = Field(default=None, max_length=100)


class AdministrationUpdate(_Change):
    """A correction of a dose: only the fields sent change; the dose is checked again."""

    date: Annotated[Day | None, NeverNull] = None
    drug: Annotated[Filled | None, NeverNull] = Field(default=None, max_length=64)
    status: Annotated[AdministrationStatus | None, NeverNull] = None
    dose_mg: Number | None = None
    lot: Text | None = Field(default=None, max_length=64)
    csf_removed_ml: Number | None = None


class MilestoneUpdate(_Change):
    """A correction of a milestone, checked again with the patient's other milestones."""

    kind: Annotated[MilestoneKind | None, NeverNull] = None
    date: Annotated[Day | None, NeverNull] = None


SOD1 = "legacy (A4V), HGVS protein (p.Ala5Val, p.(Ala5Val), p.A5V) or cDNA (c.14C>T)"
REGIMEN_IDS = ", ".join(sorted(REGIMENS))


class PatientCreate(_Create):
    """A new patient or presymptomatic carrier at one of your sites (as in patients.csv)."""

    patient_id: Annotated[Text, Documented.of(pattern=f"^{PSEUDONYM_PATTERN.pattern}$")] = Field(
        max_length=40, description="Pseudonym, unique in the registry")
    site: Annotated[Text, Documented.of(pattern=f"^{SITE_CODE_PATTERN.pattern}$")] = Field(
        max_length=16, description="Site code (one of your sites)")
    sex: Sex
    birth_year: BirthYear
    status: PatientStatus
    sod1_variant: Filled = Field(max_length=64, description=f"SOD1 variant: {SOD1}")
    zygosity: Zygosity = Zygosity.HETEROZYGOUS
    onset_date: Day | None = Field(default=None, description="Required for a patient; "
                                                                 "none for a carrier")
    onset_region: OnsetRegion | None = None
    diagnosis_date: Day | None = None
    genetic_test_date: Day | None = Field(default=None,
                                              description="When the SOD1 result was reported")
    counselling_date: Day | None = Field(default=None,
                                             description="When genetic counselling took place")


class PatientUpdate(_Change):
    """A change of a patient's details; only the fields sent change (a carrier's conversion
    to ALS: ``status`` patient with ``onset_date``). Pseudonym and site do not change."""

    sex: Annotated[Sex | None, NeverNull] = None
    birth_year: Annotated[BirthYear | None, NeverNull] = None
    status: Annotated[PatientStatus | None, NeverNull] = None
    sod1_variant: Annotated[Filled | None, NeverNull] = Field(default=None, max_length=64,
                                                            description=SOD1)
    zygosity: Annotated[Zygosity | None, NeverNull] = None
    onset_date: Day | None = None
    onset_region: OnsetRegion | None = None
    diagnosis_date: Day | None = None
    genetic_test_date: Day | None = None
    counselling_date: Day | None = None


class TreatmentCreate(BaseModel):
    """Start a treatment period on a regimen."""

    model_config = ConfigDict(extra="forbid")

    regimen: Annotated[Text, Documented.of(enum=sorted(REGIMENS))] = Field(
        max_length=32, description=f"One of: {REGIMEN_IDS}")
    start_date: Day


class TreatmentEndRequest(BaseModel):
    """Pause or stop a running treatment period, with the reason."""

    model_config = ConfigDict(extra="forbid")

    end_kind: TreatmentEnd
    end_date: Day
    end_reason: Filled = Field(max_length=200)
    version: StatedVersion = None


class MedicationCreate(_Create):
    """A concomitant medication course (riluzole, edaravone, …; brand names accepted)."""

    drug: Filled = Field(max_length=64)
    start_date: Day
    stop_date: Day | None = Field(default=None, description="null while ongoing")


class MedicationUpdate(_Change):
    """A correction of a medication course, e.g. its stop date."""

    drug: Annotated[Filled | None, NeverNull] = Field(default=None, max_length=64)
    start_date: Annotated[Day | None, NeverNull] = None
    stop_date: Day | None = None


class VoidRequest(BaseModel):
    """Void a record entered in error: it leaves every analysis and is kept with the reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500)
    version: StatedVersion = None


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
