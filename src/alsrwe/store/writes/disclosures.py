"""Audit entries for what leaves the registry or is looked at: views, exports, extracts.

These change no data, but a registry must be able to say who saw or took which records
(ICH E6(R3) and GDPR Art. 30 ask for access records), so each is written as an audit entry in
the same unit of work as the read it describes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from alsrwe.store.audit import record_audit


def record_view(session: Session, actor: str, what: str, patient_id: int | None,
                detail: dict[str, Any] | None = None) -> None:
    """A user looked at a patient's record (a page or an API read); ``what`` names the view."""
    record_audit(session, actor, "view", what, {**(detail or {})}, patient_id=patient_id)


def record_export(session: Session, actor: str, kind: str, destination: str,
                  counts: dict[str, int], detail: dict[str, Any] | None = None) -> None:
    """Records left the registry: ``kind`` is ``export`` (tidy CSV), ``extract`` (research
    extract) or ``backup``; ``counts`` are the rows written per table."""
    record_audit(session, actor, kind, "registry",
                 {"destination": destination, "counts": counts, **(detail or {})})


__all__ = ["record_export", "record_view"]
