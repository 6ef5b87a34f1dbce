"""The records of the registry, one type per tidy table, each valid in itself once built.

Every edge (a form, the JSON API, a CSV row, an importer to come) turns its input into typed
values and hands them to the builder of the record (``alsfrs_entry``, ``administration_entry``
…), which applies the rules that concern the record alone: ranges, vocabularies, units,
combinations, text length and control characters. Rules that need the patient's timeline or
history (before birth, after death, a dose too soon) are the rulebook's
(:mod:`alsrwe.domain.plausibility`). Fields are named as the tidy format's columns
(docs/data-format.md), so a problem names the same field at every edge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from alsrwe.domain.alsfrs import ITEM_COLUMNS, AlsfrsR, AssessmentSource
from alsrwe.domain.biomarkers import Measurement, normalize_measurement
from alsrwe.domain.cells import check_text
from alsrwe.domain.choices import parse_choice
from alsrwe.domain.dosing import AdministrationStatus, check_administration
from alsrwe.domain.drugs import Drug, parse_drug
from alsrwe.domain.errors import CellError, DomainError, EventError, ScoreError
from alsrwe.domain.events import Milestone, milestone
from alsrwe.domain.patient import PatientRecord, Sex, patient_record
from alsrwe.domain.regimens import REGIMENS
from alsrwe.domain.safety import AdverseEvent, adverse_event
from alsrwe.domain.sod1 import Sod1Variant, Zygosity, parse_sod1_variant

ADMINISTERED_DRUGS: tuple[Drug, ...] = tuple(sorted({Drug(r.drug) for r in REGIMENS.values()}))
"""Drugs of administrations: those of the regimens alsrwe schedules (tofersen, IV edaravone)."""

TEXT_LIMITS = {"lot": 64, "assay": 40, "lab": 100, "term_text": 200, "site_name": 200,
               "sod1_variant": 64, "end_reason": 200, "void_reason": 500, "correction_reason": 500,
               "note": 500}
"""Longest text per field (the store's column widths)."""


def clean_text(field: str, value: str | None) -> str | None:
    """Trimmed text, ``None`` when blank; DomainError for control characters or excess length."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DomainError(field, f"{value!r} must be text")
    try:
        check_text(value)
    except CellError as error:
        raise DomainError(field, error.rule, error.code) from None
    text = value.strip()
    limit = TEXT_LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise DomainError(field, f"is {len(text)} characters long; at most {limit} are allowed")
    return text or None


def _date(field: str, value: object) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise DomainError(field, "is required" if value is None else f"{value!r} is not a date")
    return value


def _optional_date(field: str, value: object) -> dt.date | None:
    return None if value is None else _date(field, value)


@dataclass(frozen=True, slots=True)
class PatientEntry:
    """A patient or carrier as patients.csv gives them, SOD1 variant read and checked."""

    identity: PatientRecord
    variant: Sod1Variant
    variant_text: str
    zygosity: Zygosity
    site_name: str | None = None

    table: ClassVar[str] = "patients"

    @property
    def patient_id(self) -> str:
        return self.identity.patient_id

    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        found = (("onset_date", self.identity.onset_date),
                 ("diagnosis_date", self.identity.diagnosis_date))
        return tuple((name, day) for name, day in found if day is not None)


@dataclass(frozen=True, slots=True)
class AlsfrsEntry:
    """One ALSFRS-R rating on a date, by the clinic or the patient (self-report)."""

    date: dt.date
    score: AlsfrsR
    source: AssessmentSource

    table: ClassVar[str] = "alsfrs"

    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        return (("date", self.date),)


@dataclass(frozen=True, slots=True)
class MeasurementEntry:
    """A biomarker, lab or function value on a date, in its kind's canonical unit."""

    date: dt.date
    measurement: Measurement

    table: ClassVar[str] = "measurements"

    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        return (("date", self.date),)


@dataclass(frozen=True, slots=True)
class AdministrationEntry:
    """A planned dose of a scheduled drug and what happened to it (given, missed, deferred)."""

    date: dt.date
    drug: Drug
    status: AdministrationStatus
    dose_mg: float | None = None
    lot: str | None = None
    csf_removed_ml: float | None = None

    table: ClassVar[str] = "administrations"

    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        return (("date", self.date),)


@dataclass(frozen=True, slots=True)
class MedicationEntry:
    """A concomitant medication course; ``stop_date`` is None while it goes on."""

    drug: Drug
    start_date: dt.date
    stop_date: dt.date | None = None

    table: ClassVar[str] = "medications"

    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        found = (("start_date", self.start_date), ("stop_date", self.stop_date))
        return tuple((name, day) for name, day in found if day is not None)


@dataclass(frozen=True, slots=True)
class AdverseEventEntry:
    """An adverse event (controlled term or ``other`` with text; CTCAE-style grade)."""

    event: AdverseEvent

    table: ClassVar[str] = "adverse_events"

    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        found = (("onset_date", self.event.onset), ("resolved_date", self.event.resolved))
        return tuple((name, day) for name, day in found if day is not None)


@dataclass(frozen=True, slots=True)
class MilestoneEntry:
    """A disease milestone (gastrostomy, NIV, tracheostomy, permanent ventilation, death)."""

    milestone: Milestone

    table: ClassVar[str] = "milestones"

    def dates(self) -> tuple[tuple[str, dt.date], ...]:
        return (("date", self.milestone.date),)


RecordEntry = (AlsfrsEntry | MeasurementEntry | AdministrationEntry | MedicationEntry
               | AdverseEventEntry | MilestoneEntry)
"""A record that belongs to one patient."""
Entry = PatientEntry | RecordEntry


# --- Builders ---------------------------------------------------------------------------------


def patient_entry(
    *, patient_id: str, site: str, sex: str | Sex, birth_year: int, status: str,
    sod1_variant: str, zygosity: str | Zygosity, current_year: int,
    onset_date: dt.date | None = None, onset_region: str | None = None,
    diagnosis_date: dt.date | None = None, site_name: str | None = None,
) -> PatientEntry:
    """A patient or carrier (patients.csv): identity by :func:`patient_record`, the variant by
    :func:`parse_sod1_variant` (the text as entered is kept, docs/domain-rules.md §8)."""
    for name, value in (("patient_id", patient_id), ("site", site)):
        clean_text(name, value)
    variant_text = clean_text("sod1_variant", sod1_variant)
    if variant_text is None:
        raise DomainError("sod1_variant", "is required")
    parsed_zygosity = parse_choice(Zygosity, "zygosity", zygosity)
    identity = patient_record(patient_id, site, sex, birth_year, status, current_year,
                              onset_date=onset_date, onset_region=onset_region,
                              diagnosis_date=diagnosis_date)
    return PatientEntry(identity, parse_sod1_variant(variant_text), variant_text,
                        parsed_zygosity, clean_text("site_name", site_name))


def alsfrs_entry(*, date: dt.date, items: Sequence[int], gastrostomy: bool,
                 source: str | AssessmentSource) -> AlsfrsEntry:
    """A rating: 12 items in order, item 5 on the 5b scale when ``gastrostomy`` (§1.1).

    Problems of item 5 name the column ``q5``, as every edge spells it, with "item 5a" or
    "item 5b" in the words.
    """
    _date("date", date)
    try:
        score = AlsfrsR.from_items(items, gastrostomy=gastrostomy)
    except ScoreError as error:
        field = "q5" if error.field in ("q5a", "q5b") else error.field
        raise ScoreError(field, error.rule) from None
    return AlsfrsEntry(date, score, parse_choice(AssessmentSource, "source", source,
                                                  error=ScoreError))


def measurement_entry(*, date: dt.date, kind: str, value: float, unit: str,
                      assay: str | None = None, lab: str | None = None) -> MeasurementEntry:
    """A value converted to its kind's canonical unit (:func:`normalize_measurement`)."""
    _date("date", date)
    measured = normalize_measurement(kind, value, clean_text("unit", unit) or "",
                                     assay=clean_text("assay", assay), lab=clean_text("lab", lab))
    return MeasurementEntry(date, measured)


def administration_entry(
    *, date: dt.date, drug: str, status: str | AdministrationStatus,
    dose_mg: float | None = None, lot: str | None = None, csf_removed_ml: float | None = None,
) -> AdministrationEntry:
    """A planned dose: a drug alsrwe schedules (brand names map to it, e.g. Qalsody →
    tofersen), a status, a dose when given; non-finite or negative amounts are refused."""
    _date("date", date)
    code = parse_drug(clean_text("drug", drug) or "", ADMINISTERED_DRUGS)
    parsed = check_administration(code.value, status, dose_mg, csf_removed_ml)
    return AdministrationEntry(date, code, parsed, dose_mg, clean_text("lot", lot),
                               csf_removed_ml)


def medication_entry(*, drug: str, start_date: dt.date,
                     stop_date: dt.date | None = None) -> MedicationEntry:
    """A concomitant medication course (any coded drug; brand names map to their code)."""
    code = parse_drug(clean_text("drug", drug) or "")
    start = _date("start_date", start_date)
    stop = _optional_date("stop_date", stop_date)
    if stop is not None and stop < start:
        raise EventError("stop_date", f"{stop} is before start_date {start}")
    return MedicationEntry(code, start, stop)


def adverse_event_entry(
    *, onset_date: dt.date, term: str, grade: int, serious: bool, related: bool, outcome: str,
    resolved_date: dt.date | None = None, term_text: str | None = None,
    action: str | None = None,
) -> AdverseEventEntry:
    """An adverse event by :func:`alsrwe.domain.safety.adverse_event`."""
    return AdverseEventEntry(adverse_event(
        term, onset_date, grade, serious, related, outcome, resolved=resolved_date,
        term_text=clean_text("term_text", term_text), action=action))


def milestone_entry(*, kind: str, date: dt.date) -> MilestoneEntry:
    """A milestone by :func:`alsrwe.domain.events.milestone`."""
    return MilestoneEntry(milestone(kind, date))


def _alsfrs_from_columns(**columns: Any) -> AlsfrsEntry:
    items = [columns.pop(q) for q in ITEM_COLUMNS]
    return alsfrs_entry(items=items, **columns)


BUILDERS: Mapping[str, Callable[..., RecordEntry]] = {
    "alsfrs": _alsfrs_from_columns,
    "measurements": measurement_entry,
    "administrations": administration_entry,
    "medications": medication_entry,
    "adverse_events": adverse_event_entry,
    "milestones": milestone_entry,
}
"""Record builders by tidy table, taking the table's columns (less ``patient_id``) by name."""


def record_entry(table: str, columns: Mapping[str, Any]) -> RecordEntry:
    """Build the record of ``table`` from its column values (a correction re-checks this way)."""
    return BUILDERS[table](**dict(columns))


def entry_columns(entry: RecordEntry) -> dict[str, Any]:
    """The record as the values of its table's columns (less ``patient_id``), for the store."""
    match entry:
        case AlsfrsEntry():
            return {"date": entry.date, **dict(zip(ITEM_COLUMNS, entry.score.items, strict=True)),
                    "gastrostomy": entry.score.gastrostomy, "source": entry.source}
        case MeasurementEntry():
            m = entry.measurement
            return {"date": entry.date, "kind": m.kind, "value": m.value, "unit": m.unit,
                    "assay": m.assay, "lab": m.lab}
        case AdministrationEntry():
            return {"date": entry.date, "drug": entry.drug.value, "status": entry.status,
                    "dose_mg": entry.dose_mg, "lot": entry.lot,
                    "csf_removed_ml": entry.csf_removed_ml}
        case MedicationEntry():
            return {"drug": entry.drug.value, "start_date": entry.start_date,
                    "stop_date": entry.stop_date}
        case AdverseEventEntry():
            e = entry.event
            return {"onset_date": e.onset, "term": e.term, "term_text": e.term_text,
                    "grade": e.grade, "serious": e.serious, "related": e.related,
                    "outcome": e.outcome, "action": e.action, "resolved_date": e.resolved}
        case MilestoneEntry():
            return {"date": entry.milestone.date, "kind": entry.milestone.kind}


def entry_key(entry: RecordEntry) -> tuple[Any, ...]:
    """The record's natural key within its patient (docs/data-format.md), e.g. (date, drug)."""
    match entry:
        case AlsfrsEntry():
            return (entry.date, entry.source)
        case MeasurementEntry():
            return (entry.date, entry.measurement.kind)
        case AdministrationEntry():
            return (entry.date, entry.drug.value)
        case MedicationEntry():
            return (entry.drug.value, entry.start_date)
        case AdverseEventEntry():
            return (entry.event.onset, entry.event.term)
        case MilestoneEntry():
            return (entry.milestone.kind,)


__all__ = [
    "ADMINISTERED_DRUGS",
    "BUILDERS",
    "AdministrationEntry",
    "AdverseEventEntry",
    "AlsfrsEntry",
    "Entry",
    "MeasurementEntry",
    "MedicationEntry",
    "MilestoneEntry",
    "PatientEntry",
    "RecordEntry",
    "adverse_event_entry",
    "administration_entry",
    "alsfrs_entry",
    "clean_text",
    "entry_columns",
    "entry_key",
    "measurement_entry",
    "medication_entry",
    "milestone_entry",
    "patient_entry",
    "record_entry",
]
