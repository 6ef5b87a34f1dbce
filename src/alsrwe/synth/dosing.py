"""Tofersen administrations and concomitant medications.

Tofersen follows alsrwe convention 5 (docs/domain-rules.md §3.1): 100 mg intrathecally; dose n+1 is
due 14
days after the *actual* date of dose n while n+1 ≤ 3, and 28 days after it otherwise. Injected
deviations (probabilities in ``CohortParams``, alsrwe assumptions): a *late* dose is given 1 to
``late_dose_max_days`` days after its due date; a *missed* or *deferred* dose is recorded on its due
date with no dose and the catch-up dose is given 3-14 days later, from which the schedule continues.
About 10 mL of CSF is removed before each dose (§3.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alsrwe.domain.drugs import Drug
from alsrwe.domain.regimens import (
    EDARAVONE_IV,
    TOFERSEN_US,
    AdministrationStatus,
    IntervalPhase,
)
from alsrwe.synth.encoding import (
    NO_DAY,
    BoolArray,
    IntArray,
    categorical,
    dates,
    day_number,
    grouped_cumsum,
    rank_within,
)
from alsrwe.synth.parameters import CohortParams
from alsrwe.synth.population import Population

ADMIN_DRUGS = (TOFERSEN_US.drug, EDARAVONE_IV.drug)
ADMIN_STATUSES = tuple(status.value for status in AdministrationStatus)
MEDICATION_DRUGS = (Drug.RILUZOLE.value, Drug.EDARAVONE_ORAL.value)
# The label's rhythm, read from the regimen (one place for the rule: alsrwe.domain.regimens).
_LOADING, _MAINTENANCE = (p for p in TOFERSEN_US.phases if isinstance(p, IntervalPhase))
LOADING_DOSES = _LOADING.doses or 0
LOADING_INTERVAL_DAYS = _LOADING.interval_days
MAINTENANCE_INTERVAL_DAYS = _MAINTENANCE.interval_days
_CATCH_UP_DAYS = (3, 14)  # "give as soon as possible" (§3.1) — the delay is an alsrwe assumption
_LOT_DAYS = 91  # one manufacturing lot per quarter (assumption)
_EDARAVONE_ORAL_FROM = day_number(pd.Timestamp("2022-05-12").date())  # assumption: US approval


@dataclass(frozen=True, slots=True)
class Doses:
    """Administration rows in (person, day) order."""

    person: IntArray
    day: IntArray
    status: IntArray  # index into ADMIN_STATUSES


def schedule_doses(pop: Population, params: CohortParams, rng: np.random.Generator) -> Doses:
    """Every tofersen administration record from the start to the end of follow-up."""
    treated = np.flatnonzero(pop.treated)
    start, end = pop.treat_start[treated], pop.end[treated]
    slots = LOADING_DOSES + (end - start) // MAINTENANCE_INTERVAL_DAYS + 1
    person = np.repeat(treated, slots)
    k = rank_within(slots)
    base = np.where(k < LOADING_DOSES, LOADING_INTERVAL_DAYS, MAINTENANCE_INTERVAL_DAYS)
    base[k == 0] = 0
    u = rng.random(person.size)
    p_missed, p_deferred = params.missed_dose_probability, params.deferred_dose_probability
    skipped = np.where(u < p_missed, 1, np.where(u < p_missed + p_deferred, 2, 0))
    late = (u >= p_missed + p_deferred) & (u < p_missed + p_deferred + params.late_dose_probability)
    skipped[k == 0] = 0
    late[k == 0] = False
    extra = np.where(late, rng.integers(1, params.late_dose_max_days + 1, person.size), 0)
    extra = np.where(skipped > 0, rng.integers(*_CATCH_UP_DAYS, size=person.size, endpoint=True),
                     extra)  # fmt: skip
    given_day = np.repeat(start, slots) + grouped_cumsum(base + extra, slots)
    skipped_day = given_day - extra
    stop = pop.end[person]
    # Interleave: slot k contributes [skipped record on its due day], then the given dose.
    rows_person = np.repeat(person, 2)
    rows_day = np.column_stack([skipped_day, given_day]).ravel()
    rows_status = np.column_stack([skipped, np.zeros_like(skipped)]).ravel()
    recorded = np.column_stack([skipped > 0, np.ones_like(late)]).ravel()
    valid = recorded & (rows_day <= stop.repeat(2))
    return Doses(rows_person[valid], rows_day[valid], rows_status[valid])


def administrations_frame(
    doses: Doses, params: CohortParams, ids: pd.Index, rng: np.random.Generator
) -> pd.DataFrame:
    """The ``administrations`` table (dose and CSF volume empty when not given)."""
    given = doses.status == 0
    n = doses.day.size
    volume = np.clip(np.round(rng.normal(params.csf_removed_ml, 0.7, n) * 2) / 2, 5.0, 15.0)
    lot_code = doses.day // _LOT_DAYS
    lots, lot_idx = np.unique(lot_code, return_inverse=True)
    lot_idx = np.where(given, lot_idx, -1)
    return pd.DataFrame(
        {
            "patient_id": categorical(doses.person, ids),
            "date": dates(doses.day),
            "drug": categorical(np.zeros(n, dtype=np.int8), ADMIN_DRUGS),
            "dose_mg": np.where(given, params.dose_mg, np.nan),
            "status": categorical(doses.status, ADMIN_STATUSES),
            "lot": categorical(lot_idx, [f"TOF{int(c):06d}" for c in lots]),
            "csf_removed_ml": np.where(given, volume, np.nan),
        },
        copy=False,
    )


def _stops(
    start: IntArray, end: IntArray, share: float, rng: np.random.Generator
) -> IntArray:
    stop = start + rng.integers(30, 721, start.size)
    stopped = (rng.random(start.size) < share) & (stop <= end)
    return np.where(stopped, stop, NO_DAY)


def medications_frame(
    pop: Population, params: CohortParams, ids: pd.Index, rng: np.random.Generator
) -> pd.DataFrame:
    """The ``medications`` table: riluzole for most patients, oral edaravone for some.

    Shares are alsrwe assumptions (``riluzole_share``, ``edaravone_oral_share``); both were
    allowed in VALOR (docs/domain-rules.md §4.1). Start after diagnosis, never after the end of
    follow-up.
    """
    sym = np.flatnonzero(~pop.carrier)
    on_ril = sym[rng.random(sym.size) < params.riluzole_share]
    ril_start = np.minimum(pop.diagnosis[on_ril] + rng.integers(0, 121, on_ril.size),
                           pop.end[on_ril])  # fmt: skip
    ril_stop = _stops(ril_start, pop.end[on_ril], 0.15, rng)

    on_eda = sym[rng.random(sym.size) < params.edaravone_oral_share]
    eda_start = np.maximum(pop.diagnosis[on_eda], _EDARAVONE_ORAL_FROM)
    eda_start = eda_start + rng.integers(0, 181, on_eda.size)
    keep = eda_start <= pop.end[on_eda]
    on_eda, eda_start = on_eda[keep], eda_start[keep]
    eda_stop = _stops(eda_start, pop.end[on_eda], 0.3, rng)

    person = np.concatenate([on_ril, on_eda])
    drug = np.concatenate([np.zeros(on_ril.size, np.int8), np.ones(on_eda.size, np.int8)])
    start = np.concatenate([ril_start, eda_start])
    stop = np.concatenate([ril_stop, eda_stop])
    order = np.lexsort((drug, start, person))
    return pd.DataFrame(
        {
            "patient_id": categorical(person[order], ids),
            "drug": categorical(drug[order], MEDICATION_DRUGS),
            "start_date": dates(start[order]),
            "stop_date": dates(stop[order]),
        },
        copy=False,
    )


def given_mask(doses: Doses) -> BoolArray:
    """Rows of ``doses`` where a dose was actually given (a lumbar puncture happened)."""
    return np.asarray(doses.status == 0)


__all__ = [
    "ADMIN_DRUGS",
    "ADMIN_STATUSES",
    "Doses",
    "MEDICATION_DRUGS",
    "administrations_frame",
    "given_mask",
    "medications_frame",
    "schedule_doses",
]
