"""The one write path of the registry: every record, from any edge, is written here.

- :func:`add_record` — one record from a form or an API call;
- :func:`correct_record` — a correction or follow-up of one record;
- :func:`write_batch` — an import (tidy CSV, FHIR, REDCap, OMOP), and
  :func:`record_if_unchanged` — a tidy CSV re-import that would change nothing;
- accounts (:mod:`.accounts`) and self-report links and reviews (:mod:`.self_reports`).

Each takes records built and checked by the domain, judges them with the rulebook
(:mod:`alsrwe.domain.plausibility`), writes them and their audit entry in the caller's
transaction (one unit of work per form or import), and never commits. Edges reach the store's
writes only through this package (an import-linter contract says so).
"""

from alsrwe.store.writes.corrections import CORRECTABLE, correct_record
from alsrwe.store.writes.flags import acknowledge_flag
from alsrwe.store.writes.imports import ImportCounts, write_batch
from alsrwe.store.writes.records import MODELS, add_record
from alsrwe.store.writes.reimport import UnchangedImport, earlier_import, record_if_unchanged

__all__ = [
    "CORRECTABLE",
    "MODELS",
    "ImportCounts",
    "UnchangedImport",
    "acknowledge_flag",
    "add_record",
    "correct_record",
    "earlier_import",
    "record_if_unchanged",
    "write_batch",
]
