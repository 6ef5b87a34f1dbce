"""Keys of the federated network: who signed a message, and the seed each pair of sites shares.

Every participant holds an Ed25519 key to sign what it sends (a proposal, an answer), so a
site answers only a coordinator it trusts and the coordinator sums only answers from its
sites. Each site also holds an X25519 key: two sites agree on a secret from one's private and
the other's public key (Diffie-Hellman), with no message between them, and stretch it with
HKDF-SHA256 into the seed of their pairwise mask (``secure_sum.mask``). The seed is bound to
both names and to the round's context, so a seed of one round never masks another.

A :class:`PublicCard` is what a participant publishes: its name, role and public keys. Humans
compare its :meth:`~PublicCard.fingerprint` out of band before trusting it. Private keys are
stored as unencrypted PKCS8 PEM files that only their owner may read (created 0600, refused
on load if group or others may read them, as ssh does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from alsrwe.extras import needs
from alsrwe.federation.errors import FederationError

with needs("federation"):  # cryptography: the ``federation`` extra
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Role = Literal["site", "coordinator"]
ROLES: tuple[str, ...] = get_args(Role)

#: The private key file of a coordinator (its signing key).
PRIVATE_FILE = "private.pem"
#: The private key files of a site: its signing key and its key agreement key.
SIGNING_FILE = "signing.pem"
AGREEMENT_FILE = "agreement.pem"
#: The public card, next to the private keys.
CARD_FILE = "card.json"

SEED_BYTES = 32
MASK_INFO = b"alsrwe-mask-v1|"
KEY_BYTES = 32
SIGNATURE_BYTES = 64

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CARD_FIELDS = frozenset({"name", "role", "signing_key", "agreement_key"})
_RAW = serialization.Encoding.Raw
_RAW_PUBLIC = serialization.PublicFormat.Raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, size: int, field: str, code: str) -> bytes:
    """The ``size`` raw bytes of canonical standard base64 ``text``, or a FederationError."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raw = b""
    if len(raw) != size or _b64(raw) != text:
        raise FederationError(field, f"must be the base64 of {size} bytes", code=code)
    return raw


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise FederationError("name", "must be 1 to 64 letters, digits, '_', '.' or '-'",
                              code="federation.card.name")
    return name


def _check_role(role: object) -> Role:
    if role not in ROLES:
        raise FederationError("role", "must be 'site' or 'coordinator'",
                              code="federation.card.role")
    return cast(Role, role)


