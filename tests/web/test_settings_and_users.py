"""Web settings (refusing the default secret) and creating users for the CLI."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, inspect, select

from alsrwe.domain.access import Role
from alsrwe.domain.errors import AccountError
from alsrwe.store.db import current_revision, downgrade, make_engine, migrate, unit_of_work
from alsrwe.store.models import Site, User
from alsrwe.store.passwords import verify_password
from alsrwe.web.settings import DEVELOPMENT_SECRET_KEY, WebSettings
from tests.web.conftest import PASSWORD, SECRET, create_user

USER_TABLES = {"users", "user_sites", "web_sessions"}


@pytest.mark.parametrize("environment", ["test", "production"])
def test_the_default_secret_is_refused_outside_development(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALSRWE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="ALSRWE_SECRET_KEY"):
        WebSettings(environment=environment)
    with pytest.raises(ValidationError, match="at least 32"):
        WebSettings(environment=environment, secret_key="short")


def test_settings_come_from_alsrwe_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSRWE_ENVIRONMENT", "production")
    monkeypatch.setenv("ALSRWE_SECRET_KEY", SECRET)
    monkeypatch.setenv("ALSRWE_LOGIN_MAX_FAILURES", "3")
    settings = WebSettings()
    assert settings.login_max_failures == 3 and settings.secure_cookies
    assert settings.secret_key.get_secret_value() == SECRET
    assert SECRET not in repr(settings)


def test_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "SECRET_KEY", "COOKIE_SECURE"):
        monkeypatch.delenv(f"ALSRWE_{name}", raising=False)
    settings = WebSettings()
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
    assert not settings.secure_cookies
    assert (settings.login_max_failures, settings.login_lockout_minutes) == (5, 15)


def test_unknown_regimen_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown regimen"):
        WebSettings(regimen="aspirin")


def _site(engine: Engine, code: str = "BER") -> None:
    with unit_of_work(engine) as session:
        session.add(Site(code=code))


def test_create_user_stores_an_argon2id_hash_and_sites(engine: Engine) -> None:
    _site(engine)
    create_user(engine, "Clin.One", PASSWORD, "clinician", ["BER"])
    with unit_of_work(engine) as session:
        user = session.scalars(select(User)).one()
        assert user.username == "clin.one" and user.role is Role.CLINICIAN
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, PASSWORD)
        assert [s.code for s in user.sites] == ["BER"]


@pytest.mark.parametrize(
    ("username", "password", "role", "sites", "field"),
    [
        ("clin", "short", "clinician", ["BER"], "password"),
        ("clin", PASSWORD, "nurse", ["BER"], "role"),
        ("clin", PASSWORD, "clinician", ["XYZ"], "sites"),
        ("clin", PASSWORD, "clinician", [], "sites"),
        ("boss", PASSWORD, "admin", ["BER"], "sites"),
        ("a b", PASSWORD, "analyst", [], "username"),
    ],
)
def test_create_user_refuses_broken_rules(
    engine: Engine, username: str, password: str, role: str, sites: list[str], field: str
) -> None:
    _site(engine)
    with pytest.raises(AccountError) as error:
        create_user(engine, username, password, role, sites)
    assert error.value.field == field
    with unit_of_work(engine) as session:
        assert session.scalars(select(User)).all() == []


def test_usernames_are_unique(engine: Engine) -> None:
    create_user(engine, "analyst", PASSWORD, "analyst", [])
    with pytest.raises(AccountError, match="already exists"):
        create_user(engine, "Analyst", PASSWORD, "analyst", [])


def test_migration_0002_up_and_down(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0001")
        assert not USER_TABLES & set(inspect(engine).get_table_names())
        migrate(engine, "0002")
        assert current_revision(engine) == "0002"
        assert set(inspect(engine).get_table_names()) >= USER_TABLES
        migrate(engine)  # today's code writes users (and their audit entry) at the head
        create_user(engine, "analyst", PASSWORD, "analyst", [])
        downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        tables = set(inspect(engine).get_table_names())
        assert not USER_TABLES & tables and {"patients", "sites"} <= tables
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= USER_TABLES
    finally:
        engine.dispose()
