"""A site's log of every request it received and what it answered, kept at the site.

One JSON line per request (accepted, answered, refused or rejected), appended and flushed
before the answer leaves, so that the site can show its ethics board what left it. The
log also carries the state the disclosure rules need: which analyses were enrolled (with
a keyed digest of each patient set, for the differencing rule), their rosters and how many
rounds each has used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


class Ledger:
    """The append-only log of one site (``ledger.jsonl``) and its digest key (``ledger.key``)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "ledger.jsonl"
        self._key = _digest_key(directory / "ledger.key")
        self._lock = threading.Lock()
        self._entries = self._read()  # this process is the site's only writer

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def digests(self, patients: Iterable[str]) -> list[str]:
        """Keyed digests of patient ids: comparable across analyses, meaningless elsewhere."""
        return sorted(hmac.new(self._key, p.encode(), hashlib.sha256).hexdigest()[:20]
                      for p in patients)

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry (with the time) and flush it to disk."""
        full = {"time": datetime.now(UTC).isoformat(timespec="seconds"), **entry}
        line = json.dumps(full, sort_keys=True, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
            self._entries.append(json.loads(line))

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first (kept in memory, the file being append-only)."""
        with self._lock:
            return list(self._entries)

    def enrolment(self, analysis_id: str) -> dict[str, Any] | None:
        """The site's accepted enrolment in an analysis, if any."""
        for e in self.entries():
            if e.get("analysis_id") == analysis_id and e.get("step") == "enrol" \
                    and e.get("status") == "accepted":
                return e
        return None

    def answered(self, analysis_id: str) -> list[dict[str, Any]]:
        """The rounds after enrolment this site answered in an analysis, in order."""
        return [e for e in self.entries() if e.get("analysis_id") == analysis_id
                and e.get("status") == "answered"]

    def seen(self, analysis_id: str) -> bool:
        return any(e.get("analysis_id") == analysis_id and e.get("step") == "enrol"
                   for e in self.entries())

    def enrolled_since(self, days: int) -> int:
        """Analyses this site accepted in the last ``days`` days."""
        since = datetime.now(UTC) - timedelta(days=days)
        return sum(1 for e in self.entries() if e.get("step") == "enrol"
                   and e.get("status") == "accepted"
                   and datetime.fromisoformat(e["time"]) >= since)

    def patient_sets(self, kind: str) -> list[set[str]]:
        """The digested patient sets of every accepted analysis of ``kind``."""
        return [set(e.get("patients", [])) for e in self.entries()
                if e.get("step") == "enrol" and e.get("status") == "accepted"
                and e.get("kind") == kind]


def _digest_key(path: Path) -> bytes:
    """The site's secret for patient digests, created once (mode 0600)."""
    if path.exists():
        return path.read_bytes()
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


__all__ = ["Ledger"]
