"""Engine-portable access to a cohort: the tidy tables as Ibis expressions.

The same analysis code runs in process on DuckDB (the default: data are moved in through
pandas/Arrow, since DuckDB's scanner extensions cannot be downloaded here), directly on
PostgreSQL, or on Spark. Heavy work (filters, per-patient aggregates) is expressed in Ibis so
that it happens inside the engine; only per-patient results come back as pandas frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
from ibis.backends import BaseBackend

from alsrwe.domain.errors import DomainError
from alsrwe.domain.sod1 import parse_sod1_variant

ITEMS = tuple(f"q{i}" for i in range(1, 13))

SCHEMAS: dict[str, dict[str, str]] = {
    "patients": {
        "patient_id": "string", "site": "string", "sex": "string", "birth_year": "int64",
        "status": "string", "sod1_variant": "string", "sod1_legacy": "string",
        "zygosity": "string", "onset_date": "date", "onset_region": "string",
        "diagnosis_date": "date",
    },
    "alsfrs": {"patient_id": "string", "date": "date", **dict.fromkeys(ITEMS, "int64"),
               "gastrostomy": "boolean", "source": "string"},
    "measurements": {"patient_id": "string", "date": "date", "kind": "string",
                     "value": "float64", "unit": "string", "assay": "string", "lab": "string"},
    "administrations": {"patient_id": "string", "date": "date", "drug": "string",
                        "dose_mg": "float64", "status": "string", "lot": "string",
                        "csf_removed_ml": "float64"},
    "medications": {"patient_id": "string", "drug": "string", "start_date": "date",
                    "stop_date": "date"},
    "adverse_events": {"patient_id": "string", "onset_date": "date", "term": "string",
                       "grade": "int64", "serious": "boolean", "related": "boolean",
                       "outcome": "string", "resolved_date": "date", "term_text": "string",
                       "action": "string"},
    "milestones": {"patient_id": "string", "date": "date", "kind": "string"},
}
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
        elif column in ("patient_id",) or (name != "patients" and column == "date"):
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


def _empty(name: str) -> pd.DataFrame:
    return coerce_frame(name, pd.DataFrame({c: pd.Series(dtype="object")
                                            for c in SCHEMAS[name]}))


class Cohort:
    """The tidy tables of a cohort on one Ibis backend (DuckDB, PostgreSQL or Spark)."""

    def __init__(self, con: BaseBackend, tables: Mapping[str, ibis.Table],
                 source: str = "") -> None:
        missing = [name for name in SCHEMAS if name not in tables]
        if missing:
            raise CohortError("tables", f"missing tidy tables: {', '.join(missing)}")
        self.con = con
        self.tables = dict(tables)
        self.source = source

    @property
    def backend(self) -> str:
        return str(self.con.name)

    def table(self, name: str) -> ibis.Table:
        return self.tables[name]

    def frame(self, name: str) -> pd.DataFrame:
        """A whole tidy table as pandas (for small tables; aggregate in the engine first)."""
        frame: pd.DataFrame = self.tables[name].execute()
        return frame

    # --- constructors ---------------------------------------------------------------------

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame],
                    con: BaseBackend | None = None, source: str = "frames") -> Cohort:
        """Load tidy frames (e.g. a synthetic cohort's ``tables()``) into DuckDB or ``con``."""
        con = con if con is not None else ibis.duckdb.connect()
        tables = {}
        for name in SCHEMAS:
            frame = coerce_frame(name, frames[name]) if name in frames else _empty(name)
            schema = ibis.schema({c: dt.dtype(t) for c, t in SCHEMAS[name].items()})
            tables[name] = con.create_table(name, frame, schema=schema, overwrite=True)
        return cls(con, tables, source)

    @classmethod
    def from_csv_dir(cls, path: Path | str, con: BaseBackend | None = None) -> Cohort:
        """A folder in the tidy CSV format (docs/data-format.md); absent files are empty."""
        folder = Path(path)
        if not folder.is_dir():
            raise CohortError("path", f"{folder} is not a folder")
        frames = {}
        for name in SCHEMAS:
            file = folder / f"{name}.csv"
            if file.exists():
                frames[name] = pd.read_csv(file, dtype=str, keep_default_na=False)
        if "patients" not in frames:
            raise CohortError("patients.csv", f"is missing in {folder}")
        return cls.from_frames(frames, con, source=str(folder))

    @classmethod
    def from_registry(cls, database_url: str, engine: str = "duckdb") -> Cohort:
        """The registry at ``database_url``: copied into DuckDB, or read in place ("native").

        ``engine="native"`` runs the analyses inside the registry's own PostgreSQL server.
        """
        from alsrwe.analytics.registry_source import registry_cohort

        return registry_cohort(database_url, engine)

    @classmethod
    def from_ibis(cls, con: BaseBackend, names: Mapping[str, str] | None = None) -> Cohort:
        """Tables already in an Ibis backend (e.g. Spark), named as the tidy files or mapped."""
        names = names or {name: name for name in SCHEMAS}
        tables = {}
        for name in SCHEMAS:
            table = con.table(names[name])
            cast = {c: t for c, t in SCHEMAS[name].items() if c in table.columns}
            tables[name] = table.cast(cast)
        return cls(con, tables, source=f"{con.name} tables")
