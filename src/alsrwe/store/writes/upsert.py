"""Writing many rows by their natural key: insert the new, update the changed, skip the same.

A repeated import must create no duplicates and a corrected spreadsheet must update in place,
so the import batch (:mod:`alsrwe.store.writes.imports`) writes through :func:`plan_upsert`
and :func:`apply_upsert`, inside the caller's transaction. The plan comes first so that the
import can judge the updates (e.g. a row that would overwrite a newer change) before writing.

On a versioned table (:class:`~alsrwe.store.models.base.Versioned`) each written row also
gets its provenance (``import_id``, ``import_row``), who wrote it and when, and an updated
row its next version; these bookkeeping columns never count as a change of the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnDefault, Row, Table, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from alsrwe.store.models import Base
from alsrwe.store.models.base import VERSION_COLUMNS

CHUNK = 5000
"""Rows (and key look-ups) per statement: under SQLite's and PostgreSQL's parameter limits."""


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int


@dataclass(slots=True)
class UpsertPlan:
    """What an upsert will do: the rows to insert and, for each row to update, its index in
    the batch and the stored row (with its id, columns and, if versioned, version)."""

    model: type[Base]
    rows: Sequence[dict[str, Any]]
    inserts: list[int] = field(default_factory=list)
    updates: list[tuple[int, Row[Any]]] = field(default_factory=list)

    @property
    def counts(self) -> UpsertCounts:
        return UpsertCounts(len(self.inserts), len(self.updates),
                            len(self.rows) - len(self.inserts) - len(self.updates))

    def changes(self, index: int, old: Row[Any]) -> dict[str, tuple[Any, Any]]:
        """The columns row ``index`` changes in ``old``: name → (before, after)."""
        row = self.rows[index]
        return {name: (getattr(old, name), value) for name, value in row.items()
                if getattr(old, name) != value}


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def versioned(model: type[Base]) -> bool:
    return "version" in model.__table__.c


def plan_upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]],
                key: Sequence[str]) -> UpsertPlan:
    """Match ``rows`` of ``model`` on the ``key`` columns against the stored rows.

    Existing rows are looked up by the first key column (``patient_id`` or the table's own
    natural key) and compared column by column; only those that differ will be updated.
    """
    plan = UpsertPlan(model, rows)
    if not rows:
        return plan
    table = model.__table__
    columns = list(rows[0])
    extra = [table.c[name] for name in VERSION_COLUMNS[:3]] if versioned(model) else []
    first = key[0]
    wanted = sorted({row[first] for row in rows})
    existing: dict[tuple[Any, ...], Row[Any]] = {}
    for chunk in _chunks(wanted):
        stmt = select(table.c.id, *(table.c[name] for name in columns), *extra)
        stmt = stmt.where(table.c[first].in_(chunk))
        for found in session.execute(stmt):
            existing[tuple(getattr(found, name) for name in key)] = found
    for index, row in enumerate(rows):
        old = existing.get(tuple(row[name] for name in key))
        if old is None:
            plan.inserts.append(index)
        elif any(getattr(old, name) != row[name] for name in columns):
            plan.updates.append((index, old))
    return plan


def apply_upsert(session: Session, plan: UpsertPlan,
                 provenance: Mapping[str, Any] | None = None,
                 row_numbers: Sequence[int | None] | None = None) -> UpsertCounts:
    """Write a plan; ``provenance`` (import id, who, when) and each row's number in its file
    are stamped on every written row of a versioned table."""
    stamped = versioned(plan.model) and provenance is not None

    def written(index: int) -> dict[str, Any]:
        row = dict(plan.rows[index])
        if stamped:
            row.update(provenance or {})
            row["import_row"] = row_numbers[index] if row_numbers is not None else None
        return row

    inserts = [written(index) for index in plan.inserts]
    updates = [{"id": old.id, **written(index),
                **({"version": old.version + 1} if versioned(plan.model) else {})}
               for index, old in plan.updates]
    table = cast(Table, plan.model.__table__)
    insert_many(session, table, inserts)
    for chunk in _chunks(updates):
        session.execute(update(plan.model), list(chunk))
    session.flush()
    return plan.counts


def _with_defaults(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The columns an insert of ``rows`` writes: theirs, then those with a Python default."""
    given = list(dict.fromkeys(name for row in rows[:1] for name in row))
    return given + [c.name for c in table.c
                    if isinstance(c.default, ColumnDefault) and c.name not in given]


def _defaults(table: Table, names: Sequence[str]) -> dict[str, Any]:
    """Each column's Python default, computed once for the whole insert (as Core would per
    statement): a scalar, or the value of a function without arguments (``utc_now``)."""
    found = {}
    for name in names:
        default = table.c[name].default
        if isinstance(default, ColumnDefault):
            found[name] = default.arg if default.is_scalar else default.arg(None)
    return found


def _bound_rows(table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]],
                dialect: Dialect) -> list[tuple[Any, ...]]:
    """The rows as the driver takes them: each column's bind processor (the dialect's own:
    vocabularies as text, JSON, SQLite dates as ISO text) applied once per value."""
    defaults = _defaults(table, names)
    processors = [dialect.type_descriptor(table.c[name].type).bind_processor(dialect)
                  for name in names]
    columns = [[row.get(name, defaults.get(name)) for row in rows] for name in names]
    for index, process in enumerate(processors):
        if process is not None:
            columns[index] = [None if value is None else process(value)
                              for value in columns[index]]
    return list(zip(*columns, strict=True))


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in the session's transaction, at the
    driver's speed: ``COPY`` on PostgreSQL, one ``executemany`` per chunk on SQLite.

    Core's ``insert`` builds every row's parameters through the compiler, which cost more
    than SQLite's own insert (docs/benchmarks.md, "Import"); here each column's values are
    converted once by the same type processors and handed to the driver as tuples.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = _with_defaults(table, rows)
    bound = _bound_rows(table, names, rows, dialect)
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                f"COPY {target} ({quoted}) FROM STDIN") as copy:
            for values in bound:
                copy.write_row(values)
        return
    marks = ", ".join("?" for _ in names)
    statement = f"INSERT INTO {target} ({quoted}) VALUES ({marks})"
    for chunk in _chunks(bound):
        connection.exec_driver_sql(statement, list(chunk))


def upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]],
           key: Sequence[str]) -> UpsertCounts:
    """Plan and write at once (tables without provenance, e.g. sites)."""
    return apply_upsert(session, plan_upsert(session, model, rows, key))
