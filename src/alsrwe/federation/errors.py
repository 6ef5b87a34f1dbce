"""Errors of the federated network: a broken protocol or disclosure rule, named by field."""

from __future__ import annotations

from alsrwe.domain.errors import DomainError


class FederationError(DomainError):
    """A request, answer, key or setting that breaks a rule of the federated protocol."""


class Refused(FederationError):
    """A site declines to answer: one of its disclosure rules would be broken (``code``)."""


__all__ = ["FederationError", "Refused"]
