"""An unchanged re-import, recognised by its fingerprint: nothing to read, judge or write.

A clinic re-imports the same folder often (a nightly job, a second click). An import is a
function of its files, its settings and date, and the registry it is judged against; so when
all of them equal those of an earlier import that was written, the rulebook's verdict and the
upsert's outcome are already known — every row unchanged — and the import can say so in the
time it takes to digest the files. The fingerprint (migration 0010) digests the reader's
description of the files and settings (``source_digest``, from the interop layer) with the
registry version the write left (:func:`~alsrwe.store.writes.versions.registry_version`, raised
by database triggers on every change of a patient or their records) and the sites' names.
Any change in between gives another fingerprint, and the import runs in full.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from alsrwe.store import models
from alsrwe.store.audit import record_audit
from alsrwe.store.writes.versions import registry_version


def registry_fingerprint(session: Session, source_digest: str) -> str:
    """``source_digest`` bound to the registry as this transaction sees it."""
    sites = session.execute(select(models.Site.code, models.Site.name)
                            .order_by(models.Site.code)).all()
    state = json.dumps([source_digest, registry_version(session), [list(s) for s in sites]])
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class UnchangedImport:
    """A re-import recognised as unchanged: this import's id, the earlier one it repeats, and
    the records per table and warnings the earlier one read."""

    import_id: int
    same_as: int
    records: dict[str, int]
    confirmed_warnings: int

    @property
    def counts(self) -> dict[str, tuple[int, int, int]]:
        """(inserted, updated, unchanged) per table, as a full re-import would report them."""
        return {table: (0, 0, count) for table, count in self.records.items()}


def _latest(session: Session, fingerprint: str) -> Row[Any] | None:
    found = session.execute(select(models.ImportRun.id, models.ImportRun.summary)
                            .where(models.ImportRun.fingerprint == fingerprint)
                            .order_by(models.ImportRun.id.desc()).limit(1)).first()
    return found if found is not None and found.summary else None


def earlier_import(session: Session, source_digest: str) -> int | None:
    """The latest import with this digest into the registry as it is now, if any: a read,
    so that an import asks it before taking the write lock."""
    found = _latest(session, registry_fingerprint(session, source_digest))
    return None if found is None else int(found.id)


def record_if_unchanged(session: Session, source_digest: str, *, actor: str, source: str,
                        files: dict[str, str]) -> UnchangedImport | None:
    """If an earlier import had this fingerprint, record this one as repeating it (an import
    row and an audit entry, no records touched) and return it; else None, writing nothing.

    Call in the write transaction (after :func:`earlier_import` found one), so that no other
    writer changes the registry between the comparison and the record."""
    fingerprint = registry_fingerprint(session, source_digest)
    earlier = _latest(session, fingerprint)
    if earlier is None:
        return None
    summary: dict[str, Any] = earlier.summary
    run = models.ImportRun(actor=actor, source=source[:500], files=files,
                           fingerprint=fingerprint, summary=summary)
    session.add(run)
    session.flush()
    unchanged = UnchangedImport(run.id, earlier.id, dict(summary["records"]),
                                int(summary["confirmed_warnings"]))
    record_audit(session, actor=actor, action="import", entity="tidy_csv", detail={
        "source": source, "import_id": run.id, "files": files, "counts": unchanged.counts,
        "inserted": {}, "updated": [], "confirmed_warnings": [],
        "unchanged_since_import": earlier.id,
    })
    return unchanged


def import_summary(records: dict[str, int], confirmed_warnings: int) -> dict[str, Any]:
    """What an import keeps of what it read, for a later unchanged re-import to report."""
    return {"records": records, "confirmed_warnings": confirmed_warnings}


__all__ = ["UnchangedImport", "earlier_import", "import_summary", "record_if_unchanged",
           "registry_fingerprint"]
