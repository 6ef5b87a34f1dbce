"""Dosing regimens and the schedule engine (see ../shared/domain.md §3.1 and convention 5-6)."""

from __future__ import annotations

from enum import StrEnum


class AdministrationStatus(StrEnum):
    """What happened to a planned dose."""

    GIVEN = "given"
    MISSED = "missed"
    DEFERRED = "deferred"
