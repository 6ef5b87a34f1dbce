"""Read models of one patient for the CLI (and the web's calendar): summary, dosing calendar.

Everything clinical is computed by the domain (staging, ΔFRS, schedule); this module only
gathers the rows it needs and hands them over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from alsrwe.domain.alsfrs import DEATH_STAGE, AlsfrsR, AssessmentSource, delta_frs, stages
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.events import MilestoneKind
from alsrwe.domain.regimens import AdministrationStatus, Regimen, adherence, next_due, schedule
from alsrwe.store.models import Administration, Patient
from alsrwe.store.reads.patients import patient_named
from alsrwe.store.reads.records import (
    administrations_for,
    assessments_for,
    headline_rating,
    measurements_for,
    milestones_for,
)


@dataclass(frozen=True, slots=True)
class PatientSummary:
    """Label/value lines describing a patient, in display order."""

    pseudonym: str
    lines: list[tuple[str, str]] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        return list(self.lines)


@dataclass(frozen=True, slots=True)
class DosingCalendar:
    """A table of doses (given, missed, planned) with a title and a closing line."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    footer: str


def _given_dates(doses: list[Administration]) -> list[date]:
    return sorted({d.date for d in doses if d.status is AdministrationStatus.GIVEN})


def patient_summary(session: Session, pseudonym: str, *, today: date,
                    regimen: Regimen) -> PatientSummary:
    """Variant, onset, stages, ΔFRS, latest scores and biomarkers, and the next dose."""
    patient = patient_named(session, pseudonym)
    lines: list[tuple[str, str]] = [
        ("site", patient.site.code),
        ("status", patient.status.value),
        ("sex / birth year", f"{patient.sex.value} / {patient.birth_year}"),
        ("SOD1 variant", f"{patient.sod1_hgvs} (legacy {patient.sod1_legacy}), "
                         f"{patient.zygosity.value}"),
    ]
    if patient.onset_date is not None:
        region = patient.onset_region.value if patient.onset_region else "unknown region"
        lines.append(("onset", f"{patient.onset_date.isoformat()} ({region})"))
    if patient.diagnosis_date is not None:
        lines.append(("diagnosis", patient.diagnosis_date.isoformat()))
    milestones = {m.kind: m.date for m in milestones_for(session, patient.id)}
    dead = milestones.get(MilestoneKind.DEATH)
    lines += _assessment_lines(session, patient, dead)
    lines += _measurement_lines(session, patient.id)
    lines += [(kind.value, when.isoformat()) for kind, when in sorted(
        milestones.items(), key=lambda item: item[1])]
    lines += _dose_lines(session, patient.id, today=today, regimen=regimen, dead=dead)
    return PatientSummary(patient.pseudonym, lines)


def _assessment_lines(session: Session, patient: Patient,
                      dead: date | None) -> list[tuple[str, str]]:
    assessments = assessments_for(session, patient.id)
    latest = headline_rating(assessments)
    if latest is None:
        return [("ALSFRS-R", "no assessment recorded" if not assessments
                 else "only self-reports awaiting a clinician's review")]
    score = AlsfrsR.from_items(latest.items, gastrostomy=latest.gastrostomy)
    kings, mitos = stages(score, dead is not None)
    died = f"{DEATH_STAGE} (death)"
    lines = [
        ("ALSFRS-R", f"{score.total}/48 on {latest.date.isoformat()} ({latest.source.value}): "
                     f"bulbar {score.bulbar}, fine motor {score.fine_motor}, "
                     f"gross motor {score.gross_motor}, respiratory {score.respiratory}"),
        ("King's stage", died if kings == DEATH_STAGE else str(kings)),
        ("MiToS stage", died if mitos == DEATH_STAGE else str(mitos)),
    ]
    if patient.onset_date is not None and latest.date > patient.onset_date:
        rate = delta_frs(score.total, patient.onset_date, latest.date)
        lines.append(("ΔFRS", f"{rate:.2f} points/month (onset to {latest.date.isoformat()})"))
    pending = [a for a in assessments if a.source is AssessmentSource.SELF
               and a.reviewed_at is None and a.date >= latest.date]
    if pending:
        newest = pending[-1]
        lines.append(("self-report", f"{sum(newest.items)}/48 on {newest.date.isoformat()}, "
                                     "awaiting a clinician's review"))
    lines.append(("assessments", f"{len(assessments)} since {assessments[0].date.isoformat()}"))
    return lines


