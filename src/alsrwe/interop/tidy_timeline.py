"""Rules of an import that span files: each patient's records must fit their own timeline.

Milestones follow the domain's order rules and do not precede symptom onset; nothing is
recorded after death (an assessment, a measurement, a dose given, an adverse event starting).
Onset and death come from the files being imported or, failing that, from the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from alsrwe.domain.errors import DomainError
from alsrwe.domain.events import Milestone, MilestoneKind, check_milestones
from alsrwe.domain.regimens import AdministrationStatus
from alsrwe.interop.problems import Problem

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PatientDates:
    """What the registry already knows of a patient's timeline."""

    onset: date | None = None
    death: date | None = None


# File → the column holding the date that must not come after death.
AFTER_DEATH_COLUMNS = {"alsfrs": "date", "measurements": "date", "administrations": "date",
                       "adverse_events": "onset_date"}


def _timelines(records: Mapping[str, Sequence[Record]],
               registered: Mapping[str, PatientDates]) -> dict[str, PatientDates]:
    onsets = {pid: known.onset for pid, known in registered.items()}
    deaths = {pid: known.death for pid, known in registered.items()}
    for rec in records.get("patients", []):
        onsets[rec["pseudonym"]] = rec["onset_date"]
    for rec in records.get("milestones", []):
        if rec["kind"] is MilestoneKind.DEATH:
            deaths[rec["pseudonym"]] = rec["date"]
    return {pid: PatientDates(onsets.get(pid), deaths.get(pid)) for pid in onsets | deaths}


def timeline_problems(records: Mapping[str, Sequence[Record]],
                      lines: Mapping[str, Sequence[int]],
                      registered: Mapping[str, PatientDates]) -> list[Problem]:
    """Every record that does not fit its patient's onset and death."""
    timelines = _timelines(records, registered)
    problems = _milestone_order(records.get("milestones", []), lines.get("milestones", []),
                                timelines)
    for name, column in AFTER_DEATH_COLUMNS.items():
        for rec, line in zip(records.get(name, []), lines.get(name, []), strict=True):
            if name == "administrations" and rec["status"] is not AdministrationStatus.GIVEN:
                continue
            death = timelines.get(rec["pseudonym"], PatientDates()).death
            if death is not None and rec[column] > death:
                problems.append(Problem(f"{name}.csv", line, column,
                                        f"{rec[column]} is after the patient's death on {death}"))
    return problems


def _milestone_order(records: Sequence[Record], lines: Sequence[int],
                     timelines: Mapping[str, PatientDates]) -> list[Problem]:
    by_patient: dict[str, list[tuple[int, Record]]] = {}
    for record, line in zip(records, lines, strict=True):
        by_patient.setdefault(record["pseudonym"], []).append((line, record))
    problems = []
    for pid, entries in by_patient.items():
        onset = timelines.get(pid, PatientDates()).onset
        try:
            check_milestones([Milestone(rec["kind"], rec["date"]) for _, rec in entries],
                             onset=onset)
        except DomainError as error:
            line = _offending_line(entries, error.rule)
            problems.append(Problem("milestones.csv", line, "date", error.rule))
    return problems


def _offending_line(entries: Sequence[tuple[int, Record]], rule: str) -> int:
    """The row whose kind the rule names (the domain's message names it), else the last."""
    for line, rec in entries:
        if str(rec["kind"]) in rule:
            return line
    return entries[-1][0]
