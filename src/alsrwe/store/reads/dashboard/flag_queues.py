"""CSF flags and carriers' NfL alerts on the latest sample, and their acknowledgements."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from alsrwe.domain.biomarkers import (
    DEFAULT_CSF_THRESHOLDS,
    NFL_KINDS,
    CsfFlags,
    CsfThresholds,
    MeasurementKind,
    csf_flags,
    nfl_platform,
)
from alsrwe.domain.flags import FlagKind, Sample, rising_nfl
from alsrwe.domain.nfl_surveillance import (
    DEFAULT_SURVEILLANCE_RULE,
    SurveillanceRule,
    nfl_trigger,
)
from alsrwe.domain.patient import PatientStatus
from alsrwe.store.models import (
    FlagAcknowledgement,
    Measurement,
    Patient,
)
from alsrwe.store.reads.dashboard.queues import (
    PatientRef,
    living,
)
from alsrwe.store.scope import SiteScope

CSF_KINDS = (MeasurementKind.CSF_WBC, MeasurementKind.CSF_PROTEIN)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Who saw a flag on which sample, when, and what they noted."""

    by: str
    at: dt.datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class CsfFlagRow:
    patient: PatientRef
    date: dt.date
    wbc_per_ul: float | None
    protein_mg_dl: float | None
    flags: CsfFlags
    acknowledged: Acknowledgement | None = None


@dataclass(frozen=True, slots=True)
class NflAlert:
    patient: PatientRef
    baseline_date: dt.date
    baseline_pg_ml: float
    latest_date: dt.date
    latest_pg_ml: float
    assay: str | None
    acknowledged: Acknowledgement | None = None


# --- CSF and NfL flags -------------------------------------------------------------------------


def _measurements(
    session: Session,
    scope: SiteScope,
    kinds: tuple[MeasurementKind, ...],
    status: PatientStatus | None = None,
) -> dict[PatientRef, list[Measurement]]:
    """Measurements of ``kinds`` per living patient in scope, oldest first."""
    query = living(scope, (
        select(Measurement, Patient.pseudonym)
        .join(Patient, Measurement.patient_id == Patient.id)
        .where(Measurement.kind.in_(kinds))
        .order_by(Measurement.patient_id, Measurement.date)
    ))
    if status is not None:
        query = query.where(Patient.status == status)
    found: dict[PatientRef, list[Measurement]] = defaultdict(list)
    for row, pseudonym in session.execute(query):
        found[PatientRef(row.patient_id, pseudonym)].append(row)
    return found


def _acknowledgements(session: Session, scope: SiteScope, flag: FlagKind
                      ) -> dict[tuple[int, dt.date], Acknowledgement]:
    query = scope.patients(
        select(FlagAcknowledgement)
        .join(Patient, FlagAcknowledgement.patient_id == Patient.id)
        .where(FlagAcknowledgement.flag == flag)
    )
    return {(row.patient_id, row.sample_date):
            Acknowledgement(row.acknowledged_by, row.acknowledged_at, row.note)
            for row in session.scalars(query)}


def csf_sample(ref: PatientRef, rows: Sequence[Measurement], day: dt.date,
               thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS) -> CsfFlagRow:
    """The CSF sample of ``day`` (WBC and/or protein measured on it) with its flags."""
    values = {row.kind: row.value for row in rows if row.date == day}
    wbc = values.get(MeasurementKind.CSF_WBC)
    protein = values.get(MeasurementKind.CSF_PROTEIN)
    return CsfFlagRow(ref, day, wbc, protein, csf_flags(wbc, protein, thresholds))


def latest_csf(session: Session, scope: SiteScope,
               thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS) -> dict[int, CsfFlagRow]:
    """Each living patient's latest CSF sample, flagged or not, by patient id."""
    return {ref.id: csf_sample(ref, rows, rows[-1].date, thresholds)
            for ref, rows in _measurements(session, scope, CSF_KINDS).items()}


