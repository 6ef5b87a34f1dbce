"""Every CHECK, UNIQUE, NOT NULL and FOREIGN KEY rejects bad rows, on SQLite and PostgreSQL.

Rows are written through untyped table stand-ins so that bad vocabulary values reach the
database (the ORM types would refuse them earlier); each case names the constraint it breaks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    String,
    Table,
    column,
    delete,
    func,
    insert,
    select,
    table,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import TableClause

from alsrwe.store.db import make_engine, migrate, unit_of_work
from alsrwe.store.models import Base, Vocabulary, utc_now

D = dt.date(2024, 1, 10)
FOREIGN_KEY = r"fk_\w+|FOREIGN KEY constraint failed"
PATIENT: dict[str, Any] = {
    "pseudonym": "BER-001",
    "sex": "F",
    "birth_year": 1968,
    "status": "patient",
    "sod1_hgvs": "p.Ala5Val",
    "sod1_legacy": "A4V",
    "sod1_input": "A4V",
    "zygosity": "heterozygous",
    "onset_date": dt.date(2022, 3, 1),
    "onset_region": "lower_limb",
    "diagnosis_date": dt.date(2022, 9, 15),
}


def patient_row(**overrides: Any) -> dict[str, Any]:
    return {**PATIENT, **overrides}


def untyped(name: str) -> TableClause:
    """The table with its column types, but vocabularies as plain strings and no defaults."""
    real: Table = Base.metadata.tables[name]
    return table(
        name,
        *(
            column(c.name, String() if isinstance(c.type, Vocabulary) else c.type)
            for c in real.columns
            if isinstance(c, Column)
        ),
    )


def valid_rows(patient_id: int) -> dict[str, dict[str, Any]]:
    """One valid row per patient table (patient ``patient_id``)."""
    return {
        "alsfrs_assessments": {
            "patient_id": patient_id,
            "date": D,
            **{f"q{i}": 3 for i in range(1, 13)},
            "gastrostomy": False,
            "source": "clinic",
        },
        "measurements": {
            "patient_id": patient_id,
            "date": D,
            "kind": "nfl_serum",
            "value": 45.0,
            "unit": "pg/mL",
        },
        "administrations": {
            "patient_id": patient_id,
            "date": D,
            "drug": "tofersen",
            "dose_mg": 100.0,
            "status": "given",
            "csf_removed_ml": 10.0,
        },
        "medications": {
            "patient_id": patient_id,
            "drug": "riluzole",
            "start_date": D,
            "stop_date": None,
        },
        "adverse_events": {
            "patient_id": patient_id,
            "onset_date": D,
            "term": "pain",
            "grade": 1,
            "serious": False,
            "related": True,
            "outcome": "recovered",
            "action": "none",
            "resolved_date": D + dt.timedelta(days=3),
        },
        "milestones": {"patient_id": patient_id, "date": D, "kind": "niv"},
    }


def add_site_and_patient(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        session.execute(insert(untyped("sites")).values(id=1, code="BER", name="Berlin"))
        patient = patient_row(site_id=1, created_at=utc_now())
        session.execute(insert(untyped("patients")).values(id=1, **patient))
    return 1


# (table, overrides, constraint) — overrides applied to the table's valid row.
CHECK_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("sites", {"code": ""}, "ck_sites_code_not_empty"),
    ("patients", {"pseudonym": ""}, "ck_patients_pseudonym_not_empty"),
    ("patients", {"birth_year": 1899}, "ck_patients_birth_year_range"),
    ("patients", {"birth_year": 2101}, "ck_patients_birth_year_range"),
    ("patients", {"sex": "X"}, "ck_patients_sex"),
    ("patients", {"status": "healthy"}, "ck_patients_status"),
    ("patients", {"zygosity": "hemizygous"}, "ck_patients_zygosity"),
    ("patients", {"onset_region": "trunk"}, "ck_patients_onset_region"),
    (
        "patients",
        {"status": "carrier", "onset_region": None, "diagnosis_date": None},
        "ck_patients_carrier_has_no_onset",
    ),
    (
        "patients",
        {"status": "carrier", "onset_date": None, "diagnosis_date": None},
        "ck_patients_carrier_has_no_onset",
    ),
    (
        "patients",
        {"status": "carrier", "onset_date": None, "onset_region": None},
        "ck_patients_carrier_has_no_onset",
    ),
    ("patients", {"onset_date": None, "diagnosis_date": None}, "ck_patients_patient_has_onset"),
    ("patients", {"diagnosis_date": dt.date(2022, 2, 28)}, "ck_patients_diagnosis_after_onset"),
    *(
        ("alsfrs_assessments", {f"q{i}": bad}, f"ck_alsfrs_assessments_q{i}_range")
        for i in range(1, 13)
        for bad in (-1, 5)
    ),
    ("alsfrs_assessments", {"source": "phone"}, "ck_alsfrs_assessments_source"),
    ("measurements", {"kind": "nfl_urine"}, "ck_measurements_kind"),
    ("measurements", {"value": -0.5}, "ck_measurements_value_not_negative"),
    ("measurements", {"unit": ""}, "ck_measurements_unit_not_empty"),
    ("administrations", {"drug": ""}, "ck_administrations_drug_not_empty"),
    ("administrations", {"dose_mg": 0.0}, "ck_administrations_dose_positive"),
    ("administrations", {"dose_mg": -100.0}, "ck_administrations_dose_positive"),
    ("administrations", {"status": "skipped"}, "ck_administrations_status"),
    ("administrations", {"dose_mg": None}, "ck_administrations_given_has_dose"),
    ("administrations", {"csf_removed_ml": -1.0}, "ck_administrations_csf_removed_not_negative"),
    ("medications", {"drug": ""}, "ck_medications_drug_not_empty"),
    (
        "medications",
        {"stop_date": D - dt.timedelta(days=1)},
        "ck_medications_stop_after_start",
    ),
    ("adverse_events", {"term": "headache"}, "ck_adverse_events_term"),
    ("adverse_events", {"term": "other"}, "ck_adverse_events_other_has_text"),
    ("adverse_events", {"grade": 0}, "ck_adverse_events_grade_range"),
    ("adverse_events", {"grade": 6}, "ck_adverse_events_grade_range"),
    ("adverse_events", {"outcome": "better"}, "ck_adverse_events_outcome"),
    ("adverse_events", {"action": "paused"}, "ck_adverse_events_action"),
    (
        "adverse_events",
        {"resolved_date": D - dt.timedelta(days=1)},
        "ck_adverse_events_resolved_after_onset",
    ),
    ("milestones", {"kind": "wheelchair"}, "ck_milestones_kind"),
]

NOT_NULL_CASES: list[tuple[str, str]] = [
    ("patients", "sex"),
    ("patients", "sod1_input"),
    ("patients", "site_id"),
    ("alsfrs_assessments", "q7"),
    ("alsfrs_assessments", "gastrostomy"),
    ("measurements", "value"),
    ("measurements", "unit"),
    ("administrations", "status"),
    ("medications", "start_date"),
    ("adverse_events", "serious"),
    ("adverse_events", "grade"),
    ("milestones", "date"),
]

# A second row that repeats the natural key but differs elsewhere.
DUPLICATE_CASES: list[tuple[str, dict[str, Any]]] = [
    ("sites", {"id": 2, "name": "another name"}),
    ("patients", {"id": 2, "birth_year": 1970}),
    ("alsfrs_assessments", {"q1": 0}),
    ("measurements", {"value": 99.0}),
    ("administrations", {"dose_mg": 12.0}),
    ("medications", {"stop_date": D + dt.timedelta(days=30)}),
    ("adverse_events", {"grade": 2}),
    ("milestones", {"date": D + dt.timedelta(days=400)}),
]


def row_for(table_name: str, **overrides: Any) -> dict[str, Any]:
    if table_name == "sites":
        row: dict[str, Any] = {"id": 1, "code": "BER", "name": "Berlin"}
    elif table_name == "patients":
        row = {"id": 1, **patient_row(site_id=1, created_at=utc_now())}
    else:
        row = valid_rows(patient_id=1)[table_name]
    row.update(overrides)
    return row


def write(engine: Engine, table_name: str, row: dict[str, Any]) -> None:
    with unit_of_work(engine) as session:
        session.execute(insert(untyped(table_name)).values(**row))


def prepare(engine: Engine, table_name: str) -> None:
    """Everything the row under test depends on (the site; the patient for child tables)."""
    if table_name == "patients":
        write(engine, "sites", row_for("sites"))
    elif table_name != "sites":
        add_site_and_patient(engine)


@pytest.mark.parametrize(
    ("table_name", "overrides", "constraint"),
    CHECK_CASES,
    ids=[f"{name}-{'-'.join(map(str, over.values()))}" for _, over, name in CHECK_CASES],
)
def test_check_constraint_rejects(
    engine: Engine, table_name: str, overrides: dict[str, Any], constraint: str
) -> None:
    prepare(engine, table_name)
    with pytest.raises(IntegrityError, match=constraint):
        write(engine, table_name, row_for(table_name, **overrides))


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """SQLite only: PostgreSQL has a native boolean type and needs no such CHECK."""
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.mark.parametrize("table_name", ["alsfrs_assessments", "adverse_events"])
def test_sqlite_booleans_are_0_or_1(sqlite_engine: Engine, table_name: str) -> None:
    engine = sqlite_engine
    prepare(engine, table_name)
    column_name = "gastrostomy" if table_name == "alsfrs_assessments" else "serious"
    row = row_for(table_name)
    row[column_name] = 2
    bare = table(table_name, *(column(name) for name in row))  # no Boolean coercion
    with (
        pytest.raises(IntegrityError, match=f"ck_{table_name}_{column_name}_bool"),
        unit_of_work(engine) as session,
    ):
        session.execute(insert(bare).values(**row))


@pytest.mark.parametrize(("table_name", "column_name"), NOT_NULL_CASES)
def test_not_null_rejects(engine: Engine, table_name: str, column_name: str) -> None:
    prepare(engine, table_name)
    with pytest.raises(IntegrityError) as raised:
        write(engine, table_name, row_for(table_name, **{column_name: None}))
    assert re.search(r"NOT NULL|not-null", str(raised.value))


@pytest.mark.parametrize(("table_name", "overrides"), DUPLICATE_CASES)
def test_natural_key_is_unique(engine: Engine, table_name: str, overrides: dict[str, Any]) -> None:
    prepare(engine, table_name)
    write(engine, table_name, row_for(table_name))
    with pytest.raises(IntegrityError, match=f"uq_{table_name}|UNIQUE constraint failed"):
        write(engine, table_name, row_for(table_name, **overrides))


@pytest.mark.parametrize("table_name", list(valid_rows(1)))
def test_child_needs_an_existing_patient(engine: Engine, table_name: str) -> None:
    add_site_and_patient(engine)
    with pytest.raises(IntegrityError, match=FOREIGN_KEY):
        write(engine, table_name, row_for(table_name, patient_id=999))


def test_patient_needs_an_existing_site(engine: Engine) -> None:
    with pytest.raises(IntegrityError, match=FOREIGN_KEY):
        write(engine, "patients", row_for("patients", site_id=999))


def test_a_site_with_patients_cannot_be_deleted(engine: Engine) -> None:
    add_site_and_patient(engine)
    with pytest.raises(IntegrityError, match=FOREIGN_KEY), unit_of_work(engine) as session:
        session.execute(delete(untyped("sites")))


def test_valid_edge_rows_are_accepted(engine: Engine) -> None:
    """Carriers without onset, missed doses without dose, negative megascore, ongoing drugs."""
    add_site_and_patient(engine)
    carrier = patient_row(
        pseudonym="BER-002",
        status="carrier",
        onset_date=None,
        onset_region=None,
        diagnosis_date=None,
    )
    write(engine, "patients", {"id": 2, "site_id": 1, "created_at": utc_now(), **carrier})
    edge_rows: list[tuple[str, dict[str, Any]]] = [
        ("administrations", {"status": "missed", "dose_mg": None, "csf_removed_ml": None}),
        ("measurements", {"kind": "hhd_megascore", "value": -1.5, "unit": "score"}),
        ("adverse_events", {"term": "other", "term_text": "post-LP headache", "action": None}),
        ("adverse_events", {"onset_date": D + dt.timedelta(days=1), "resolved_date": None}),
        ("alsfrs_assessments", {**{f"q{i}": 0 for i in range(1, 13)}, "gastrostomy": True}),
        ("alsfrs_assessments", {"source": "self"}),
        ("milestones", {"kind": "death", "date": D}),
    ]
    for table_name, overrides in edge_rows:
        write(engine, table_name, row_for(table_name, **overrides))
    for table_name, row in valid_rows(patient_id=2).items():
        write(engine, table_name, row)
    expected = {"administrations": 2, "measurements": 2, "adverse_events": 3}
    expected |= {"alsfrs_assessments": 3, "milestones": 2, "medications": 1}
    with engine.connect() as connection:
        for table_name, rows in expected.items():
            count = select(func.count()).select_from(table(table_name))
            assert connection.scalar(count) == rows, table_name
