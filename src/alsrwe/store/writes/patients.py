"""The write path for a patient: register a patient or carrier, change their details.

The patient is built by the domain (:func:`alsrwe.domain.records.patient_entry`: identity,
SOD1 variant, onset) and judged by the same rulebook as an imported patients.csv row (dates in
the calendar, a pseudonym differing only in letter case, identity changes as soft rules). A
site outside the caller's scope is refused as unknown; a registered patient outside it is
NotFound. One audit entry per change, with the values before and after; never committed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alsrwe.domain.errors import InvalidInput, Problem, raise_problems
from alsrwe.domain.plausibility import check_patient, settle
from alsrwe.domain.plausibility.identity import pseudonym_problems
from alsrwe.domain.plausibility.rules import DUPLICATE_RECORD
from alsrwe.domain.plausibility.timeline import BEFORE_BIRTH_YEAR, IN_FUTURE
from alsrwe.domain.records import PatientEntry, patient_entry
from alsrwe.store.audit import audit_value, record_audit
from alsrwe.store.models import Patient, Site
from alsrwe.store.reads.histories import DATED_RECORDS, load_histories, pseudonym_keys
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.records import stored_warnings, warning_codes
from alsrwe.store.writes.versions import lock_current, stamp

CHANGEABLE = frozenset({"sex", "birth_year", "status", "sod1_variant", "zygosity", "onset_date",
                        "onset_region", "diagnosis_date", "genetic_test_date",
                        "counselling_date"})
"""What a change of a patient's details may touch: not the pseudonym, not the site (a move
between sites is an import's, with its confirmation)."""
GENETIC_DATES = ("genetic_test_date", "counselling_date")


def _columns(entry: PatientEntry) -> dict[str, Any]:
    identity = entry.identity
    return {"sex": identity.sex, "birth_year": identity.birth_year, "status": identity.status,
            "sod1_hgvs": entry.variant.hgvs, "sod1_legacy": entry.variant.legacy,
            "sod1_input": entry.variant_text, "zygosity": entry.zygosity,
            "onset_date": identity.onset_date, "onset_region": identity.onset_region,
            "diagnosis_date": identity.diagnosis_date}


def _genetic_problems(dates: Mapping[str, dt.date | None], birth_year: int,
                      today: dt.date) -> list[Problem]:
    problems = []
    for field in GENETIC_DATES:
        day = dates.get(field)
        if day is None:
            continue
        if day > today:
            problems.append(Problem(field, f"{day.isoformat()} is in the future (after "
                                           f"{today.isoformat()})", IN_FUTURE))
        elif day.year < birth_year:
            problems.append(Problem(field, f"{day.isoformat()} is before the patient's birth "
                                           f"year {birth_year}", BEFORE_BIRTH_YEAR))
    return problems


