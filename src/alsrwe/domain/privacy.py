"""Privacy rules of a pseudonymous registry: no direct identifiers, small cells suppressed.

- alsrwe keeps pseudonyms and birth years only (docs/data-format.md), so a file with a column
  that would carry a direct identifier (a name, a birth date, an address, a record or
  insurance number) is refused rather than silently ignored. The list covers common English
  and German spellings of such columns.
- Aggregate views and exported reports suppress counts from 1 to ``SUPPRESS_BELOW - 1`` so
  that no person in a small site can be singled out, as OHDSI tools do at export. The default
  threshold, 5, is an alsrwe choice (DataSHIELD's default cell threshold is 3; docs/
  domain-rules.md §9.6); zero stays zero.
"""

from __future__ import annotations

SUPPRESS_BELOW = 5
"""Counts from 1 to 4 are suppressed in aggregate views and reports (alsrwe default)."""

IDENTIFYING_COLUMNS: frozenset[str] = frozenset(
    {
        # English
        "name", "first_name", "firstname", "given_name", "last_name", "lastname", "surname",
        "family_name", "full_name", "maiden_name", "birth_date", "birthdate", "date_of_birth",
        "dob", "address", "street", "city", "postcode", "postal_code", "zip", "zip_code",
        "phone", "telephone", "mobile", "email", "e_mail", "mrn", "medical_record_number",
        "hospital_number", "ssn", "social_security_number", "nhs_number", "insurance_number",
        "initials", "patient_initials", "passport", "national_id",
        # German
        "vorname", "nachname", "familienname", "geburtsname", "geburtsdatum", "geb_datum",
        "gebdatum", "geb", "anschrift", "strasse", "straße", "plz", "wohnort", "ort",
        "telefon", "handy", "kvnr", "krankenversichertennummer", "versichertennummer",
        "versicherungsnummer", "sozialversicherungsnummer", "svnr", "fallnummer",
        "patientennummer", "initialen",
    }
)
"""Column names (normalised: lower case, spaces and hyphens as ``_``) that carry an identifier."""

IDENTIFYING_STEMS: tuple[str, ...] = (
    "name", "birth", "dob", "address", "phone", "mail", "ssn", "mrn", "insurance", "initial",
    "passport", "geburt", "geb_", "adresse", "anschrift", "telefon", "versicher", "vorname",
)
"""Parts of a column name that suggest an identifier (English and German)."""


def normalized_column(name: str) -> str:
    """A header cell as compared here: trimmed, lower case, spaces and hyphens as ``_``."""
    return "_".join(name.strip().casefold().replace("-", " ").split())


def looks_identifying(column: str, allowed: tuple[str, ...] = ()) -> bool:
    """A column not defined by the format (``allowed``) whose name suggests an identifier."""
    if column in allowed:
        return False
    key = normalized_column(column)
    return key in IDENTIFYING_COLUMNS or any(stem in key for stem in IDENTIFYING_STEMS)


def suppress(count: int, below: int = SUPPRESS_BELOW) -> int | None:
    """``None`` for a count that is positive but under ``below``; the count otherwise."""
    return None if 0 < count < below else count


def suppressed_text(count: int, below: int = SUPPRESS_BELOW) -> str | None:
    """``"<5"`` for a suppressed count, ``None`` when the count may be shown."""
    return f"<{below}" if suppress(count, below) is None else None


__all__ = [
    "IDENTIFYING_COLUMNS",
    "IDENTIFYING_STEMS",
    "SUPPRESS_BELOW",
    "looks_identifying",
    "normalized_column",
    "suppress",
    "suppressed_text",
]
