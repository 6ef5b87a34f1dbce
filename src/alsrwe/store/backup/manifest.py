"""The manifest of a backup file: what the payload is, and what a restore must find in it.

A backup file is an uncompressed tar of two members: ``manifest.json`` (this) and the payload,
``database.sqlite`` (a SQLite file in rollback-journal mode) or ``database.pgdump``
(``pg_dump --format=custom``). The manifest is written from the same snapshot as the payload,
so its row counts and audit chain head describe exactly what a restore gets back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from alsrwe import __version__
from alsrwe.domain.errors import Conflict

FORMAT = "alsrwe-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
PAYLOAD_NAMES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
"""The payload's member name per backend (SQLAlchemy's backend names)."""


class BackupRefused(Conflict):
    """A backup or restore alsrwe will not do (or whose checks failed); one clear line."""


@dataclass(frozen=True)
class Snapshot:
    """What one consistent snapshot of a registry holds: schema, rows, audit chain head."""

    schema_revision: str
    row_counts: dict[str, int]
    audit_chain: dict[str, Any] | None
    """``ChainHead.as_dict()``; ``None`` when the snapshot was not at this alsrwe's head
    revision (this code reads the chain of its own schema only)."""


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``: see :mod:`alsrwe.store.backup.manifest`."""

    backend: str
    snapshot: Snapshot
    payload_sha256: str
    payload_bytes: int
    created_at: str
    alsrwe_version: str = __version__
    format_version: int = FORMAT_VERSION

    @property
    def payload_name(self) -> str:
        return PAYLOAD_NAMES[self.backend]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "backend": self.backend,
            "alsrwe_version": self.alsrwe_version,
            "created_at": self.created_at,
            "schema_revision": self.snapshot.schema_revision,
            "payload": {"name": self.payload_name, "sha256": self.payload_sha256,
                        "bytes": self.payload_bytes},
            "row_counts": dict(sorted(self.snapshot.row_counts.items())),
            "audit_chain": self.snapshot.audit_chain,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes, source: str) -> Manifest:
        """Parse and check a manifest; anything else is "not an alsrwe backup"."""
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {FORMAT!r}")
            version = _typed(data, "format_version", int)
            if version > FORMAT_VERSION:
                raise BackupRefused(f"{source}: backup format {version} is newer than this "
                                    f"alsrwe reads ({FORMAT_VERSION}); upgrade alsrwe")
            backend = _typed(data, "backend", str)
            payload = _typed(data, "payload", dict)
            if PAYLOAD_NAMES.get(backend) != payload.get("name"):
                raise ValueError(f"backend {backend!r} with payload {payload.get('name')!r}")
            counts = _typed(data, "row_counts", dict)
            if not all(isinstance(n, int) and n >= 0 for n in counts.values()):
                raise ValueError("row_counts are not counts")
            chain = data.get("audit_chain")
            if chain is not None and not isinstance(chain, dict):
                raise ValueError("audit_chain is not an object")
            return cls(
                backend=backend,
                snapshot=Snapshot(_typed(data, "schema_revision", str),
                                  {str(k): int(v) for k, v in counts.items()}, chain),
                payload_sha256=_typed(payload, "sha256", str),
                payload_bytes=_typed(payload, "bytes", int),
                created_at=_typed(data, "created_at", str),
                alsrwe_version=_typed(data, "alsrwe_version", str),
                format_version=version,
            )
        except (ValueError, AttributeError, TypeError) as error:
            raise BackupRefused(f"{source}: not an alsrwe backup (manifest.json: {error})"
                                ) from None


def _typed(data: dict[str, Any], key: str, kind: type[Any]) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key} missing or not a {kind.__name__}")
    return value


__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST_NAME", "PAYLOAD_NAMES", "BackupRefused",
           "Manifest", "Snapshot"]