def _measurement_lines(session: Session, patient_id: int) -> list[tuple[str, str]]:
    shown = (MeasurementKind.NFL_SERUM, MeasurementKind.NFL_PLASMA, MeasurementKind.NFL_CSF,
             MeasurementKind.SVC_PERCENT, MeasurementKind.CSF_WBC, MeasurementKind.CSF_PROTEIN)
    lines = []
    for kind in shown:
        values = measurements_for(session, patient_id, kind=kind)
        if values:
            last = values[-1]
            assay = f", {last.assay}" if last.assay else ""
            plural = "" if len(values) == 1 else "s"
            lines.append((kind.value, f"{last.value:g} {last.unit} on {last.date.isoformat()}"
                                      f"{assay} ({len(values)} value{plural})"))
    return lines


def _dose_lines(session: Session, patient_id: int, *, today: date, regimen: Regimen,
                dead: date | None) -> list[tuple[str, str]]:
    given = _given_dates(administrations_for(session, patient_id, drug=regimen.drug))
    if not given:
        return [(regimen.drug, "no dose given")]
    if dead is not None:
        return [(regimen.drug, f"{len(given)} doses given; died {dead.isoformat()}")]
    due = next_due(regimen, given, today)
    kept = adherence(regimen, given, today)
    overdue = f", OVERDUE by {due.overdue_days} days" if due.overdue_days else ""
    proportion = f"{kept.proportion:.0%}" if kept.proportion is not None else "n/a"
    return [
        (regimen.drug, f"{len(given)} doses given since {given[0].isoformat()}; "
                       f"adherence {proportion}, longest gap {kept.longest_gap_days} days"),
        ("next dose", f"#{due.number} ({due.phase}) due {due.date.isoformat()}{overdue}"),
    ]


def dosing_calendar(session: Session, pseudonym: str, *, today: date, regimen: Regimen,
                    ahead: int = 4) -> DosingCalendar:
    """Doses given (with delay), missed or deferred ones, and the next ``ahead`` planned."""
    patient = patient_named(session, pseudonym)
    doses = administrations_for(session, patient.id, drug=regimen.drug)
    return calendar_of(patient.pseudonym, doses, today=today, regimen=regimen, ahead=ahead)


def calendar_of(pseudonym: str, doses: list[Administration], *, today: date, regimen: Regimen,
                ahead: int = 4) -> DosingCalendar:
    """The dosing calendar from a patient's administrations (other drugs are ignored)."""
    doses = [d for d in doses if d.drug == regimen.drug]
    given = _given_dates(doses)
    rows: list[tuple[date, tuple[str, ...]]] = []
    if given:
        horizon = max(regimen.min_interval_days, 28) * (ahead + 1)
        planned = 0
        for dose in schedule(regimen, given, today, horizon_days=horizon):
            if dose.given is None:
                planned += 1
                if planned > ahead:
                    break
            rows.append((dose.given or dose.due, _calendar_row(dose, today)))
    rows += [(d.date, ("", "", d.date.isoformat(), "", d.status.value, ""))
             for d in doses if d.status is not AdministrationStatus.GIVEN]
    rows.sort(key=lambda item: item[0])
    footer = (f"{len(given)} doses given; regimen {regimen.id} ({regimen.label})"
              if given else "no dose given yet: the first dose is due on the planned start")
    return DosingCalendar(
        title=f"{regimen.drug} calendar for {pseudonym} (as of {today.isoformat()})",
        columns=("#", "phase", "due", "given", "status", "delay (days)"),
        rows=[row for _, row in rows],
        footer=footer,
    )


def _calendar_row(dose, today: date) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    if dose.given is not None:
        delay = str(dose.delay_days) if dose.delay_days else "0"
        return (str(dose.number), dose.phase, dose.due.isoformat(), dose.given.isoformat(),
                "given", delay)
    status = "overdue" if dose.due < today else "planned"
    return (str(dose.number), dose.phase, dose.due.isoformat(), "", status, "")
