"""An import is judged before it takes the write lock: a refused batch never blocks (or waits
for) the registry's other writers, and a verdict stands only while the registry is unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from alsrwe.domain.errors import InvalidInput
from alsrwe.interop.tidy_csv import import_tidy
from alsrwe.interop.tidy_csv.files import read_folder
from alsrwe.interop.tidy_csv.rows import batch_of
from alsrwe.store.db import unit_of_work
from alsrwe.store.writes.imports import judge_batch, registry_version, write_batch
from tests.interop.test_tidy_csv import ALSFRS, TODAY, VALID, write


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_refused_import_does_not_wait_for_the_write_lock(engine: Engine,
                                                          tmp_path: Path) -> None:
    """Another writer holds SQLite's write lock; a batch the rulebook refuses is refused at
    once (the rule, not "database is locked" after the 30 s busy timeout)."""
    bad = write(tmp_path / "bad", {**VALID, "alsfrs": ALSFRS.replace(",4,4,4,3,", ",4,4,5,3,",
                                                                     1)})
    holder = sqlite3.connect(make_url(str(engine.url)).database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(InvalidInput) as refused:
            import_tidy(engine, bad, today=TODAY)
        assert any(p.field == "q3" for p in refused.value.problems)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_verdict_is_judged_again_when_the_registry_changed(engine: Engine,
                                                            tmp_path: Path) -> None:
    """Judged before the lock; then someone else records the patient's death before the
    batch's ratings. The write judges again and refuses them (nothing written): a stale
    verdict would have stored ratings after a death."""
    import_tidy(engine, write(tmp_path / "first", {"patients": VALID["patients"]}), today=TODAY)
    folder = write(tmp_path / "second", {"alsfrs": ALSFRS})
    batch, problems = batch_of(read_folder(folder), TODAY)
    with unit_of_work(engine, read_only=True) as session:
        judged = judge_batch(session, batch, today=TODAY, read_problems=problems)
        before = registry_version(session)
    death = "patient_id,date,kind\nBER-001,2023-03-01,death\n"
    import_tidy(engine, write(tmp_path / "other", {"milestones": death}), today=TODAY)
    with unit_of_work(engine, read_only=True) as session:
        assert registry_version(session) != before
    with pytest.raises(InvalidInput) as refused, unit_of_work(engine) as session:
        write_batch(session, batch, actor="test", today=TODAY, source="second",
                    read_problems=problems, judged=judged)
    assert {p.code for p in refused.value.problems} == {"date.after_death"}
