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
    BatchCheck,
    PlausibilitySettings,
    Row,
    check_batch,
)
from alsrwe.domain.plausibility.identity import BIRTH_YEAR_CHANGED, SEX_CHANGED, SITE_CHANGED
from alsrwe.domain.records import PatientEntry, RecordEntry, entry_columns, entry_key
from alsrwe.store import models
from alsrwe.store.audit import audit_value, record_audit
from alsrwe.store.reads.histories import load_histories, pseudonym_keys
from alsrwe.store.reads.patients import ID_CHUNK, patient_ids
from alsrwe.store.writes.records import MODELS, key_columns, stored_warnings, warning_codes
from alsrwe.store.writes.reimport import import_summary, registry_fingerprint
from alsrwe.store.writes.upsert import UpsertPlan, apply_upsert, plan_upsert, upsert
from alsrwe.store.writes.versions import registry_version, version_stamp

IDENTITY_CHANGES = frozenset({SITE_CHANGED, SEX_CHANGED, BIRTH_YEAR_CHANGED})
"""Warnings about the import's change to a patient, not about the stored patient: confirmed,
they go into the audit entry, not into the patient's row."""
PATIENT_REGISTRATION_LOCK = 0x616C7372
"""The advisory lock key of patient registration on PostgreSQL ("alsr")."""
AUDITED_WARNINGS = 200
"""At most this many confirmed warnings are listed in an import's audit entry."""
CHANGED_SINCE_EXPORT = "changed_since_export"
"""A row would overwrite a value changed in the registry after the file was exported."""


@dataclass(slots=True)
class ImportCounts:
    """What an import wrote: (inserted, updated, unchanged) per table; warnings confirmed."""

    counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    confirmed_warnings: int = 0
    import_id: int | None = None
    updated: list[dict[str, Any]] = field(default_factory=list)
    """Each updated row: table, id, file row and the changed columns' values before/after."""
    inserted: dict[str, list[list[int]]] = field(default_factory=dict)
    """The ids of the rows inserted, per table, as ``[first, last]`` ranges."""


@dataclass(frozen=True, slots=True)
class ImportSource:
    """Where an import comes from: the files it read and, for a folder that alsrwe exported,
    when it was exported (rows that would overwrite a later change are then conflicts)."""

    source: str
    files: Mapping[str, str] = field(default_factory=dict)
    exported_at: dt.datetime | None = None
    overwrite_newer: bool = False
    digest: str | None = None
    """The reader's digest of its files and settings (tidy CSV): kept, bound to the registry
    version the write leaves, so that an unchanged re-import is recognised
    (:mod:`alsrwe.store.writes.reimport`)."""


def _newer_conflicts(plan: UpsertPlan, table: str, lines: Sequence[int | None],
                     files: Mapping[str, str], exported_at: dt.datetime) -> list[Problem]:
    """The updates of ``plan`` that would overwrite a change made after ``exported_at``."""
    found = []
    for index, old in plan.updates:
        if old.changed_at is None or old.changed_at <= exported_at:
            continue
        changed = ", ".join(f"{name} {audit_value(before)!s} → {audit_value(after)!s}"
                            for name, (before, after) in plan.changes(index, old).items())
        found.append(Problem(None, f"would overwrite a change made by {old.changed_by} at "
                                   f"{old.changed_at.isoformat(timespec='seconds')}, after this "
                                   f"file was exported ({changed}); check it, then import "
                                   "again with --overwrite-newer to keep the file's values",
                             CHANGED_SINCE_EXPORT, file=files.get(table, table),
                             row=lines[index]))
    return found


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


@dataclass(frozen=True, slots=True)
class JudgedBatch:
    """A batch judged against the registry as it was at ``version``: the batch with its
    records' stored confirmations, and the rulebook's verdict."""

    batch: Batch
    check: BatchCheck
    version: tuple[int, int, int]


def judge_batch(session: Session, batch: Batch, *, today: dt.date,
                read_problems: Sequence[Problem] = (), accept_warnings: bool = False,
                settings: PlausibilitySettings = DEFAULT_SETTINGS) -> JudgedBatch:
    """Judge ``batch`` against the registry; raise every problem (the reader's first).

    Runs in a read-only transaction before an import takes the write lock, so that a batch
    the rulebook refuses never blocks the registry's other writers, and in the write
    transaction again only if the registry changed in between (:func:`registry_version`).
    """
    version = registry_version(session)
    known = patient_ids(session, batch.pseudonyms() | batch.listed)
    registered = {h.pseudonym: h for h in load_histories(session, known.values()).values()}
    batch = _with_stored(batch, _stored_codes(session, batch, known))
    check = check_batch(batch, registered, pseudonym_keys(session), today=today,
                        settings=settings, accept_warnings=accept_warnings)
    raise_problems([*read_problems, *check.problems])
    return JudgedBatch(batch, check, version)


