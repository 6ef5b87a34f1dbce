"""The schema comes from Alembic: it builds from empty, is idempotent and matches the models."""

from __future__ import annotations

import re
from enum import StrEnum

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from alsrwe.domain.access import Role
from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.flags import FlagKind
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.domain.treatments import TreatmentEnd
from alsrwe.store.db import current_revision, downgrade, head_revision, make_engine, migrate
from alsrwe.store.models import Base

TABLES = {
    "sites",
    "patients",
    "alsfrs_assessments",
    "measurements",
    "administrations",
    "medications",
    "adverse_events",
    "milestones",
    "audit_log",
    "users",
    "user_sites",
    "web_sessions",
    "self_report_links",
}

VOCABULARIES: dict[tuple[str, str], type[StrEnum]] = {
    ("patients", "sex"): Sex,
    ("patients", "status"): PatientStatus,
    ("patients", "zygosity"): Zygosity,
    ("patients", "onset_region"): OnsetRegion,
    ("alsfrs_assessments", "source"): AssessmentSource,
    ("measurements", "kind"): MeasurementKind,
    ("administrations", "status"): AdministrationStatus,
    ("adverse_events", "term"): AeTerm,
    ("adverse_events", "outcome"): AeOutcome,
    ("adverse_events", "action"): AeAction,
    ("milestones", "kind"): MilestoneKind,
    ("users", "role"): Role,
    ("treatments", "end_kind"): TreatmentEnd,
    ("flag_acknowledgements", "flag"): FlagKind,
}


def test_migrate_builds_the_schema_from_empty(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision() == "0010"
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_migrate_twice_changes_nothing(engine: Engine) -> None:
    before = inspect(engine).get_table_names()
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert inspect(engine).get_table_names() == before


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate(engine)
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_constraint_names_match_the_models(engine: Engine) -> None:
    """compare_metadata ignores CHECK constraints and may ignore names: compare them here."""
    inspector = inspect(engine)
    native_boolean = engine.dialect.name != "sqlite"
    for table in Base.metadata.sorted_tables:
        expected_checks = {
            str(c.name)
            for c in table.constraints
            if type(c).__name__ == "CheckConstraint"
            and not (native_boolean and str(c.name).endswith("_bool"))
        }
        expected_checks |= {
            f"ck_{table.name}_{column.name}_bool"
            for column in table.columns
            if not native_boolean and column.type.python_type is bool
        }
        found_checks = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert found_checks == expected_checks, table.name
        found_uniques = {c["name"] for c in inspector.get_unique_constraints(table.name)}
        assert found_uniques == {
            str(c.name) for c in table.constraints if type(c).__name__ == "UniqueConstraint"
        }
        found_fks = {c["name"] for c in inspector.get_foreign_keys(table.name)}
        assert found_fks == {str(fk.name) for fk in table.foreign_key_constraints}
        assert inspector.get_pk_constraint(table.name)["name"] == f"pk_{table.name}"


def _allowed_values(engine: Engine, table: str, column: str) -> set[str]:
    checks = inspect(engine).get_check_constraints(table)
    (sqltext,) = [c["sqltext"] for c in checks if c["name"] == f"ck_{table}_{column}"]
    return set(re.findall(r"'([^']*)'", sqltext))


@pytest.mark.parametrize(("table", "column"), list(VOCABULARIES))
def test_migrated_vocabularies_match_the_domain_enums(
    engine: Engine, table: str, column: str
) -> None:
    """Fails when a domain enum grows: add a migration that replaces the CHECK constraint."""
    enum = VOCABULARIES[(table, column)]
    assert _allowed_values(engine, table, column) == {member.value for member in enum}


def test_every_vocabulary_column_is_covered() -> None:
    covered = {f"{table}.{column}" for table, column in VOCABULARIES}
    vocabulary_columns = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if type(column.type).__name__ == "Vocabulary"
    }
    assert covered == vocabulary_columns


def test_0009_keeps_adverse_events_and_their_triggers(db_url: str) -> None:
    """The new terms' CHECK replaces the old one without losing rows or revision triggers
    (SQLite rebuilds the table); the downgrade refuses while a new term is in use."""
    engine = make_engine(db_url)
    insert_patient = ("INSERT INTO sites (id, code, name) VALUES (1, 'BER', 'Berlin'); "
                      "INSERT INTO patients (id, pseudonym, site_id, sex, birth_year, status, "
                      "sod1_hgvs, sod1_legacy, sod1_input, zygosity, onset_date, created_at, "
                      "revision) VALUES (1, 'BER-0001', 1, 'F', 1970, 'patient', 'p.Ala5Val', "
                      "'A4V', 'A4V', 'heterozygous', '2023-01-01', '2024-01-01 00:00:00', 0)")
    event = ("INSERT INTO adverse_events (patient_id, onset_date, term, grade, serious, related, "
             "outcome, version) VALUES (1, '{day}', '{term}', 1, false, false, 'recovered', 1)")
    try:
        migrate(engine, "0008")
        with engine.begin() as connection:
            for statement in insert_patient.split("; "):
                connection.exec_driver_sql(statement)
            connection.exec_driver_sql(event.format(day="2024-01-02", term="pain"))
        with engine.begin() as connection:
            before = connection.exec_driver_sql(
                "SELECT revision FROM patients WHERE id = 1").scalar_one()
        migrate(engine, "0009")
        with engine.begin() as connection:
            connection.exec_driver_sql(event.format(day="2024-01-03",
                                                    term="post_lumbar_puncture_headache"))
            terms = [row[0] for row in connection.exec_driver_sql(
                "SELECT term FROM adverse_events ORDER BY onset_date")]
            revision = connection.exec_driver_sql(
                "SELECT revision FROM patients WHERE id = 1").scalar_one()
        assert terms == ["pain", "post_lumbar_puncture_headache"]
        assert revision > before  # the revision triggers survived the rebuild
        with pytest.raises(RuntimeError, match="use a term added by 0009"):
            downgrade(engine, "0008")
        assert current_revision(engine) == "0009"
    finally:
        engine.dispose()
