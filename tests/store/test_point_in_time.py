"""A patient's record as it was: rebuilt from the trail after imports, corrections, voids."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import Engine, select

from alsrwe.domain.plausibility.identity import BIRTH_YEAR_CHANGED
from alsrwe.domain.records import measurement_entry
from alsrwe.interop.tidy_csv import import_tidy
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Measurement, Patient
from alsrwe.store.reads.point_in_time import patient_as_of
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import add_record, correct_record
from alsrwe.store.writes.patients import update_patient
from alsrwe.store.writes.voids import void_record
from tests.store.test_trust import TODAY, _folder

EVERY = SiteScope.every_site()


def _moment() -> dt.datetime:
    time.sleep(0.002)
    moment = dt.datetime.now(dt.UTC)
    time.sleep(0.002)
    return moment


def _values(engine: Engine, pid: int, at: dt.datetime) -> tuple[object, list[object]]:
    with unit_of_work(engine, read_only=True) as session:
        found = patient_as_of(session, EVERY, pid, at)
    birth = found.patient["birth_year"] if found.patient else None
    return birth, [(m["date"], m["value"]) for m in found.records["measurements"]]


def test_the_record_as_it_was_at_each_moment(engine: Engine, tmp_path: Path) -> None:
    before_import = _moment()
    import_tidy(engine, _folder(tmp_path / "in"), today=TODAY)
    imported = _moment()
    with unit_of_work(engine, read_only=True) as session:
        pid = session.scalars(select(Patient.id)).one()
        first = session.scalar(select(Measurement.id).where(Measurement.value == 47.5))
        second = session.scalar(select(Measurement.id).where(Measurement.value == 40))
    assert first is not None and second is not None
    with unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", first, {"value": 475}, actor="a",
                       today=TODAY)
    corrected = _moment()
    with unit_of_work(engine) as session:
        add_record(session, EVERY, pid, measurement_entry(
            date=dt.date(2025, 3, 1), kind="nfl_serum", value=30, unit="pg/mL"),
            actor="a", today=TODAY)
        void_record(session, EVERY, "measurements", second, "entered twice", actor="a",
                    now=dt.datetime.now(dt.UTC))
        update_patient(session, EVERY, pid, {"birth_year": 1969}, actor="a", today=TODAY,
                       confirmed={BIRTH_YEAR_CHANGED})
    assert _values(engine, pid, before_import) == (None, [])
    assert _values(engine, pid, imported) == (1968, [("2025-01-01", 47.5), ("2025-02-01", 40)])
    assert _values(engine, pid, corrected) == (1968, [("2025-01-01", 475), ("2025-02-01", 40)])
    assert _values(engine, pid, _moment()) == (1969, [("2025-01-01", 475), ("2025-03-01", 30)])