def canonical_json(obj: Any) -> bytes:
    """The one byte string of ``obj`` that is signed: sorted keys, no spaces, UTF-8, no NaN."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
        return text.encode("utf-8")
    except ValueError as error:  # NaN or infinity, a circular reference, a lone surrogate
        raise FederationError("json", f"cannot be signed: {error}",
                              code="federation.json.value") from None
    except TypeError as error:
        raise FederationError("json", f"cannot be signed: {error}",
                              code="federation.json.type") from None


@dataclass(frozen=True)
class PublicCard:
    """A participant's published identity: name, role and raw public keys in base64.

    ``agreement_key`` is the X25519 key of a site and empty for the coordinator.
    """

    name: str
    role: Role
    signing_key: str
    agreement_key: str

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_role(self.role)
        if not isinstance(self.signing_key, str) or not isinstance(self.agreement_key, str):
            raise FederationError("card", "keys must be base64 text",
                                  code="federation.card.key")
        _unb64(self.signing_key, KEY_BYTES, "signing_key", "federation.card.key")
        if self.role == "coordinator":
            if self.agreement_key:
                raise FederationError("agreement_key", "a coordinator has no agreement key",
                                      code="federation.card.key")
        else:
            _unb64(self.agreement_key, KEY_BYTES, "agreement_key", "federation.card.key")

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "signing_key": self.signing_key,
                "agreement_key": self.agreement_key}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublicCard:
        """The card in ``data``, which must hold exactly the four fields of a card."""
        if not isinstance(data, Mapping):
            raise FederationError("card", "must be a JSON object", code="federation.card.shape")
        fields = set(data)
        if fields != _CARD_FIELDS:
            wrong = sorted(map(str, fields ^ _CARD_FIELDS))
            raise FederationError("card", f"must hold exactly the fields {sorted(_CARD_FIELDS)}"
                                  f" (check {wrong})", code="federation.card.shape")
        return cls(name=_check_name(data["name"]), role=_check_role(data["role"]),
                   signing_key=data["signing_key"], agreement_key=data["agreement_key"])

    def fingerprint(self) -> str:
        """The first 16 hex digits of SHA-256 of the canonical JSON: for humans to compare."""
        return hashlib.sha256(canonical_json(self.to_json())).hexdigest()[:16]


class KeyPair:
    """A participant's private keys: Ed25519 to sign, and X25519 for a site's mask seeds."""

    def __init__(self, name: str, role: Role, signing: Ed25519PrivateKey,
                 agreement: X25519PrivateKey | None) -> None:
        self.name = _check_name(name)
        self.role = _check_role(role)
        if (role == "site") != (agreement is not None):
            raise FederationError("keys", "a site has an agreement key, a coordinator none",
                                  code="federation.keys.role")
        self._signing = signing
        self._agreement = agreement
        self._secrets: dict[str, bytes] = {}  # X25519 secret per peer key: fixed, so kept

    def __repr__(self) -> str:
        return f"KeyPair(name={self.name!r}, role={self.role!r})"

    def card(self) -> PublicCard:
        """The public card of these keys."""
        agreement = "" if self._agreement is None else _b64(
            self._agreement.public_key().public_bytes(_RAW, _RAW_PUBLIC))
        return PublicCard(self.name, self.role,
                          _b64(self._signing.public_key().public_bytes(_RAW, _RAW_PUBLIC)),
                          agreement)

    def sign(self, payload: bytes) -> str:
        """The base64 Ed25519 signature of ``payload``."""
        return _b64(self._signing.sign(payload))

    def pair_seed(self, peer: PublicCard, context: bytes) -> bytes:
        """The 32-byte mask seed this site shares with ``peer`` for ``context``.

        HKDF-SHA256 of the X25519 secret, without salt, with info
        ``b"alsrwe-mask-v1|" + b"|".join(sorted names) + b"|" + context``: equal at both ends.
        """
        if self._agreement is None:
            raise FederationError("keys", "a coordinator shares no mask seed",
                                  code="federation.keys.role")
        if not peer.agreement_key:
            raise FederationError("peer", f"{peer.name!r} has no agreement key (not a site)",
                                  code="federation.keys.peer")
        own = self.card()
        if peer.name == self.name or peer.agreement_key == own.agreement_key:
            raise FederationError("peer", "a site shares no mask seed with itself",
                                  code="federation.keys.peer")
        if not isinstance(context, bytes):
            raise FederationError("context", "must be bytes", code="federation.keys.context")
        secret = self._secrets.get(peer.agreement_key)
        if secret is None:
            public = X25519PublicKey.from_public_bytes(
                _unb64(peer.agreement_key, KEY_BYTES, "agreement_key", "federation.card.key"))
            try:
                secret = self._agreement.exchange(public)
            except ValueError:  # a low-order point gives the all-zero secret
                raise FederationError("peer", f"the agreement key of {peer.name!r} is unusable",
                                      code="federation.keys.peer") from None
            self._secrets[peer.agreement_key] = secret
        names = b"|".join(n.encode("ascii") for n in sorted((self.name, peer.name)))
        hkdf = HKDF(algorithm=hashes.SHA256(), length=SEED_BYTES, salt=None,
                    info=MASK_INFO + names + b"|" + context)
        return hkdf.derive(secret)


def generate(name: str, role: Role) -> KeyPair:
    """Fresh keys for ``name``: a signing key, and an agreement key for a site."""
    _check_name(name)
    agreement = X25519PrivateKey.generate() if _check_role(role) == "site" else None
    return KeyPair(name, role, Ed25519PrivateKey.generate(), agreement)


def _private_files(role: Role) -> tuple[str, ...]:
    return (SIGNING_FILE, AGREEMENT_FILE) if role == "site" else (PRIVATE_FILE,)


def _pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the first byte on; never replace a file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise FederationError("keys", f"{path.name} already exists: keys are never "
                              "overwritten", code="federation.keys.exists") from None
    with os.fdopen(fd, "wb") as out:
        if hasattr(os, "fchmod"):
            os.fchmod(out.fileno(), mode)  # the umask may have removed bits of a public file
        out.write(data)


def save(keys: KeyPair, directory: Path) -> None:
    """Write the private keys (0600 PKCS8 PEM) and ``card.json``; refuse to overwrite keys."""
    directory = Path(directory)
    present = [f for f in (PRIVATE_FILE, SIGNING_FILE, AGREEMENT_FILE, CARD_FILE)
               if (directory / f).exists() or (directory / f).is_symlink()]
    if present:
        raise FederationError("keys", f"{directory.name or directory} already holds "
                              f"{', '.join(present)}: keys are never overwritten",
                              code="federation.keys.exists")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private: list[Ed25519PrivateKey | X25519PrivateKey] = [keys._signing]
    if keys._agreement is not None:
        private.append(keys._agreement)
    for name, key in zip(_private_files(keys.role), private, strict=True):
        _write_new(directory / name, _pem(key), 0o600)
    _write_new(directory / CARD_FILE,
               json.dumps(keys.card().to_json(), indent=2, sort_keys=True).encode() + b"\n",
               0o644)


def _read_private(path: Path) -> bytes:
    """The bytes of a private key file that only its owner can read (like ssh)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FederationError("keys", f"{path.name} is missing",
                              code="federation.keys.missing") from None
    except OSError as error:
        raise FederationError("keys", f"{path.name} cannot be read ({error.strerror})",
                              code="federation.keys.unreadable") from None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode & 0o777
        if os.name == "posix" and mode & 0o077:
            raise FederationError("keys", f"{path.name} has permissions {mode:04o}: a private "
                                  "key must not be accessible by group or others (chmod 600)",
                                  code="federation.keys.permissions")
        return file.read()


