"""Adverse events: the tofersen label's controlled terms plus free text (docs/domain-rules.md §3.2).

The vocabulary (terms, outcomes, actions, 0/1 flags, grade 1-5) is the contract of
docs/data-format.md (adverse_events.csv). Errors are EventError naming the CSV column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from alsrwe.domain.choices import parse_choice
from alsrwe.domain.errors import EventError


class AeTerm(StrEnum):
    """Controlled adverse-event terms: US label warnings 5.1-5.3, its common and other adverse
    reactions, and the lumbar puncture's own events (post-lumbar puncture headache, procedural
    pain), the commonest procedure-related events of intrathecal dosing (§3.2)."""

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
    POST_LUMBAR_PUNCTURE_HEADACHE = "post_lumbar_puncture_headache"
    PROCEDURAL_PAIN = "procedural_pain"


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


class LabelSection(StrEnum):
    """Where a controlled term comes from in the US prescribing information (domain-rules §3.2)."""

    MYELITIS_RADICULITIS = "5.1"
    PAPILLEDEMA_RAISED_ICP = "5.2"
    ASEPTIC_MENINGITIS = "5.3"
    COMMON_ADVERSE_REACTIONS = "common_adverse_reactions"
    OTHER_ADVERSE_REACTIONS = "other_adverse_reactions"
    LUMBAR_PUNCTURE = "lumbar_puncture"
    NOT_IN_LABEL = "not_in_label"


class Relatedness(StrEnum):
    """Investigator's causality assessment on the usual five-point scale.

    The CSV carries only ``related`` 0/1; ``is_related`` collapses the scale the common
    way (possible, probable and definite count as related; not related and unlikely do not).
    That mapping is an alsrwe convention, not a rule from the label.
    """

    NOT_RELATED = "not_related"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"

    @property
    def is_related(self) -> bool:
        return self in {Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE}


@dataclass(frozen=True, slots=True)
class TermInfo:
    """A controlled term, its label section, and whether it is a warning.

    ``warning`` marks the serious neurologic adverse events of special interest: the label
    warnings 5.1-5.3 and the four categories reported by Lovett et al. (Muscle Nerve,
    "Serious Neurologic Adverse Events in Tofersen Clinical Trials for ALS"): myelitis,
    radiculitis, aseptic meningitis, intracranial hypertension and/or papilledema.
    """

    term: AeTerm
    section: LabelSection
    warning: bool
    source: str


_PI = "Qalsody US PI 2023"
_COMMON = f"{_PI}, most common ARs (≥10% and > placebo); Biogen approval news 2023"
_OTHER = f"{_PI}, other listed ARs (renalandurologynews summary)"
_LP = ("the label's route: intrathecal by lumbar puncture (US PI 2.2); procedural pain and "
       "headache among tofersen's adverse events (VALOR, Miller et al., NEJM 2022)")
_PDPH = (f"{_LP}; post-dural puncture headache within 5 days of a lumbar puncture (ICHD-3 "
         "7.2.1, Cephalalgia 2018); the main adverse event of lumbar puncture, 3.5-33% (Ann "
         "Emerg Med 2021, doi 10.1016/j.annemergmed.2021.02.019)")
_S = LabelSection

AE_TERMS: Mapping[AeTerm, TermInfo] = MappingProxyType(
    {
        info.term: info
        for info in (
            TermInfo(AeTerm.MYELITIS, _S.MYELITIS_RADICULITIS, True, f"{_PI} 5.1; Lovett et al."),
            TermInfo(AeTerm.RADICULITIS, _S.MYELITIS_RADICULITIS, True, f"{_PI} 5.1; Lovett"),
            TermInfo(AeTerm.PAPILLEDEMA, _S.PAPILLEDEMA_RAISED_ICP, True, f"{_PI} 5.2; Lovett"),
            TermInfo(
                AeTerm.RAISED_INTRACRANIAL_PRESSURE,
                _S.PAPILLEDEMA_RAISED_ICP,
                True,
                f"{_PI} 5.2; Lovett et al.",
            ),
            TermInfo(AeTerm.ASEPTIC_MENINGITIS, _S.ASEPTIC_MENINGITIS, True, f"{_PI} 5.3; Lovett"),
            TermInfo(AeTerm.PAIN, _S.COMMON_ADVERSE_REACTIONS, False, _COMMON),
            TermInfo(AeTerm.FATIGUE, _S.COMMON_ADVERSE_REACTIONS, False, _COMMON),
            TermInfo(AeTerm.ARTHRALGIA, _S.COMMON_ADVERSE_REACTIONS, False, _COMMON),
            # Also named in 5.3 as a non-serious ADR; listed among the most common ARs.
            TermInfo(AeTerm.CSF_WBC_INCREASED, _S.COMMON_ADVERSE_REACTIONS, False, _COMMON),
            TermInfo(AeTerm.MYALGIA, _S.COMMON_ADVERSE_REACTIONS, False, _COMMON),
            # Named in 5.3 as a non-serious ADR; not among the most common ARs.
            TermInfo(AeTerm.CSF_PROTEIN_INCREASED, _S.OTHER_ADVERSE_REACTIONS, False, _OTHER),
            TermInfo(AeTerm.MUSCULOSKELETAL_STIFFNESS, _S.OTHER_ADVERSE_REACTIONS, False, _OTHER),
            TermInfo(AeTerm.NEURALGIA, _S.OTHER_ADVERSE_REACTIONS, False, _OTHER),
            TermInfo(AeTerm.POST_LUMBAR_PUNCTURE_HEADACHE, _S.LUMBAR_PUNCTURE, False, _PDPH),
            TermInfo(AeTerm.PROCEDURAL_PAIN, _S.LUMBAR_PUNCTURE, False, _LP),
            TermInfo(AeTerm.OTHER, _S.NOT_IN_LABEL, False, "free text (term_text), data-format.md"),
        )
    }
)

WARNING_TERMS: frozenset[AeTerm] = frozenset(t for t, info in AE_TERMS.items() if info.warning)

POST_LP_HEADACHE_DAYS = 5
"""A post-dural puncture headache begins within 5 days of the lumbar puncture (ICHD-3 7.2.1)."""

RESOLVED_OUTCOMES: frozenset[AeOutcome] = frozenset(
    {AeOutcome.RECOVERED, AeOutcome.RECOVERED_WITH_SEQUELAE, AeOutcome.FATAL}
)
"""Outcomes that end the event and so may carry a resolved date (the date of death when fatal)."""


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    """One validated adverse event; build it with :func:`adverse_event`.

    ``related`` is the CSV's 0/1; ``relatedness`` keeps the five-point scale when known.
    """

    term: AeTerm
    onset: dt.date
    grade: int
    serious: bool
    related: bool
    outcome: AeOutcome
    resolved: dt.date | None = None
    term_text: str | None = None
    action: AeAction | None = None
    relatedness: Relatedness | None = None

    @property
    def warning(self) -> bool:
        """A serious neurologic AE of special interest (label 5.1-5.3; Lovett et al.)."""
        return self.term in WARNING_TERMS

    @property
    def section(self) -> LabelSection:
        return AE_TERMS[self.term].section


def _check_flag(field: str, value: object) -> None:
    if not isinstance(value, bool):
        raise EventError(field, f"{value!r} must be true or false (0 or 1)")


def _check_grade(grade: int, outcome: AeOutcome) -> None:
    if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
        raise EventError("grade", f"{grade!r} is outside the allowed range 1-5 (a whole "
                                  "CTCAE-style severity grade)")
    if grade == 5 and outcome is not AeOutcome.FATAL:
        raise EventError("outcome", "grade 5 means death: outcome must be 'fatal'")
    if outcome is AeOutcome.FATAL and grade != 5:
        raise EventError("grade", f"a fatal outcome is grade 5, not grade {grade}")


def _check_resolved(onset: dt.date, resolved: dt.date | None, outcome: AeOutcome) -> None:
    if resolved is None:
        return
    if resolved < onset:
        raise EventError("resolved_date", f"{resolved} is before the onset date {onset}")
    if outcome not in RESOLVED_OUTCOMES:
        allowed = ", ".join(sorted(o.value for o in RESOLVED_OUTCOMES))
        raise EventError(
            "resolved_date",
            f"an event with outcome '{outcome.value}' has not resolved; "
            f"a resolved date needs outcome {allowed}",
        )


def _term_text(term: AeTerm, term_text: str | None) -> str | None:
    text = term_text.strip() if term_text is not None else ""
    if term is AeTerm.OTHER and not text:
        raise EventError("term_text", "term 'other' needs term_text describing the event")
    return text or None


def adverse_event(
    term: str | AeTerm,
    onset: dt.date,
    grade: int,
    serious: bool,
    related: bool | Relatedness,
    outcome: str | AeOutcome,
    resolved: dt.date | None = None,
    term_text: str | None = None,
    action: str | AeAction | None = None,
) -> AdverseEvent:
    """Validate one adverse event (data-format.md adverse_events.csv; docs/domain-rules.md §3.2).

    Rules: a controlled term, or ``other`` with ``term_text`` (free text is kept for
    controlled terms too, as detail); grade 1-5 (CTCAE-style) with grade 5 ⇔ outcome
    ``fatal``; a fatal event is serious (death is a seriousness criterion, ICH E2A);
    ``resolved`` not before ``onset`` and only with an outcome that ends the event
    (recovered, recovered_with_sequelae, fatal) — a resolved date is never required,
    because it is often unknown. ``related`` may be the 0/1 flag or a :class:`Relatedness`.
    Raises EventError naming the CSV column.
    """
    parsed_term = parse_choice(AeTerm, "term", term, error=EventError,
                               hint=" (with term_text for 'other')")
    parsed_outcome = parse_choice(AeOutcome, "outcome", outcome, error=EventError)
    parsed_action = None if action is None else parse_choice(AeAction, "action", action,
                                                             error=EventError)
    if not isinstance(onset, dt.date) or isinstance(onset, dt.datetime):
        raise EventError("onset_date", f"{onset!r} is not a date")
    if resolved is not None and (
        not isinstance(resolved, dt.date) or isinstance(resolved, dt.datetime)
    ):
        raise EventError("resolved_date", f"{resolved!r} is not a date")
    _check_grade(grade, parsed_outcome)
    _check_flag("serious", serious)
    if parsed_outcome is AeOutcome.FATAL and not serious:
        raise EventError("serious", "a fatal event is serious (death is a seriousness criterion)")
    relatedness = related if isinstance(related, Relatedness) else None
    if relatedness is None:
        _check_flag("related", related)
    _check_resolved(onset, resolved, parsed_outcome)
    return AdverseEvent(
        term=parsed_term,
        onset=onset,
        grade=grade,
        serious=serious,
        related=relatedness.is_related if relatedness is not None else bool(related),
        outcome=parsed_outcome,
        resolved=resolved,
        term_text=_term_text(parsed_term, term_text),
        action=parsed_action,
        relatedness=relatedness,
    )


__all__ = [
    "AE_TERMS",
    "POST_LP_HEADACHE_DAYS",
    "RESOLVED_OUTCOMES",
    "WARNING_TERMS",
    "AdverseEvent",
    "AeAction",
    "AeOutcome",
    "AeTerm",
    "LabelSection",
    "Relatedness",
    "TermInfo",
    "adverse_event",
]
