"""The import's bulk insert stores exactly what SQLAlchemy Core's insert would: the same text
for vocabularies, dates, timestamps, JSON and flags, and the columns' Python defaults, on
SQLite (executemany) and PostgreSQL (COPY)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.orm import Session

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.store import models
from alsrwe.store.writes.upsert import insert_many
from tests.store.conftest import MakePatient

CHANGED_AT = dt.datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)


def _row(patient_id: int, day: int) -> dict[str, object]:
    return {"patient_id": patient_id, "date": dt.date(2024, 1, day),
            "kind": MeasurementKind.NFL_SERUM, "value": 41.5, "unit": "pg/mL",
            "assay": "simoa", "lab": None,
            "confirmed_warnings": [{"code": "value.implausible", "message": "high"}]}


def test_insert_many_stores_what_core_stores(engine: Engine, make_patient: MakePatient) -> None:
    table: Table = models.Measurement.__table__  # type: ignore[assignment]
    stamp = {"changed_at": CHANGED_AT, "changed_by": "import"}
    with Session(engine) as session, session.begin():
        patient = make_patient(session)
        session.flush()
        session.execute(insert(table), [{**_row(patient.id, 1), **stamp, "import_row": 2}])
        insert_many(session, table, [_row(patient.id, 2), _row(patient.id, 3)], stamp,
                    {"import_row": [3, 4]})
    columns = [c for c in table.c if c.name not in ("id", "date", "import_row")]
    with engine.connect() as connection:
        raw = connection.exec_driver_sql(  # the stored text, not SQLAlchemy's reading of it
            f"SELECT {', '.join(c.name for c in columns)}, import_row FROM measurements "
            "ORDER BY date").all()
        read = connection.execute(select(table.c.changed_at, table.c.version,
                                         table.c.kind).order_by(table.c.date)).all()
    core, *bulk = raw
    assert [row[:-1] for row in bulk] == [core[:-1], core[:-1]]
    assert [row[-1] for row in raw] == [2, 3, 4]
    assert {tuple(row) for row in read} == {(CHANGED_AT, 1, MeasurementKind.NFL_SERUM)}
