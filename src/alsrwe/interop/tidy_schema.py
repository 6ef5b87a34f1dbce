"""The tidy CSV format as data: files, required and extra columns, natural keys.

The human description is docs/data-format.md; this module is the same contract in code, so
the importer, the exporter and the tests cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

ITEM_COLUMNS: tuple[str, ...] = tuple(f"q{i}" for i in range(1, 13))

#: Column names that would carry a direct identifier. alsrwe stores pseudonymous data only,
#: so a file that has one is refused rather than silently ignored.
IDENTIFYING_COLUMNS: frozenset[str] = frozenset(
    {
        "name", "first_name", "firstname", "last_name", "lastname", "surname", "full_name",
        "birth_date", "birthdate", "date_of_birth", "dob", "address", "street", "postcode",
        "zip", "phone", "telephone", "email", "mrn", "medical_record_number", "ssn",
        "nhs_number", "insurance_number", "initials",
    }
)


IDENTIFYING_STEMS: tuple[str, ...] = (
    "name", "birth", "dob", "address", "phone", "mail", "ssn", "mrn", "insurance", "geburt",
    "adresse", "telefon",
)
"""Parts of a column name that suggest an identifier (English and German)."""


def looks_identifying(column: str, allowed: tuple[str, ...]) -> bool:
    """A column the format does not define whose name suggests a direct identifier."""
    if column in allowed:
        return False
    key = column.strip().lower().replace(" ", "_").replace("-", "_")
    return key in IDENTIFYING_COLUMNS or any(stem in key for stem in IDENTIFYING_STEMS)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One file of the format: its name, columns and the key that makes a row unique."""

    name: str
    required: tuple[str, ...]
    extra: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.extra


PATIENTS = TableSpec(
    "patients",
    required=(
        "patient_id", "site", "sex", "birth_year", "status", "sod1_variant", "zygosity",
        "onset_date", "onset_region", "diagnosis_date",
    ),
    extra=("site_name",),
    key=("patient_id",),
)
ALSFRS = TableSpec(
    "alsfrs",
    required=("patient_id", "date", *ITEM_COLUMNS, "gastrostomy", "source"),
    extra=(),
    key=("patient_id", "date", "source"),
)
MEASUREMENTS = TableSpec(
    "measurements",
    required=("patient_id", "date", "kind", "value", "unit"),
    extra=("assay", "lab"),
    key=("patient_id", "date", "kind"),
)
ADMINISTRATIONS = TableSpec(
    "administrations",
    required=("patient_id", "date", "drug", "dose_mg", "status", "lot", "csf_removed_ml"),
    extra=(),
    key=("patient_id", "date", "drug"),
)
MEDICATIONS = TableSpec(
    "medications",
    required=("patient_id", "drug", "start_date", "stop_date"),
    extra=(),
    key=("patient_id", "drug", "start_date"),
)
ADVERSE_EVENTS = TableSpec(
    "adverse_events",
    required=(
        "patient_id", "onset_date", "term", "grade", "serious", "related", "outcome",
        "resolved_date",
    ),
    extra=("term_text", "action"),
    key=("patient_id", "onset_date", "term"),
)
MILESTONES = TableSpec(
    "milestones",
    required=("patient_id", "date", "kind"),
    extra=(),
    key=("patient_id", "kind"),
)

#: Every table, parents first: the order in which files are imported and exported.
TABLES: tuple[TableSpec, ...] = (
    PATIENTS, ALSFRS, MEASUREMENTS, ADMINISTRATIONS, MEDICATIONS, ADVERSE_EVENTS, MILESTONES,
)
TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}