def write_batch(
    session: Session, batch: Batch, *, actor: str, today: dt.date, source: str | ImportSource,
    read_problems: Sequence[Problem] = (), accept_warnings: bool = False,
    settings: PlausibilitySettings = DEFAULT_SETTINGS, judged: JudgedBatch | None = None,
) -> ImportCounts:
    """Judge and write an import; raise every problem (the reader's first) if any stops it.

    ``judged`` is the verdict of :func:`judge_batch` from before the write lock; it stands
    when the registry has not changed since, and the batch is judged again otherwise. Every
    written row carries the import's id and its row number; every updated row's values
    before and after are kept in the import's audit entry.
    """
    origin = source if isinstance(source, ImportSource) else ImportSource(source)
    if batch.patients:
        lock_patient_registration(session)
    if judged is None or registry_version(session) != judged.version:
        judged = judge_batch(session, batch, today=today, read_problems=read_problems,
                             accept_warnings=accept_warnings, settings=settings)
    batch, check = judged.batch, judged.check
    run = models.ImportRun(actor=actor, source=origin.source[:500], files=dict(origin.files))
    session.add(run)
    session.flush()
    written = ImportCounts(import_id=run.id)
    stamp = {"import_id": run.id, **version_stamp(actor)}
    conflicts: list[Problem] = []
    patients = _patient_plan(session, batch.patients, check.confirmed)
    conflicts += _plan_conflicts(patients, "patients", batch.patients, origin)
    _apply(session, patients, "patients", batch.patients, stamp, written)
    ids = patient_ids(session, batch.pseudonyms())  # now with the patients just registered
    for table, rows in batch.records.items():
        payload = [{"patient_id": ids[row.pseudonym], **entry_columns(row.entry),
                    "confirmed_warnings": stored_warnings(check.confirmed.get((table, i), ()))}
                   for i, row in enumerate(rows)]
        plan = plan_upsert(session, MODELS[table], payload, ("patient_id", *key_columns(table)))
        conflicts += _plan_conflicts(plan, table, rows, origin)
        _apply(session, plan, table, rows, stamp, written)
    raise_problems(conflicts)
    confirmed = [p for problems in check.confirmed.values() for p in problems]
    written.confirmed_warnings = len(confirmed)
    if origin.digest is not None:
        run.fingerprint = registry_fingerprint(session, origin.digest)
        run.summary = import_summary({table: sum(counts) for table, counts
                                      in written.counts.items()}, len(confirmed))
    record_audit(session, actor=actor, action="import", entity="tidy_csv", detail={
        "source": origin.source, "import_id": run.id, "files": dict(origin.files),
        "counts": written.counts, "inserted": written.inserted, "updated": written.updated,
        "confirmed_warnings": [{"file": p.file, "row": p.row, "code": p.code}
                               for p in confirmed[:AUDITED_WARNINGS]],
    })
    return written


def _plan_conflicts(plan: UpsertPlan | None, table: str, rows: Sequence[Row[Any]],
                    origin: ImportSource) -> list[Problem]:
    if plan is None or origin.exported_at is None or origin.overwrite_newer:
        return []
    return _newer_conflicts(plan, table, [row.line for row in rows], origin.files,
                            origin.exported_at)


def _id_ranges(session: Session, plan: UpsertPlan, import_id: int) -> list[list[int]]:
    """The ids this import inserted (its rows at version 1), as ranges: the trail can then
    tell when each record came to be, for the registry as it was on a past date."""
    table = plan.model.__table__
    ids = session.scalars(select(table.c.id).where(table.c.import_id == import_id,
                                                   table.c.version == 1).order_by(table.c.id))
    ranges: list[list[int]] = []
    for found in ids:
        if ranges and ranges[-1][1] == found - 1:
            ranges[-1][1] = found
        else:
            ranges.append([found, found])
    return ranges


def _apply(session: Session, plan: UpsertPlan | None, table: str, rows: Sequence[Row[Any]],
           stamp: Mapping[str, Any], written: ImportCounts) -> None:
    """Write one table's plan with its provenance; note its counts and its updated rows."""
    if plan is None:
        return
    counts = apply_upsert(session, plan, stamp, [row.line for row in rows])
    written.counts[table] = (counts.inserted, counts.updated, counts.unchanged)
    name = str(plan.model.__tablename__)
    if plan.inserts:
        written.inserted[name] = _id_ranges(session, plan, stamp["import_id"])
    for index, old in plan.updates:
        written.updated.append({
            "table": name, "id": old.id, "row": rows[index].line,
            "changes": {name: {"before": audit_value(before), "after": audit_value(after)}
                        for name, (before, after) in plan.changes(index, old).items()
                        if name != "confirmed_warnings"}})


def _patient_plan(session: Session, rows: Sequence[Row[PatientEntry]],
                  confirmed: Mapping[tuple[str, int], tuple[Problem, ...]]) -> UpsertPlan | None:
    """Register the batch's sites; plan the upsert of its patients (None without any)."""
    if not rows:
        return None
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
    return plan_upsert(session, models.Patient, payload, ("pseudonym",))


__all__ = [
    "CHANGED_SINCE_EXPORT",
    "IDENTITY_CHANGES",
    "ImportCounts",
    "ImportSource",
    "JudgedBatch",
    "judge_batch",
    "lock_patient_registration",
    "registry_version",
    "write_batch",
]
