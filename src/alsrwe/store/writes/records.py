"""The write path for one record: a form or an API call, checked by the rulebook, audited.

:func:`add_record` takes a record built by the domain (:mod:`alsrwe.domain.records`) for a
patient in the caller's :class:`SiteScope`, judges it against the patient's history with the
rulebook (:mod:`alsrwe.domain.plausibility`), refuses it when a hard rule is broken or a soft
one is not confirmed, and otherwise writes it with its confirmed warnings and one audit entry,
in the caller's transaction (never committed here). A patient outside the scope is NotFound,
exactly as a missing one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.errors import Problem, raise_problems
from alsrwe.domain.plausibility import DEFAULT_SETTINGS, PlausibilitySettings, check_record, settle
from alsrwe.domain.plausibility.rules import DUPLICATE_RECORD
from alsrwe.domain.records import RecordEntry, entry_columns
from alsrwe.domain.tidy_format import TABLES_BY_NAME
from alsrwe.store.audit import audit_value, record_audit
from alsrwe.store.models import (
    RECORD_MODELS,
    Base,
    ConfirmedWarnings,
)
from alsrwe.store.reads.histories import load_histories
from alsrwe.store.reads.patients import patient_in_scope
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.versions import stamp

MODELS: Mapping[str, type[Base]] = RECORD_MODELS
"""The model of each tidy table of records."""
ACTIONS = {"alsfrs": "alsfrs", "measurements": "measurement",
           "administrations": "administration", "medications": "medication",
           "adverse_events": "adverse_event", "milestones": "milestone"}
"""How audit actions name each kind of record (``alsfrs_add``, ``measurement_update`` …)."""


def key_columns(table: str) -> tuple[str, ...]:
    """The natural key of a patient's record of ``table``, less ``patient_id``."""
    return TABLES_BY_NAME[table].key[1:]


def _duplicate_words(table: str, columns: Mapping[str, Any]) -> tuple[str, str]:
    """(field, message) for a record whose natural key the patient already has."""
    when = {name: value.isoformat() for name, value in columns.items()
            if isinstance(value, dt.date)}
    match table:
        case "alsfrs":
            source = columns["source"]
            return "date", f"an ALSFRS-R rating ({source}) is already recorded on {when['date']}"
        case "measurements":
            return "kind", f"a {columns['kind']} value is already recorded on {when['date']}"
        case "administrations":
            return "date", f"a dose of {columns['drug']} is already recorded on {when['date']}"
        case "medications":
            return "start_date", (f"{columns['drug']} starting {when['start_date']} is already "
                                  "recorded")
        case "adverse_events":
            return "term", (f"a {columns['term']} event with onset {when['onset_date']} is "
                            "already recorded")
    return "kind", f"a {columns['kind']} milestone is already recorded"


def duplicate_problems(session: Session, patient_id: int, entry: RecordEntry,
                       exclude_id: int | None = None) -> list[Problem]:
    """A natural key the patient already has (another record, when correcting ``exclude_id``)."""
    if entry.table == "milestones":
        return []  # each milestone once: the rulebook's milestone order says so in its words
    model = MODELS[entry.table]
    table = model.__table__
    columns = entry_columns(entry)
    query = select(table.c.id).where(
        table.c.patient_id == patient_id,
        *(table.c[name] == columns[name] for name in key_columns(entry.table)))
    if exclude_id is not None:
        query = query.where(table.c.id != exclude_id)
    if session.scalar(query.limit(1)) is None:
        return []
    field, message = _duplicate_words(entry.table, columns)
    return [Problem(field, message, DUPLICATE_RECORD)]


def stored_warnings(accepted: Sequence[Problem]) -> ConfirmedWarnings | None:
    """The confirmed warnings as kept with the record: code and message, by code."""
    if not accepted:
        return None
    kept = {p.code: {"code": p.code, "message": p.rule} for p in accepted}
    return [kept[code] for code in sorted(kept)] or None


def warning_codes(stored: ConfirmedWarnings | None) -> frozenset[str]:
    """The codes of warnings confirmed earlier for a stored record."""
    return frozenset(item["code"] for item in stored or ())


def add_record(
    session: Session, scope: SiteScope, patient_id: int, entry: RecordEntry, *, actor: str,
    today: dt.date, confirmed: Collection[str] = (), accept_warnings: bool = False,
    settings: PlausibilitySettings = DEFAULT_SETTINGS,
) -> Base:
    """Write one record of a patient in scope, or raise for the rules it breaks.

    ``confirmed`` lists the warning codes the user confirmed; ``accept_warnings`` confirms
    every soft one (a patient's self-report: its warnings wait for the clinician's review).
    Raises NotFound, InvalidInput (hard problems, with any soft ones) or UnconfirmedWarnings.
    """
    patient = patient_in_scope(session, scope, patient_id)
    history = load_histories(session, [patient.id])[patient.id]
    problems = check_record(entry, history, today=today, settings=settings)
    problems += duplicate_problems(session, patient.id, entry)
    stopping, accepted = settle(problems, confirmed, accept_all=accept_warnings)
    raise_problems(stopping)
    model = MODELS[entry.table]
    row = model(patient_id=patient.id, **entry_columns(entry),
                confirmed_warnings=stored_warnings(accepted))
    stamp(row, actor, new=True)
    session.add(row)
    session.flush()
    detail = {"patient": patient.pseudonym, "id": getattr(row, "id", None),  # noqa: B009
              **_described(entry.table, entry_columns(entry)),
              "after": {name: audit_value(value) for name, value in entry_columns(entry).items()
                        if value is not None}}
    if accepted:
        detail["confirmed_warnings"] = sorted({p.code for p in accepted})
    record_audit(session, actor, f"{ACTIONS[entry.table]}_add", str(model.__tablename__), detail,
                 patient_id=patient.id)
    return row


def _described(table: str, columns: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit entry says of a new record: its natural key, in text."""
    return {name: audit_value(columns[name]) for name in key_columns(table)}


__all__ = [
    "ACTIONS",
    "MODELS",
    "add_record",
    "duplicate_problems",
    "key_columns",
    "stored_warnings",
    "warning_codes",
]
