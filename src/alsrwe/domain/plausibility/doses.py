"""Rules of a dose: the label's dose and schedule, and the CSF removed at the lumbar puncture.

docs/domain-rules.md §11. Hard: a dose above ``max_dose_multiple`` label doses; CSF removed
above the adult CSF volume, or for a drug not given intrathecally. Soft (a confirmation lets
them through): a given dose other than the label's (tofersen 100 mg, US PI 2023 §2.1; EU
SmPC 2024 §4.2), a dose sooner than the schedule allows (convention 5: 14 days after the
previous actual dose while loading, 28 in maintenance; the labels give no early window, so
the share of the interval that may be early is alsrwe's), CSF removed outside the usual range
(label: about 10 mL).
"""

from __future__ import annotations

import datetime as dt
import math

from alsrwe.domain.dosing import AdministrationStatus, Regimen, Route
from alsrwe.domain.errors import Problem
from alsrwe.domain.plausibility.history import PatientHistory
from alsrwe.domain.plausibility.settings import PlausibilitySettings
from alsrwe.domain.records import AdministrationEntry
from alsrwe.domain.regimens import interval_into, regimens_for_drug

ABOVE_MAXIMUM = "dose.above_maximum"
NOT_LABEL_DOSE = "dose.not_label_dose"
TOO_SOON = "dose.too_soon"
CSF_ABOVE_VOLUME = "csf_removed.above_csf_volume"
CSF_NOT_INTRATHECAL = "csf_removed.not_intrathecal"
CSF_OUTSIDE_RANGE = "csf_removed.outside_range"


def regimen_of(drug: str) -> Regimen:
    """The regimen whose dose and schedule a dose of ``drug`` is held against (for tofersen the
    US and EU labels agree on both, docs/domain-rules.md §3.1)."""
    return regimens_for_drug(drug)[0]


def _amount_problems(entry: AdministrationEntry, regimen: Regimen,
                     settings: PlausibilitySettings) -> list[Problem]:
    problems = []
    dose, label = entry.dose_mg, regimen.dose
    if dose is not None and dose > settings.max_dose_multiple * label:
        times = settings.max_dose_multiple
        problems.append(Problem("dose_mg", f"{dose:g} mg is more than {times:g} times the label "
                                           f"dose of {label:g} mg; no such dose is given",
                                ABOVE_MAXIMUM))
    elif entry.status is AdministrationStatus.GIVEN and dose is not None and dose != label:
        problems.append(Problem("dose_mg", f"{dose:g} mg differs from the label dose of "
                                           f"{label:g} mg",
                                NOT_LABEL_DOSE, soft=True))
    csf = entry.csf_removed_ml
    if csf is None:
        return problems
    low, high = settings.csf_removed_ml
    if regimen.route is not Route.INTRATHECAL:
        problems.append(Problem("csf_removed_ml", f"{entry.drug.value} is not given "
                                                  "intrathecally: leave CSF removed empty",
                                CSF_NOT_INTRATHECAL))
    elif csf > settings.csf_volume_ml:
        problems.append(Problem("csf_removed_ml", f"{csf:g} mL is more than the whole adult CSF "
                                                  f"volume (about {settings.csf_volume_ml:g} mL)",
                                CSF_ABOVE_VOLUME))
    elif not low <= csf <= high:
        problems.append(Problem("csf_removed_ml", f"{csf:g} mL is outside the usual {low:g}-"
                                                  f"{high:g} mL (the label removes about 10 mL)",
                                CSF_OUTSIDE_RANGE, soft=True))
    return problems


def _earliest(regimen: Regimen, number: int, previous: dt.date,
              settings: PlausibilitySettings) -> tuple[dt.date, dt.date]:
    """(due date, earliest plausible date) of dose ``number`` after the one on ``previous``:
    a share of the interval early still passes (``early_dose_fraction``)."""
    interval = interval_into(regimen, number)
    due = previous + dt.timedelta(days=interval)
    return due, due - dt.timedelta(days=math.floor(interval * settings.early_dose_fraction))


def _interval_problems(entry: AdministrationEntry, regimen: Regimen, history: PatientHistory,
                       settings: PlausibilitySettings) -> list[Problem]:
    if entry.status is not AdministrationStatus.GIVEN or regimen.cyclic:
        return []
    count, previous, following = history.doses_around(entry.drug.value, entry.date)
    problems = []
    if previous is not None:
        due, earliest = _earliest(regimen, count + 1, previous, settings)
        if entry.date < earliest:
            gap = (entry.date - previous).days
            problems.append(Problem("date", f"{entry.date.isoformat()} is {gap} days after the "
                                            f"previous dose ({previous.isoformat()}); the "
                                            f"schedule has this dose due on {due.isoformat()}",
                                    TOO_SOON, soft=True))
    if following is not None:
        due, earliest = _earliest(regimen, count + 2, entry.date, settings)
        if following < earliest:
            gap = (following - entry.date).days
            problems.append(Problem("date", f"the next recorded dose ({following.isoformat()}) "
                                            f"would be only {gap} days after this one; the "
                                            f"schedule has it due on {due.isoformat()}",
                                    TOO_SOON, soft=True))
    return problems


def dose_problems(entry: AdministrationEntry, history: PatientHistory,
                  settings: PlausibilitySettings) -> list[Problem]:
    """Every dose rule broken by ``entry`` given the patient's other doses of the drug."""
    regimen = regimen_of(entry.drug.value)
    return (_amount_problems(entry, regimen, settings)
            + _interval_problems(entry, regimen, history, settings))


__all__ = [
    "ABOVE_MAXIMUM",
    "CSF_ABOVE_VOLUME",
    "CSF_NOT_INTRATHECAL",
    "CSF_OUTSIDE_RANGE",
    "NOT_LABEL_DOSE",
    "TOO_SOON",
    "dose_problems",
    "regimen_of",
]
