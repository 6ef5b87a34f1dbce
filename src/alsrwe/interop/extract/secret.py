"""The extract key: a site secret kept in a file beside the registry, never in an extract.

The key makes the extract's ids (HMAC-SHA256 of the pseudonyms) and date shifts: whoever has
it can link an id back to a pseudonym by trying the registry's pseudonyms, so the file must be
readable by its owner only, and it must stay the same for ids to stay the same across
extracts. A missing file is created with ``NEW_KEY_BYTES`` random bytes (``secrets``), mode
0600; a file open to the group or others, or shorter than ``MIN_KEY_BYTES``, is refused.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from alsrwe.domain.disclosure import MIN_KEY_BYTES, NEW_KEY_BYTES
from alsrwe.domain.errors import Conflict

KEY_FILENAME = "alsrwe-extract.key"
KEY_FILE_ENV = "ALSRWE_EXTRACT_SECRET_FILE"


@dataclass(frozen=True, slots=True)
class ExtractKey:
    path: Path
    key: bytes
    created: bool


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(NEW_KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, key)
    finally:
        os.close(descriptor)
    return key


def _read(path: Path) -> bytes:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise Conflict(f"{path}: the extract key must be a regular file")
        if os.name == "posix" and mode & 0o077:
            raise Conflict(f"{path}: the extract key is open to group or others (mode "
                           f"{stat.S_IMODE(mode):04o}); make it private: chmod 600 {path}")
        key = b""
        while chunk := os.read(descriptor, 4096):
            key += chunk
    finally:
        os.close(descriptor)
    if len(key) < MIN_KEY_BYTES:
        raise Conflict(f"{path}: the extract key has {len(key)} bytes; it needs at least "
                       f"{MIN_KEY_BYTES} random bytes")
    return key


def load_or_create_key(path: Path) -> ExtractKey:
    """The key in ``path``; a new random key (written there, mode 0600) if there is none."""
    path = path.expanduser().absolute()
    if not path.exists() and not path.is_symlink():
        return ExtractKey(path, _create(path), created=True)
    return ExtractKey(path, _read(path), created=False)


__all__ = ["KEY_FILENAME", "KEY_FILE_ENV", "ExtractKey", "load_or_create_key"]
