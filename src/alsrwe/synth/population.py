"""Who is in the synthetic registry: per-person arrays and the latent disease course.

One row per person (symptomatic patients and presymptomatic carriers together, ordered by site).
The latent ALSFRS-R loss of a patient is piecewise linear in time: ``rate`` points/month from
symptom onset, ``rate × (1 − treatment_effect)`` from the tofersen start. Everything observed
(visits, milestones, NfL) is derived from this latent course, and ``truth`` exposes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from alsrwe.synth.encoding import NO_DAY, BoolArray, FloatArray, IntArray, day_number, year_of
from alsrwe.synth.parameters import MONTH_DAYS, CohortParams

REGIONS = ("bulbar", "upper_limb", "lower_limb", "respiratory", "generalized")

# Rank of each ALSFRS-R domain (bulbar 1-3, fine motor 4-6, gross motor 7-9, respiratory 10-12)
# in the order it declines, per onset region: the onset region's items go first.
# alsrwe assumption (the order is clinical common sense; no source in docs/domain-rules.md gives
# numbers).
_DOMAIN_RANK = np.array(
    [
        [0, 1, 2, 3],  # bulbar onset
        [2, 0, 1, 3],  # upper limb
        [2, 1, 0, 3],  # lower limb
        [3, 2, 1, 0],  # respiratory
        [1.5, 1.5, 1.5, 1.5],  # generalized
    ]
)
_DOMAIN_SPACING = 10.0  # key units between consecutive domains (overlap control; assumption)
_STEP_SPACING = 2.5  # key units between successive points lost on one item
_KEY_NOISE = 5.0


@dataclass(frozen=True, slots=True)
class Population:
    """Per-person arrays (index = person); day numbers since 1970, ``NO_DAY`` when absent."""

    n: int
    as_of: int
    site: IntArray
    male: BoolArray
    carrier: BoolArray
    variant: IntArray
    birth_year: IntArray
    region: IntArray  # index into REGIONS, -1 for carriers
    onset: IntArray
    diagnosis: IntArray
    entry: IntArray  # first registry visit
    rate: FloatArray  # latent ALSFRS-R points lost per month before treatment (0 for carriers)
    effect: float
    death_loss: FloatArray  # latent loss at which the patient dies
    treat_start: IntArray
    death: IntArray  # NO_DAY when alive at as_of
    end: IntArray  # last day of follow-up: as_of, or the day before death
    thresholds: npt.NDArray[np.int8]  # (n, 12, 4): loss at which item i loses its (j+1)-th point
    csf_inflamed: BoolArray  # treated patients whose CSF WBC/protein rise on tofersen

    @property
    def treated(self) -> BoolArray:
        return np.asarray(self.treat_start != NO_DAY)

    def loss_at(self, person: IntArray, day: IntArray) -> FloatArray:
        """Latent ALSFRS-R points lost by ``person`` on ``day`` (vectorised over rows)."""
        onset = self.onset[person]
        onset = np.where(onset == NO_DAY, day, onset)  # carriers: no loss
        rate = self.rate[person]
        start = self.treat_start[person]
        treated = start != NO_DAY
        pre_end = np.where(treated, np.minimum(day, start), day)
        loss = rate * np.maximum(pre_end - onset, 0) / MONTH_DAYS
        on = np.where(treated, np.maximum(day - start, 0), 0)
        loss += rate * (1.0 - self.effect) * on / MONTH_DAYS
        return np.asarray(loss, dtype=np.float64)

    def day_at_loss(self, person: IntArray, loss: FloatArray) -> IntArray:
        """First day the latent loss reaches ``loss`` (inverse of ``loss_at``)."""
        onset = np.maximum(self.onset[person], 0).astype(np.float64)  # carriers: no onset
        rate = np.maximum(self.rate[person], 1e-9)
        start = self.treat_start[person]
        treated = start != NO_DAY
        loss_at_start = np.where(treated, rate * (start - onset) / MONTH_DAYS, np.inf)
        before = onset + loss / rate * MONTH_DAYS
        after = start + (loss - loss_at_start) / (rate * (1.0 - self.effect)) * MONTH_DAYS
        day = np.where(loss <= loss_at_start, before, after)
        return np.ceil(np.minimum(day, 4e6)).astype(np.int64)


def _choice(rng: np.random.Generator, weights: list[float], size: int) -> IntArray:
    p = np.asarray(weights, dtype=np.float64)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(size), side="right").clip(
        0, p.size - 1
    )


def _thresholds(rng: np.random.Generator, region: IntArray) -> npt.NDArray[np.int8]:
    """For each person, the order in which the 48 item-points are lost.

    Each of the 48 points (item i, j-th point lost) gets a key: domain rank × spacing + j ×
    step + noise; its rank among the 48 keys is the latent loss at which it is lost. Sorting
    the four ranks of an item gives the loss levels at which the item drops to 3, 2, 1 and 0.
    """
    n = region.size
    domain_of_point = np.repeat(np.arange(4), 12)  # 4 domains × 3 items × 4 points
    step_of_point = np.tile(np.arange(4), 12)
    rank = _DOMAIN_RANK[np.maximum(region, 0)][:, domain_of_point]
    keys = rank * _DOMAIN_SPACING + step_of_point * _STEP_SPACING
    keys += rng.normal(0.0, _KEY_NOISE, size=(n, 48))
    order = np.argsort(keys, axis=1)
    pos = np.empty((n, 48), dtype=np.int8)
    np.put_along_axis(pos, order, np.arange(48, dtype=np.int8)[None, :], axis=1)
    return np.sort(pos.reshape(n, 12, 4), axis=2)


def build_population(params: CohortParams, rng: np.random.Generator) -> Population:
    """Draw every person's attributes and latent course (vectorised)."""
    n = params.n_patients + params.n_carriers
    as_of = day_number(params.as_of)
    site = np.sort(_choice(rng, [s.weight for s in params.sites], n))
    carrier = np.zeros(n, dtype=bool)
    carrier[rng.permutation(n)[: params.n_carriers]] = True
    male = rng.random(n) < params.male_share

    variant = _choice(rng, [v.weight for v in params.variants], n)
    carrier_ids = [i for i, v in enumerate(params.variants) if v.legacy in params.carrier_variants]
    carrier_pick = np.asarray(carrier_ids)[rng.integers(0, len(carrier_ids), n)]
    variant = np.where(carrier, carrier_pick, variant)
    speed = np.array([v.speed_factor for v in params.variants])[variant]
    delay_median = np.array([v.diagnostic_delay_months for v in params.variants])[variant]

    shape = 1.0 / params.decline_cv**2
    base = rng.gamma(shape, params.decline_mean_per_month / shape, n)
    rate = np.where(carrier, 0.0, np.maximum(base * speed, 0.02))
    lo, hi = params.death_loss_range
    death_loss = rng.uniform(lo, hi, n)
    months_to_death = death_loss / np.maximum(rate, 1e-9)

    span = params.registry_years * 365.25
    diagnosis = as_of - rng.integers(30, max(int(span), 31), n)
    delay = delay_median * np.exp(params.diagnostic_delay_sigma * rng.standard_normal(n))
    delay = np.minimum(delay, 0.6 * months_to_death)
    onset = diagnosis - np.round(delay * MONTH_DAYS).astype(np.int64)
    death0 = onset + np.floor(months_to_death * MONTH_DAYS).astype(np.int64)
    lag = rng.integers(0, 91, n)
    entry = np.where(carrier, as_of - rng.integers(0, 4 * 365, n),
                     np.minimum(diagnosis + lag, (diagnosis + death0) // 2))  # fmt: skip

    region_weights = {str(k): w for k, w in params.onset_region_weights.items()}
    region = np.where(carrier, -1, _choice(rng, [region_weights.get(r, 0.0) for r in REGIONS], n))
    onset_age = np.clip(rng.normal(params.onset_age_mean, params.onset_age_sd, n), 20, 85)
    carrier_age = np.clip(rng.normal(42.0, 12.0, n), 18, 80)  # assumption
    ref_day = np.where(carrier, as_of, onset)
    age = np.where(carrier, carrier_age, onset_age)
    birth_year = year_of(ref_day) - np.floor(age).astype(np.int64)

    # Tofersen start: after entry and availability, before the untreated end of follow-up.
    avail = day_number(params.treatment_available_from)
    earliest = np.maximum(entry, avail)
    start = earliest + rng.integers(0, params.treatment_start_lag_days + 1, n)
    end0 = np.minimum(as_of, death0 - 1)
    treated = (~carrier) & (rng.random(n) < params.treatment_share) & (start < end0 - 14)
    treat_start = np.where(treated, start, NO_DAY)

    pop = Population(
        n=n, as_of=as_of, site=site, male=male, carrier=carrier, variant=variant,
        birth_year=birth_year, region=region.astype(np.int64),
        onset=np.where(carrier, NO_DAY, onset), diagnosis=np.where(carrier, NO_DAY, diagnosis),
        entry=entry, rate=rate, effect=params.treatment_effect, death_loss=death_loss,
        treat_start=treat_start, death=np.full(n, NO_DAY), end=np.full(n, as_of),
        thresholds=_thresholds(rng, region),
        csf_inflamed=treated & (rng.random(n) < params.csf_inflammation_share),
    )  # fmt: skip
    everyone = np.arange(n)
    death = np.where(carrier, NO_DAY, pop.day_at_loss(everyone, death_loss))
    dead = (death != NO_DAY) & (death <= as_of)
    death = np.where(dead, death, NO_DAY)
    return replace(pop, death=death, end=np.where(dead, death - 1, as_of))


__all__ = ["REGIONS", "Population", "build_population"]
