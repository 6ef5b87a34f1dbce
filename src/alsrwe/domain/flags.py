"""What a clinician must see first about a patient: the flags of the patient page's header.

- an overdue dose (the schedule engine's ``Due``);
- an open adverse event (outcome recovering, not recovered or unknown), and among them a
  label-warning event (US PI 5.1-5.3: myelitis, radiculitis, papilledema, raised intracranial
  pressure, aseptic meningitis; docs/domain-rules.md §3.2) — any such event in the last
  ``WARNING_LOOKBACK_DAYS`` days is flagged even once resolved;
- CSF pleocytosis or raised protein on the latest CSF sample (convention 8), unless a
  clinician acknowledged that sample;
- a rising NfL: the latest value above the previous one of the same kind and platform by more
  than the reference change value (docs/domain-rules.md §13), unless acknowledged;
- a self-report no clinician has reviewed yet.

Pure: the caller passes the values and today's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from alsrwe.domain.biomarkers import (
    DEFAULT_CSF_THRESHOLDS,
    NFL_KINDS,
    CsfThresholds,
    MeasurementKind,
    csf_flags,
    nfl_platform,
)
from alsrwe.domain.safety import WARNING_TERMS, AeOutcome, AeTerm
from alsrwe.domain.schedule import Due

NFL_REFERENCE_CHANGE = 0.243
"""A rise between two serial serum NfL values must exceed 24.3% to be significant at the 95%
level (reference change value; Hviid CVB et al., Clin Chem Lab Med 2022;60(4):569-575,
doi 10.1515/cclm-2020-1276; Simoa). alsrwe applies it to every matrix and platform
(docs/domain-rules.md §13)."""
WARNING_LOOKBACK_DAYS = 90
"""A label-warning event stays flagged this long after onset (alsrwe display choice)."""
OPEN_OUTCOMES = frozenset({AeOutcome.RECOVERING, AeOutcome.NOT_RECOVERED, AeOutcome.UNKNOWN})
"""Outcomes of an adverse event that still needs follow-up."""


class FlagKind(StrEnum):
    """Flags of a sample a clinician acknowledges: a CSF flag, a rising NfL."""

    CSF = "csf"
    NFL = "nfl"


class FlagCode(StrEnum):
    OVERDUE_DOSE = "overdue_dose"
    LABEL_WARNING_EVENT = "label_warning_event"
    OPEN_ADVERSE_EVENT = "open_adverse_event"
    CSF_FLAG = "csf_flag"
    RISING_NFL = "rising_nfl"
    SELF_REPORT_PENDING = "self_report_pending"


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag: what, in words, and the date it refers to (a sample, an onset, a due date)."""

    code: FlagCode
    text: str
    date: dt.date | None = None
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class EventFacts:
    term: AeTerm
    onset: dt.date
    outcome: AeOutcome
    serious: bool


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement as the flags need it: date, kind, value in its canonical unit, assay."""

    date: dt.date
    kind: MeasurementKind
    value: float
    assay: str | None = None


def _words(term: AeTerm) -> str:
    return term.value.replace("_", " ")


def event_flags(events: Iterable[EventFacts], today: dt.date) -> list[Flag]:
    """Label-warning events (open, or begun within the lookback) and other open events."""
    flags = []
    recent = today - dt.timedelta(days=WARNING_LOOKBACK_DAYS)
    for event in sorted(events, key=lambda e: e.onset, reverse=True):
        is_open = event.outcome in OPEN_OUTCOMES
        serious = ", serious" if event.serious else ""
        state = "open" if is_open else event.outcome.value.replace("_", " ")
        if event.term in WARNING_TERMS and (is_open or event.onset >= recent):
            flags.append(Flag(FlagCode.LABEL_WARNING_EVENT,
                              f"label-warning event: {_words(event.term)} since "
                              f"{event.onset.isoformat()} ({state}{serious})", event.onset, True))
        elif is_open:
            flags.append(Flag(FlagCode.OPEN_ADVERSE_EVENT,
                              f"open adverse event: {_words(event.term)} since "
                              f"{event.onset.isoformat()}{serious}", event.onset, event.serious))
    return flags


def latest_csf(samples: Iterable[Sample]) -> tuple[dt.date, float | None, float | None] | None:
    """(date, white cells, protein) of the latest CSF sample with either value."""
    by_date: dict[dt.date, dict[MeasurementKind, float]] = {}
    for s in samples:
        if s.kind in (MeasurementKind.CSF_WBC, MeasurementKind.CSF_PROTEIN):
            by_date.setdefault(s.date, {})[s.kind] = s.value
    if not by_date:
        return None
    day = max(by_date)
    values = by_date[day]
    return day, values.get(MeasurementKind.CSF_WBC), values.get(MeasurementKind.CSF_PROTEIN)


def csf_flag(samples: Iterable[Sample], acknowledged: Iterable[dt.date] = (),
             thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS) -> Flag | None:
    """The latest CSF sample's pleocytosis / raised protein, unless that sample was seen."""
    found = latest_csf(samples)
    if found is None or found[0] in set(acknowledged):
        return None
    day, wbc, protein = found
    flags = csf_flags(wbc, protein, thresholds)
    parts = []
    if flags.pleocytosis:
        parts.append(f"pleocytosis ({wbc:g} cells/µL > {thresholds.wbc_per_ul:g})")
    if flags.raised_protein:
        parts.append(f"raised protein ({protein:g} mg/dL > {thresholds.protein_mg_dl:g})")
    if not parts:
        return None
    return Flag(FlagCode.CSF_FLAG, f"CSF {' and '.join(parts)} on {day.isoformat()}", day,
                bool(flags.pleocytosis))


