"""Trust in the store: a sealed append-only trail, record versions, provenance, stale imports."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from alsrwe.domain.errors import InvalidInput, StaleVersion
from alsrwe.domain.records import measurement_entry
from alsrwe.interop.tidy_csv import export_tidy, import_tidy
from alsrwe.store.db import make_engine, unit_of_work
from alsrwe.store.models import AuditEntry, ImportRun, Measurement, Site
from alsrwe.store.reads.audit_log import AuditFilter, audit_entries, chain_head, verify_chain
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import add_record, correct_record
from alsrwe.store.writes.accounts import change_role, create_account
from tests.store.conftest import MakePatient

TODAY = dt.date(2025, 3, 20)
EVERY = SiteScope.every_site()
PATIENTS = ("patient_id,site,sex,birth_year,status,sod1_variant,zygosity,onset_date,"
            "onset_region,diagnosis_date\n"
            "BER-001,BER,F,1968,patient,A4V,heterozygous,2022-03-01,lower_limb,\n")
NFL = ("patient_id,date,kind,value,unit,assay,lab\n"
       "BER-001,2025-01-01,nfl_serum,47.5,pg/mL,Simoa,\n"
       "BER-001,2025-02-01,nfl_serum,40,pg/mL,Simoa,\n")


def _folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    (path / "measurements.csv").write_text(NFL, encoding="utf-8")
    return path


def _measurement(engine: Engine, make_patient: MakePatient, value: float = 47.5) -> int:
    with unit_of_work(engine) as session:
        pid = make_patient(session).id
        row = add_record(session, EVERY, pid, measurement_entry(
            date=dt.date(2025, 1, 1), kind="nfl_serum", value=value, unit="pg/mL"),
            actor="clin", today=TODAY)
        return int(row.id)  # type: ignore[attr-defined]


def test_the_chain_holds_and_names_patients(engine: Engine, make_patient: MakePatient) -> None:
    record_id = _measurement(engine, make_patient)
    with unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", record_id, {"value": 475},
                       actor="clin2", today=TODAY, reason="typo", expected_version=1)
    with unit_of_work(engine, read_only=True) as session:
        assert verify_chain(session) is None
        head = chain_head(session)
        rows = audit_entries(session, AuditFilter(patient="BER-001"))
        assert [r.action for r in rows] == ["measurement_update", "measurement_add"]
        assert rows[0].detail["changes"] == {"value": {"before": 47.5, "after": 475.0}}
        assert rows[1].detail["after"]["value"] == 47.5
        assert audit_entries(session, AuditFilter(actor="clin2"))[0].id == head.last_id
    assert head.entries == 2


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'mallory'",
                                       "DELETE FROM audit_log"])
def test_the_application_cannot_rewrite_the_trail(engine: Engine, make_patient: MakePatient,
                                                  statement: str) -> None:
    _measurement(engine, make_patient)
    with pytest.raises(DBAPIError, match="audit entries cannot be changed"), \
            engine.begin() as connection:
        connection.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="cannot be changed"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    with unit_of_work(engine, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        assert verify_chain(session) is None


def test_a_failure_between_change_and_entry_leaves_neither(
    engine: Engine, make_patient: MakePatient, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_id = _measurement(engine, make_patient)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected after the change, before its entry")

    monkeypatch.setattr("alsrwe.store.writes.corrections.record_audit", broken)
    with pytest.raises(RuntimeError, match="injected"), unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", record_id, {"value": 475},
                       actor="clin", today=TODAY)
    monkeypatch.setattr("alsrwe.store.audit.entry_hash", broken)
    with pytest.raises(RuntimeError, match="injected"), unit_of_work(engine) as session:
        add_record(session, EVERY, _pid(engine), measurement_entry(
            date=dt.date(2025, 2, 1), kind="nfl_serum", value=50, unit="pg/mL"),
            actor="clin", today=TODAY)
    with unit_of_work(engine, read_only=True) as session:
        assert session.get(Measurement, record_id).value == 47.5  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(Measurement)) == 1
        assert chain_head(session).entries == 1
        assert verify_chain(session) is None


def _pid(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as session:
        return int(session.scalar(select(Measurement.patient_id)) or 0)


def test_a_stale_version_is_refused_naming_who_changed_it(
    engine: Engine, make_patient: MakePatient
) -> None:
    record_id = _measurement(engine, make_patient)
    with unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", record_id, {"value": 48},
                       actor="alice", today=TODAY, expected_version=1)
    with pytest.raises(StaleVersion) as refused, unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", record_id, {"value": 49},
                       actor="bob", today=TODAY, expected_version=1)
    error = refused.value
    assert (error.expected, error.current, error.changed_by) == (1, 2, "alice")
    assert error.current_values["value"] == 48
    assert "changed by alice" in str(error)
    with unit_of_work(engine, read_only=True) as session:
        row = session.get(Measurement, record_id)
        assert row is not None and (row.value, row.version, row.changed_by) == (48, 2, "alice")


@pytest.mark.parametrize("rounds", [500])
def test_two_clients_lose_no_update(engine: Engine, make_patient: MakePatient,
                                    rounds: int) -> None:
    """Two clients each add 1 to the same value ``rounds`` times by read-modify-write; every
    refused write is a StaleVersion and is retried, so the final value counts every round."""
    record_id = _measurement(engine, make_patient, value=0)
    conflicts = [0, 0]
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            done = 0
            while done < rounds:
                with unit_of_work(engine, read_only=True) as session:
                    row = session.get(Measurement, record_id)
                    assert row is not None
                    value, version = row.value, row.version
                try:
                    with unit_of_work(engine) as session:
                        correct_record(session, EVERY, "measurements", record_id,
                                       {"value": value + 1}, actor=f"client{number}",
                                       today=TODAY, expected_version=version)
                    done += 1
                except StaleVersion:
                    conflicts[number] += 1
        except BaseException as error:  # noqa: BLE001 (reported by the test thread)
            failures.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    with unit_of_work(engine, read_only=True) as session:
        row = session.get(Measurement, record_id)
        assert row is not None
        assert row.value == 2 * rounds  # 0 lost updates
        assert row.version == 2 * rounds + 1
        assert verify_chain(session) is None
        updates = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "measurement_update"))
    assert updates == 2 * rounds
    print(f"{engine.dialect.name}: {2 * rounds} rounds, 0 lost, {sum(conflicts)} refused as "
          "conflicts and retried")  # the figure in docs/reliability.md


def test_imported_rows_carry_their_provenance(engine: Engine, tmp_path: Path) -> None:
    import_tidy(engine, _folder(tmp_path / "in"), today=TODAY)
    with unit_of_work(engine, read_only=True) as session:
        run = session.scalars(select(ImportRun)).one()
        rows = session.scalars(select(Measurement).order_by(Measurement.date)).all()
        assert run.files == {"patients": "patients.csv", "measurements": "measurements.csv"}
        assert [(r.import_id, r.import_row, r.version) for r in rows] == [
            (run.id, 2, 1), (run.id, 3, 1)]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert entry.detail is not None and entry.detail["import_id"] == run.id


def test_a_reimport_cannot_silently_undo_a_later_correction(engine: Engine,
                                                             tmp_path: Path) -> None:
    import_tidy(engine, _folder(tmp_path / "in"), today=TODAY)
    export_tidy(engine, tmp_path / "out")
    with unit_of_work(engine, read_only=True) as session:
        record_id = session.scalar(select(Measurement.id).where(Measurement.value == 47.5))
    assert record_id is not None
    with unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", record_id, {"value": 475},
                       actor="clin", today=TODAY, reason="decimal point", expected_version=1)
    with pytest.raises(InvalidInput) as refused:
        import_tidy(engine, tmp_path / "out", today=TODAY)
    [problem] = refused.value.problems
    assert (problem.file, problem.row, problem.code) == ("measurements.csv", 2,
                                                         "changed_since_export")
    assert "made by clin" in problem.rule and "value 475.0 → 47.5" in problem.rule
    with unit_of_work(engine, read_only=True) as session:
        assert session.get(Measurement, record_id).value == 475  # type: ignore[union-attr]
    import_tidy(engine, tmp_path / "out", today=TODAY, overwrite_newer=True)
    with unit_of_work(engine, read_only=True) as session:
        row = session.get(Measurement, record_id)
        assert row is not None and (row.value, row.version) == (47.5, 3)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")
                                .order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.detail is not None
        assert entry.detail["updated"] == [{"table": "measurements", "id": record_id, "row": 2,
                                            "changes": {"value": {"before": 475.0,
                                                                  "after": 47.5}}}]
        assert verify_chain(session) is None
    again = import_tidy(engine, tmp_path / "out", today=TODAY)  # nothing to overwrite now
    assert again.counts["measurements"] == (0, 0, 2)


def test_a_role_change_is_audited_with_before_and_after(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        session.add_all([Site(code="BER"), Site(code="ULM")])
        session.flush()
        create_account(session, "dora", "a-long-password-1", "clinician", ["BER"], actor="cli")
    with unit_of_work(engine) as session:
        change_role(session, "dora", "data_manager", ["BER", "ULM"], actor="admin")
    with unit_of_work(engine, read_only=True) as session:
        [entry] = audit_entries(session, AuditFilter(action="user_role_change"))
        assert entry.actor == "admin"
        assert entry.detail == {"username": "dora",
                                "before": {"role": "clinician", "sites": ["BER"]},
                                "after": {"role": "data_manager", "sites": ["BER", "ULM"]}}


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_application_role_may_append_to_the_trail_but_not_rewrite_it(
    engine: Engine, make_patient: MakePatient
) -> None:
    """The two-role setup of docs/reliability.md: the web app's login role joins alsrwe_app."""
    login = f"alsrwe_clinic_{secrets.token_hex(4)}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {login} LOGIN IN ROLE alsrwe_app"))
    app_engine = make_engine(engine.url.set(username=login).render_as_string(
        hide_password=False))
    try:
        _measurement(app_engine, make_patient)  # the write path works as the app role
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log", "DELETE FROM audit_chain_head",
                          "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
                          "DROP TRIGGER audit_log_append_only ON audit_log"):
            with pytest.raises(DBAPIError, match="permission denied|must be owner"), \
                    app_engine.begin() as connection:
                connection.execute(text(statement))
        with unit_of_work(app_engine, read_only=True) as session:
            assert verify_chain(session) is None
            assert chain_head(session).entries == 1
    finally:
        app_engine.dispose()
        with engine.begin() as connection:
            connection.execute(text(f"DROP OWNED BY {login}"))
            connection.execute(text(f"DROP ROLE {login}"))
