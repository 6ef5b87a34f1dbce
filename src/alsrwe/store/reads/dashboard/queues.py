"""The dashboard's queues: which queue, a page of it, the living patients in scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar, TypeVarTuple

from sqlalchemy import Select, select

from alsrwe.domain.events import MilestoneKind
from alsrwe.store.models import (
    Milestone,
    Patient,
)
from alsrwe.store.scope import SiteScope

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

QUEUE_PAGE_SIZE = 10
"""Rows of each queue shown at first; the rest are a page or 'show all' away (alsrwe choice)."""


class QueueKind(StrEnum):
    """The dashboard's queues; the value names the queue in query strings and anchors."""

    OVERDUE = "overdue"
    DUE_SOON = "due"
    ADVERSE_EVENTS = "ae"
    CSF_FLAGS = "csf"
    NFL_ALERTS = "nfl"
    SELF_REPORTS = "review"


@dataclass(frozen=True, slots=True)
class Slice:
    """Which rows of a queue to show: ``limit`` None shows them all."""

    offset: int = 0
    limit: int | None = QUEUE_PAGE_SIZE

    def __post_init__(self) -> None:
        if self.offset < 0 or (self.limit is not None and self.limit < 1):
            raise ValueError("a slice starts at 0 or later and shows at least one row")


@dataclass(frozen=True, slots=True)
class QueuePage(Generic[T]):
    """The shown rows of a queue, how many it holds in all, and where the rows start."""

    rows: list[T]
    total: int
    offset: int
    limit: int | None

    @property
    def has_previous(self) -> bool:
        return self.limit is not None and self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.limit is not None and self.offset + self.limit < self.total

    @property
    def number(self) -> int:
        """The 1-based page number (1 when every row is shown)."""
        return 1 if not self.limit else self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return 1 if not self.limit else max(1, -(-self.total // self.limit))


def first_row(window: Slice, total: int) -> int:
    """Where the page starts: on a page boundary, and an offset past the end shows the last."""
    if window.limit is None:
        return 0
    last_page = max(total - 1, 0) // window.limit * window.limit
    return max(0, min(window.offset // window.limit * window.limit, last_page))


def sliced(items: Sequence[T], window: Slice) -> QueuePage[T]:
    """A page of an already sorted queue."""
    offset = first_row(window, len(items))
    end = len(items) if window.limit is None else offset + window.limit
    return QueuePage(list(items[offset:end]), len(items), offset, window.limit)


@dataclass(frozen=True, slots=True)
class PatientRef:
    """Enough to name and link a patient on the dashboard."""

    id: int
    pseudonym: str


def dead_patients() -> Select[int]:
    return select(Milestone.patient_id).where(Milestone.kind == MilestoneKind.DEATH)


def living(scope: SiteScope, query: Select[*Ts]) -> Select[*Ts]:
    """``query`` (from ``patients``) kept to living patients of the sites in scope."""
    return scope.patients(query).where(Patient.id.not_in(dead_patients()))
