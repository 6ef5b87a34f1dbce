"""The view writer: queued views are written once each, and kept while the database fails."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from alsrwe.store.db import unit_of_work
from alsrwe.store.models import AuditEntry
from alsrwe.store.reads.audit_log import verify_chain
from alsrwe.web.viewing import View, ViewLog


def _views(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "view")) or 0


def test_views_are_written_once_and_kept_through_a_failure(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = ViewLog(engine)
    for number in range(3):
        log.add(View("clin", "patient_page", None, {"n": number}))

    def away(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    with monkeypatch.context() as patched:
        patched.setattr("alsrwe.web.viewing.record_view", away)
        with pytest.raises(OperationalError):
            log.flush()
    assert (len(log.pending), _views(engine)) == (3, 0)
    assert log.flush() == 3 and log.flush() == 0
    log.start()
    log.add(View("clin", "patient_page", None, {"n": 3}))
    log.stop()  # writes what is left
    assert _views(engine) == 4
    with unit_of_work(engine, read_only=True) as session:
        assert verify_chain(session) is None
