"""The registry seen as the tidy tables (docs/data-format.md): one SELECT per table.

Export writes these rows as CSV; analytics reads them into an engine (DuckDB, or runs them in
PostgreSQL itself). Columns are named as in the format; ``patients`` adds ``sod1_legacy``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Select, select

from alsrwe.store import models

_P = models.Patient
View: TypeAlias = Select[*tuple[Any, ...]]


def _child(model: type[models.Base], columns: tuple[str, ...],
           order: tuple[str, ...]) -> View:
    table = model.__table__
    return (
        select(_P.pseudonym.label("patient_id"), *(table.c[name] for name in columns))
        .join(_P, table.c.patient_id == _P.id)
        .order_by(_P.pseudonym, *(table.c[name] for name in order))
    )


def patients_view() -> View:
    return (
        select(
            _P.pseudonym.label("patient_id"), models.Site.code.label("site"), _P.sex,
            _P.birth_year, _P.status, _P.sod1_hgvs.label("sod1_variant"), _P.zygosity,
            _P.onset_date, _P.onset_region, _P.diagnosis_date,
            models.Site.name.label("site_name"), _P.sod1_legacy,
        )
        .join(models.Site, _P.site_id == models.Site.id)
        .order_by(_P.pseudonym)
    )


ITEMS = tuple(f"q{i}" for i in range(1, 13))

TIDY_VIEWS: dict[str, View] = {
    "patients": patients_view(),
    "alsfrs": _child(models.AlsfrsAssessment, ("date", *ITEMS, "gastrostomy", "source"),
                     ("date", "source")),
    "measurements": _child(models.Measurement,
                           ("date", "kind", "value", "unit", "assay", "lab"), ("date", "kind")),
    "administrations": _child(models.Administration, ("date", "drug", "dose_mg", "status", "lot",
                              "csf_removed_ml"), ("date", "drug")),
    "medications": _child(models.Medication, ("drug", "start_date", "stop_date"),
                          ("drug", "start_date")),
    "adverse_events": _child(models.AdverseEvent, ("onset_date", "term", "grade", "serious",
                             "related", "outcome", "resolved_date", "term_text", "action"),
                             ("onset_date", "term")),
    "milestones": _child(models.Milestone, ("date", "kind"), ("kind",)),
}
"""Every tidy table as a SELECT over the registry, in the format's order of files."""
