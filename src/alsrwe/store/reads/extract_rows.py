"""The rows a research extract is built from (docs/extract.md): plain dicts, no free text.

Only the columns an extract may carry are selected, so free text (AE descriptions, labs, lot
numbers, reasons, notes), site names and usernames never leave the database for it; the
assay label is read as its coded platform (``domain.biomarkers.nfl_platform``). Every row
still carries the patient's ``pseudonym``: the interop layer replaces it with a keyed id and
turns the dates into days or shifted dates before anything is written. Voided records are
not in their tables, so they are not extracted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.biomarkers import NEUROFILAMENT_KINDS, nfl_platform
from alsrwe.store import models

Row = dict[str, Any]
_P = models.Patient


@dataclass(frozen=True, slots=True)
class ExtractRows:
    """Every site code, the patients and their records, as the extract needs them."""

    sites: list[str]
    patients: list[Row]
    records: dict[str, list[Row]]
    """Record rows by extract table name (``alsfrs``, ``biomarkers``, ``doses`` …)."""
    columns: dict[str, tuple[str, ...]]
    """The columns of each record table's rows, after ``pseudonym``."""


DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("onset_date", "diagnosis_date", "genetic_test_date", "counselling_date"),
    "alsfrs": ("date",),
    "biomarkers": ("date",),
    "doses": ("date",),
    "medications": ("start_date", "stop_date"),
    "adverse_events": ("onset_date", "resolved_date"),
    "milestones": ("date",),
    "treatments": ("start_date", "end_date"),
}
"""The date columns of each extract table (the ones an extract converts)."""


def _columns(model: type[models.Base], names: Sequence[str]) -> list[ColumnElement[Any]]:
    table = model.__table__
    return [table.c[name] for name in names]


_RECORDS: dict[str, tuple[type[models.Base], list[ColumnElement[Any]]]] = {
    "alsfrs": (models.AlsfrsAssessment, [
        *_columns(models.AlsfrsAssessment, ("date", *ITEM_COLUMNS, "gastrostomy", "source")),
        models.AlsfrsAssessment.reviewed_at.is_not(None).label("reviewed"),
    ]),
    "biomarkers": (models.Measurement,
                   _columns(models.Measurement, ("date", "kind", "value", "unit", "assay"))),
    "doses": (models.Administration, _columns(models.Administration,
                                              ("date", "drug", "dose_mg", "status",
                                               "csf_removed_ml"))),
    "medications": (models.Medication,
                    _columns(models.Medication, ("drug", "start_date", "stop_date"))),
    "adverse_events": (models.AdverseEvent, _columns(models.AdverseEvent, (
        "onset_date", "term", "grade", "serious", "related", "outcome", "resolved_date",
        "action"))),
    "milestones": (models.Milestone, _columns(models.Milestone, ("date", "kind"))),
    "treatments": (models.Treatment,
                   _columns(models.Treatment, ("regimen", "start_date", "end_date",
                                               "end_kind"))),
}


RECORD_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple("platform" if column.key == "assay" else str(column.key) for column in columns)
    for name, (_, columns) in _RECORDS.items()
}
"""The columns of each record table as :func:`extract_rows` returns them."""


def _patients(session: Session) -> list[Row]:
    query = (
        select(_P.pseudonym, models.Site.code.label("site"), _P.sex, _P.birth_year, _P.status,
               _P.sod1_hgvs, _P.sod1_legacy, _P.zygosity, _P.onset_region,
               *(getattr(_P, name) for name in DATE_COLUMNS["patients"]))
        .join(models.Site, _P.site_id == models.Site.id)
        .order_by(_P.id)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def _records(session: Session, model: type[models.Base],
             columns: list[ColumnElement[Any]]) -> list[Row]:
    table = model.__table__
    query = (select(_P.pseudonym, *columns).join(_P, table.c.patient_id == _P.id)
             .order_by(table.c.id))
    return [dict(row) for row in session.execute(query).mappings()]


def _coded_assay(row: Row) -> Row:
    """A measurement with its free-text assay label replaced by the coded platform."""
    assay = row.pop("assay")
    row["platform"] = nfl_platform(assay) if row["kind"] in NEUROFILAMENT_KINDS else None
    return row


def extract_rows(session: Session) -> ExtractRows:
    """The whole registry, every site, as the extract's rows (one read transaction)."""
    sites = list(session.scalars(select(models.Site.code).order_by(models.Site.code)))
    records = {name: _records(session, model, columns)
               for name, (model, columns) in _RECORDS.items()}
    records["biomarkers"] = [_coded_assay(row) for row in records["biomarkers"]]
    return ExtractRows(sites=sites, patients=_patients(session), records=records,
                       columns=RECORD_COLUMNS)


__all__ = ["DATE_COLUMNS", "RECORD_COLUMNS", "ExtractRows", "Row", "extract_rows"]
