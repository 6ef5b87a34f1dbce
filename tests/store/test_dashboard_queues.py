"""The dashboard's queues: most urgent first, paged with counts, without the dead, by course.

Runs on SQLite and PostgreSQL (the ``engine`` fixture); "today" is 2025-03-20.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.errors import InvalidInput, NotFound
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.flags import FlagKind
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.regimens import TOFERSEN_US, AdministrationStatus
from alsrwe.domain.safety import AeOutcome, AeTerm
from alsrwe.domain.treatments import TreatmentEnd
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import (
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    AuditEntry,
    FlagAcknowledgement,
    Measurement,
    Milestone,
    Patient,
    Treatment,
)
from alsrwe.store.reads.dashboard import (
    QUEUE_PAGE_SIZE,
    QueueKind,
    SiteDashboard,
    Slice,
    infusion_list,
    site_dashboard,
)
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes import acknowledge_flag
from tests.store.conftest import MakePatient

TODAY = dt.date(2025, 3, 20)
EVERY = SiteScope.every_site()
D = dt.date
NOW = dt.datetime(2025, 3, 20, 9, 30, tzinfo=dt.UTC)


def _doses(patient: Patient, *days: dt.date) -> list[Administration]:
    return [Administration(patient_id=patient.id, date=day, drug="tofersen", dose_mg=100,
                           status=AdministrationStatus.GIVEN) for day in days]


def _csf(patient: Patient, day: dt.date, wbc: float, protein: float) -> list[Measurement]:
    return [Measurement(patient_id=patient.id, date=day, kind=MeasurementKind.CSF_WBC,
                        value=wbc, unit="/uL"),
            Measurement(patient_id=patient.id, date=day, kind=MeasurementKind.CSF_PROTEIN,
                        value=protein, unit="mg/dL")]


def _nfl(patient: Patient, day: dt.date, value: float) -> Measurement:
    return Measurement(patient_id=patient.id, date=day, kind=MeasurementKind.NFL_PLASMA,
                       value=value, unit="pg/mL", assay="Simoa")


def _event(patient: Patient, onset: dt.date, term: AeTerm, grade: int = 1,
           serious: bool = False) -> AdverseEvent:
    return AdverseEvent(patient_id=patient.id, onset_date=onset, term=term, grade=grade,
                        serious=serious, related=True, outcome=AeOutcome.NOT_RECOVERED)


def _rating(patient: Patient, day: dt.date, score: int, source: AssessmentSource,
            **columns: Any) -> AlsfrsAssessment:
    """A rating whose twelve items add up to ``score``."""
    items = [4] * 12
    missing = 48 - score
    for i in range(12):
        items[i] -= min(4, missing)
        missing -= min(4, missing)
    return AlsfrsAssessment(patient_id=patient.id, date=day, source=source, gastrostomy=False,
                            **{f"q{i + 1}": v for i, v in enumerate(items)}, **columns)


DIED = D(2025, 3, 1)


def _death(patient: Patient) -> Milestone:
    return Milestone(patient_id=patient.id, date=DIED, kind=MilestoneKind.DEATH)


def _carrier(session: Session, make_patient: MakePatient, pseudonym: str,
             site: str = "BER") -> Patient:
    return make_patient(session, site=site, pseudonym=pseudonym, status=PatientStatus.CARRIER,
                        onset_date=None, onset_region=None, diagnosis_date=None)


def _board(engine: Engine, scope: SiteScope = EVERY, **options: Any) -> SiteDashboard:
    with unit_of_work(engine, read_only=True) as session:
        return site_dashboard(session, scope, today=TODAY, regimen=TOFERSEN_US, **options)


def _names(rows: list[Any]) -> list[str]:
    return [row.patient.pseudonym for row in rows]


def test_every_queue_is_sorted_most_urgent_first(
    engine: Engine, make_patient: MakePatient
) -> None:
    with unit_of_work(engine) as session:
        a, b, c, d, e = (make_patient(session, pseudonym=f"BER-00{i}") for i in range(1, 6))
        c1, c2 = (_carrier(session, make_patient, f"BER-C0{i}") for i in (1, 2))
        session.add_all([
            # Overdue: the third loading dose 14 days after the second.
            *_doses(a, D(2025, 1, 2), D(2025, 1, 16)),   # due 01-30: 49 days overdue
            *_doses(b, D(2025, 2, 1), D(2025, 2, 15)),   # due 03-01: 19 days
            # Due soon: maintenance 28 days after the fourth dose.
            *_doses(c, D(2024, 12, 2), D(2024, 12, 16), D(2024, 12, 30), D(2025, 2, 25)),
            *_doses(d, D(2024, 12, 1), D(2024, 12, 15), D(2024, 12, 29), D(2025, 2, 22)),
            _event(a, D(2025, 3, 10), AeTerm.PAIN, grade=2),
            _event(b, D(2025, 1, 5), AeTerm.MYELITIS, grade=2, serious=True),
            _event(c, D(2025, 2, 1), AeTerm.FATIGUE, grade=3, serious=True),
            _event(d, D(2025, 2, 1), AeTerm.MYALGIA, grade=1, serious=True),
            _event(e, D(2024, 11, 1), AeTerm.PAPILLEDEMA, grade=1),
            *_csf(a, D(2024, 6, 1), 12, 40), *_csf(b, D(2025, 3, 1), 3, 60),
            *_csf(c, D(2025, 1, 1), 9, 30), *_csf(d, D(2025, 3, 5), 2, 30),  # d: not flagged
            _nfl(c1, D(2024, 1, 1), 20), _nfl(c1, D(2025, 1, 1), 60),
            _nfl(c2, D(2024, 1, 1), 20), _nfl(c2, D(2025, 3, 1), 60),
            _rating(a, D(2019, 5, 1), 40, AssessmentSource.SELF),
            _rating(b, D(2025, 3, 19), 30, AssessmentSource.SELF),
            _rating(c, D(2024, 8, 1), 35, AssessmentSource.SELF),
        ])
    board = _board(engine)
    assert board.overdue is not None and board.due_soon is not None
    assert [(r.patient.pseudonym, r.due.overdue_days) for r in board.overdue.rows] == [
        ("BER-001", 49), ("BER-002", 19)]
    assert [(r.patient.pseudonym, r.due.date) for r in board.due_soon.rows] == [
        ("BER-004", D(2025, 3, 22)), ("BER-003", D(2025, 3, 25))]
    assert board.adverse_events is not None
    # Warning terms first (serious before not), then serious by grade, then the rest.
    assert [(r.patient.pseudonym, r.event.term, r.warning)
            for r in board.adverse_events.rows] == [
        ("BER-002", AeTerm.MYELITIS, True), ("BER-005", AeTerm.PAPILLEDEMA, True),
        ("BER-003", AeTerm.FATIGUE, False), ("BER-004", AeTerm.MYALGIA, False),
        ("BER-001", AeTerm.PAIN, False)]
    assert board.csf_flags is not None
    assert [(r.patient.pseudonym, r.date) for r in board.csf_flags.rows] == [
        ("BER-002", D(2025, 3, 1)), ("BER-003", D(2025, 1, 1)), ("BER-001", D(2024, 6, 1))]
    assert board.nfl_alerts is not None
    assert _names(board.nfl_alerts.rows) == ["BER-C02", "BER-C01"]
    assert board.self_reports is not None
    assert [(r.patient.pseudonym, r.date) for r in board.self_reports.rows] == [
        ("BER-002", D(2025, 3, 19)), ("BER-003", D(2024, 8, 1)), ("BER-001", D(2019, 5, 1))]


def test_an_age_filter_keeps_recent_items_and_a_queue_filter_one_queue(
    engine: Engine, make_patient: MakePatient
) -> None:
    with unit_of_work(engine) as session:
        a, b = make_patient(session, pseudonym="BER-001"), make_patient(session,
                                                                        pseudonym="BER-002")
        session.add_all([
            _rating(a, D(2019, 5, 1), 40, AssessmentSource.SELF),
            _rating(b, D(2025, 3, 1), 30, AssessmentSource.SELF),
            _event(a, D(2023, 1, 1), AeTerm.PAIN), _event(b, D(2025, 3, 1), AeTerm.PAIN),
            *_csf(a, D(2023, 6, 1), 12, 40), *_csf(b, D(2025, 2, 1), 12, 40),
        ])
    board = _board(engine, since=TODAY - dt.timedelta(days=90))
    for queue in (board.self_reports, board.adverse_events, board.csf_flags):
        assert queue is not None and _names(queue.rows) == ["BER-002"] and queue.total == 1
    only = _board(engine, queues=[QueueKind.CSF_FLAGS])
    assert only.csf_flags is not None and only.csf_flags.total == 2
    assert only.self_reports is None and only.overdue is None and only.adverse_events is None


def test_queues_are_paged_and_counted_in_full(engine: Engine, make_patient: MakePatient) -> None:
    with unit_of_work(engine) as session:
        patients = [make_patient(session, pseudonym=f"BER-{i:03}") for i in range(1, 26)]
        session.add_all([_rating(p, D(2025, 1, 1) + dt.timedelta(days=i), 40,
                                 AssessmentSource.SELF) for i, p in enumerate(patients)])
        session.add_all([row for i, p in enumerate(patients)
                         for row in _csf(p, D(2024, 1, 1) + dt.timedelta(days=i), 10, 30)])
    first = _board(engine)
    assert first.self_reports is not None and first.csf_flags is not None
    for queue in (first.self_reports, first.csf_flags):
        assert queue.total == 25 and len(queue.rows) == QUEUE_PAGE_SIZE == 10
        assert queue.has_next and not queue.has_previous and queue.pages == 3
        assert _names(queue.rows)[0] == "BER-025"  # the newest
    pages = {QueueKind.SELF_REPORTS: Slice(20, 10), QueueKind.CSF_FLAGS: Slice(0, None)}
    later = _board(engine, pages=pages)
    assert later.self_reports is not None and later.csf_flags is not None
    assert later.self_reports.total == 25 and later.self_reports.number == 3
    assert _names(later.self_reports.rows) == [f"BER-{i:03}" for i in range(5, 0, -1)]
    assert later.self_reports.has_previous and not later.self_reports.has_next
    assert len(later.csf_flags.rows) == 25 and not later.csf_flags.has_next
    past_the_end = _board(engine, pages={QueueKind.SELF_REPORTS: Slice(90, 10)})
    assert past_the_end.self_reports is not None
    assert past_the_end.self_reports.offset == 20 and len(past_the_end.self_reports.rows) == 5


def test_a_patient_who_died_leaves_every_queue(engine: Engine, make_patient: MakePatient) -> None:
    with unit_of_work(engine) as session:
        living = make_patient(session, pseudonym="BER-001")
        dead = make_patient(session, pseudonym="BER-002")
        carrier = _carrier(session, make_patient, "BER-C01")
        dead_carrier = _carrier(session, make_patient, "BER-C02")
        for patient in (living, dead):
            session.add_all([
                *_doses(patient, D(2025, 1, 2), D(2025, 1, 16)),
                _event(patient, D(2025, 2, 1), AeTerm.PAIN),
                *_csf(patient, D(2025, 2, 1), 12, 60),
                _rating(patient, D(2025, 2, 20), 30, AssessmentSource.SELF),
            ])
        session.add_all([*_doses(make_patient(session, pseudonym="BER-003"), D(2025, 3, 6)),
                         *_doses(make_patient(session, pseudonym="BER-004"), D(2025, 3, 6))])
        for patient in (carrier, dead_carrier):
            session.add_all([_nfl(patient, D(2024, 1, 1), 20), _nfl(patient, D(2025, 1, 1), 60)])
        session.add_all([_death(dead), _death(dead_carrier),
                         _death(session.scalars(select(Patient).filter_by(
                             pseudonym="BER-004")).one())])
    board = _board(engine)
    assert board.overdue is not None and _names(board.overdue.rows) == ["BER-001"]
    assert board.due_soon is not None and _names(board.due_soon.rows) == ["BER-003"]
    for queue in (board.adverse_events, board.csf_flags, board.self_reports):
        assert queue is not None and _names(queue.rows) == ["BER-001"] and queue.total == 1
    assert board.nfl_alerts is not None and _names(board.nfl_alerts.rows) == ["BER-C01"]
    with unit_of_work(engine, read_only=True) as session:
        week = infusion_list(session, EVERY, start=TODAY, days=7, today=TODAY,
                             regimen=TOFERSEN_US)
    assert _names(week.rows) == ["BER-001", "BER-003"]


def _period(patient: Patient, start: dt.date, end: dt.date | None = None,
            kind: TreatmentEnd | None = None) -> Treatment:
    return Treatment(patient_id=patient.id, regimen="tofersen_us", start_date=start,
                     end_date=end, end_kind=kind, end_reason="side effects" if kind else None)


def test_a_paused_or_stopped_course_is_not_due_and_a_new_course_counts_from_its_start(
    engine: Engine, make_patient: MakePatient
) -> None:
    old_course = (D(2023, 1, 2), D(2023, 1, 16), D(2023, 1, 30), D(2023, 2, 27))
    with unit_of_work(engine) as session:
        paused, stopped, restarted, fresh, doses_only = (
            make_patient(session, pseudonym=name)
            for name in ("BER-001", "BER-002", "BER-003", "BER-004", "BER-005"))
        session.add_all([
            *_doses(paused, D(2025, 1, 2), D(2025, 1, 16)),
            _period(paused, D(2025, 1, 2), D(2025, 2, 1), TreatmentEnd.PAUSED),
            *_doses(stopped, D(2025, 1, 2), D(2025, 1, 16)),
            _period(stopped, D(2025, 1, 2), D(2025, 2, 1), TreatmentEnd.STOPPED),
            # Stopped in 2023, started again on 2025-02-20: two loading doses of the new course.
            *_doses(restarted, *old_course, D(2025, 2, 20), D(2025, 3, 6)),
            _period(restarted, D(2023, 1, 2), D(2023, 6, 1), TreatmentEnd.STOPPED),
            _period(restarted, D(2025, 2, 20)),
            # A course started two days ago, no dose given yet: dose 1 was due on its start.
            _period(fresh, D(2025, 3, 18)),
            # No treatment row: the site regimen from every dose, as before.
            *_doses(doses_only, *old_course),
        ])
    board = _board(engine)
    assert board.overdue is not None and board.due_soon is not None
    overdue = {r.patient.pseudonym: r.due for r in board.overdue.rows}
    soon = {r.patient.pseudonym: r.due for r in board.due_soon.rows}
    assert "BER-001" not in overdue | soon and "BER-002" not in overdue | soon
    assert soon["BER-003"].date == D(2025, 3, 20)  # 14 days after the course's second dose
    assert (soon["BER-003"].number, soon["BER-003"].phase) == (3, "loading")
    assert (overdue["BER-004"].number, overdue["BER-004"].date) == (1, D(2025, 3, 18))
    assert overdue["BER-004"].overdue_days == 2
    assert (overdue["BER-005"].number, overdue["BER-005"].phase) == (5, "maintenance")
    with unit_of_work(engine, read_only=True) as session:
        week = infusion_list(session, EVERY, start=TODAY, days=7, today=TODAY,
                             regimen=TOFERSEN_US)
    assert {r.patient.pseudonym for r in week.rows} == {"BER-003", "BER-004", "BER-005"}
    listed = {r.patient.pseudonym: r for r in week.rows}
    assert listed["BER-003"].last_dose == D(2025, 3, 6)
    assert listed["BER-004"].last_dose is None


def test_an_acknowledged_flag_leaves_its_queue_until_a_newer_sample_is_flagged(
    engine: Engine, make_patient: MakePatient
) -> None:
    with unit_of_work(engine) as session:
        patient = make_patient(session, pseudonym="BER-001")
        carrier = _carrier(session, make_patient, "BER-C01")
        session.add_all([*_csf(patient, D(2025, 1, 10), 12, 40),
                         _nfl(carrier, D(2024, 1, 1), 20), _nfl(carrier, D(2025, 1, 1), 60)])
        ids = patient.id, carrier.id
    with unit_of_work(engine) as session:
        acknowledge_flag(session, EVERY, ids[0], FlagKind.CSF, D(2025, 1, 10), actor="clin",
                         now=NOW, note="seen; LP tolerated")
        acknowledge_flag(session, EVERY, ids[1], "nfl", D(2025, 1, 1), actor="clin", now=NOW)
    board = _board(engine)
    assert board.csf_flags is not None and board.csf_flags.total == 0
    assert board.nfl_alerts is not None and board.nfl_alerts.total == 0
    (seen,) = board.csf_acknowledged
    assert seen.acknowledged is not None
    assert (seen.acknowledged.by, seen.acknowledged.at, seen.acknowledged.note) == (
        "clin", NOW, "seen; LP tolerated")
    assert _names(board.nfl_acknowledged) == ["BER-C01"]

    with unit_of_work(engine) as session:
        session.add_all([*_csf(patient, D(2025, 2, 7), 3, 30)])  # newer, normal sample
    still = _board(engine).csf_flags
    assert still is not None and still.total == 0
    with unit_of_work(engine) as session:
        session.add_all([*_csf(patient, D(2025, 3, 7), 20, 40),  # newer, flagged again
                         _nfl(carrier, D(2025, 3, 1), 80)])
    board = _board(engine)
    assert board.csf_flags is not None and board.nfl_alerts is not None
    assert [(r.patient.pseudonym, r.date, r.acknowledged) for r in board.csf_flags.rows] == [
        ("BER-001", D(2025, 3, 7), None)]
    assert _names(board.nfl_alerts.rows) == ["BER-C01"] and board.csf_acknowledged == []


def test_acknowledging_is_audited_once_scoped_and_needs_a_flagged_sample(
    engine: Engine, make_patient: MakePatient
) -> None:
    with unit_of_work(engine) as session:
        patient = make_patient(session, pseudonym="BER-001")
        other = make_patient(session, site="PAD", pseudonym="PAD-001")
        session.add_all([*_csf(patient, D(2025, 1, 10), 12, 40),
                         *_csf(patient, D(2025, 2, 10), 2, 30),
                         *_csf(other, D(2025, 1, 10), 12, 40),
                         _nfl(patient, D(2024, 1, 1), 20), _nfl(patient, D(2025, 1, 1), 24)])
        session.flush()
        ids = patient.id, other.id
        ber = SiteScope.only([patient.site_id])
    with unit_of_work(engine) as session:
        first = acknowledge_flag(session, ber, ids[0], FlagKind.CSF, D(2025, 1, 10),
                                 actor="clin", now=NOW)
        again = acknowledge_flag(session, ber, ids[0], FlagKind.CSF, D(2025, 1, 10),
                                 actor="other.clin", now=NOW + dt.timedelta(hours=1),
                                 note="later")
        assert again.id == first.id and again.acknowledged_by == "clin"
    with pytest.raises(NotFound), unit_of_work(engine) as session:
        acknowledge_flag(session, ber, ids[1], FlagKind.CSF, D(2025, 1, 10), actor="clin",
                         now=NOW)
    refusals = [(FlagKind.CSF, D(2025, 2, 10)),  # a normal sample
                (FlagKind.CSF, D(2025, 3, 1)),   # no sample that day
                (FlagKind.NFL, D(2025, 1, 1)),   # +20 %: within the reference change
                                                 # value, and no carrier alert
                ("csv", D(2025, 1, 10))]         # no such flag
    for flag, day in refusals:
        with pytest.raises(InvalidInput), unit_of_work(engine) as session:
            acknowledge_flag(session, ber, ids[0], flag, day, actor="clin", now=NOW)
    with unit_of_work(engine, read_only=True) as session:
        assert session.scalars(select(FlagAcknowledgement)).one().note is None
        audit = session.scalars(select(AuditEntry)).one()
        assert (audit.actor, audit.action) == ("clin", "flag_acknowledge")
        assert audit.detail is not None and {k: audit.detail[k] for k in (
            "patient", "flag", "sample_date")} == {
            "patient": "BER-001", "flag": "csf", "sample_date": "2025-01-10"}


def test_a_self_report_is_shown_next_to_the_clinic_rating_of_that_time(
    engine: Engine, make_patient: MakePatient
) -> None:
    with unit_of_work(engine) as session:
        patient = make_patient(session, pseudonym="BER-001")
        session.add_all([
            _rating(patient, D(2024, 6, 1), 40, AssessmentSource.CLINIC),
            _rating(patient, D(2025, 3, 10), 36, AssessmentSource.CLINIC),
            _rating(patient, D(2025, 3, 10), 24, AssessmentSource.SELF),
            _rating(patient, D(2024, 7, 1), 38, AssessmentSource.SELF),
            _rating(patient, D(2024, 1, 1), 44, AssessmentSource.SELF),
        ])
    board = _board(engine)
    assert board.self_reports is not None
    rows = [(r.date, r.total, r.clinic and (r.clinic.date, r.clinic.total), r.difference,
             r.discrepant) for r in board.self_reports.rows]
    assert rows == [
        (D(2025, 3, 10), 24, (D(2025, 3, 10), 36), -12, True),
        (D(2024, 7, 1), 38, (D(2024, 6, 1), 40), -2, False),
        (D(2024, 1, 1), 44, None, None, False),
    ]
