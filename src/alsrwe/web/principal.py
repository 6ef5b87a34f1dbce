"""Who is asking (:class:`Principal`), and a short per-process memory of resolved sessions.

Resolving a session cookie costs a database round trip and a hop to the thread pool on every
request; under load that was a fifth of an API call's cost. :class:`PrincipalCache` remembers
each resolved session for ``session_cache_seconds`` (default 5 s; 0 turns it off). What that
trades, stated plainly:

- Logout and a new login clear the entry in the process that handles them, at once. Another
  worker process may still accept a logged-out cookie for at most the cache lifetime, and a
  deactivated user or a changed role takes at most that long to apply everywhere.
- Absolute expiry is checked on every hit; idle expiry (an hour by default) is refreshed
  from the database whenever the entry is resolved again.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from alsrwe.domain.access import RECORD_ROLES, Role
from alsrwe.store.scope import SiteScope

MAX_ENTRIES = 10_000
"""Bound on remembered sessions per process (expired ones are dropped first)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the user, their role, their sites and their session's CSRF token.

    A plain snapshot (no ORM object), so it stays usable after the request's transaction
    ended, e.g. when an error page is rendered, and can be remembered between requests.
    """

    user_id: int
    username: str
    role: Role
    scope: SiteScope
    csrf_token: str
    session_expires_at: dt.datetime

    @property
    def sees_records(self) -> bool:
        return self.role in RECORD_ROLES


class PrincipalCache:
    """Resolved sessions by token hash, each kept for ``seconds`` (monotonic clock).

    Looked up and filled from the event loop; ``forget`` also runs in worker threads (the
    logout route), hence the lock.
    """

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str, now: dt.datetime) -> Principal | None:
        """The remembered principal, if still fresh and its session has not expired."""
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        kept_until, principal = entry
        if kept_until <= time.monotonic() or principal.session_expires_at <= now:
            self.forget(session_id)
            return None
        return principal

    def put(self, session_id: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                for stale in [k for k, (until, _) in self._entries.items() if until <= now]:
                    del self._entries[stale]
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[session_id] = (now + self.seconds, principal)

    def forget(self, session_id: str) -> None:
        """Drop a session at once (logout, login over an old session)."""
        with self._lock:
            self._entries.pop(session_id, None)


__all__ = ["Principal", "PrincipalCache"]
