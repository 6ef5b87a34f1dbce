"""A patient's record as it was on a past date, rebuilt from the audit trail.

Every change of a record keeps its values before and after in its audit entry (the one write
path writes them), so undoing the entries made after a moment, newest first, gives back the
record as it stood at that moment: a record added later disappears, a correction gets its
old values back, a voided record returns. This is what an inspector asks ("what did the file
say when the decision was taken?", 21 CFR 11.10(e): changes must not obscure earlier values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Key = tuple[str, int]
"""(table, id) of a stored row."""
State = dict[Key, dict[str, Any]]
"""Rows by key, their values as the trail writes them (dates ISO, vocabularies as text)."""

ENDED = {"end_date": None, "end_kind": None, "end_reason": None}


@dataclass(frozen=True, slots=True)
class Change:
    """One audit entry, as much of it as rewinding needs."""

    action: str
    entity: str
    detail: Mapping[str, Any]


def _restore(state: State, key: Key, changes: Mapping[str, Any]) -> None:
    if key in state:
        state[key].update({name: change["before"] for name, change in changes.items()})


def _undo_import(state: State, detail: Mapping[str, Any]) -> None:
    for updated in detail.get("updated", ()):
        _restore(state, (updated["table"], updated["id"]), updated.get("changes", {}))
    for table, ranges in detail.get("inserted", {}).items():
        for first, last in ranges:
            for key in [k for k in state if k[0] == table and first <= k[1] <= last]:
                del state[key]


def undo(state: State, change: Change) -> None:
    """Undo one entry in place (entries must be undone newest first)."""
    action, detail = change.action, change.detail
    key = (change.entity, detail.get("id", -1))
    if action == "import":
        _undo_import(state, detail)
    elif action.endswith("_add") or action in ("patient_register", "treatment_start"):
        state.pop(key, None)
    elif action.endswith("_update"):
        _restore(state, key, detail.get("changes", {}))
    elif action.endswith("_void"):
        state[key] = dict(detail.get("before", {}))
    elif action in ("treatment_pause", "treatment_stop") and key in state:
        state[key].update(ENDED)


def rewind(current: State, newer: Iterable[Change]) -> State:
    """The rows as they were before the ``newer`` entries (given newest first)."""
    state = {key: dict(values) for key, values in current.items()}
    for change in newer:
        undo(state, change)
    return state


__all__ = ["Change", "Key", "State", "rewind", "undo"]
