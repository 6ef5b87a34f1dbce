"""The one command line of alsrwe (Typer + rich), thin over the layers: one module per group.

See :mod:`alsrwe.cli.common` for the error boundary every command shares.
"""

# ruff: noqa: I001  (the order of the imports below is the order of the help)
from __future__ import annotations

# The help lists commands in the order they are registered, so the registry's come first.
from alsrwe.cli import registry
from alsrwe.cli import web, users, analysis, clinic, audit, backup, extract, synth, federate
from alsrwe.cli.common import app
from alsrwe.cli.registry import DEMO_PASSWORD

__all__ = [
    "DEMO_PASSWORD",
    "analysis",
    "app",
    "audit",
    "backup",
    "clinic",
    "extract",
    "federate",
    "main",
    "registry",
    "synth",
    "users",
    "web",
]


def main() -> None:
    """Console-script entry point."""
    app()
