"""``patients.revision`` rises with every change to a patient or their record (migration 0004).

The database raises it (triggers), so these tests write with plain SQL statements, as the
importer or someone at a SQL prompt would, not through the app's use cases.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.events import MilestoneKind
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Measurement, Medication, Milestone, Patient
from tests.store.conftest import MakePatient


def _revisions(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine) as session:
        return dict(session.execute(select(Patient.pseudonym, Patient.revision)).all())


@pytest.fixture
def two_patients(engine: Engine, make_patient: MakePatient) -> dict[str, int]:
    with unit_of_work(engine) as session:
        ids = {p: make_patient(session, pseudonym=p).id for p in ("BER-001", "BER-002")}
    assert _revisions(engine) == {"BER-001": 0, "BER-002": 0}
    return ids


def _measurement(patient_id: int, day: int) -> dict[str, object]:
    return {"patient_id": patient_id, "date": dt.date(2025, 1, day),
            "kind": MeasurementKind.NFL_SERUM, "value": 40.0 + day, "unit": "pg/mL"}


def test_insert_update_and_delete_of_record_rows_raise_only_their_patients_revision(
    engine: Engine, two_patients: dict[str, int]
) -> None:
    first = two_patients["BER-001"]
    with unit_of_work(engine) as session:
        session.execute(insert(Measurement), [_measurement(first, d) for d in (1, 2, 3)])
    after_insert = _revisions(engine)
    assert after_insert["BER-001"] > 0 and after_insert["BER-002"] == 0

    with unit_of_work(engine) as session:
        session.execute(update(Measurement).where(Measurement.patient_id == first)
                        .values(value=Measurement.value + 1))
    after_update = _revisions(engine)
    assert after_update["BER-001"] > after_insert["BER-001"] and after_update["BER-002"] == 0

    with unit_of_work(engine) as session:
        session.execute(delete(Measurement).where(Measurement.patient_id == first))
    after_delete = _revisions(engine)
    assert after_delete["BER-001"] > after_update["BER-001"] and after_delete["BER-002"] == 0


def test_moving_a_row_to_another_patient_raises_both(
    engine: Engine, two_patients: dict[str, int]
) -> None:
    with unit_of_work(engine) as session:
        session.execute(insert(Milestone), [{"patient_id": two_patients["BER-001"],
                                             "date": dt.date(2025, 1, 1),
                                             "kind": MilestoneKind.GASTROSTOMY}])
    before = _revisions(engine)
    with unit_of_work(engine) as session:
        session.execute(update(Milestone).values(patient_id=two_patients["BER-002"]))
    after = _revisions(engine)
    assert after["BER-001"] > before["BER-001"] and after["BER-002"] > before["BER-002"]


@pytest.mark.parametrize("table", [Medication])
def test_every_record_table_is_watched(
    engine: Engine, two_patients: dict[str, int], table: type[Medication]
) -> None:
    with unit_of_work(engine) as session:
        session.execute(insert(table), [{"patient_id": two_patients["BER-002"],
                                         "drug": "riluzole", "start_date": dt.date(2024, 1, 1)}])
    assert _revisions(engine)["BER-002"] > 0


def test_changing_the_patient_raises_it_and_an_orm_write_too(
    engine: Engine, two_patients: dict[str, int]
) -> None:
    with unit_of_work(engine) as session:
        session.execute(update(Patient).where(Patient.pseudonym == "BER-001")
                        .values(birth_year=1970))
    assert _revisions(engine) == {"BER-001": 1, "BER-002": 0}
    with Session(engine) as session, session.begin():
        patient = session.get(Patient, two_patients["BER-002"])
        assert patient is not None
        patient.birth_year = 1971
    assert _revisions(engine) == {"BER-001": 1, "BER-002": 1}


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_on_postgresql_a_transaction_writes_each_patient_row_once(
    engine: Engine, two_patients: dict[str, int]
) -> None:
    """An importer's executemany is one statement per row: bumping on each would bloat."""
    first = two_patients["BER-001"]
    with unit_of_work(engine) as session:
        for day in range(1, 21):
            session.execute(insert(Measurement), [_measurement(first, day)])
    assert _revisions(engine)["BER-001"] == 1
    with unit_of_work(engine) as session:  # the patient's own update raises it in its write
        session.execute(insert(Measurement), [_measurement(first, 21)])
        session.execute(update(Patient).where(Patient.id == first).values(birth_year=1969))
    assert _revisions(engine)["BER-001"] == 3


@pytest.mark.parametrize("table", ["treatments", "voided_records", "flag_acknowledgements"])
def test_the_clinic_tables_of_migration_0007_raise_the_revision_too(
    engine: Engine, two_patients: dict[str, int], table: str
) -> None:
    """The patient page shows treatments, voided records and acknowledged flags: a change to
    any of them, however written, must reach the next view (the page cache's key)."""
    from sqlalchemy import text

    first = two_patients["BER-001"]
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = {
        "treatments": {"regimen": "tofersen_us", "start_date": dt.date(2025, 1, 1)},
        "voided_records": {"table_name": "measurements", "record_id": 7, "record": "{}",
                           "reason": "typo", "voided_by": "sql", "voided_at": now},
        "flag_acknowledgements": {"flag": "csf", "sample_date": dt.date(2025, 1, 1),
                                  "acknowledged_by": "sql", "acknowledged_at": now},
    }[table]
    columns = ", ".join(["patient_id", *rows])
    values = ", ".join([":patient_id", *(f":{name}" for name in rows)])
    steps = (f"INSERT INTO {table} ({columns}) VALUES ({values})",
             f"UPDATE {table} SET patient_id = patient_id WHERE patient_id = :patient_id",
             f"DELETE FROM {table} WHERE patient_id = :patient_id")
    seen = _revisions(engine)["BER-001"]
    for statement in steps:
        with engine.begin() as connection:
            connection.execute(text(statement), {"patient_id": first, **rows})
        now_seen = _revisions(engine)
        assert now_seen["BER-001"] > seen, statement
        assert now_seen["BER-002"] == 0
        seen = now_seen["BER-001"]
