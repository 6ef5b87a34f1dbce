"""Queries return what was written; deleting a patient removes all of their records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.domain.safety import AeOutcome, AeTerm
from alsrwe.store.audit import record_audit
from alsrwe.store.db import unit_of_work
from alsrwe.store.models import (
    PATIENT_TABLES,
    Administration,
    AdverseEvent,
    AlsfrsAssessment,
    AuditEntry,
    Measurement,
    Medication,
    Milestone,
    Patient,
)
from alsrwe.store.reads.counts import registry_counts
from alsrwe.store.reads.patients import get_patient
from alsrwe.store.reads.records import (
    administrations_for,
    adverse_events_for,
    assessments_for,
    measurements_for,
    milestones_for,
)
from alsrwe.store.scope import SiteScope


def cohort_summary(session: Session, top_variants: int = 5,
                   drug: str = "tofersen") -> dict[str, Any]:
    """The registry's headline counts, unsuppressed, every site (what ``alsrwe demo`` prints)."""
    counts = registry_counts(session, SiteScope.every_site(), drug=drug, suppress_below=0)
    return {
        "patients": counts.people, "by_site": counts.by_site, "by_status": counts.by_status,
        "variants": [{"hgvs": h, "legacy": lg, "patients": n}
                     for h, lg, n in counts.variants[:top_variants]],
        "on_treatment": counts.on_treatment, "assessments": counts.assessments,
        "deaths": counts.deaths, "adverse_events_by_term": counts.adverse_events_by_term,
    }

MakePatient = Callable[..., Patient]
D0 = dt.date(2024, 1, 8)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def alsfrs(patient: Patient, n: int, source: str = "clinic", score: int = 3) -> AlsfrsAssessment:
    items = {f"q{i}": score for i in range(1, 13)}
    return AlsfrsAssessment(
        patient_id=patient.id, date=day(n), gastrostomy=False, source=source, **items
    )


def dose(patient: Patient, n: int, status: str = "given", drug: str = "tofersen") -> Administration:
    dose_mg = 100.0 if status == "given" else None
    return Administration(
        patient_id=patient.id, date=day(n), drug=drug, dose_mg=dose_mg, status=status
    )


def adverse_event(patient: Patient, n: int, term: str, **extra: Any) -> AdverseEvent:
    return AdverseEvent(
        patient_id=patient.id,
        onset_date=day(n),
        term=term,
        grade=1,
        serious=False,
        related=True,
        outcome="recovered",
        **extra,
    )


def milestone(patient: Patient, n: int, kind: str) -> Milestone:
    return Milestone(patient_id=patient.id, date=day(n), kind=kind)


def add_full_patient(session: Session, make_patient: MakePatient, pseudonym: str) -> Patient:
    """A patient with two records in every patient table (added in scrambled date order)."""
    patient = make_patient(session, pseudonym=pseudonym)
    session.add_all(
        [
            alsfrs(patient, 28),
            alsfrs(patient, 0),
            alsfrs(patient, 0, source="self", score=2),
            dose(patient, 14),
            dose(patient, 0),
            dose(patient, 2, drug="edaravone_iv"),
            Measurement(
                patient_id=patient.id, date=day(0), kind="nfl_serum", value=80.0, unit="pg/mL"
            ),
            Measurement(
                patient_id=patient.id, date=day(0), kind="nfl_csf", value=3000.0, unit="pg/mL"
            ),
            Measurement(
                patient_id=patient.id, date=day(28), kind="nfl_serum", value=60.5, unit="pg/mL"
            ),
            Medication(patient_id=patient.id, drug="riluzole", start_date=day(-400)),
            adverse_event(patient, 15, "pain"),
            adverse_event(patient, 1, "other", term_text="post-LP headache"),
            milestone(patient, 300, "niv"),
            milestone(patient, 100, "gastrostomy"),
        ]
    )
    session.flush()
    return patient


