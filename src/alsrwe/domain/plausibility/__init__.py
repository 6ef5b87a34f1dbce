"""The rulebook: one set of plausibility rules that every edge calls before anything is stored.

Web forms, the JSON API, the tidy CSV importer, ``alsrwe analyze --csv`` and the importers to
come all build records with :mod:`alsrwe.domain.records` (the rules of a record alone) and then
ask this package for the rules that need the patient: their timeline and history
(:class:`PatientHistory`). Two kinds of rule (docs/domain-rules.md §11):

- *hard* problems refuse the record, naming the field and the rule;
- *soft* problems are plausibility warnings: the record is written only once each is
  confirmed (:func:`settle`), and the confirmed warnings are stored with it.

:func:`check_record` judges one record (a form, an API call); :func:`check_batch`
(:mod:`.batch`) a whole import, rows against each other and against the registry.
"""

from alsrwe.domain.plausibility.batch import Batch, BatchCheck, Row, check_batch
from alsrwe.domain.plausibility.history import PatientHistory, merged_history
from alsrwe.domain.plausibility.identity import pseudonym_key
from alsrwe.domain.plausibility.rules import (
    RULES,
    SOFT_CODES,
    Rule,
    check_patient,
    check_record,
    record_problems,
    settle,
)
from alsrwe.domain.plausibility.settings import (
    DEFAULT_SETTINGS,
    VALUE_RANGES,
    PlausibilitySettings,
    ValueRange,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "RULES",
    "SOFT_CODES",
    "VALUE_RANGES",
    "Batch",
    "BatchCheck",
    "PatientHistory",
    "PlausibilitySettings",
    "Row",
    "Rule",
    "ValueRange",
    "check_batch",
    "check_patient",
    "check_record",
    "merged_history",
    "pseudonym_key",
    "record_problems",
    "settle",
]
