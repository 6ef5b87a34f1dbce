"""Privacy (identifying columns, small-cell suppression) and the account rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.access import Role, check_account
from alsrwe.domain.errors import AccountError
from alsrwe.domain.privacy import SUPPRESS_BELOW, looks_identifying, suppress, suppressed_text


@pytest.mark.parametrize("column", [
    "name", "Patient Name", "patient_initials", "initials", "date_of_birth", "DOB", "e-mail",
    "geb_datum", "Geburtsdatum", "kvnr", "Versichertennummer", "Vorname", "Nachname", "PLZ",
    "Anschrift", "Telefon", "mrn", "nhs_number",
])
def test_identifying_columns_in_english_and_german(column: str) -> None:
    assert looks_identifying(column)


@pytest.mark.parametrize("column", ["site_name", "patient_id", "onset_region", "lab", "notes"])
def test_format_columns_and_harmless_ones_pass(column: str) -> None:
    assert not looks_identifying(column, ("site_name", "patient_id", "onset_region", "lab"))


@given(st.integers(0, 1000), st.integers(1, 20))
def test_small_cells_are_suppressed_and_zero_is_not(count: int, below: int) -> None:
    shown = suppress(count, below)
    assert shown is None if 0 < count < below else shown == count
    assert (suppressed_text(count, below) is None) == (shown is not None)


def test_one_default_threshold() -> None:
    assert SUPPRESS_BELOW == 5 and suppress(4) is None and suppress(5) == 5


@pytest.mark.parametrize(("username", "password", "role", "sites", "field"), [
    ("a b", "x" * 12, "analyst", [], "username"),
    ("clin", "short", "clinician", ["BER"], "password"),
    ("clin", "x" * 12, "nurse", ["BER"], "role"),
    ("boss", "x" * 12, "admin", ["BER"], "sites"),
    ("clin", "x" * 12, "clinician", [], "sites"),
])
def test_account_rules(username: str, password: str, role: str, sites: list[str],
                       field: str) -> None:
    with pytest.raises(AccountError) as error:
        check_account(username, password, role, sites)
    assert error.value.field == field


def test_a_valid_account() -> None:
    assert check_account("clin.one", "x" * 12, "clinician", ["BER"]) is Role.CLINICIAN
