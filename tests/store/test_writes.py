"""The one write path (alsrwe.store.writes): rulebook first, confirmations kept, one audit entry.

Runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from alsrwe.domain.errors import InvalidInput, NotFound, UnconfirmedWarnings
from alsrwe.domain.records import administration_entry, measurement_entry, milestone_entry
from alsrwe.interop.tidy_csv import export_tidy, import_tidy
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import Administration, AuditEntry, Measurement, Patient
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import add_record, correct_record
from alsrwe.store.writes.self_reports import issue_link
from tests.store.conftest import MakePatient

TODAY = dt.date(2025, 3, 20)
EVERY = SiteScope.every_site()


def _patient(engine: Engine, make_patient: MakePatient) -> int:
    with unit_of_work(engine) as session:
        return make_patient(session).id


def _audits(engine: Engine) -> list[AuditEntry]:
    with unit_of_work(engine, read_only=True) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_warning_stops_the_record_until_it_is_confirmed(
    engine: Engine, make_patient: MakePatient
) -> None:
    pid = _patient(engine, make_patient)
    entry = administration_entry(date=dt.date(2025, 3, 1), drug="Qalsody", status="given",
                                 dose_mg=250, csf_removed_ml=10)
    with pytest.raises(UnconfirmedWarnings) as refused, unit_of_work(engine) as session:
        add_record(session, EVERY, pid, entry, actor="clin", today=TODAY)
    assert [p.code for p in refused.value.problems] == ["dose.not_label_dose"]
    assert _audits(engine) == []
    with unit_of_work(engine) as session:
        add_record(session, EVERY, pid, entry, actor="clin", today=TODAY,
                   confirmed={"dose.not_label_dose"})
    with unit_of_work(engine, read_only=True) as session:
        dose = session.scalars(select(Administration)).one()
    assert dose.drug == "tofersen"  # the brand name was mapped to the coded drug
    assert dose.confirmed_warnings == [{"code": "dose.not_label_dose",
                                        "message": "250 mg differs from the label dose of 100 mg"}]
    (audit,) = _audits(engine)
    assert audit.action == "administration_add"
    assert audit.detail is not None and audit.detail["confirmed_warnings"] == [
        "dose.not_label_dose"]


def test_a_hard_rule_refuses_even_with_every_warning_confirmed(
    engine: Engine, make_patient: MakePatient
) -> None:
    pid = _patient(engine, make_patient)
    entry = administration_entry(date=dt.date(1926, 1, 1), drug="tofersen", status="given",
                                 dose_mg=250)
    with pytest.raises(InvalidInput) as refused, unit_of_work(engine) as session:
        add_record(session, EVERY, pid, entry, actor="clin", today=TODAY, accept_warnings=True)
    assert not isinstance(refused.value, UnconfirmedWarnings)
    assert {p.code for p in refused.value.hard} == {"date.before_birth_year"}


def test_a_correction_keeps_the_confirmations_given_before(
    engine: Engine, make_patient: MakePatient
) -> None:
    pid = _patient(engine, make_patient)
    entry = measurement_entry(date=dt.date(2025, 3, 1), kind="nfl_serum", value=5000,
                              unit="pg/mL")
    with unit_of_work(engine) as session:
        row = add_record(session, EVERY, pid, entry, actor="clin", today=TODAY,
                         confirmed={"value.outside_range"})
        record_id = row.id  # type: ignore[attr-defined]
    with unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", record_id, {"lab": "Lab B"},
                       actor="clin", today=TODAY)
    with unit_of_work(engine) as session:  # a correction into range clears the warning
        correct_record(session, EVERY, "measurements", record_id, {"value": 50},
                       actor="clin", today=TODAY)
        corrected = session.get(Measurement, record_id)
        assert corrected is not None and corrected.confirmed_warnings is None
    with pytest.raises(InvalidInput, match="before 1900"), unit_of_work(engine) as session:
        correct_record(session, EVERY, "measurements", record_id,
                       {"date": dt.date(1899, 1, 1)}, actor="clin", today=TODAY)


def test_a_death_before_a_recorded_dose_is_refused(
    engine: Engine, make_patient: MakePatient
) -> None:
    pid = _patient(engine, make_patient)
    dose = administration_entry(date=dt.date(2025, 3, 1), drug="tofersen", status="given",
                                dose_mg=100)
    with unit_of_work(engine) as session:
        add_record(session, EVERY, pid, dose, actor="clin", today=TODAY)
    death = milestone_entry(kind="death", date=dt.date(2025, 2, 1))
    with pytest.raises(InvalidInput, match="already dated 2025-03-01"), \
            unit_of_work(engine) as session:
        add_record(session, EVERY, pid, death, actor="clin", today=TODAY)


def test_no_self_report_link_for_a_patient_who_died(
    engine: Engine, make_patient: MakePatient
) -> None:
    pid = _patient(engine, make_patient)
    with unit_of_work(engine) as session:
        add_record(session, EVERY, pid, milestone_entry(kind="death", date=dt.date(2025, 1, 1)),
                   actor="clin", today=TODAY)
    with pytest.raises(InvalidInput, match="no self-report link"), \
            unit_of_work(engine) as session:
        issue_link(session, EVERY, pid, "h" * 64, created_by=None, actor="clin",  # type: ignore[arg-type]
                   now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(days=1))


def test_a_patient_outside_the_scope_is_not_found(
    engine: Engine, make_patient: MakePatient
) -> None:
    pid = _patient(engine, make_patient)
    entry = measurement_entry(date=dt.date(2025, 3, 1), kind="nfl_serum", value=50,
                              unit="pg/mL")
    with pytest.raises(NotFound), unit_of_work(engine) as session:
        add_record(session, SiteScope.only([]), pid, entry, actor="clin", today=TODAY)


PATIENTS = ("patient_id,site,sex,birth_year,status,sod1_variant,zygosity,onset_date,"
            "onset_region,diagnosis_date\n")
BER = "BER-001,BER,F,1968,patient,R115G,heterozygous,2022-03-01,lower_limb,\n"
DOSES = ("patient_id,date,drug,dose_mg,status,lot,csf_removed_ml\n"
         "BER-001,2025-01-01,Qalsody,250,given,L1,10\n")


def _folder(path: Path, **files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / f"{name}.csv").write_text(text, encoding="utf-8")
    return path


def test_an_import_keeps_confirmations_and_a_reimport_of_its_export_needs_none(
    engine: Engine, tmp_path: Path
) -> None:
    folder = _folder(tmp_path / "in", patients=PATIENTS + BER, administrations=DOSES)
    with pytest.raises(UnconfirmedWarnings, match="250 mg differs"):
        import_tidy(engine, folder, today=TODAY)
    report = import_tidy(engine, folder, today=TODAY, accept_warnings=True)
    assert report.confirmed_warnings == 1
    export_tidy(engine, tmp_path / "out")
    exported = (tmp_path / "out" / "administrations.csv").read_text()
    assert "dose.not_label_dose" in exported
    assert "R115G" in (tmp_path / "out" / "patients.csv").read_text()  # notation as entered
    again = import_tidy(engine, tmp_path / "out", today=TODAY)  # no --accept-warnings
    assert again.counts["administrations"] == (0, 0, 1)
    assert again.counts["patients"] == (0, 0, 1)
    also = import_tidy(engine, folder, today=TODAY)  # the original file: confirmed before
    assert also.counts["administrations"] == (0, 0, 1)


def test_an_identity_change_by_import_is_confirmed_into_the_audit_trail(
    engine: Engine, tmp_path: Path
) -> None:
    import_tidy(engine, _folder(tmp_path / "a", patients=PATIENTS + BER), today=TODAY)
    moved = PATIENTS + BER.replace("BER-001,BER,F", "BER-001,MUC,M")
    with pytest.raises(UnconfirmedWarnings) as refused:
        import_tidy(engine, _folder(tmp_path / "b", patients=moved), today=TODAY)
    assert {p.code for p in refused.value.problems} == {"patient.site_changed",
                                                        "patient.sex_changed"}
    import_tidy(engine, tmp_path / "b", today=TODAY, accept_warnings=True)
    with unit_of_work(engine, read_only=True) as session:
        patient = session.scalars(select(Patient)).one()
        assert patient.site.code == "MUC" and patient.confirmed_warnings is None
    audit = _audits(engine)[-1]
    assert audit.detail is not None
    assert {w["code"] for w in audit.detail["confirmed_warnings"]} == {
        "patient.site_changed", "patient.sex_changed"}


def test_a_pseudonym_differing_only_in_case_is_refused(engine: Engine, tmp_path: Path) -> None:
    import_tidy(engine, _folder(tmp_path / "a", patients=PATIENTS + BER), today=TODAY)
    twin = PATIENTS + BER.replace("BER-001", "ber-001")
    with pytest.raises(InvalidInput, match="differs only in letter case"):
        import_tidy(engine, _folder(tmp_path / "b", patients=twin), today=TODAY)
    with unit_of_work(engine, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 1
