"""The CDM tables of one OMOP instance on an Ibis backend, in the shape the reader expects.

Each table comes back with the CDM v5.4 columns (:mod:`.tables`; datetimes left out, the
reader uses dates), cast to their types (integers as int64), whatever the instance holds:
column names are matched regardless of case, a column the instance lacks is NULL, extra
columns are left out, and a table the instance lacks is empty. So one reader serves alsrwe's
exports and foreign instances alike.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
from ibis.backends import BaseBackend
from ibis.common.exceptions import TableNotFound

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.interop.omop.tables import CDM_BY_NAME, IBIS_TYPES, CdmTable, CdmType

REQUIRED_TABLES = ("person",)
"""Without these an instance cannot be read at all; every other table may be absent."""


def _empty(spec: CdmTable) -> ibis.Table:
    schema = ibis.schema({c.name: dt.dtype(IBIS_TYPES[c.type]) for c in spec.columns
                          if c.type is not CdmType.TIMESTAMP})
    return ibis.memtable(pa.table({name: pa.array([], type=field.to_pyarrow())
                                   for name, field in schema.items()}), schema=schema)


def _find(con: BaseBackend, name: str, database: str | None) -> ibis.Table | None:
    try:
        return con.table(name, database=database)
    except TableNotFound:
        return None
    except Exception as error:  # PySpark raises its own AnalysisException
        if type(error).__name__ == "AnalysisException":
            return None
        raise


def _normalised(table: ibis.Table, spec: CdmTable) -> ibis.Table:
    by_lower = {column.lower(): column for column in table.columns}
    values = {}
    for column in spec.columns:
        if column.type is CdmType.TIMESTAMP:
            continue  # never read, and foreign text formats need not cast
        kind = IBIS_TYPES[column.type]
        present = by_lower.get(column.name)
        values[column.name] = (table[present].cast(kind) if present is not None
                               else ibis.null().cast(kind))
    return table.select(**values)


class Cdm:
    """Lazy access to the CDM tables of ``con`` (in ``database``, a schema, when given)."""

    def __init__(self, con: BaseBackend, database: str | None = None) -> None:
        self.con = con
        self.database = database
        self._tables: dict[str, ibis.Table] = {}
        self.present: set[str] = set()
        for name in REQUIRED_TABLES:
            if _find(con, name, database) is None:
                where = f" in schema {database}" if database else ""
                raise InvalidInput([Problem(None, f"no OMOP table{where}: not an OMOP CDM "
                                                  "instance (or not this schema)", file=name)])

    def __getitem__(self, name: str) -> ibis.Table:
        if name not in self._tables:
            spec = CDM_BY_NAME[name]
            found = _find(self.con, name, self.database)
            if found is None:
                self._tables[name] = _empty(spec)
            else:
                self.present.add(name)
                self._tables[name] = _normalised(found, spec)
        return self._tables[name]


__all__ = ["REQUIRED_TABLES", "Cdm"]
