"""The write path for an import: a whole batch judged by the rulebook, then written at once.

Every importer is a reader that turns its files into a
:class:`~alsrwe.domain.plausibility.Batch` of built records (plus the problems it met while
reading) and hands it to :func:`write_batch`. Here the batch is judged against the registry
(:func:`~alsrwe.domain.plausibility.check_batch`); if any problem stops it — a hard rule, or
a warning neither confirmed by its row nor accepted for the whole import — nothing is
written and every problem is raised together. Otherwise sites, patients and records are
upserted by natural key (a re-import changes nothing; a corrected row updates in place) with
their confirmed warnings, and one audit entry is added, in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alsrwe.domain.errors import Problem, raise_problems
from alsrwe.domain.plausibility import (
    DEFAULT_SETTINGS,
    Batch,
    PlausibilitySettings,
    Row,
    check_batch,
)
from alsrwe.domain.plausibility.identity import BIRTH_YEAR_CHANGED, SEX_CHANGED, SITE_CHANGED
from alsrwe.domain.records import PatientEntry, RecordEntry, entry_columns, entry_key
from alsrwe.store import models
from alsrwe.store.audit import record_audit
from alsrwe.store.reads.histories import load_histories, pseudonym_keys
from alsrwe.store.reads.patients import ID_CHUNK, patient_ids
from alsrwe.store.writes.records import MODELS, key_columns, stored_warnings, warning_codes
from alsrwe.store.writes.upsert import upsert

IDENTITY_CHANGES = frozenset({SITE_CHANGED, SEX_CHANGED, BIRTH_YEAR_CHANGED})
"""Warnings about the import's change to a patient, not about the stored patient: confirmed,
they go into the audit entry, not into the patient's row."""
PATIENT_REGISTRATION_LOCK = 0x616C7372
"""The advisory lock key of patient registration on PostgreSQL ("alsr")."""
AUDITED_WARNINGS = 200
"""At most this many confirmed warnings are listed in an import's audit entry."""


@dataclass(slots=True)
class ImportCounts:
    """What an import wrote: (inserted, updated, unchanged) per table; warnings confirmed."""

    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    confirmed_warnings: int = 0


def lock_patient_registration(session: Session) -> None:
    """Serialise transactions that may register patients, so that the letter-case rule of
    pseudonyms holds under concurrency: PostgreSQL takes a transaction-level advisory lock;
    SQLite writers already hold the database's write lock (``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(PATIENT_REGISTRATION_LOCK)))


StoredKey = tuple[str, str, tuple[Any, ...]]
"""(table, pseudonym, natural key) of a patient's record."""


