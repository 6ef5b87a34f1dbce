"""The registry as rows of the tidy CSV format, formatted so that import reads them back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.interop.tidy_schema import (
    ADMINISTRATIONS,
    ADVERSE_EVENTS,
    ALSFRS,
    MEASUREMENTS,
    MEDICATIONS,
    MILESTONES,
    PATIENTS,
    TableSpec,
)
from alsrwe.store import models

# Child tables: every column of the file but patient_id is a column of the model.
CHILDREN: tuple[tuple[TableSpec, type[models.Base]], ...] = (
    (ALSFRS, models.AlsfrsAssessment),
    (MEASUREMENTS, models.Measurement),
    (ADMINISTRATIONS, models.Administration),
    (MEDICATIONS, models.Medication),
    (ADVERSE_EVENTS, models.AdverseEvent),
    (MILESTONES, models.Milestone),
)


def format_cell(value: Any) -> str:
    """One value as the format writes it: ISO dates, 0/1 flags, shortest exact numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _patients(session: Session) -> list[list[str]]:
    stmt = (select(models.Patient, models.Site)
            .join(models.Site, models.Patient.site_id == models.Site.id)
            .order_by(models.Patient.pseudonym))
    rows = []
    for patient, site in session.execute(stmt):
        values = {
            "patient_id": patient.pseudonym, "site": site.code, "sex": patient.sex,
            "birth_year": patient.birth_year, "status": patient.status,
            "sod1_variant": patient.sod1_hgvs, "zygosity": patient.zygosity,
            "onset_date": patient.onset_date, "onset_region": patient.onset_region,
            "diagnosis_date": patient.diagnosis_date, "site_name": site.name,
        }
        rows.append([format_cell(values[name]) for name in PATIENTS.columns])
    return rows


def _children(session: Session, spec: TableSpec, model: type[models.Base]) -> list[list[str]]:
    table = model.__table__
    columns = [name for name in spec.columns if name != "patient_id"]
    stmt = (select(models.Patient.pseudonym, *(table.c[name] for name in columns))
            .join(models.Patient, table.c.patient_id == models.Patient.id)
            .order_by(models.Patient.pseudonym, *(table.c[name] for name in spec.key[1:])))
    return [[format_cell(value) for value in row] for row in session.execute(stmt)]


def export_rows(session: Session) -> Iterator[tuple[TableSpec, list[list[str]]]]:
    """Every table of the format with its rows, patients first, in a stable order."""
    yield PATIENTS, _patients(session)
    for spec, model in CHILDREN:
        yield spec, _children(session, spec, model)
