"""ALSFRS-R: items, totals, domain subscores, King's and MiToS staging, ΔFRS (see ../shared/domain.md §1-2)."""

from __future__ import annotations

from enum import StrEnum


class AssessmentSource(StrEnum):
    """Who rated the ALSFRS-R: the clinic, or the patient through a self-report link."""

    CLINIC = "clinic"
    SELF = "self"
