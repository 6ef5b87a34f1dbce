"""The audit trail's hash chain: each entry seals its own content and the entry before it.

A registry whose records feed regulatory evidence must show that its trail was not rewritten
(21 CFR 11.10(e) asks for secure, computer-generated, time-stamped audit trails; ICH E6(R3)
§4.2 for audit trails that cannot be altered unnoticed). Database permissions stop the
application from changing entries; the chain makes a change by anyone else — someone with
the database owner's password or the file — visible afterwards: an edited, deleted, inserted
or reordered entry no longer matches the hashes that follow it, and :func:`find_break` names
the first such entry.

The hash of an entry is SHA-256 over the previous entry's hash and a canonical JSON text of
the entry (its id, time, actor, action, entity, patient and detail, keys sorted, no spaces),
so it depends neither on the database nor on the order of keys in the detail. The chain
starts from :data:`GENESIS`. A chain cannot defend its own end: whoever can rewrite the whole
table can rebuild every hash, which is why the head (entry count, last id and hash) is kept
apart, printed by ``alsrwe audit verify`` and written into every backup's manifest, where it
can be compared later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
"""The "previous hash" of the first entry."""


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """The sealed content of one audit entry, as the chain sees it."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    patient_id: int | None
    detail: Any
    prev_hash: str | None = None
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain ends: how many entries it has, and the last one's id and hash."""

    entries: int
    last_id: int | None
    last_hash: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "last_id": self.last_id, "last_hash": self.last_hash}


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first entry at which the chain does not hold, and why."""

    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"entry {self.entry_id}" if self.entry_id is not None else "the chain's head"
        return f"{where}: {self.reason}"


def json_value(value: Any) -> Any:
    """A column value as the trail's JSON keeps it: dates ISO, vocabulary members by value."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value)


def canonical_time(at: dt.datetime) -> str:
    """An entry's time as hashed: UTC, ISO 8601 with microseconds."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same text for the same content."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def entry_hash(prev_hash: str, entry: ChainEntry) -> str:
    """The hash that seals ``entry`` after the entry whose hash is ``prev_hash``."""
    content = canonical_json({
        "id": entry.id, "at": canonical_time(entry.at), "actor": entry.actor,
        "action": entry.action, "entity": entry.entity, "patient_id": entry.patient_id,
        "detail": entry.detail,
    })
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def find_break(entries: Iterable[ChainEntry], head: ChainHead | None) -> ChainBreak | None:
    """The first entry (in id order) that breaks the chain, or ``None`` if all of it holds.

    ``entries`` must come in ascending id order; ``head`` is the stored head (``None`` when
    it is missing, itself a break unless the trail is empty).
    """
    previous_hash, previous_id, count = GENESIS, None, 0
    for entry in entries:
        if previous_id is not None and entry.id <= previous_id:
            return ChainBreak(entry.id, "entries out of order")
        if entry.prev_hash != previous_hash:
            return ChainBreak(entry.id, "the entry before it was changed, removed or added "
                                        "(its previous-hash does not match)")
        if entry.hash != entry_hash(previous_hash, entry):
            return ChainBreak(entry.id, "its content was changed (its hash does not match)")
        previous_hash, previous_id, count = entry.hash, entry.id, count + 1
    if head is None:
        return None if count == 0 else ChainBreak(None, "the head is missing")
    if head.entries != count or head.last_id != previous_id or (
            count and head.last_hash != previous_hash):
        return ChainBreak(previous_id, f"the head records {head.entries} entries ending at "
                                       f"{head.last_id}, the trail has {count} ending at "
                                       f"{previous_id}: entries were removed or added at its end")
    return None


__all__ = [
    "GENESIS",
    "ChainBreak",
    "ChainEntry",
    "ChainHead",
    "canonical_json",
    "canonical_time",
    "entry_hash",
    "find_break",
    "json_value",
]
