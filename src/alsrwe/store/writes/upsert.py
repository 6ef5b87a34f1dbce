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
    constant = dict(provenance or {}) if stamped else {}
    numbers = row_numbers if row_numbers is not None else [None] * len(plan.rows)

    def written(index: int) -> dict[str, Any]:
        row = dict(plan.rows[index])
        if stamped:
            row.update(constant)
            row["import_row"] = numbers[index]
        return row

    updates = [{"id": old.id, **written(index),
                **({"version": old.version + 1} if versioned(plan.model) else {})}
               for index, old in plan.updates]
    table = cast(Table, plan.model.__table__)
    per_row = {"import_row": [numbers[index] for index in plan.inserts]} if stamped else {}
    insert_many(session, table, [plan.rows[index] for index in plan.inserts], constant, per_row)
    for chunk in _chunks(updates):
        session.execute(update(plan.model), list(chunk))
    session.flush()
    return plan.counts


def _defaults(table: Table, given: Sequence[str]) -> dict[str, Any]:
    """The Python default of each column not ``given``, computed once for the whole insert
    (as Core does per statement): a scalar, or the value of a function without arguments."""
    found = {}
    for column in table.c:
        default = column.default
        if column.name not in given and isinstance(default, ColumnDefault):
            found[column.name] = default.arg if default.is_scalar else default.arg(None)
    return found


def _bound_columns(table: Table, rows: Sequence[Mapping[str, Any]],
                   constant: Mapping[str, Any], per_row: Mapping[str, Sequence[Any]],
                   dialect: Dialect) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The columns an insert writes and its rows as the driver takes them: each column's
    bind processor (the dialect's own: vocabularies as text, JSON, SQLite dates as ISO text)
    applied once per value, and once for a value every row shares (provenance, defaults)."""
    own = list(dict.fromkeys(name for row in rows[:1] for name in row))
    shared = {**constant, **_defaults(table, [*own, *constant, *per_row])}
    names = [*own, *per_row, *shared]
    columns: list[list[Any]] = []
    for name in names:
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if name in shared:
            value = shared[name]
            columns.append([value if value is None or process is None else process(value)]
                           * len(rows))
            continue
        values = list(per_row[name]) if name in per_row else [row.get(name) for row in rows]
        if process is not None:
            values = [None if value is None else process(value) for value in values]
        columns.append(values)
    return names, list(zip(*columns, strict=True))


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                constant: Mapping[str, Any] | None = None,
                per_row: Mapping[str, Sequence[Any]] | None = None) -> None:
    """Insert ``rows`` (dicts with the same keys), plus the ``constant`` columns every row
    shares and the ``per_row`` columns given as lists, in the session's transaction, at the
    driver's speed: ``COPY`` on PostgreSQL, one ``executemany`` per chunk on SQLite.

    Core's ``insert`` builds every row's parameters through the compiler, which cost more
    than SQLite's own insert (docs/benchmarks.md, "Everyday speed, third pass"); here each
    column's values are converted by the same type processors and handed to the driver as
    tuples.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names, bound = _bound_columns(table, rows, constant or {}, per_row or {}, dialect)
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