def _load_pem(path: Path) -> object:
    data = _read_private(path)
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise FederationError("keys", f"{path.name} is not an unencrypted PKCS8 PEM key",
                              code="federation.keys.unreadable") from None


def load(directory: Path) -> KeyPair:
    """The keys saved in ``directory``: owner-only private files that match ``card.json``."""
    directory = Path(directory)
    card = read_card(directory / CARD_FILE)
    loaded = [_load_pem(directory / name) for name in _private_files(card.role)]
    signing = loaded[0]
    agreement = loaded[1] if len(loaded) > 1 else None
    if not isinstance(signing, Ed25519PrivateKey) or not (
            agreement is None or isinstance(agreement, X25519PrivateKey)):
        raise FederationError("keys", "the private key files hold keys of the wrong kind",
                              code="federation.keys.unreadable")
    keys = KeyPair(card.name, card.role, signing, agreement)
    if keys.card() != card:
        raise FederationError("keys", f"{CARD_FILE} does not match the private keys",
                              code="federation.keys.mismatch")
    return keys


def read_card(path: Path) -> PublicCard:
    """The public card in the JSON file ``path``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FederationError("card", f"{Path(path).name} is missing",
                              code="federation.card.missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise FederationError("card", f"{Path(path).name} cannot be read: {error}",
                              code="federation.card.unreadable") from None
    return PublicCard.from_json(data)


def verify(card: PublicCard, payload: bytes, signature: str) -> None:
    """Check that the holder of ``card`` signed ``payload``; raise FederationError if not."""
    invalid = FederationError("signature", f"is not a valid signature of {card.name!r}",
                              code="federation.signature.invalid")
    if not isinstance(signature, str):
        raise invalid
    try:
        raw = _unb64(signature, SIGNATURE_BYTES, "signature", "federation.signature.invalid")
        public = Ed25519PublicKey.from_public_bytes(
            _unb64(card.signing_key, KEY_BYTES, "signing_key", "federation.card.key"))
        public.verify(raw, payload)
    except (FederationError, InvalidSignature, ValueError):
        raise invalid from None


__all__ = [
    "AGREEMENT_FILE",
    "CARD_FILE",
    "PRIVATE_FILE",
    "SIGNING_FILE",
    "KeyPair",
    "PublicCard",
    "Role",
    "canonical_json",
    "generate",
    "load",
    "read_card",
    "save",
    "verify",
]
