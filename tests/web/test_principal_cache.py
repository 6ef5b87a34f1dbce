"""The per-process memory of resolved login sessions (alsrwe.web.principal)."""

from __future__ import annotations

import datetime as dt

import pytest

from alsrwe.domain.access import Role
from alsrwe.store.scope import SiteScope
from alsrwe.web import principal as module
from alsrwe.web.principal import Principal, PrincipalCache

NOW = dt.datetime(2025, 3, 20, 9, 0, tzinfo=dt.UTC)


def _principal(expires: dt.datetime = NOW + dt.timedelta(hours=8)) -> Principal:
    return Principal(1, "clin", Role.CLINICIAN, SiteScope.only([1]), "csrf", expires)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A settable monotonic clock (seconds)."""
    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    return now


def test_a_session_is_remembered_for_the_configured_seconds(clock: list[float]) -> None:
    cache = PrincipalCache(5)
    cache.put("a", _principal())
    clock[0] += 4.9
    assert cache.get("a", NOW) == _principal()
    clock[0] += 0.1
    assert cache.get("a", NOW) is None


def test_an_expired_session_is_never_returned_even_when_fresh_in_the_cache(
    clock: list[float],
) -> None:
    cache = PrincipalCache(5)
    cache.put("a", _principal(expires=NOW + dt.timedelta(seconds=1)))
    assert cache.get("a", NOW) is not None
    assert cache.get("a", NOW + dt.timedelta(seconds=1)) is None


def test_forget_and_a_zero_lifetime(clock: list[float]) -> None:
    cache = PrincipalCache(5)
    cache.put("a", _principal())
    cache.forget("a")
    assert cache.get("a", NOW) is None
    off = PrincipalCache(0)
    off.put("a", _principal())
    assert off.get("a", NOW) is None


def test_the_cache_is_bounded_and_drops_stale_entries_first(clock: list[float]) -> None:
    cache = PrincipalCache(5, max_entries=3)
    cache.put("old", _principal())
    clock[0] += 6
    cache.put("b", _principal())
    cache.put("c", _principal())
    cache.put("d", _principal())  # full: the stale "old" goes, the fresh ones stay
    assert [cache.get(k, NOW) is not None for k in ("old", "b", "c", "d")] == [
        False, True, True, True]
    cache.put("e", _principal())  # full of fresh entries: start again rather than grow
    assert cache.get("e", NOW) is not None and cache.get("b", NOW) is None
