"""The write path for a correction: change some fields of a record, judged again as a whole.

Only the fields given change; the record, as changed, is rebuilt by the domain
(:func:`alsrwe.domain.records.record_entry`) and judged by the same rulebook as when it was
added, against the patient's other records (its natural key, a milestone's order, a dose's
interval). Warnings confirmed earlier for the record stay confirmed. A record whose patient
is outside the caller's scope is NotFound, like a missing one; nothing changes before every
rule holds. One audit entry per correction; the caller's transaction is never committed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.errors import InvalidInput, Problem, raise_problems
from alsrwe.domain.plausibility import DEFAULT_SETTINGS, PlausibilitySettings, check_record, settle
from alsrwe.domain.records import entry_columns, record_entry
from alsrwe.domain.tidy_format import CONFIRMED_WARNINGS, TABLES_BY_NAME
from alsrwe.store.audit import audit_value, record_audit
from alsrwe.store.models import Base, Patient
from alsrwe.store.reads.histories import load_histories
from alsrwe.store.reads.records import scoped_record
from alsrwe.store.scope import SiteScope
from alsrwe.store.writes.records import (
    ACTIONS,
    MODELS,
    duplicate_problems,
    stored_warnings,
    warning_codes,
)
from alsrwe.store.writes.versions import lock_current, stamp

CORRECTABLE: Mapping[str, frozenset[str]] = {
    "alsfrs": frozenset({"date", "gastrostomy", *ITEM_COLUMNS}),
    "measurements": frozenset({"date", "kind", "value", "unit", "assay", "lab"}),
    "administrations": frozenset({"date", "drug", "status", "dose_mg", "lot",
                                  "csf_removed_ml"}),
    "medications": frozenset({"drug", "start_date", "stop_date"}),
    "adverse_events": frozenset({"outcome", "resolved_date", "action", "grade", "serious",
                                 "related"}),
    "milestones": frozenset({"date", "kind"}),
}
"""What a correction may change per table: an ALSFRS-R rating keeps its source; an adverse
event keeps its identity (term, onset) and is followed up (outcome, resolution, seriousness,
relatedness, grade, action)."""
EMPTIABLE = frozenset({"assay", "lab", "dose_mg", "lot", "csf_removed_ml", "resolved_date",
                       "action", "stop_date"})
"""Fields a correction may empty (set to null); every other one needs a value."""


def _stored_columns(row: Base, table: str) -> dict[str, Any]:
    """The record's current values of its table's columns (less patient_id and warnings)."""
    names = [c for c in TABLES_BY_NAME[table].columns if c not in ("patient_id",
                                                                      CONFIRMED_WARNINGS)]
    return {name: getattr(row, name) for name in names}


def _merged(row: Base, table: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The record's columns with the changes applied; unknown or emptied fields refused."""
    allowed = CORRECTABLE[table]
    problems = [Problem(name, "cannot be changed") for name in sorted(set(changes) - allowed)]
    problems += [Problem(name, "cannot be empty") for name, value in changes.items()
                 if value is None and name in allowed and name not in EMPTIABLE]
    if table == "measurements" and "unit" in changes and "value" not in changes:
        problems.append(Problem("value", "send the value with its unit"))
    if problems:
        raise InvalidInput(problems)
    return _stored_columns(row, table) | dict(changes)


def correct_record(
    session: Session, scope: SiteScope, table: str, record_id: int,
    changes: Mapping[str, Any], *, actor: str, today: dt.date, confirmed: Collection[str] = (),
    settings: PlausibilitySettings = DEFAULT_SETTINGS, reason: str | None = None,
    expected_version: int | None = None,
) -> Base:
    """Correct one record of ``table`` (a tidy table name) within the scope, or raise for the
    rules the corrected record breaks (NotFound, InvalidInput, UnconfirmedWarnings).

    The audit entry holds each changed field's value before and after, and ``reason``.
    ``expected_version`` is the version the change was made on (StaleVersion if it is not
    the stored one).
    """
    model = MODELS[table]
    row = scoped_record(session, scope, model, record_id)
    lock_current(session, row, expected_version, f"this {ACTIONS[table].replace('_', ' ')} "
                 "record", lambda: _stored_columns(row, table))
    entry = record_entry(table, _merged(row, table, changes))
    patient_id: int = getattr(row, "patient_id")  # noqa: B009 (Base declares no columns)
    history = load_histories(session, [patient_id], without=(model, record_id))[patient_id]
    problems = check_record(entry, history, today=today, settings=settings)
    problems += duplicate_problems(session, patient_id, entry, exclude_id=record_id)
    earlier = warning_codes(getattr(row, CONFIRMED_WARNINGS))
    stopping, accepted = settle(problems, set(confirmed) | earlier)
    raise_problems(stopping)
    before = _stored_columns(row, table)
    for name, value in entry_columns(entry).items():
        setattr(row, name, value)
    setattr(row, CONFIRMED_WARNINGS, stored_warnings(accepted))
    stamp(row, actor)
    session.flush()
    after = _stored_columns(row, table)
    pseudonym = session.scalar(select(Patient.pseudonym).where(Patient.id == patient_id))
    detail: dict[str, Any] = {
        "patient": pseudonym, "id": record_id, "changed": sorted(changes),
        "version": getattr(row, "version"),  # noqa: B009
        "changes": {name: {"before": audit_value(before[name]), "after": audit_value(after[name])}
                    for name in before if before[name] != after[name]}}
    if reason:
        detail["reason"] = reason
    if accepted:
        detail["confirmed_warnings"] = sorted({p.code for p in accepted})
    record_audit(session, actor, f"{ACTIONS[table]}_update", str(model.__tablename__), detail,
                 patient_id=patient_id)
    return row


__all__ = ["CORRECTABLE", "EMPTIABLE", "correct_record"]