def _site_in_scope(session: Session, scope: SiteScope, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None or not scope.allows(site.id):
        raise InvalidInput([Problem("site", f"{code!r} is not one of your sites")])
    return site


def register_patient(
    session: Session, scope: SiteScope, entry: PatientEntry, *, actor: str, today: dt.date,
    genetic_test_date: dt.date | None = None, counselling_date: dt.date | None = None,
    confirmed: Collection[str] = (),
) -> Patient:
    """Register a new patient or carrier at one of the caller's sites, or raise its problems."""
    identity = entry.identity
    problems = check_patient(entry, None, today=today)
    problems += pseudonym_problems(identity.patient_id, pseudonym_keys(session))
    taken = session.scalar(select(func.count()).select_from(Patient)
                           .where(Patient.pseudonym == identity.patient_id))
    if taken:
        problems.append(Problem("patient_id", f"{identity.patient_id} is already registered",
                                DUPLICATE_RECORD))
    dates = {"genetic_test_date": genetic_test_date, "counselling_date": counselling_date}
    problems += _genetic_problems(dates, identity.birth_year, today)
    try:
        site = _site_in_scope(session, scope, identity.site)
    except InvalidInput as error:
        problems += error.problems
    stopping, accepted = settle(problems, confirmed)
    raise_problems(stopping)
    patient = Patient(pseudonym=identity.patient_id, site_id=site.id, **_columns(entry),
                      **dates, confirmed_warnings=stored_warnings(accepted))
    stamp(patient, actor, new=True)
    session.add(patient)
    session.flush()
    record_audit(session, actor, "patient_register", "patients", {
        "patient": patient.pseudonym, "id": patient.id, "site": site.code,
        "after": {name: audit_value(value) for name, value in
                  {**_columns(entry), **dates}.items() if value is not None}},
                 patient_id=patient.id)
    return patient


def _stored(patient: Patient) -> dict[str, Any]:
    return {"sex": patient.sex, "birth_year": patient.birth_year, "status": patient.status,
            "sod1_variant": patient.sod1_input, "zygosity": patient.zygosity,
            "onset_date": patient.onset_date, "onset_region": patient.onset_region,
            "diagnosis_date": patient.diagnosis_date}


def _records_before(session: Session, patient_id: int, birth_year: int) -> list[Problem]:
    """A new birth year must not fall after a dated record of the patient."""
    born = dt.date(birth_year, 1, 1)
    earliest = [session.scalar(select(func.min(column)).where(
        model.__table__.c.patient_id == patient_id)) for model, column in DATED_RECORDS]
    found = min((day for day in earliest if day is not None), default=None)
    if found is None or found >= born:
        return []
    return [Problem("birth_year", f"{birth_year} is after the patient's record of "
                                  f"{found.isoformat()}", BEFORE_BIRTH_YEAR)]


def update_patient(
    session: Session, scope: SiteScope, patient_id: int, changes: Mapping[str, Any], *,
    actor: str, today: dt.date, confirmed: Collection[str] = (),
    expected_version: int | None = None,
) -> Patient:
    """Change a patient's details (e.g. a carrier's conversion to ALS with an onset date).

    The patient as changed is rebuilt by the domain and judged as a whole; a change of sex or
    birth year is a soft rule to confirm. NotFound outside the scope; InvalidInput otherwise.
    """
    patient = patient_in_scope(session, scope, patient_id)
    lock_current(session, patient, expected_version, f"patient {patient.pseudonym}",
                 lambda: {**_stored(patient), **{n: getattr(patient, n) for n in GENETIC_DATES}})
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise InvalidInput([Problem(name, "cannot be changed here") for name in unknown])
    merged = _stored(patient) | {k: v for k, v in changes.items() if k not in GENETIC_DATES}
    entry = patient_entry(patient_id=patient.pseudonym, site=patient.site.code,
                          current_year=today.year, **merged)
    registered = load_histories(session, [patient.id])[patient.id]
    problems = check_patient(entry, registered, today=today)
    if entry.identity.birth_year != patient.birth_year:
        problems += _records_before(session, patient.id, entry.identity.birth_year)
    dates = {name: changes.get(name, getattr(patient, name)) for name in GENETIC_DATES}
    problems += _genetic_problems(dates, entry.identity.birth_year, today)
    stopping, accepted = settle(problems, set(confirmed) | warning_codes(
        patient.confirmed_warnings))
    raise_problems(stopping)
    before = {**_columns_of(patient), **{n: getattr(patient, n) for n in GENETIC_DATES}}
    after = {**_columns(entry), **dates}
    for name, value in after.items():
        setattr(patient, name, value)
    patient.confirmed_warnings = stored_warnings(accepted)
    stamp(patient, actor)
    session.flush()
    changed = {name: {"before": audit_value(before[name]), "after": audit_value(after[name])}
               for name in after if before[name] != after[name]}
    record_audit(session, actor, "patient_update", "patients",
                 {"patient": patient.pseudonym, "id": patient.id, "changes": changed,
                  "version": patient.version}, patient_id=patient.id)
    return patient


def _columns_of(patient: Patient) -> dict[str, Any]:
    return {name: getattr(patient, name) for name in
            ("sex", "birth_year", "status", "sod1_hgvs", "sod1_legacy", "sod1_input",
             "zygosity", "onset_date", "onset_region", "diagnosis_date")}


__all__ = ["CHANGEABLE", "register_patient", "update_patient"]