def test_get_patient_by_pseudonym(engine: Engine, make_patient: MakePatient) -> None:
    with unit_of_work(engine) as session:
        make_patient(session, pseudonym="BER-001", sex="M")
    with unit_of_work(engine) as session:
        patient = get_patient(session, "BER-001")
        assert patient is not None
        assert patient.sex is Sex.MALE
        assert patient.status is PatientStatus.PATIENT
        assert patient.site.code == "BER"
        assert patient.onset_date == dt.date(2022, 3, 1)
        assert patient.created_at.tzinfo is not None
        assert get_patient(session, "BER-999") is None


def test_per_patient_queries_return_records_in_date_order(
    engine: Engine, make_patient: MakePatient
) -> None:
    with unit_of_work(engine) as session:
        patient_id = add_full_patient(session, make_patient, "BER-001").id
        add_full_patient(session, make_patient, "BER-002")  # must not leak into BER-001's
    with unit_of_work(engine) as session:
        ratings = assessments_for(session, patient_id)
        assert [(a.date, a.source) for a in ratings] == [
            (day(0), AssessmentSource.CLINIC),
            (day(0), AssessmentSource.SELF),
            (day(28), AssessmentSource.CLINIC),
        ]
        assert ratings[1].items == (2,) * 12
        doses = administrations_for(session, patient_id)
        assert [(a.date, a.drug) for a in doses] == [
            (day(0), "tofersen"),
            (day(2), "edaravone_iv"),
            (day(14), "tofersen"),
        ]
        assert [a.date for a in administrations_for(session, patient_id, drug="tofersen")] == [
            day(0),
            day(14),
        ]
        assert doses[0].status is AdministrationStatus.GIVEN
        assert len(measurements_for(session, patient_id)) == 3
        serum = measurements_for(session, patient_id, kind=MeasurementKind.NFL_SERUM)
        assert [(m.date, m.value) for m in serum] == [(day(0), 80.0), (day(28), 60.5)]
        assert [m.kind for m in milestones_for(session, patient_id)] == [
            MilestoneKind.GASTROSTOMY,
            MilestoneKind.NIV,
        ]
        events = adverse_events_for(session, patient_id)
        assert [(e.term, e.term_text) for e in events] == [
            (AeTerm.OTHER, "post-LP headache"),
            (AeTerm.PAIN, None),
        ]
        assert events[0].outcome is AeOutcome.RECOVERED
        assert events[0].related is True


def test_deleting_a_patient_cascades_to_all_their_records(
    engine: Engine, make_patient: MakePatient
) -> None:
    with unit_of_work(engine) as session:
        add_full_patient(session, make_patient, "BER-001")
        add_full_patient(session, make_patient, "BER-002")
    with unit_of_work(engine) as session:
        patient = get_patient(session, "BER-001")
        assert patient is not None
        session.delete(patient)
    with unit_of_work(engine) as session:
        kept = get_patient(session, "BER-002")
        assert kept is not None
        for model in PATIENT_TABLES:
            owners = set(session.scalars(select(model.patient_id)))
            assert owners == {kept.id}, model.__tablename__


def test_record_audit_stores_a_utc_timestamp_and_json_detail(engine: Engine) -> None:
    detail = {"files": {"patients.csv": {"inserted": 3, "updated": 0}}, "ignored": ["x"]}
    before = dt.datetime.now(dt.UTC)
    with unit_of_work(engine) as session:
        record_audit(session, "importer@BER", "import", "tidy_csv", detail)
        record_audit(session, "form", "create", "patient")
    with unit_of_work(engine) as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.actor, e.action, e.entity, e.detail) for e in entries] == [
        ("importer@BER", "import", "tidy_csv", detail),
        ("form", "create", "patient", None),
    ]
    assert entries[0].at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=5) <= entries[0].at <= dt.datetime.now(dt.UTC)


