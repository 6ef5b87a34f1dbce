"""The hash chain: a worked example, and any single change to a sealed chain is found."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.audit_chain import (
    GENESIS,
    ChainEntry,
    ChainHead,
    canonical_json,
    entry_hash,
    find_break,
)

AT = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def _sealed(contents: list[tuple[str, dict[str, object]]]) -> list[ChainEntry]:
    chain, previous = [], GENESIS
    for number, (actor, detail) in enumerate(contents, start=1):
        entry = ChainEntry(number, AT + dt.timedelta(seconds=number), actor, "x_update", "t",
                           number % 3 or None, detail)
        sealed = entry_hash(previous, entry)
        chain.append(dataclasses.replace(entry, prev_hash=previous, hash=sealed))
        previous = sealed
    return chain


def _head(chain: list[ChainEntry]) -> ChainHead:
    return ChainHead(len(chain), chain[-1].id, chain[-1].hash)


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_entry() -> None:
    entry = ChainEntry(1, AT, "clin", "measurement_add", "measurements", 7, {"b": 1, "a": [2]})
    content = ('{"action":"measurement_add","actor":"clin","at":"2026-12-01T15:00:00.000000'
               '+00:00","detail":{"a":[2],"b":1},"entity":"measurements","id":1,'
               '"patient_id":7}')
    assert entry_hash(GENESIS, entry) == hashlib.sha256(
        f"{GENESIS}\n{content}".encode()).hexdigest()
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


details = st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)),
                          max_size=3)
chains = st.lists(st.tuples(st.text(min_size=1, max_size=8), details), min_size=2,
                  max_size=12).map(_sealed)


@given(chains)
def test_a_sealed_chain_holds(chain: list[ChainEntry]) -> None:
    assert find_break(chain, _head(chain)) is None


@given(chains, st.data())
def test_any_single_change_is_found(chain: list[ChainEntry], data: st.DataObject) -> None:
    head = _head(chain)
    kind = data.draw(st.sampled_from(["edit", "delete", "swap", "duplicate", "truncate"]))
    where = data.draw(st.integers(0, len(chain) - 1))
    changed = list(chain)
    if kind == "edit":
        changed[where] = dataclasses.replace(chain[where], actor=chain[where].actor + "!")
    elif kind == "delete":
        del changed[where]
    elif kind == "swap":
        other = (where + 1) % len(chain)
        changed[where], changed[other] = (dataclasses.replace(chain[other], id=chain[where].id),
                                          dataclasses.replace(chain[where], id=chain[other].id))
    elif kind == "duplicate":
        changed.insert(where, chain[where])
    else:
        changed = changed[:where]
    assert find_break(changed, head) is not None


def test_a_missing_head_is_a_break_unless_the_trail_is_empty() -> None:
    assert find_break([], None) is None
    assert find_break(_sealed([("a", {})]), None) is not None
