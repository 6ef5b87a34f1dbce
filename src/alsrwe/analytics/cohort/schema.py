"""The analytic schema of the tidy tables, derived from the exchange format, and reading into it.

The format (:mod:`alsrwe.domain.tidy_format`, docs/data-format.md) is the one home of the
tables' columns and kinds; analytics keeps the columns an analysis can use, in the format's
order (engines that match columns by position, such as Spark, need a stable order), as Ibis
types. Left out: ``site_name`` (a label) and ``confirmed_warnings`` (data-entry bookkeeping).
Added: ``patients.sod1_legacy``, the legacy name of the variant, next to its HGVS name.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from alsrwe.domain.errors import DomainError
from alsrwe.domain.sod1 import parse_sod1_variant
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS, TABLES, ColumnKind, TableSpec

IBIS_TYPES: dict[ColumnKind, str] = {
    ColumnKind.TEXT: "string",
    ColumnKind.DATE: "date",
    ColumnKind.INTEGER: "int64",
    ColumnKind.NUMBER: "float64",
    ColumnKind.FLAG: "boolean",
}
"""The Ibis type of each column kind of the format."""

NOT_ANALYTIC = frozenset({"site_name", CONFIRMED_WARNINGS})
"""Columns of the format that no analysis reads."""


def _analytic_schema(spec: TableSpec) -> dict[str, str]:
    schema: dict[str, str] = {}
    for column in spec.table_columns:
        if column.name in NOT_ANALYTIC:
            continue
        schema[column.name] = IBIS_TYPES[column.kind]
        if (spec.name, column.name) == ("patients", "sod1_variant"):
            schema["sod1_legacy"] = "string"  # derived from the variant, right after it
    return schema


SCHEMAS: dict[str, dict[str, str]] = {spec.name: _analytic_schema(spec) for spec in TABLES}
"""The analytic schema of every tidy table (Ibis type names); absent files give empty tables."""


class CohortError(DomainError):
    """A cohort that cannot be loaded: a missing table or column, or an unreadable value."""


def _coerce_column(values: pd.Series, kind: str) -> pd.Series:
    if kind == "date":
        try:  # ISO 8601 (docs/data-format.md); no per-element guessing of other formats
            dates = pd.to_datetime(values.replace("", None), format="ISO8601", errors="raise")
        except ValueError as error:
            raise ValueError(str(error).splitlines()[0]) from None
        return dates.dt.date
    if kind == "boolean":
        mapped = values.map(lambda v: None if v is None or v == "" or pd.isna(v)
                            else bool(int(v)))
        return mapped.astype("boolean")
    if kind in ("int64", "float64"):
        numbers = pd.to_numeric(values.replace("", None), errors="raise")
        return numbers.astype("Int64" if kind == "int64" else "float64")
    text = values.astype("string")
    return text.mask(text == "", pd.NA)


def _required(name: str, column: str) -> bool:
    """Columns without which a table cannot be read: the patient, and the date of a visit."""
    return column == "patient_id" or (column == "date" and name != "patients")


def coerce_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A tidy table in its analytic schema; extra columns dropped, missing optional ones empty."""
    schema = SCHEMAS[name]
    out: dict[str, Any] = {}
    for column, kind in schema.items():
        if column in frame.columns:
            try:
                out[column] = _coerce_column(frame[column], kind).to_numpy()
            except (ValueError, TypeError) as error:
                raise CohortError(f"{name}.{column}",
                                  f"cannot be read as {kind}: {error}") from None
        elif column == "sod1_legacy":
            continue
        elif _required(name, column):
            raise CohortError(f"{name}.{column}", "is a required column and is missing")
        else:
            out[column] = pd.Series([None] * len(frame), dtype="object").to_numpy()
    result = pd.DataFrame(out, index=range(len(frame)))
    if name == "patients":
        result = _normalize_variants(result)
    # Schema order: engines that match columns by position (Spark) need it.
    return result[[column for column in schema if column in result.columns]]


def _normalize_variants(patients: pd.DataFrame) -> pd.DataFrame:
    """Variant names in HGVS protein form plus the legacy name, parsed once per distinct name."""
    names = patients["sod1_variant"].dropna().unique()
    parsed = {}
    for text in names:
        try:
            parsed[text] = parse_sod1_variant(str(text))
        except DomainError as error:
            raise CohortError("patients.sod1_variant", error.rule) from None
    patients = patients.copy()
    patients["sod1_legacy"] = patients["sod1_variant"].map(
        lambda v: parsed[v].legacy if v in parsed else None)
    patients["sod1_variant"] = patients["sod1_variant"].map(
        lambda v: parsed[v].hgvs if v in parsed else None)
    return patients


def empty_frame(name: str) -> pd.DataFrame:
    """A tidy table with no rows, in its analytic schema."""
    return coerce_frame(name, pd.DataFrame({c: pd.Series(dtype="object")
                                            for c in SCHEMAS[name]}))


__all__ = ["SCHEMAS", "CohortError", "coerce_frame", "empty_frame"]
