"""ALSFRS-R visits (item level) and disease milestones derived from the latent course.

Item scores come from the latent loss through each patient's point order
(``Population.thresholds``): at an observed loss ``n`` (latent loss + measurement noise,
rounded), item i has lost as many points as it has thresholds below ``n``. So items are
integers 0-4, the total is ``48 − n`` exactly, the onset region's items fall first, and a
patient's items are monotone up to the noise.

Milestones are read off the item anchors (docs/domain-rules.md §1.1): gastrostomy when swallowing
(item 3)
reaches 1 ("needs supplemental tube feeding"); NIV when respiratory insufficiency (item 12) reaches
3 ("intermittent BiPAP"); permanent ventilation at 1 ("continuous BiPAP night and day");
tracheostomy at 0 ("invasive ventilation"); death at the patient's latent death loss. Uptake
shares are alsrwe assumptions (``CohortParams``). Nothing is dated after death or ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alsrwe.synth.encoding import (
    NO_DAY,
    BoolArray,
    FloatArray,
    IntArray,
    categorical,
    dates,
    grouped_cumsum,
    rank_within,
)
from alsrwe.synth.parameters import CohortParams
from alsrwe.synth.population import Population

MILESTONE_KINDS = ("gastrostomy", "niv", "tracheostomy", "permanent_ventilation", "death")
SOURCES = ("clinic", "self")
_BLOCK = 1 << 20
_CARRIER_INTERVAL_FACTOR = 2  # carriers are seen every ~6 months (assumption)


@dataclass(frozen=True, slots=True)
class Visits:
    """Clinic and self-report visits in (person, day) order."""

    person: IntArray
    day: IntArray
    clinic: BoolArray
    latent_loss: FloatArray


def _clinic_schedule(
    pop: Population, params: CohortParams, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    interval = np.where(pop.carrier, params.visit_interval_days * _CARRIER_INTERVAL_FACTOR,
                        params.visit_interval_days)  # fmt: skip
    jitter = params.visit_jitter_days
    span = np.maximum(pop.end - pop.entry, -1)
    count = np.where(span >= 0, span // (interval - jitter) + 1, 0).astype(np.int64)
    person = np.repeat(np.arange(pop.n), count)
    gaps = np.repeat(interval, count) + rng.integers(-jitter, jitter + 1, person.size)
    gaps[rank_within(count) == 0] = 0
    day = np.repeat(pop.entry, count) + grouped_cumsum(gaps, count)
    keep = day <= pop.end[person]
    return person[keep], day[keep]


def schedule_visits(pop: Population, params: CohortParams, rng: np.random.Generator) -> Visits:
    """Clinic visits every ~interval from registry entry, each optionally followed by a self-report
    half an interval later; rows stay ordered by person then day without sorting."""
    person, day = _clinic_schedule(pop, params, rng)
    reporter = (~pop.carrier) & (rng.random(pop.n) < params.self_report_share)
    self_day = day + params.visit_interval_days // 2 + rng.integers(-7, 8, day.size)
    has_self = (
        reporter[person]
        & (rng.random(day.size) < params.self_report_completion)
        & (self_day <= pop.end[person])
    )
    n_self: IntArray = np.cumsum(has_self) - has_self
    clinic_pos = np.arange(day.size) + n_self
    total = day.size + int(has_self.sum())
    out_person = np.empty(total, dtype=np.int64)
    out_day = np.empty(total, dtype=np.int64)
    clinic = np.zeros(total, dtype=bool)
    out_person[clinic_pos], out_day[clinic_pos], clinic[clinic_pos] = person, day, True
    self_pos = clinic_pos[has_self] + 1
    out_person[self_pos], out_day[self_pos] = person[has_self], self_day[has_self]
    loss = np.where(pop.carrier[out_person], 0.0, pop.loss_at(out_person, out_day))
    return Visits(out_person, out_day, clinic, loss)


def _milestone_day(
    pop: Population, person: IntArray, item: int, point: int, rng: np.random.Generator
) -> IntArray:
    level = pop.thresholds[person, item, point].astype(np.float64) + 0.5
    return pop.day_at_loss(person, level) + rng.integers(0, 46, person.size)


def milestone_days(
    pop: Population, params: CohortParams, rng: np.random.Generator
) -> dict[str, IntArray]:
    """Day of each milestone per person (``NO_DAY`` when it did not happen by the end)."""
    everyone = np.arange(pop.n)
    sym = ~pop.carrier
    niv_user = sym & (rng.random(pop.n) < params.niv_uptake)
    draws = {
        "gastrostomy": (sym & (rng.random(pop.n) < params.gastrostomy_uptake), 2, 2),
        "niv": (niv_user, 11, 0),
        "permanent_ventilation": (
            niv_user & (rng.random(pop.n) < params.permanent_ventilation_share), 11, 2),
        "tracheostomy": (niv_user & (rng.random(pop.n) < params.tracheostomy_share), 11, 3),
    }  # fmt: skip
    out: dict[str, IntArray] = {}
    for kind, (eligible, item, point) in draws.items():
        day = _milestone_day(pop, everyone, item, point, rng)
        happened = eligible & (day <= pop.end)
        out[kind] = np.where(happened, day, NO_DAY)
    out["death"] = pop.death
    return out


def _items(pop: Population, person: IntArray, observed_loss: IntArray) -> np.ndarray:
    """Items 1-12 (int8) from the observed loss, in blocks to bound memory."""
    thresholds = pop.thresholds.reshape(pop.n, 48)
    items = np.empty((person.size, 12), dtype=np.int8)
    for lo in range(0, person.size, _BLOCK):
        hi = min(lo + _BLOCK, person.size)
        lost = thresholds[person[lo:hi]] < observed_loss[lo:hi, None]
        items[lo:hi] = 4 - lost.reshape(hi - lo, 12, 4).sum(axis=2, dtype=np.int8)
    return items


def alsfrs_frame(
    pop: Population,
    params: CohortParams,
    visits: Visits,
    gastrostomy_day: IntArray,
    ids: pd.Index,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The ``alsfrs`` table: q5 is scored as 5b (``gastrostomy`` = 1) from the gastrostomy day."""
    sd = np.where(visits.clinic, params.item_noise_sd, params.self_noise_sd)
    noisy = visits.latent_loss + sd * rng.standard_normal(visits.day.size)
    observed = np.clip(np.rint(noisy), 0, 48).astype(np.int64)
    observed[pop.carrier[visits.person]] = 0
    items = _items(pop, visits.person, observed)
    g_day = gastrostomy_day[visits.person]
    gastro = ((g_day != NO_DAY) & (visits.day >= g_day)).astype(np.int8)
    cols: dict[str, pd.Series] = {
        "patient_id": categorical(visits.person, ids),
        "date": dates(visits.day),
    }
    for i in range(12):
        cols[f"q{i + 1}"] = pd.Series(items[:, i], copy=False)
    cols["gastrostomy"] = pd.Series(gastro, copy=False)
    cols["source"] = categorical(np.where(visits.clinic, 0, 1), SOURCES)
    return pd.DataFrame(cols, copy=False)


def milestones_frame(days: dict[str, IntArray], ids: pd.Index) -> pd.DataFrame:
    """The ``milestones`` table, ordered by patient then date."""
    persons, kinds, when = [], [], []
    for code, kind in enumerate(MILESTONE_KINDS):
        happened = np.flatnonzero(days[kind] != NO_DAY)
        persons.append(happened)
        kinds.append(np.full(happened.size, code, dtype=np.int8))
        when.append(days[kind][happened])
    person, kind_code, day = np.concatenate(persons), np.concatenate(kinds), np.concatenate(when)
    order = np.lexsort((kind_code, day, person))
    return pd.DataFrame(
        {
            "patient_id": categorical(person[order], ids),
            "date": dates(day[order]),
            "kind": categorical(kind_code[order], MILESTONE_KINDS),
        },
        copy=False,
    )


__all__ = [
    "MILESTONE_KINDS",
    "Visits",
    "alsfrs_frame",
    "milestone_days",
    "milestones_frame",
    "schedule_visits",
]
