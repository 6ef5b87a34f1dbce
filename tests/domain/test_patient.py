"""Patient and carrier records (data-format.md patients.csv)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.errors import DomainError, EventError
from alsrwe.domain.events import OnsetRegion
from alsrwe.domain.patient import (
    PatientStatus,
    Sex,
    age_at_onset,
    age_years,
    patient_record,
    validate_birth_year,
    validate_pseudonym,
    validate_site_code,
)

YEAR = 2026


def test_patient_record_valid() -> None:
    rec = patient_record(
        "BER-017",
        "BER",
        "f",
        1975,
        "patient",
        YEAR,
        onset_date=dt.date(2022, 5, 3),
        onset_region="lower_limb",
        diagnosis_date=dt.date(2023, 1, 20),
    )
    assert rec.sex is Sex.FEMALE and rec.status is PatientStatus.PATIENT
    assert rec.onset_region is OnsetRegion.LOWER_LIMB


def test_carrier_record_valid_and_has_no_onset() -> None:
    rec = patient_record("c.001", "MUC_2", "M", 1990, "carrier", YEAR)
    assert rec.onset_date is None and rec.status is PatientStatus.CARRIER
    for field, extra in (
        ("onset_date", {"onset_date": dt.date(2022, 1, 1)}),
        ("onset_region", {"onset_region": "bulbar"}),
        ("diagnosis_date", {"diagnosis_date": dt.date(2022, 1, 1)}),
    ):
        with pytest.raises(EventError) as info:
            patient_record("c.001", "MUC", "M", 1990, "carrier", YEAR, **extra)
        assert info.value.field == field
        assert info.value.rule == "must be empty for a presymptomatic carrier"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("onset_date", {"onset_region": "bulbar"}),
        ("onset_region", {"onset_date": dt.date(2022, 1, 1)}),
        (
            "diagnosis_date",
            {
                "onset_date": dt.date(2022, 1, 1),
                "onset_region": "bulbar",
                "diagnosis_date": dt.date(2021, 12, 31),
            },
        ),
        ("onset_date", {"onset_date": dt.date(1974, 6, 1), "onset_region": "bulbar"}),
        ("onset_date", {"onset_date": dt.date(2027, 1, 1), "onset_region": "bulbar"}),
        ("onset_region", {"onset_date": dt.date(2022, 1, 1), "onset_region": "arm"}),
    ],
)
def test_patient_dating_rules(field: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(DomainError) as info:
        patient_record("P1", "BER", "F", 1975, "patient", YEAR, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_vocabularies() -> None:
    with pytest.raises(DomainError) as info:
        patient_record("P1", "BER", "X", 1975, "carrier", YEAR)
    assert info.value.field == "sex"
    with pytest.raises(DomainError) as info:
        patient_record("P1", "BER", "F", 1975, "relative", YEAR)
    assert info.value.field == "status"


@pytest.mark.parametrize("good", ["BER-017", "a", "x" * 40, "site_1.p-2"])
def test_pseudonym_accepts(good: str) -> None:
    assert validate_pseudonym(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 41, "Jane Doe", "BER/017", "Müller", " BER-1"])
def test_pseudonym_rejects(bad: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_pseudonym(bad)
    assert info.value.field == "patient_id"


@pytest.mark.parametrize(
    ("site", "ok"),
    [
        ("BE", True),
        ("B", False),
        ("A" * 16, True),
        ("A" * 17, False),
        ("BER.1", False),
        ("ber_1-x", True),
    ],
)
def test_site_code(site: str, ok: bool) -> None:
    if ok:
        assert validate_site_code(site) == site
    else:
        with pytest.raises(DomainError) as info:
            validate_site_code(site)
        assert info.value.field == "site"


def test_birth_year_range_uses_the_given_year() -> None:
    assert validate_birth_year(1900, YEAR) == 1900
    assert validate_birth_year(YEAR, YEAR) == YEAR
    for bad in (1899, YEAR + 1):
        with pytest.raises(DomainError) as info:
            validate_birth_year(bad, YEAR)
        assert info.value.field == "birth_year"
        assert f"between 1900 and {YEAR}" in info.value.rule


def test_age_at_onset_mid_year_assumption() -> None:
    # Born 1975 → assumed 1 July 1975; onset 1 July 2025 → 50 years (18,263 days / 365.25).
    assert age_at_onset(1975, dt.date(2025, 7, 1)) == pytest.approx(50.0, abs=0.01)
    assert age_years(2020, dt.date(2020, 2, 1)) == 0.0  # never negative


@given(
    st.integers(1900, 2020), st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1))
)
def test_age_within_half_a_year_of_any_true_age(birth_year: int, on: dt.date) -> None:
    if on.year < birth_year:
        return
    age = age_years(birth_year, on)
    youngest = (on - dt.date(birth_year, 12, 31)).days / 365.25
    oldest = (on - dt.date(birth_year, 1, 1)).days / 365.25
    assert max(0.0, youngest) - 1e-9 <= age <= oldest + 1e-9
