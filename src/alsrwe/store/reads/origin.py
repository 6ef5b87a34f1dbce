"""Whose data a registry holds: is it empty, or only what ``alsrwe demo`` wrote?

``alsrwe demo`` must never write into a registry with anything but its own synthetic data (a
real patient's birth year overwritten by a synthetic one, demo logins with a printed password
in a clinic's registry). Every write leaves an audit entry with its actor (the one write
path), so the audit trail tells who wrote what.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alsrwe.store.models import AuditEntry, Patient, User

DEMO_ACTOR = "alsrwe demo"
"""The actor of everything ``alsrwe demo`` writes."""
SESSION_ACTIONS = ("login", "login_refused", "logout", "account_locked", "view", "export",
                   "extract", "backup")
"""Audited actions that change no data of the registry (sessions, views, what left it)."""


@dataclass(frozen=True, slots=True)
class RegistryOrigin:
    """What a registry holds: its people and users, and the writes not made by the demo."""

    patients: int
    users: int
    other_writes: int

    @property
    def empty(self) -> bool:
        return self.patients == 0 and self.users == 0 and self.other_writes == 0

    @property
    def demo_only(self) -> bool:
        """Nothing but what ``alsrwe demo`` wrote (or nothing at all)."""
        return self.other_writes == 0


def registry_origin(session: Session) -> RegistryOrigin:
    """Count the registry's patients and users, and its audited writes by anyone but the demo."""
    others = select(func.count()).select_from(AuditEntry).where(
        AuditEntry.actor != DEMO_ACTOR, AuditEntry.action.not_in(SESSION_ACTIONS))
    return RegistryOrigin(
        patients=session.scalar(select(func.count()).select_from(Patient)) or 0,
        users=session.scalar(select(func.count()).select_from(User)) or 0,
        other_writes=session.scalar(others) or 0,
    )


__all__ = ["DEMO_ACTOR", "RegistryOrigin", "registry_origin"]