def _plain(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A natural key with vocabulary members as their values (the same from rows and models)."""
    return tuple(getattr(part, "value", part) for part in key)


def _stored_codes(session: Session, batch: Batch,
                  ids: Mapping[str, int]) -> dict[StoredKey, frozenset[str]]:
    """Warnings confirmed earlier for registered records the batch writes again, by
    (table, pseudonym, natural key): a re-import needs no second confirmation."""
    found: dict[StoredKey, frozenset[str]] = {}
    by_id = {pid: name for name, pid in ids.items()}
    wanted = sorted(by_id)
    for table, rows in batch.records.items():
        if not rows:
            continue
        columns = MODELS[table].__table__.c
        for start in range(0, len(wanted), ID_CHUNK):
            query = select(columns.patient_id, *(columns[k] for k in key_columns(table)),
                           columns.confirmed_warnings).where(
                columns.confirmed_warnings.is_not(None),
                columns.patient_id.in_(wanted[start:start + ID_CHUNK]))
            for patient_id, *key, stored in session.execute(query):
                found[(table, by_id[patient_id], _plain(tuple(key)))] = warning_codes(stored)
    return found


def _with_stored(batch: Batch, stored: Mapping[StoredKey, frozenset[str]]) -> Batch:
    if not stored:
        return batch
    records: dict[str, list[Row[RecordEntry]]] = {}
    for table, rows in batch.records.items():
        records[table] = [
            dataclasses.replace(row, confirmed=row.confirmed | stored.get(
                (table, row.pseudonym, _plain(entry_key(row.entry))), frozenset()))
            for row in rows]
    return Batch(batch.patients, records, batch.listed)


def write_batch(
    session: Session, batch: Batch, *, actor: str, today: dt.date, source: str,
    read_problems: Sequence[Problem] = (), accept_warnings: bool = False,
    settings: PlausibilitySettings = DEFAULT_SETTINGS,
) -> ImportCounts:
    """Judge and write an import; raise every problem (the reader's first) if any stops it."""
    if batch.patients:
        lock_patient_registration(session)
    known = patient_ids(session, batch.pseudonyms() | batch.listed)
    registered = {h.pseudonym: h for h in load_histories(session, known.values()).values()}
    batch = _with_stored(batch, _stored_codes(session, batch, known))
    check = check_batch(batch, registered, pseudonym_keys(session), today=today,
                        settings=settings, accept_warnings=accept_warnings)
    raise_problems([*read_problems, *check.problems])
    written = ImportCounts()
    _write_patients(session, batch.patients, check.confirmed, written)
    ids = patient_ids(session, batch.pseudonyms())  # now with the patients just registered
    for table, rows in batch.records.items():
        payload = [{"patient_id": ids[row.pseudonym], **entry_columns(row.entry),
                    "confirmed_warnings": stored_warnings(check.confirmed.get((table, i), ()))}
                   for i, row in enumerate(rows)]
        counts = upsert(session, MODELS[table], payload, ("patient_id", *key_columns(table)))
        written.counts[table] = (counts.inserted, counts.updated, counts.unchanged)
    confirmed = [p for problems in check.confirmed.values() for p in problems]
    written.confirmed_warnings = len(confirmed)
    record_audit(session, actor=actor, action="import", entity="tidy_csv", detail={
        "source": source, "counts": written.counts,
        "confirmed_warnings": [{"file": p.file, "row": p.row, "code": p.code}
                               for p in confirmed[:AUDITED_WARNINGS]],
    })
    return written


def _write_patients(session: Session, rows: Sequence[Row[PatientEntry]],
                    confirmed: Mapping[tuple[str, int], tuple[Problem, ...]],
                    written: ImportCounts) -> None:
    if not rows:
        return
    names: dict[str, str | None] = {}
    for row in rows:
        site, name = row.entry.identity.site, row.entry.site_name
        if name or site not in names:
            names[site] = name
    existing = dict(session.execute(select(models.Site.code, models.Site.name)).all())
    sites = [{"code": code, "name": name} for code, name in names.items()
             if code not in existing or (name and existing[code] != name)]
    upsert(session, models.Site, sites, ("code",))
    site_ids = dict(session.execute(select(models.Site.code, models.Site.id)).all())
    payload = []
    for index, row in enumerate(rows):
        entry, identity = row.entry, row.entry.identity
        kept = [p for p in confirmed.get(("patients", index), ()) if p.code not in
                IDENTITY_CHANGES]
        payload.append({
            "pseudonym": identity.patient_id, "site_id": site_ids[identity.site],
            "sex": identity.sex, "birth_year": identity.birth_year, "status": identity.status,
            "sod1_hgvs": entry.variant.hgvs, "sod1_legacy": entry.variant.legacy,
            "sod1_input": entry.variant_text, "zygosity": entry.zygosity,
            "onset_date": identity.onset_date, "onset_region": identity.onset_region,
            "diagnosis_date": identity.diagnosis_date,
            "confirmed_warnings": stored_warnings(kept),
        })
    counts = upsert(session, models.Patient, payload, ("pseudonym",))
    written.counts["patients"] = (counts.inserted, counts.updated, counts.unchanged)


__all__ = ["IDENTITY_CHANGES", "ImportCounts", "lock_patient_registration", "write_batch"]