def rising_nfl(samples: Iterable[Sample],
               acknowledged: Iterable[dt.date] = ()) -> Flag | None:
    """The latest NfL value more than the reference change above the previous one of the same
    kind and platform (never compared across platforms, convention 9)."""
    nfl = sorted((s for s in samples if s.kind in NFL_KINDS), key=lambda s: s.date)
    if not nfl:
        return None
    latest = nfl[-1]
    platform = nfl_platform(latest.assay)
    earlier = [s for s in nfl[:-1] if s.kind is latest.kind
               and nfl_platform(s.assay) is platform and s.date < latest.date]
    if not earlier or latest.date in set(acknowledged):
        return None
    previous = earlier[-1]
    if previous.value <= 0 or latest.value <= previous.value * (1 + NFL_REFERENCE_CHANGE):
        return None
    rise = (latest.value / previous.value - 1) * 100
    return Flag(FlagCode.RISING_NFL,
                f"rising NfL: {latest.kind.value.replace('_', ' ')} {latest.value:g} pg/mL on "
                f"{latest.date.isoformat()}, +{rise:.0f}% from {previous.value:g} on "
                f"{previous.date.isoformat()}", latest.date)


def dose_flag(due: Due | None) -> Flag | None:
    if due is None or due.overdue_days <= 0:
        return None
    return Flag(FlagCode.OVERDUE_DOSE,
                f"dose #{due.number} ({due.phase}) overdue by {due.overdue_days} days (due "
                f"{due.date.isoformat()})", due.date, True)


def patient_flags(*, due: Due | None, events: Sequence[EventFacts], samples: Sequence[Sample],
                  pending_self_reports: Sequence[dt.date], today: dt.date,
                  csf_seen: Iterable[dt.date] = (), nfl_seen: Iterable[dt.date] = (),
                  thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS) -> list[Flag]:
    """Every flag of a living patient, the urgent ones first (a deceased patient has none)."""
    flags = [f for f in (dose_flag(due), csf_flag(samples, csf_seen, thresholds),
                         rising_nfl(samples, nfl_seen)) if f is not None]
    flags += event_flags(events, today)
    if pending_self_reports:
        latest = max(pending_self_reports)
        count = len(pending_self_reports)
        flags.append(Flag(FlagCode.SELF_REPORT_PENDING,
                          f"{count} self-report{'s' if count > 1 else ''} to review (latest "
                          f"{latest.isoformat()})", latest))
    return sorted(flags, key=lambda f: not f.urgent)


__all__ = ["NFL_REFERENCE_CHANGE", "OPEN_OUTCOMES", "WARNING_LOOKBACK_DAYS", "EventFacts",
           "Flag", "FlagCode", "FlagKind", "Sample", "csf_flag", "dose_flag", "event_flags",
           "latest_csf", "patient_flags", "rising_nfl"]
