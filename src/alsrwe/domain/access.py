"""Who may do what: the web app's roles, the role sets, and the rules of a user account.

One home for them: the store keeps the role of each user, the web enforces the sets on every
route, and ``alsrwe user add`` checks accounts with the same rules as any other edge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from alsrwe.domain.errors import AccountError


class Role(StrEnum):
    """What a web user may do: each role is a fixed bundle of permissions.

    admin: everything, every site. clinician and data_manager: their own sites' patients, read
    and write. analyst: aggregate views across sites, no record-level identifiers. patient:
    the self-report link only.
    """

    ADMIN = "admin"
    CLINICIAN = "clinician"
    DATA_MANAGER = "data_manager"
    ANALYST = "analyst"
    PATIENT = "patient"


ALL_SITE_ROLES = frozenset({Role.ADMIN, Role.ANALYST})
"""Roles that see every site (analysts only ever in aggregate; the web enforces that)."""
RECORD_ROLES = frozenset({Role.ADMIN, Role.CLINICIAN, Role.DATA_MANAGER})
"""Roles that see and write record-level patient data (within their sites)."""
AGGREGATE_ROLES = frozenset({Role.ADMIN, Role.ANALYST})
"""Roles that see cross-site aggregate views."""
COHORT_ROLES = RECORD_ROLES | AGGREGATE_ROLES
"""Roles that see aggregate views of their scope (the cohort page, counts, the site list)."""
DEFAULT_SELF_REPORT_REVIEWERS = frozenset({Role.CLINICIAN})
"""Who signs off a patient's self-reported ALSFRS-R: a clinician (a site may allow more)."""

USERNAME_PATTERN = re.compile(r"[a-z0-9._@-]{3,64}")
"""3-64 lower-case letters, digits, '.', '_', '@', '-' (stored lower case, unique)."""
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024


def normalize_username(username: str) -> str:
    """How usernames are compared and stored: trimmed, lower case."""
    return username.strip().lower()


def parse_role(role: str | Role) -> Role:
    """The role named by ``role``; AccountError listing the roles otherwise."""
    try:
        return Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise AccountError("role", f"{role!r} is not a role; use one of {roles}") from None


def check_account(username: str, password: str, role: str | Role, sites: Sequence[str]) -> Role:
    """Validate a new account; the role, or AccountError naming the field and the rule.

    Rules: the username matches :data:`USERNAME_PATTERN`; the password has 12 to 1024
    characters; admins and analysts get no sites (they see every site), every other role
    at least one.
    """
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            "username", "must be 3-64 characters: lower-case letters, digits, '.', '_', '@', '-'"
        )
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise AccountError(
            "password", f"must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long"
        )
    return check_role(role, sites)


def check_role(role: str | Role, sites: Sequence[str]) -> Role:
    """Validate a role with its sites: admins and analysts get none, every other role one or
    more (AccountError naming ``sites`` otherwise)."""
    chosen = parse_role(role)
    if chosen in ALL_SITE_ROLES and sites:
        raise AccountError("sites", f"a user with role {chosen.value} sees every site; give none")
    if chosen not in ALL_SITE_ROLES and not sites:
        raise AccountError("sites", f"a user with role {chosen.value} needs at least one site")
    return chosen


__all__ = [
    "AGGREGATE_ROLES",
    "ALL_SITE_ROLES",
    "COHORT_ROLES",
    "PASSWORD_MAX_LENGTH",
    "PASSWORD_MIN_LENGTH",
    "RECORD_ROLES",
    "USERNAME_PATTERN",
    "check_role",
    "Role",
    "check_account",
    "normalize_username",
    "parse_role",
]
