"""Tampering with the audit trail is found: 1,000 copies of a registry, one random change to
the trail in each (a field edited, an entry deleted, inserted or two reordered), each caught
by ``verify_chain``. The triggers that refuse such changes are dropped first, as someone with
the file or the owner's password could."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from alsrwe.domain.records import measurement_entry
from alsrwe.store.db import make_engine, unit_of_work
from alsrwe.store.reads.audit_log import verify_chain
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import add_record, correct_record
from tests.store.conftest import MakePatient

TODAY = dt.date(2025, 3, 20)
COPIES = int(os.environ.get("ALSRWE_TAMPER_COPIES", "1000"))
ENTRIES = 40
FIELDS = ("at", "actor", "action", "entity", "detail", "patient_id", "prev_hash", "hash")

Mutation = Callable[[sqlite3.Connection, random.Random, list[int]], str]


def _fill(engine: Engine, make_patient: MakePatient) -> None:
    with unit_of_work(engine) as session:
        pid = make_patient(session).id
    for day in range(1, ENTRIES // 2 + 1):
        with unit_of_work(engine) as session:
            row = add_record(session, SiteScope.every_site(), pid, measurement_entry(
                date=dt.date(2024, 1, 1) + dt.timedelta(days=day), kind="nfl_serum",
                value=40 + day, unit="pg/mL"), actor="clin", today=TODAY)
            record_id = int(row.id)  # type: ignore[attr-defined]
        with unit_of_work(engine) as session:
            correct_record(session, SiteScope.every_site(), "measurements", record_id,
                           {"value": 41 + day}, actor="clin2", today=TODAY)


def _edit(connection: sqlite3.Connection, rng: random.Random, ids: list[int]) -> str:
    target, field = rng.choice(ids), rng.choice(FIELDS)
    old = connection.execute(f"SELECT {field} FROM audit_log WHERE id = ?", (target,)).fetchone()[0]
    new: object
    if field == "at":
        new = "2020-01-01 00:00:00.000000"
    elif field == "detail":
        value = json.loads(old)
        value["patient"] = "SOMEONE-ELSE"
        new = json.dumps(value)
    elif field == "patient_id":
        new = (old or 0) + 1
    elif field in ("prev_hash", "hash"):
        new = ("f" if old[0] != "f" else "e") + old[1:]
    else:
        new = f"{old}x"
    connection.execute(f"UPDATE audit_log SET {field} = ? WHERE id = ?", (new, target))
    return f"edit {field} of {target}"


def _delete(connection: sqlite3.Connection, rng: random.Random, ids: list[int]) -> str:
    target = rng.choice(ids)
    connection.execute("DELETE FROM audit_log WHERE id = ?", (target,))
    return f"delete {target}"


def _insert(connection: sqlite3.Connection, rng: random.Random, ids: list[int]) -> str:
    """A forged entry: a copy of a real one, after the last or in a gap made by renumbering."""
    source = rng.choice(ids)
    if rng.random() < 0.5:
        new_id = max(ids) + 1
    else:
        new_id = rng.choice(ids[1:])
        connection.execute("UPDATE audit_log SET id = id + 1000000 WHERE id >= ?", (new_id,))
        connection.execute("UPDATE audit_log SET id = id - 999999 WHERE id >= 1000000")
        source = source + 1 if source >= new_id else source
    connection.execute(
        "INSERT INTO audit_log (id, at, actor, action, entity, detail, patient_id, prev_hash, "
        "hash) SELECT ?, at, actor, action, entity, detail, patient_id, prev_hash, hash "
        "FROM audit_log WHERE id = ?", (new_id, source))
    return f"insert at {new_id}"


def _reorder(connection: sqlite3.Connection, rng: random.Random, ids: list[int]) -> str:
    first, second = rng.sample(ids, 2)
    connection.execute("UPDATE audit_log SET id = -1 WHERE id = ?", (first,))
    connection.execute("UPDATE audit_log SET id = ? WHERE id = ?", (first, second))
    connection.execute("UPDATE audit_log SET id = ? WHERE id = -1", (second,))
    return f"swap {first} and {second}"


MUTATIONS: tuple[Mutation, ...] = (_edit, _delete, _insert, _reorder)


def _one_change(connection: sqlite3.Connection, rng: random.Random) -> str:
    connection.execute("DROP TRIGGER audit_log_no_update")
    connection.execute("DROP TRIGGER audit_log_no_delete")
    ids = [row[0] for row in connection.execute("SELECT id FROM audit_log ORDER BY id")]
    return rng.choice(MUTATIONS)(connection, rng, ids)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_change_to_a_copy_of_the_trail_is_found(
    engine: Engine, make_patient: MakePatient, tmp_path: Path
) -> None:
    _fill(engine, make_patient)
    original = Path(engine.url.database or "")
    engine.dispose()
    rng = random.Random(20261201)
    missed, kinds = [], {}
    for copy in range(COPIES):
        path = tmp_path / f"copy{copy}.db"
        shutil.copyfile(original, path)
        with closing(sqlite3.connect(path)) as connection, connection:
            what = _one_change(connection, rng)
        kinds[what.split()[0]] = kinds.get(what.split()[0], 0) + 1
        copied = make_engine(f"sqlite:///{path}")
        try:
            with unit_of_work(copied, read_only=True) as session:
                if verify_chain(session) is None:
                    missed.append(what)
        finally:
            copied.dispose()
            path.unlink()
    assert missed == []
    assert set(kinds) == {"edit", "delete", "insert", "swap"}
    assert sum(kinds.values()) == COPIES


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_changes_to_the_trail_are_found_on_postgresql(
    engine: Engine, make_patient: MakePatient
) -> None:
    """The same on PostgreSQL, each change made and verified inside a transaction that is
    rolled back (the superuser of the tests skips the triggers)."""
    _fill(engine, make_patient)
    rng = random.Random(7)
    statements = {
        "edit": "UPDATE audit_log SET actor = actor || 'x' WHERE id = :id",
        "delete": "DELETE FROM audit_log WHERE id = :id",
        "detail": "UPDATE audit_log SET detail = '{\"forged\": true}' WHERE id = :id",
        "time": "UPDATE audit_log SET at = at + interval '1 second' WHERE id = :id",
    }
    for _ in range(100):
        kind = rng.choice(sorted(statements))
        with unit_of_work(engine) as session:
            ids = list(session.scalars(text("SELECT id FROM audit_log ORDER BY id")))
            session.execute(text("SET LOCAL session_replication_role = replica"))
            session.execute(text(statements[kind]), {"id": rng.choice(ids)})
            assert verify_chain(session) is not None, kind
            session.rollback()
    with unit_of_work(engine, read_only=True) as session:
        assert verify_chain(session) is None
