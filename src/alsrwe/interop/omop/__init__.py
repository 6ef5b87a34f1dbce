"""OMOP CDM v5.4 out and in (docs/interop.md, "OMOP CDM").

``export``: the registry as CDM tables (CSV or Parquet), standard concepts where alsrwe's codes
have them, alsrwe's codes as source values everywhere. ``reader``: any OMOP instance on an Ibis
backend (DuckDB, PostgreSQL, Spark) as an alsrwe :class:`~alsrwe.analytics.cohort.Cohort`, in
the engine. ``load``: an OMOP folder into DuckDB, Spark or a PostgreSQL schema. ``importer``:
an OMOP folder or DuckDB file into the registry through the one write path.
"""

from alsrwe.interop.omop.export import export_omop
from alsrwe.interop.omop.importer import import_omop, looks_like_omop
from alsrwe.interop.omop.load import (
    drop_postgres_schema,
    load_omop_folder,
    load_omop_postgres,
)
from alsrwe.interop.omop.reader import omop_cohort, read_omop

__all__ = ["drop_postgres_schema", "export_omop", "import_omop", "load_omop_folder",
           "load_omop_postgres", "looks_like_omop", "omop_cohort", "read_omop"]
