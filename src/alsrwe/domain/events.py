"""Disease milestones and the composite endpoint (../shared/domain.md §6.3, convention 7)."""

from __future__ import annotations

from enum import StrEnum


class OnsetRegion(StrEnum):
    """Body region of the first symptom."""

    BULBAR = "bulbar"
    UPPER_LIMB = "upper_limb"
    LOWER_LIMB = "lower_limb"
    RESPIRATORY = "respiratory"
    GENERALIZED = "generalized"


class MilestoneKind(StrEnum):
    """Milestones recorded after onset (onset and diagnosis are attributes of the patient)."""

    GASTROSTOMY = "gastrostomy"
    NIV = "niv"
    TRACHEOSTOMY = "tracheostomy"
    PERMANENT_VENTILATION = "permanent_ventilation"
    DEATH = "death"
