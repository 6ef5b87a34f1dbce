"""The analytic schema follows the exchange format (alsrwe.domain.tidy_format), in its order."""

from __future__ import annotations

from alsrwe.analytics.cohort import SCHEMAS
from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.tidy_format import TABLES, ColumnKind

KIND = {ColumnKind.TEXT: "string", ColumnKind.DATE: "date", ColumnKind.INTEGER: "int64",
        ColumnKind.NUMBER: "float64", ColumnKind.FLAG: "boolean"}


def test_every_table_of_the_format_has_a_schema_in_the_format_order() -> None:
    assert list(SCHEMAS) == [spec.name for spec in TABLES]
    for spec in TABLES:
        format_columns = [c.name for c in spec.table_columns
                          if c.name not in ("site_name", "confirmed_warnings")]
        analytic = [c for c in SCHEMAS[spec.name] if c != "sod1_legacy"]
        assert analytic == format_columns, spec.name
        for column in spec.table_columns:
            if column.name in SCHEMAS[spec.name]:
                assert SCHEMAS[spec.name][column.name] == KIND[column.kind], column.name


def test_patients_keep_the_order_spark_matches_by_position() -> None:
    assert list(SCHEMAS["patients"]) == [
        "patient_id", "site", "sex", "birth_year", "status", "sod1_variant", "sod1_legacy",
        "zygosity", "onset_date", "onset_region", "diagnosis_date"]
    assert SCHEMAS["patients"]["sod1_legacy"] == "string"


def test_alsfrs_items_are_the_domains_item_columns() -> None:
    items = [c for c in SCHEMAS["alsfrs"] if c.startswith("q")]
    assert tuple(items) == ITEM_COLUMNS
    assert {SCHEMAS["alsfrs"][q] for q in items} == {"int64"}
    assert SCHEMAS["alsfrs"]["gastrostomy"] == "boolean"
