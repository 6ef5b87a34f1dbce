"""The optional parts of alsrwe and the packages each needs (``pip install 'alsrwe[fhir]'``).

The light install (``pip install alsrwe``, what ``make demo`` installs) holds what the demo
runs: the SQLite registry, the analyses and the report, the web app. A feature outside it
imports its packages where it is used, inside :func:`needs`, so that their absence is one clear
line naming the extra to install (:class:`~alsrwe.domain.errors.MissingExtra`), not a
traceback. pyproject.toml's ``[project.optional-dependencies]`` holds the same groups
(tests/test_extras.py keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alsrwe.domain.errors import MissingExtra

EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("A PostgreSQL registry", ("psycopg",)),
    "fhir": ("FHIR R4", ("fhir", "fhir_core")),
    "federation": ("The federated network", ("cryptography",)),
    "spark": ("The Spark engine", ("pyspark",)),
}
"""Each extra: the feature in words and the top-level modules its packages provide."""


@contextmanager
def needs(extra: str) -> Iterator[None]:
    """Turn the absence of ``extra``'s packages, inside the block, into :class:`MissingExtra`.

    Only a missing module of that extra is translated (also when a library re-raised it as an
    ImportError of its own): any other import error is a bug and propagates as it is.
    """
    feature, modules = EXTRAS[extra]
    try:
        yield
    except ImportError as error:
        if not _for_want_of(error, modules):
            raise
        raise MissingExtra(feature, extra) from error


def _for_want_of(error: BaseException | None, modules: tuple[str, ...]) -> bool:
    """Whether an import failed because one of ``modules`` is absent: the error itself, or one
    it was raised from (Ibis wraps a missing driver in an ImportError of its own)."""
    while error is not None:
        if (isinstance(error, ModuleNotFoundError)
                and (error.name or "").partition(".")[0] in modules):
            return True
        error = error.__cause__ or error.__context__
    return False


__all__ = ["EXTRAS", "needs"]
