"""The registry seen as the tidy tables (docs/data-format.md): one SELECT per table.

Export writes these rows as CSV; analytics reads them into an engine (DuckDB, or runs them in
PostgreSQL itself). Columns are named as in the format (``alsrwe.domain.tidy_format``):
``sod1_variant`` is the notation as it was entered (so an export re-imports to the same
record); ``patients`` adds the normalised ``sod1_hgvs`` and ``sod1_legacy``, which are not
columns of the format.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeAlias

from sqlalchemy import Select, select

from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS, TABLES_BY_NAME
from alsrwe.store import models

_P = models.Patient
View: TypeAlias = Select[*tuple[Any, ...]]


def _child(model: type[models.Base], name: str, order: tuple[str, ...]) -> View:
    table = model.__table__
    columns = [c for c in TABLES_BY_NAME[name].columns if c != "patient_id"]
    return (
        select(_P.pseudonym.label("patient_id"), *(table.c[c] for c in columns))
        .join(_P, table.c.patient_id == _P.id)
        .order_by(_P.pseudonym, *(table.c[c] for c in order))
    )


def patients_view() -> View:
    return (
        select(
            _P.pseudonym.label("patient_id"), models.Site.code.label("site"), _P.sex,
            _P.birth_year, _P.status, _P.sod1_input.label("sod1_variant"), _P.zygosity,
            _P.onset_date, _P.onset_region, _P.diagnosis_date,
            models.Site.name.label("site_name"), _P.confirmed_warnings.label(CONFIRMED_WARNINGS),
            _P.sod1_hgvs, _P.sod1_legacy,
        )
        .join(models.Site, _P.site_id == models.Site.id)
        .order_by(_P.pseudonym)
    )


TIDY_VIEWS: dict[str, View] = {
    "patients": patients_view(),
    "alsfrs": _child(models.AlsfrsAssessment, "alsfrs", ("date", "source")),
    "measurements": _child(models.Measurement, "measurements", ("date", "kind")),
    "administrations": _child(models.Administration, "administrations", ("date", "drug")),
    "medications": _child(models.Medication, "medications", ("drug", "start_date")),
    "adverse_events": _child(models.AdverseEvent, "adverse_events", ("onset_date", "term")),
    "milestones": _child(models.Milestone, "milestones", ("kind",)),
}
"""Every tidy table as a SELECT over the registry, in the format's order of files."""


def tidy_view(name: str, pseudonyms: Collection[str] | None = None) -> View:
    """One tidy table, or only the rows of ``pseudonyms`` (a FHIR ``$everything``, say)."""
    view = TIDY_VIEWS[name]
    if pseudonyms is None:
        return view
    return view.where(_P.pseudonym.in_(sorted(pseudonyms)))


__all__ = ["TIDY_VIEWS", "View", "patients_view", "tidy_view"]
