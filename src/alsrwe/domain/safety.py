"""Adverse events: the controlled list from the tofersen label plus free text (../shared/domain.md §3.2)."""

from __future__ import annotations

from enum import StrEnum


class AeTerm(StrEnum):
    """Controlled adverse-event terms: US label warnings 5.1-5.3 and common adverse reactions."""

    MYELITIS = "myelitis"
    RADICULITIS = "radiculitis"
    PAPILLEDEMA = "papilledema"
    RAISED_INTRACRANIAL_PRESSURE = "raised_intracranial_pressure"
    ASEPTIC_MENINGITIS = "aseptic_meningitis"
    PAIN = "pain"
    FATIGUE = "fatigue"
    ARTHRALGIA = "arthralgia"
    CSF_WBC_INCREASED = "csf_wbc_increased"
    MYALGIA = "myalgia"
    CSF_PROTEIN_INCREASED = "csf_protein_increased"
    MUSCULOSKELETAL_STIFFNESS = "musculoskeletal_stiffness"
    NEURALGIA = "neuralgia"
    OTHER = "other"


class AeOutcome(StrEnum):
    """Outcome of an adverse event."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class AeAction(StrEnum):
    """Action taken with the drug because of the event."""

    NONE = "none"
    INTERRUPTED = "interrupted"
    WITHDRAWN = "withdrawn"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"
