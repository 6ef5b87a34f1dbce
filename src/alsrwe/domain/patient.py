"""Who is in the registry: pseudonymous patients and presymptomatic SOD1 carriers.

The rules are those of docs/data-format.md (patients.csv). The domain does not read the
clock: the current year is passed in. Identity rules raise DomainError; the dating of onset
and diagnosis raises EventError; both name the CSV column. The SOD1 variant and zygosity
are validated by :mod:`alsrwe.domain.sod1`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from alsrwe.domain.choices import parse_choice
from alsrwe.domain.errors import DomainError, EventError
from alsrwe.domain.events import OnsetRegion


class Sex(StrEnum):
    """Sex as recorded in the registry (tidy CSV: F / M)."""

    FEMALE = "F"
    MALE = "M"


class PatientStatus(StrEnum):
    """A symptomatic patient with ALS, or a presymptomatic carrier of an SOD1 variant."""

    PATIENT = "patient"
    CARRIER = "carrier"


PSEUDONYM_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,40}")
"""1-40 ASCII letters, digits, '-', '_', '.' (patients.csv patient_id)."""
SITE_CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{2,16}")
"""2-16 ASCII letters, digits, '-', '_' (patients.csv site)."""
MIN_BIRTH_YEAR = 1900
DAYS_PER_YEAR = 365.25


def validate_pseudonym(patient_id: str) -> str:
    """The pseudonym, unchanged, if it matches the pattern; no other guess at identity."""
    if not isinstance(patient_id, str) or not PSEUDONYM_PATTERN.fullmatch(patient_id):
        raise DomainError(
            "patient_id",
            f"{patient_id!r} must be 1-40 characters of letters, digits, '-', '_' or '.'",
        )
    return patient_id


def validate_site_code(site: str) -> str:
    """The site code, unchanged, if it is 2-16 letters, digits, '-' or '_'."""
    if not isinstance(site, str) or not SITE_CODE_PATTERN.fullmatch(site):
        raise DomainError("site", f"{site!r} must be 2-16 letters, digits, '-' or '_'")
    return site


def validate_birth_year(birth_year: int, current_year: int) -> int:
    """A birth year from 1900 to ``current_year`` (year only: no full birth dates are kept)."""
    if isinstance(birth_year, bool) or not isinstance(birth_year, int):
        raise DomainError("birth_year", f"{birth_year!r} must be a whole year")
    if not MIN_BIRTH_YEAR <= birth_year <= current_year:
        raise DomainError(
            "birth_year", f"{birth_year} must be between {MIN_BIRTH_YEAR} and {current_year}"
        )
    return birth_year


def _check_carrier(
    onset_date: dt.date | None, onset_region: OnsetRegion | None, diagnosis_date: dt.date | None
) -> None:
    for field, value in (
        ("onset_date", onset_date),
        ("onset_region", onset_region),
        ("diagnosis_date", diagnosis_date),
    ):
        if value is not None:
            raise EventError(field, "must be empty for a presymptomatic carrier")


def _check_patient(
    birth_year: int,
    current_year: int,
    onset_date: dt.date | None,
    onset_region: OnsetRegion | None,
    diagnosis_date: dt.date | None,
) -> None:
    if onset_date is None:
        raise EventError("onset_date", "is required for a patient (date of first symptom)")
    if onset_region is None:
        raise EventError("onset_region", "is required for a patient")
    for field, day in (("onset_date", onset_date), ("diagnosis_date", diagnosis_date)):
        if day is None:
            continue
        if day.year < birth_year:
            raise EventError(field, f"{day} is before the birth year {birth_year}",
                             "date.before_birth_year")
        if day.year > current_year:
            raise EventError(field, f"{day} is after the current year {current_year}",
                             "date.in_future")
    if diagnosis_date is not None and diagnosis_date < onset_date:
        raise EventError("diagnosis_date", f"{diagnosis_date} is before onset on {onset_date}")


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A validated patients.csv row minus the SOD1 columns; build with :func:`patient_record`."""

    patient_id: str
    site: str
    sex: Sex
    birth_year: int
    status: PatientStatus
    onset_date: dt.date | None = None
    onset_region: OnsetRegion | None = None
    diagnosis_date: dt.date | None = None


def patient_record(
    patient_id: str,
    site: str,
    sex: str | Sex,
    birth_year: int,
    status: str | PatientStatus,
    current_year: int,
    onset_date: dt.date | None = None,
    onset_region: str | OnsetRegion | None = None,
    diagnosis_date: dt.date | None = None,
) -> PatientRecord:
    """Validate a patient or carrier (data-format.md patients.csv).

    A carrier has no onset date, onset region or diagnosis; a patient needs an onset date
    and region, and a diagnosis (optional) not before onset. Onset and diagnosis fall
    between the birth year and ``current_year``.
    """
    parsed_status = parse_choice(PatientStatus, "status", status)
    region = (
        None if onset_region is None else parse_choice(OnsetRegion, "onset_region", onset_region)
    )
    record = PatientRecord(
        patient_id=validate_pseudonym(patient_id),
        site=validate_site_code(site),
        sex=parse_choice(Sex, "sex", sex, fold=str.upper),
        birth_year=validate_birth_year(birth_year, current_year),
        status=parsed_status,
        onset_date=onset_date,
        onset_region=region,
        diagnosis_date=diagnosis_date,
    )
    if parsed_status is PatientStatus.CARRIER:
        _check_carrier(onset_date, region, diagnosis_date)
    else:
        _check_patient(birth_year, current_year, onset_date, region, diagnosis_date)
    return record


def age_years(birth_year: int, on: dt.date) -> float:
    """Age in years on ``on`` from the birth year alone, assuming birth at mid-year (1 July).

    Only the birth year is stored (data-format.md), so the exact age is unknown by up to a
    year; dating birth at the middle of the year makes the error at most ±0.5 years and zero
    on average. Days are converted with 365.25 days/year. Never negative: an event early in
    the birth year gives 0.
    """
    assumed_birth = dt.date(birth_year, 7, 1)
    return max(0.0, (on - assumed_birth).days / DAYS_PER_YEAR)


def age_at_onset(birth_year: int, onset_date: dt.date) -> float:
    """Age at symptom onset in years (mid-year birth assumption; see :func:`age_years`)."""
    return age_years(birth_year, onset_date)


__all__ = [
    "DAYS_PER_YEAR",
    "MIN_BIRTH_YEAR",
    "PSEUDONYM_PATTERN",
    "SITE_CODE_PATTERN",
    "PatientRecord",
    "PatientStatus",
    "Sex",
    "age_at_onset",
    "age_years",
    "patient_record",
    "validate_birth_year",
    "validate_pseudonym",
    "validate_site_code",
]
