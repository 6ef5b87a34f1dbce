"""Keys: files only their owner can read, seeds equal at both ends, signatures that bind.

References are the primitives themselves (``cryptography``'s X25519, Ed25519 and HKDF called
directly) and the stated definitions (the HKDF info string, the canonical JSON).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.federation import keys as k
from alsrwe.federation.errors import FederationError

_SIGNERS = (k.generate("signer", "coordinator"), k.generate("signer", "site"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def sites() -> tuple[k.KeyPair, k.KeyPair, k.KeyPair]:
    return k.generate("site-a", "site"), k.generate("site_b", "site"), k.generate("c.3", "site")


@pytest.fixture(scope="module")
def coordinator() -> k.KeyPair:
    return k.generate("hub", "coordinator")


@pytest.mark.parametrize("role, files", [
    ("site", {"signing.pem", "agreement.pem", "card.json"}),
    ("coordinator", {"private.pem", "card.json"}),
])
def test_save_load_round_trip(tmp_path: Path, role: k.Role, files: set[str]) -> None:
    keys = k.generate("clinic-1", role)
    directory = tmp_path / "keys"
    k.save(keys, directory)
    assert {p.name for p in directory.iterdir()} == files
    assert _mode(directory) & 0o077 == 0
    for name in files - {"card.json"}:
        assert _mode(directory / name) == 0o600
        assert (directory / name).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    loaded = k.load(directory)
    assert loaded.name == "clinic-1" and loaded.role == role
    assert loaded.card() == keys.card()
    assert k.read_card(directory / "card.json") == keys.card()
    k.verify(keys.card(), b"payload", loaded.sign(b"payload"))
    if role == "site":
        peer = k.generate("peer", "site")
        assert loaded.pair_seed(peer.card(), b"r") == keys.pair_seed(peer.card(), b"r")


def test_private_files_are_never_open_to_others(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        calls.append((Path(path).name, flags, mode))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", spy)
    old_umask = os.umask(0)  # even with no umask at all
    try:
        k.save(k.generate("s", "site"), tmp_path)
    finally:
        os.umask(old_umask)
    created = {name: (flags, mode) for name, flags, mode in calls if name.endswith(".pem")}
    assert set(created) == {"signing.pem", "agreement.pem"}
    for flags, mode in created.values():
        assert flags & os.O_CREAT and flags & os.O_EXCL
        assert mode == 0o600
    assert _mode(tmp_path / "signing.pem") == 0o600
    assert _mode(tmp_path / "agreement.pem") == 0o600
    assert _mode(tmp_path / "card.json") == 0o644


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    first = k.generate("s", "site")
    k.save(first, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for other in (k.generate("s", "site"), k.generate("hub", "coordinator")):
        with pytest.raises(FederationError) as raised:
            k.save(other, tmp_path)
        assert raised.value.code == "federation.keys.exists"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert k.load(tmp_path).card() == first.card()


def test_save_refuses_a_lone_existing_key(tmp_path: Path) -> None:
    (tmp_path / "agreement.pem").write_bytes(b"old")
    with pytest.raises(FederationError) as raised:
        k.save(k.generate("s", "site"), tmp_path)
    assert raised.value.code == "federation.keys.exists"
    assert (tmp_path / "agreement.pem").read_bytes() == b"old"
    assert not (tmp_path / "signing.pem").exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_load_refuses_a_key_others_can_access(tmp_path: Path, mode: int) -> None:
    k.save(k.generate("s", "site"), tmp_path)
    (tmp_path / "agreement.pem").chmod(mode)
    with pytest.raises(FederationError) as raised:
        k.load(tmp_path)
    assert raised.value.code == "federation.keys.permissions"
    assert "agreement.pem" in raised.value.rule
    (tmp_path / "agreement.pem").chmod(0o400)
    assert k.load(tmp_path).name == "s"


def test_load_refuses_a_card_of_other_keys(tmp_path: Path) -> None:
    k.save(k.generate("s", "site"), tmp_path)
    impostor = k.generate("s", "site").card()
    (tmp_path / "card.json").write_text(json.dumps(impostor.to_json()))
    with pytest.raises(FederationError) as raised:
        k.load(tmp_path)
    assert raised.value.code == "federation.keys.mismatch"


def test_load_refuses_missing_symlinked_or_garbage_keys(tmp_path: Path) -> None:
    k.save(k.generate("s", "site"), tmp_path / "a")
    (tmp_path / "a" / "signing.pem").unlink()
    with pytest.raises(FederationError) as raised:
        k.load(tmp_path / "a")
    assert raised.value.code == "federation.keys.missing"

    k.save(k.generate("s", "site"), tmp_path / "b")
    target = tmp_path / "b" / "signing.pem"
    target.rename(tmp_path / "elsewhere.pem")
    target.symlink_to(tmp_path / "elsewhere.pem")
    with pytest.raises(FederationError) as raised:
        k.load(tmp_path / "b")
    assert raised.value.code == "federation.keys.unreadable"

    k.save(k.generate("s", "site"), tmp_path / "c")
    (tmp_path / "c" / "agreement.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nxx\n")
    with pytest.raises(FederationError) as raised:
        k.load(tmp_path / "c")
    assert raised.value.code == "federation.keys.unreadable"

    k.save(k.generate("s", "site"), tmp_path / "d")  # the two keys swapped
    d = tmp_path / "d"
    (d / "signing.pem").rename(d / "tmp.pem")
    (d / "agreement.pem").rename(d / "signing.pem")
    (d / "tmp.pem").rename(d / "agreement.pem")
    with pytest.raises(FederationError) as raised:
        k.load(d)
    assert raised.value.code == "federation.keys.unreadable"


def _reference_seed(own: X25519PrivateKey, peer: X25519PrivateKey, names: tuple[str, str],
                    context: bytes) -> bytes:
    info = b"alsrwe-mask-v1|" + "|".join(sorted(names)).encode() + b"|" + context
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        own.exchange(peer.public_key()))


def test_pair_seed_follows_the_definition() -> None:
    xa, xb = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    a = k.KeyPair("zeta", "site", Ed25519PrivateKey.generate(), xa)
    b = k.KeyPair("alpha", "site", Ed25519PrivateKey.generate(), xb)
    expected = _reference_seed(xa, xb, ("zeta", "alpha"), b"round-7")
    assert a.pair_seed(b.card(), b"round-7") == expected
    assert b.pair_seed(a.card(), b"round-7") == expected


def test_pair_seed_is_equal_at_both_ends_and_bound_to_pair_and_context(
        sites: tuple[k.KeyPair, k.KeyPair, k.KeyPair]) -> None:
    a, b, c = sites
    seed = a.pair_seed(b.card(), b"study-1|round-1")
    assert len(seed) == 32
    assert b.pair_seed(a.card(), b"study-1|round-1") == seed
    assert a.pair_seed(b.card(), b"study-1|round-2") != seed
    assert a.pair_seed(b.card(), b"") != seed
    assert a.pair_seed(c.card(), b"study-1|round-1") != seed
    assert b.pair_seed(c.card(), b"study-1|round-1") != seed
    assert c.pair_seed(a.card(), b"study-1|round-1") == a.pair_seed(c.card(), b"study-1|round-1")


def test_pair_seed_refusals(sites: tuple[k.KeyPair, k.KeyPair, k.KeyPair],
                            coordinator: k.KeyPair) -> None:
    a, b, _ = sites
    with pytest.raises(FederationError) as raised:
        coordinator.pair_seed(a.card(), b"r")
    assert raised.value.code == "federation.keys.role"
    with pytest.raises(FederationError) as raised:
        a.pair_seed(coordinator.card(), b"r")
    assert raised.value.code == "federation.keys.peer"
    with pytest.raises(FederationError) as raised:
        a.pair_seed(a.card(), b"r")
    assert raised.value.code == "federation.keys.peer"
    renamed = k.PublicCard("other", "site", a.card().signing_key, a.card().agreement_key)
    with pytest.raises(FederationError):
        a.pair_seed(renamed, b"r")
    namesake = k.PublicCard(a.name, "site", b.card().signing_key, b.card().agreement_key)
    with pytest.raises(FederationError):
        a.pair_seed(namesake, b"r")
    low_order = k.PublicCard("zero", "site", b.card().signing_key,
                             base64.b64encode(bytes(32)).decode())
    with pytest.raises(FederationError) as raised:
        a.pair_seed(low_order, b"r")
    assert raised.value.code == "federation.keys.peer"


@given(st.binary(min_size=1, max_size=200), st.data())
def test_signature_binds_payload_and_signer(payload: bytes, data: st.DataObject) -> None:
    a, b = _SIGNERS
    signature = a.sign(payload)
    k.verify(a.card(), payload, signature)
    position = data.draw(st.integers(0, len(payload) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(payload)
    changed[position] ^= flip
    with pytest.raises(FederationError) as raised:
        k.verify(a.card(), bytes(changed), signature)
    assert raised.value.field == "signature"
    assert raised.value.code == "federation.signature.invalid"
    with pytest.raises(FederationError) as raised:
        k.verify(b.card(), payload, signature)
    assert raised.value.code == "federation.signature.invalid"


def test_signature_is_ed25519() -> None:
    private = Ed25519PrivateKey.generate()
    keys = k.KeyPair("hub", "coordinator", private, None)
    raw = base64.b64decode(keys.sign(b"abc"), validate=True)
    private.public_key().verify(raw, b"abc")  # raises if it is not
    assert len(raw) == 64


@pytest.mark.parametrize("signature", ["", "garbage!", base64.b64encode(bytes(64)).decode(),
                                       base64.b64encode(bytes(63)).decode()])
def test_malformed_signatures_are_invalid(signature: str) -> None:
    with pytest.raises(FederationError) as raised:
        k.verify(_SIGNERS[0].card(), b"abc", signature)
    assert raised.value.code == "federation.signature.invalid"


def _card_json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(_SIGNERS[1].card().to_json())
    data.update(changes)
    return {key: value for key, value in data.items() if value is not _DROP}


_DROP = object()
_KEY = base64.b64encode(bytes(range(32))).decode()
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# the same 32 bytes with nonzero padding bits: decodable, but not the one spelling of the key
_NONCANONICAL = _KEY[:-2] + _ALPHABET[_ALPHABET.index(_KEY[-2]) + 1] + "="


def test_card_json_round_trip() -> None:
    assert base64.b64decode(_NONCANONICAL) == base64.b64decode(_KEY)
    card = _SIGNERS[1].card()
    assert k.PublicCard.from_json(json.loads(json.dumps(card.to_json()))) == card
    assert k.PublicCard.from_json(_card_json(name="a" * 64)).name == "a" * 64
    coordinator = k.PublicCard.from_json(
        {"name": "hub", "role": "coordinator", "signing_key": _KEY, "agreement_key": ""})
    assert coordinator.agreement_key == ""


@pytest.mark.parametrize("changes", [
    {"name": ""}, {"name": "a" * 65}, {"name": "a b"}, {"name": "a/b"}, {"name": "clinic\n"},
    {"name": "clïnic"}, {"name": 7}, {"role": "admin"}, {"role": None},
    {"signing_key": ""}, {"signing_key": base64.b64encode(bytes(31)).decode()},
    {"signing_key": base64.b64encode(bytes(33)).decode()}, {"signing_key": "not base64!!"},
    {"signing_key": _NONCANONICAL}, {"signing_key": _KEY + "\n"},
    {"signing_key": bytes(32)}, {"agreement_key": ""}, {"agreement_key": _KEY[:-4]},
    {"role": "coordinator"},  # a coordinator with an agreement key
    {"agreement_key": _DROP}, {"extra": "field"},
])
def test_from_json_refuses(changes: dict[str, Any]) -> None:
    with pytest.raises(FederationError) as raised:
        k.PublicCard.from_json(_card_json(**changes))
    assert raised.value.code.startswith("federation.card.")


def test_from_json_refuses_a_non_object() -> None:
    with pytest.raises(FederationError):
        k.PublicCard.from_json([1, 2])  # type: ignore[arg-type]


def test_fingerprint_is_sha256_of_the_canonical_card() -> None:
    card = k.PublicCard("hub", "coordinator", _KEY, "")
    text = ('{"agreement_key":"","name":"hub","role":"coordinator","signing_key":"' + _KEY
            + '"}')
    assert card.fingerprint() == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert len(_SIGNERS[1].card().fingerprint()) == 16
    assert _SIGNERS[0].card().fingerprint() != _SIGNERS[1].card().fingerprint()


def test_read_card_refuses_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(FederationError) as raised:
        k.read_card(tmp_path / "none.json")
    assert raised.value.code == "federation.card.missing"
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FederationError) as raised:
        k.read_card(tmp_path / "bad.json")
    assert raised.value.code == "federation.card.unreadable"


def test_canonical_json_bytes() -> None:
    assert k.canonical_json({"b": [1, 2.5], "a": {"y": None, "x": True}, "é": "ü"}) == (
        '{"a":{"x":true,"y":null},"b":[1,2.5],"é":"ü"}'.encode())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(st.dictionaries(st.text(), json_values, max_size=8), st.randoms())
def test_canonical_json_is_stable_under_key_order(obj: dict[str, Any], rng: Any) -> None:
    items = list(obj.items())
    rng.shuffle(items)
    shuffled = dict(items)
    encoded = k.canonical_json(obj)
    assert k.canonical_json(shuffled) == encoded
    assert json.loads(encoded.decode("utf-8")) == obj


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_canonical_json_refuses_nonfinite(bad: float) -> None:
    with pytest.raises(FederationError) as raised:
        k.canonical_json({"a": [1.0, bad]})
    assert raised.value.code == "federation.json.value"


def test_canonical_json_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(FederationError) as raised:
        k.canonical_json({"a": b"bytes"})
    assert raised.value.code == "federation.json.type"
