"""Builders for small, valid registry rows (override any column to make a bad one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.sod1 import Zygosity
from alsrwe.store.models import Patient, Site

MakePatient = Callable[..., Patient]


def patient_row(**overrides: Any) -> dict[str, Any]:
    """Column values of a valid symptomatic patient (A4V, heterozygous)."""
    row: dict[str, Any] = {
        "pseudonym": "BER-001",
        "sex": Sex.FEMALE,
        "birth_year": 1968,
        "status": PatientStatus.PATIENT,
        "sod1_hgvs": "p.Ala5Val",
        "sod1_legacy": "A4V",
        "sod1_input": "A4V",
        "zygosity": Zygosity.HETEROZYGOUS,
        "onset_date": dt.date(2022, 3, 1),
        "onset_region": "lower_limb",
        "diagnosis_date": dt.date(2022, 9, 15),
    }
    row.update(overrides)
    return row


@pytest.fixture
def make_patient() -> MakePatient:
    """``make_patient(session, site="BER", **columns)``: add a patient (and its site if new)."""

    def make(session: Session, site: str = "BER", **overrides: Any) -> Patient:
        found = session.query(Site).filter_by(code=site).one_or_none()
        site_row = found or Site(code=site, name=f"Site {site}")
        patient = Patient(site=site_row, **patient_row(**overrides))
        session.add(patient)
        session.flush()
        return patient

    return make