def test_cohort_summary_of_an_empty_registry(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        assert cohort_summary(session) == {
            "patients": 0,
            "by_site": {},
            "by_status": {"patient": 0, "carrier": 0},
            "variants": [],
            "on_treatment": 0,
            "assessments": 0,
            "deaths": 0,
            "adverse_events_by_term": {},
        }


A4V = {"sod1_hgvs": "p.Ala5Val", "sod1_legacy": "A4V", "sod1_input": "A4V"}
G93A = {"sod1_hgvs": "p.Gly94Ala", "sod1_legacy": "G93A", "sod1_input": "c.281G>C"}
D90A = {"sod1_hgvs": "p.Asp91Ala", "sod1_legacy": "D90A", "sod1_input": "p.(Asp91Ala)"}
CARRIER = {"status": "carrier", "onset_date": None, "onset_region": None, "diagnosis_date": None}


@pytest.fixture
def small_cohort(engine: Engine, make_patient: MakePatient) -> Engine:
    """Five people at two sites (a third site is empty); counts worked out by hand below."""
    with unit_of_work(engine) as session:
        make_patient(session, site="HAM", pseudonym="HAM-001")
        session.delete(get_patient(session, "HAM-001"))  # leaves the site without patients
        ber1 = make_patient(session, site="BER", pseudonym="BER-001", **A4V)
        ber2 = make_patient(session, site="BER", pseudonym="BER-002", **A4V)
        make_patient(session, site="BER", pseudonym="BER-003", **G93A, **CARRIER)
        muc1 = make_patient(session, site="MUC", pseudonym="MUC-001", zygosity="homozygous", **D90A)
        muc2 = make_patient(session, site="MUC", pseudonym="MUC-002", **G93A)
        session.add_all(
            [
                dose(ber1, 0),
                dose(ber1, 14),
                dose(ber1, 28, status="missed"),
                dose(ber2, 0, status="deferred"),  # never given: not on treatment
                dose(muc1, 0),
                dose(muc1, 1, drug="edaravone_iv"),
                dose(muc2, 0, drug="edaravone_iv"),  # other drug: not on tofersen
                alsfrs(ber1, 0),
                alsfrs(ber1, 28),
                alsfrs(ber2, 0),
                alsfrs(muc1, 0),
                alsfrs(muc1, 0, source="self"),
                adverse_event(ber1, 1, "pain"),
                adverse_event(ber1, 2, "other", term_text="post-LP headache"),
                adverse_event(ber2, 1, "pain"),
                milestone(ber1, 200, "death"),
                milestone(muc1, 90, "niv"),
                milestone(muc2, 300, "death"),
            ]
        )
    return engine


def test_cohort_summary_counts_a_hand_made_cohort(small_cohort: Engine) -> None:
    with unit_of_work(small_cohort) as session:
        summary = cohort_summary(session, top_variants=2)
        assert session.scalar(select(func.count()).select_from(Patient)) == 5
    assert summary == {
        "patients": 5,
        "by_site": {"BER": 3, "HAM": 0, "MUC": 2},
        "by_status": {"patient": 4, "carrier": 1},
        "variants": [  # A4V and G93A tie at 2; D90A (1) is cut by top_variants=2
            {"hgvs": "p.Ala5Val", "legacy": "A4V", "patients": 2},
            {"hgvs": "p.Gly94Ala", "legacy": "G93A", "patients": 2},
        ],
        "on_treatment": 2,  # BER-001 and MUC-001 had a given tofersen dose
        "assessments": 5,
        "deaths": 2,
        "adverse_events_by_term": {"other": 1, "pain": 2},
    }


def test_cohort_summary_counts_treatment_with_another_drug(small_cohort: Engine) -> None:
    with unit_of_work(small_cohort) as session:
        summary = cohort_summary(session, drug="edaravone_iv")
    assert summary["on_treatment"] == 2  # MUC-001 and MUC-002
    assert [v["legacy"] for v in summary["variants"]] == ["A4V", "G93A", "D90A"]
