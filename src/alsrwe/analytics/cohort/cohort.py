"""Engine-portable access to a cohort: the tidy tables as Ibis expressions.

The same analysis code runs in process on DuckDB (the default: data are moved in through
pandas/Arrow, since DuckDB's scanner extensions cannot be downloaded here), directly on
PostgreSQL, or on Spark. Heavy work (filters, per-patient aggregates) is expressed in Ibis so
that it happens inside the engine; only per-patient results come back as pandas frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
from ibis.backends import BaseBackend

from alsrwe.analytics.cohort.registry import ENGINES, copied_frames, native_tables
from alsrwe.analytics.cohort.schema import SCHEMAS, CohortError, coerce_frame, empty_frame


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

    def __repr__(self) -> str:
        """Backend, source and size, e.g. "Cohort(duckdb, 'demo.sqlite': 300 patients, 40
        carriers, 4 sites)" (two count queries in the engine; never the rows)."""
        patients = self.tables["patients"]
        counts = patients.group_by("status").aggregate(n=patients.count()).execute()
        by_status = {str(s): int(n) for s, n in zip(counts["status"], counts["n"], strict=True)}
        sites = int(patients.site.nunique().execute())
        return (f"Cohort({self.backend}, {self.source!r}: {by_status.get('patient', 0)} "
                f"patients, {by_status.get('carrier', 0)} carriers, {sites} sites)")

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
            frame = coerce_frame(name, frames[name]) if name in frames else empty_frame(name)
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
        if engine not in ENGINES:
            raise CohortError("engine", f"'{engine}' is not one of: {', '.join(ENGINES)}")
        if engine == "native":
            return cls(*native_tables(database_url))
        frames, source = copied_frames(database_url)
        return cls.from_frames(frames, source=source)

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


__all__ = ["Cohort"]
