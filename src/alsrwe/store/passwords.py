"""Passwords are stored only as argon2id hashes (argon2-cffi's defaults, RFC 9106).

Verifying a password for a user who does not exist costs the same hashing time (against a
dummy hash), so a login form does not reveal which usernames exist.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; PHC string format)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash; a malformed hash never matches."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str) -> None:
    """Hash as a real check would, for a login that fails before any hash is compared."""
    verify_password(_dummy_hash(), password)


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash uses older parameters than today's defaults."""
    return _hasher.check_needs_rehash(password_hash)


__all__ = ["hash_password", "needs_rehash", "spend_verification_time", "verify_password"]
