"""Shared column types, the declarative base and the naming convention of every table."""


from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alsrwe.domain.alsfrs import ITEM_COLUMNS

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MAX_ID = 2**31 - 1
"""The largest surrogate key (INTEGER is 32-bit on PostgreSQL): bigger ids cannot exist."""

VOCABULARY_LENGTH = 32
"""Width of every vocabulary column (the longest value today is 28 characters)."""

ALSFRS_ITEMS = ITEM_COLUMNS


def utc_now() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so values are normalised to UTC on the way in and tagged as UTC
    on the way out; PostgreSQL stores ``timestamptz``. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


E = TypeVar("E", bound=StrEnum)


class Vocabulary(TypeDecorator[E]):
    """A domain ``StrEnum`` stored as its string value (VARCHAR), read back as the enum."""

    impl = String(VOCABULARY_LENGTH)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def one_of(column: str, enum: type[StrEnum], name: str | None = None) -> CheckConstraint:
    """CHECK that ``column`` holds one of the enum's values (NULL passes; see nullable)."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name or column)


def boolean(name: str) -> Boolean:
    """A boolean; on SQLite (integer storage) a named CHECK keeps it to 0 and 1."""
    return Boolean(create_constraint=True, name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Versioned:
    """What every clinical record carries since migration 0008: its version, who last wrote it
    and when, and, for an imported row, the import and the row it came from.

    ``version`` starts at 1 and rises by one with every change; a write must name the version
    it read, so a stale edit is refused instead of silently overwriting a colleague's.
    """

    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    changed_by: Mapped[str | None] = mapped_column(String(100))
    import_id: Mapped[int | None] = mapped_column(Integer)
    """``imports.id`` of the import that last wrote the row (no foreign key, like the trail)."""
    import_row: Mapped[int | None] = mapped_column(Integer)
    """The row of that import's file (1 = the first data row)."""


VERSION_COLUMNS = ("version", "changed_at", "changed_by", "import_id", "import_row")
"""Bookkeeping of :class:`Versioned`: not part of a record's content."""


def patient_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)


ConfirmedWarnings = list[dict[str, str]]
"""``[{"code": …, "message": …}, …]``: the soft rules a record broke, confirmed on entry."""


def warnings_column() -> Mapped[ConfirmedWarnings | None]:
    """The plausibility warnings confirmed for the row (migration 0006); SQL NULL when none."""
    return mapped_column(JSON(none_as_null=True))
