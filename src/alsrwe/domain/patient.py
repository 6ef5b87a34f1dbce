"""Who is in the registry: pseudonymous patients and presymptomatic SOD1 carriers."""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    """Sex as recorded in the registry (tidy CSV: F / M)."""

    FEMALE = "F"
    MALE = "M"


class PatientStatus(StrEnum):
    """A symptomatic patient with ALS, or a presymptomatic carrier of an SOD1 variant."""

    PATIENT = "patient"
    CARRIER = "carrier"