def flagged_csf(
    session: Session, scope: SiteScope, thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS,
    since: dt.date | None = None,
) -> list[CsfFlagRow]:
    """Patients whose latest CSF sample is flagged, newest sample first, each with the
    acknowledgement of that sample if a clinician gave one."""
    acknowledged = _acknowledgements(session, scope, FlagKind.CSF)
    flagged = [
        CsfFlagRow(row.patient, row.date, row.wbc_per_ul, row.protein_mg_dl, row.flags,
                   acknowledged.get((row.patient.id, row.date)))
        for row in latest_csf(session, scope, thresholds).values()
        if row.flags.any and (since is None or row.date >= since)
    ]
    flagged.sort(key=lambda r: (r.date, r.patient.pseudonym), reverse=True)
    return flagged


def _nfl_alert(ref: PatientRef, rows: Sequence[Measurement], rule: SurveillanceRule
               ) -> NflAlert | None:
    """The alert of the last of ``rows`` (oldest first) against the earliest value on its
    platform, or None when it did not cross the threshold."""
    latest = rows[-1]
    platform = nfl_platform(latest.assay)
    baseline = next(r for r in rows if nfl_platform(r.assay) == platform)
    if baseline is latest or not nfl_trigger(baseline.value, latest.value, rule):
        return None
    return NflAlert(ref, baseline.date, baseline.value, latest.date, latest.value, latest.assay)


def nfl_alerts(
    session: Session, scope: SiteScope, rule: SurveillanceRule = DEFAULT_SURVEILLANCE_RULE,
    since: dt.date | None = None,
) -> list[NflAlert]:
    """Carriers whose latest plasma NfL rose past the surveillance rule from their baseline,
    newest first, each with the acknowledgement of that sample if given.

    The baseline is the earliest value on the same assay platform as the latest value.
    """
    acknowledged = _acknowledgements(session, scope, FlagKind.NFL)
    kinds = (MeasurementKind.NFL_PLASMA,)
    alerts = []
    for ref, rows in _measurements(session, scope, kinds, PatientStatus.CARRIER).items():
        alert = _nfl_alert(ref, rows, rule)
        if alert is not None and (since is None or alert.latest_date >= since):
            ack = acknowledged.get((ref.id, alert.latest_date))
            alerts.append(NflAlert(ref, alert.baseline_date, alert.baseline_pg_ml,
                                   alert.latest_date, alert.latest_pg_ml, alert.assay, ack))
    alerts.sort(key=lambda a: (a.latest_date, a.patient.pseudonym), reverse=True)
    return alerts


def sample_is_flagged(
    session: Session, patient: Patient, flag: FlagKind, sample_date: dt.date, *,
    thresholds: CsfThresholds = DEFAULT_CSF_THRESHOLDS,
    rule: SurveillanceRule = DEFAULT_SURVEILLANCE_RULE,
) -> bool:
    """Whether the patient's sample of ``sample_date`` carries ``flag``: a CSF flag on that
    sample; for NfL, a carrier's plasma NfL past the surveillance rule (the dashboard's queue)
    or a rising NfL of the patient page's header (docs/domain-rules.md §13)."""
    ref = PatientRef(patient.id, patient.pseudonym)
    kinds = CSF_KINDS if flag is FlagKind.CSF else tuple(NFL_KINDS)
    rows = list(session.scalars(
        select(Measurement)
        .where(Measurement.patient_id == patient.id, Measurement.kind.in_(kinds),
               Measurement.date <= sample_date)
        .order_by(Measurement.date)
    ))
    if not rows or rows[-1].date != sample_date:
        return False
    if flag is FlagKind.CSF:
        return csf_sample(ref, rows, sample_date, thresholds).flags.any
    rising = rising_nfl([Sample(m.date, m.kind, m.value, m.assay) for m in rows])
    if rising is not None and rising.date == sample_date:
        return True
    plasma = [m for m in rows if m.kind is MeasurementKind.NFL_PLASMA]
    return (patient.status is PatientStatus.CARRIER and bool(plasma)
            and plasma[-1].date == sample_date and _nfl_alert(ref, plasma, rule) is not None)
