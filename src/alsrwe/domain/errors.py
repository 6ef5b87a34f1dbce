"""The domain's error tree: every bad input is a ``ValueError`` that names its field and rule.

    ValueError
     └── DomainError              field + rule, rendered once at the edge
          ├── ScoreError          an ALSFRS-R item or score out of range
          ├── VariantError        an SOD1 variant name that cannot be read or does not match
          ├── ScheduleError       an impossible dosing history or calendar request
          ├── MeasurementError    a value, unit or kind that is not accepted
          └── EventError          an adverse event or milestone that breaks a rule
"""

from __future__ import annotations


class DomainError(ValueError):
    """Bad input to a clinical rule; ``field`` names what was wrong and ``rule`` what it broke."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class ScoreError(DomainError):
    """An ALSFRS-R item or derived score that breaks the scale's rules."""


class VariantError(DomainError):
    """An SOD1 variant name that is malformed or does not match the reference protein."""


class ScheduleError(DomainError):
    """A dosing history or calendar request that the regimen cannot accept."""


class MeasurementError(DomainError):
    """A measurement whose kind, value or unit is not accepted."""


class EventError(DomainError):
    """An adverse event or milestone that breaks a rule."""


__all__ = [
    "DomainError",
    "EventError",
    "MeasurementError",
    "ScheduleError",
    "ScoreError",
    "VariantError",
]
