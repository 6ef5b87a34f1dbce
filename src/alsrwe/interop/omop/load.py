"""Loading an OMOP folder (CSV or Parquet files, one per CDM table) into an Ibis backend.

By default into an in-memory DuckDB; into any other backend given (Spark reads Parquet files
in place); or into a schema of its own in PostgreSQL (:func:`load_omop_postgres`), so that the
reader runs on ``ibis.postgres``. Files are named as their table (``person.csv``,
``PERSON.csv``, ``person.csv.gz``, ``person.parquet``); only the CDM tables the reader uses
are loaded (:data:`.tables.CDM_TABLES`), other files are left alone. CSV columns of those
tables are read with the CDM's types (integers as int64), matched by name regardless of case.
"""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from ibis.backends import BaseBackend
from sqlalchemy.engine import make_url

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.interop.input_files import checked_size
from alsrwe.interop.omop.tables import ARROW_TYPES, CDM_BY_NAME, CdmTable, CdmType

SUFFIXES = (".csv", ".csv.gz", ".parquet")
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def omop_files(folder: Path) -> dict[str, Path]:
    """The file of each CDM table in ``folder``; a table given twice is refused."""
    if not folder.is_dir():
        raise InvalidInput([Problem(None, "is not a folder", file=str(folder))])
    found: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        lower = entry.name.lower()
        suffix = next((s for s in SUFFIXES if lower.endswith(s)), None)
        if suffix is None or not entry.is_file() or lower[: -len(suffix)] not in CDM_BY_NAME:
            continue
        found.setdefault(lower[: -len(suffix)], []).append(entry)
    twice = [Problem(None, f"holds table {table} more than once ({', '.join(p.name for p in ps)})"
                           "; keep one file per table", file=str(folder))
             for table, ps in found.items() if len(ps) > 1]
    if twice:
        raise InvalidInput(twice)
    return {table: paths[0] for table, paths in found.items()}


def _header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def read_cdm_file(path: Path, spec: CdmTable) -> pa.Table:
    """One CDM file as Arrow, columns in lower case; CSV cells read with the CDM's types
    (integers as int64, datetimes as text), empty = NULL."""
    try:
        checked_size(path)
        if path.name.lower().endswith(".parquet"):
            table = pq.read_table(path)
        else:
            types = {c.name: ARROW_TYPES[c.type] for c in spec.columns}
            types.update({c.name: pa.int64() for c in spec.columns
                          if c.type is CdmType.INTEGER})
            types.update({c.name: pa.string() for c in spec.columns
                          if c.type is CdmType.TIMESTAMP})
            column_types = {name: types[name.lower()] for name in _header(path)
                            if name.lower() in types}
            table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
                column_types=column_types, strings_can_be_null=True))
    except (OSError, UnicodeDecodeError, pa.ArrowInvalid, csv.Error) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidInput([Problem(None, f"cannot be read as the OMOP table {spec.name}: "
                                          f"{reason}", file=str(path))]) from None
    return table.rename_columns([name.lower() for name in table.column_names])


def load_omop_folder(path: Path, con: BaseBackend | None = None) -> BaseBackend:
    """Load the CDM tables of an OMOP folder into ``con`` (default: a new in-memory DuckDB)
    as tables named as the CDM's; read them with :func:`.reader.omop_cohort`."""
    files = omop_files(Path(path))
    if "person" not in files:
        raise InvalidInput([Problem(None, "holds no person table (person.csv or "
                                          "person.parquet): not an OMOP folder", file=str(path))])
    con = con if con is not None else ibis.duckdb.connect()
    for name, file in files.items():
        if con.name != "pyspark":
            con.create_table(name, read_cdm_file(file, CDM_BY_NAME[name]), overwrite=True)
        elif file.name.lower().endswith(".parquet"):  # Spark reads it in place (a view)
            con.read_parquet(str(file), table_name=name)
        else:  # temporary views: nothing is written into Spark's warehouse
            table = read_cdm_file(file, CDM_BY_NAME[name])
            con.create_view(name, ibis.memtable(table), overwrite=True)
    return con


def postgres_connect(url: str) -> BaseBackend:
    """An ``ibis.postgres`` connection to the database of a SQLAlchemy URL."""
    u = make_url(url)
    return ibis.postgres.connect(host=u.host or "localhost", port=u.port or 5432,
                                 user=u.username, password=u.password, database=u.database)


def _schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise InvalidInput([Problem("schema", f"'{schema}' is not a plain lower-case schema "
                                              "name (letters, digits, _)")])
    return schema


def load_omop_postgres(path: Path, url: str, schema: str) -> BaseBackend:
    """Copy an OMOP folder into ``schema`` (created anew) of the PostgreSQL database at
    ``url``; the connection, for ``omop_cohort(con, database=schema)``. Drop the schema with
    :func:`drop_postgres_schema` when done."""
    files = omop_files(Path(path))
    con = postgres_connect(url)
    name = _schema_name(schema)
    con.raw_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
    for table, file in files.items():
        con.create_table(table, read_cdm_file(file, CDM_BY_NAME[table]), database=name)
    return con


def drop_postgres_schema(con: BaseBackend, schema: str) -> None:
    """Drop a schema that :func:`load_omop_postgres` made, with its tables."""
    con.raw_sql(f'DROP SCHEMA IF EXISTS "{_schema_name(schema)}" CASCADE')


__all__ = ["SUFFIXES", "drop_postgres_schema", "load_omop_folder", "load_omop_postgres",
           "omop_files", "postgres_connect", "read_cdm_file"]
