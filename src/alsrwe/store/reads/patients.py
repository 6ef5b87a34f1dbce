"""Finding one patient: by pseudonym (CLI), or by id within the caller's sites (web, API).

A patient outside the scope is not found, exactly as a missing one, so the web answers 404
and never reveals that another site's record exists.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from alsrwe.domain.errors import NotFound
from alsrwe.store.models import Patient, Site
from alsrwe.store.scope import SiteScope

ID_CHUNK = 5000
"""Values per ``IN`` list (under SQLite's and PostgreSQL's parameter limits)."""


def get_patient(session: Session, pseudonym: str) -> Patient | None:
    """The patient with this pseudonym (the CSV's ``patient_id``), or ``None``."""
    query = select(Patient).where(Patient.pseudonym == pseudonym).options(
        joinedload(Patient.site))
    return session.scalars(query).one_or_none()


def patient_named(session: Session, pseudonym: str) -> Patient:
    """The patient with this pseudonym; NotFound naming it otherwise."""
    patient = get_patient(session, pseudonym)
    if patient is None:
        raise NotFound(f"patient '{pseudonym}' is not in the registry")
    return patient


def patient_ids(session: Session, pseudonyms: Collection[str]) -> dict[str, int]:
    """The ids of the registered patients among ``pseudonyms``, by pseudonym."""
    wanted = sorted(set(pseudonyms))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        found.update(session.execute(select(Patient.pseudonym, Patient.id).where(
            Patient.pseudonym.in_(wanted[start:start + ID_CHUNK]))).all())
    return found


def scoped_patient(session: Session, scope: SiteScope, patient_id: int) -> Patient | None:
    """The patient with this id if their site is in ``scope``; otherwise ``None``."""
    query = scope.patients(
        select(Patient).where(Patient.id == patient_id).options(joinedload(Patient.site))
    )
    return session.scalars(query).one_or_none()


def patient_in_scope(session: Session, scope: SiteScope, patient_id: int) -> Patient:
    """The patient with this id if their site is in ``scope``; NotFound otherwise."""
    patient = scoped_patient(session, scope, patient_id)
    if patient is None:
        raise NotFound("no such patient")
    return patient


@dataclass(frozen=True, slots=True)
class PatientStamp:
    """Who a patient is and how far their record has changed: enough to key a cached page.

    ``revision`` rises with every change to the patient or their record rows (database
    triggers, migration 0004); the site code is here because renaming a site does not raise it.
    """

    id: int
    pseudonym: str
    site: str
    revision: int


def patient_stamp(session: Session, scope: SiteScope, patient_id: int) -> PatientStamp:
    """The patient's stamp if their site is in ``scope``; NotFound otherwise."""
    query = scope.patients(
        select(Patient.id, Patient.pseudonym, Site.code, Patient.revision)
        .join(Site, Patient.site_id == Site.id)
        .where(Patient.id == patient_id)
    )
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound("no such patient")
    return PatientStamp(*row)


__all__ = [
    "PatientStamp",
    "get_patient",
    "patient_in_scope",
    "patient_named",
    "patient_ids",
    "patient_stamp",
    "scoped_patient",
]
