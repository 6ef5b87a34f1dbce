"""Measurements: blood NfL, CSF labs at lumbar punctures, SVC and weight.

- Blood NfL (serum or plasma per site, site assay): baseline log-normal around the median of the
  tofersen cohort (78 pg/mL, Wiesenfarth, docs/domain-rules.md §5), higher in faster progressors
  (§4.2); on
  tofersen it falls exponentially to ``1 − nfl_fall_on_treatment`` of baseline (−58% to −67%,
  §4.2 and §5). Carriers: plasma NfL (ATLAS, §4.3) around a normal level; a few convert, rising by
  ≥10 pg/mL to ≥44 pg/mL (the ATLAS trigger).
- CSF at a share of doses, drawn before the injection: NfL (serum × an assumed ratio: typical
  CSF NfL NOT FOUND, §7), pNfH (median 2226 pg/mL, Wiesenfarth; −67.6% on treatment, Smith,
  §5), WBC and protein, which rise in ``csf_inflammation_share`` of treated patients (60%,
  Sabatelli, §5) above the convention-8 limits (5 cells/µL, 45 mg/dL).
- SVC % predicted and weight decline with the latent ALSFRS-R loss (sizes: alsrwe assumptions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.plausibility import VALUE_RANGES
from alsrwe.synth.dosing import Doses, given_mask
from alsrwe.synth.encoding import NO_DAY, BoolArray, FloatArray, IntArray, categorical, dates
from alsrwe.synth.parameters import CohortParams
from alsrwe.synth.population import Population
from alsrwe.synth.progression import Visits

KINDS = ("nfl_serum", "nfl_plasma", "nfl_csf", "pnfh_csf", "svc_percent", "fvc_percent",
         "hhd_megascore", "weight_kg", "csf_wbc", "csf_protein", "csf_sod1")  # fmt: skip
UNITS = ("pg/mL", "%", "score", "kg", "/uL", "mg/dL", "ng/mL")
ASSAYS = ("simoa", "ella", "ecl", "elisa")
_UNIT_OF = {"nfl_serum": 0, "nfl_plasma": 0, "nfl_csf": 0, "pnfh_csf": 0, "svc_percent": 1,
            "weight_kg": 3, "csf_wbc": 4, "csf_protein": 5}  # fmt: skip
_LAB_NOISE = 0.12  # log-sd of assay + biological noise (assumption)
_SVC_MINIMUM = VALUE_RANGES[MeasurementKind.SVC_PERCENT].low
"""SVC stays within the rulebook's plausible range (a test below it is not done in practice)."""
_SHARE = {"nfl": 0.85, "svc": 0.7, "weight": 0.9}  # visits with each measurement (assumption)


class _Stream:
    """Measurements taken at one kind of encounter (clinic visit or lumbar puncture): one slot
    per kind, ``take`` marks the slots actually measured."""

    def __init__(self, person: IntArray, day: IntArray) -> None:
        self.person, self.day = person, day
        self.slots: list[tuple[IntArray | int, FloatArray, BoolArray | bool, IntArray | int,
                               IntArray | int]] = []  # fmt: skip

    def add(self, kind: IntArray | int, value: FloatArray, take: BoolArray | bool = True,
            assay: IntArray | int = -1, lab: IntArray | int = -1) -> None:  # fmt: skip
        self.slots.append((kind, value, take, assay, lab))


_WIDTH = 4  # slots per encounter in the merged layout


def _merged_frame(a: _Stream, b: _Stream, ids: pd.Index, labs: list[str]) -> pd.DataFrame:
    """Merge two encounter streams, each ordered by (person, day), into one table ordered by
    patient and date without a full sort: encounters are interleaved, then the measured slots
    are read out row by row."""
    key_a = (a.person.astype(np.int64) << 22) | (a.day + 40_000)
    key_b = (b.person.astype(np.int64) << 22) | (b.day + 40_000)
    pos_b = np.searchsorted(key_a, key_b, side="right") + np.arange(key_b.size)
    is_b = np.zeros(key_a.size + key_b.size, dtype=bool)
    is_b[pos_b] = True
    pos_a = np.flatnonzero(~is_b)
    n = is_b.size
    kind = np.zeros((n, _WIDTH), dtype=np.int8)
    value = np.zeros((n, _WIDTH))
    take = np.zeros((n, _WIDTH), dtype=bool)
    assay = np.full((n, _WIDTH), -1, dtype=np.int8)
    lab = np.full((n, _WIDTH), -1, dtype=np.int16)
    for stream, pos in ((a, pos_a), (b, pos_b)):
        for j, (k, v, t, s, lb) in enumerate(stream.slots):
            kind[pos, j], value[pos, j], take[pos, j] = k, v, t
            assay[pos, j], lab[pos, j] = s, lb
    person = np.empty(n, dtype=np.int64)
    person[pos_a], person[pos_b] = a.person, b.person
    day = np.empty(n, dtype=np.int64)
    day[pos_a], day[pos_b] = a.day, b.day
    per_encounter = take.sum(axis=1)
    flat = take.ravel()
    kinds = kind.ravel()[flat]
    unit_of = np.array([_UNIT_OF.get(k, 0) for k in KINDS], dtype=np.int8)
    return pd.DataFrame(
        {
            "patient_id": categorical(np.repeat(person, per_encounter), ids),
            "date": dates(np.repeat(day, per_encounter)),
            "kind": categorical(kinds, KINDS),
            "value": value.ravel()[flat],
            "unit": categorical(unit_of[kinds], UNITS),
            "assay": categorical(assay.ravel()[flat], ASSAYS),
            "lab": categorical(lab.ravel()[flat], labs),
        },
        copy=False,
    )


def _on_treatment_ratio(pop: Population, person: IntArray, day: IntArray, fall: float,
                        tau_days: float) -> FloatArray:  # fmt: skip
    start = pop.treat_start[person]
    since = np.where(start == NO_DAY, 0, np.maximum(day - start, 0))
    return np.asarray(1.0 - fall * (1.0 - np.exp(-since / tau_days)))


def baseline_nfl(pop: Population, params: CohortParams, rng: np.random.Generator) -> FloatArray:
    """Pre-treatment blood NfL per person (pg/mL); faster decline ↔ higher NfL."""
    sym = ~pop.carrier
    ref = float(np.median(pop.rate[sym])) if sym.any() else 1.0
    log_speed = np.log(np.maximum(pop.rate, 1e-3) / ref)
    patient = np.log(params.nfl_median_pg_per_ml) + params.nfl_speed_elasticity * log_speed
    carrier = np.log(params.carrier_nfl_median_pg_per_ml) + np.zeros(pop.n)
    return np.asarray(np.exp(np.where(sym, patient, carrier) + rng.normal(0, 0.35, pop.n)))


def carrier_conversion_day(
    pop: Population, params: CohortParams, rng: np.random.Generator
) -> IntArray:
    """Day a converting carrier's NfL starts to rise (``NO_DAY`` for everyone else)."""
    converts = pop.carrier & (rng.random(pop.n) < params.carrier_conversion_share)
    day = pop.entry + np.floor(rng.random(pop.n) * (pop.as_of - pop.entry)).astype(np.int64)
    return np.where(converts, day, NO_DAY)


def _blood_nfl(pop: Population, params: CohortParams, visits: Visits, nfl0: FloatArray,
               conversion: IntArray, rng: np.random.Generator
               ) -> tuple[IntArray, FloatArray]:  # fmt: skip
    person, day = visits.person[visits.clinic], visits.day[visits.clinic]
    level = nfl0[person] * _on_treatment_ratio(
        pop, person, day, params.nfl_fall_on_treatment, params.nfl_fall_time_constant_days)
    conv = conversion[person]
    rising = (conv != NO_DAY) & (day > conv)
    conv = np.where(rising, conv, day)
    rise = np.clip((day - conv) / 180.0, 0, 1) * (50.0 + 40.0 * rng.random(person.size))
    level = np.where(rising, np.maximum(level, 0) + rise, level)
    return np.flatnonzero(visits.clinic), level * np.exp(rng.normal(0, _LAB_NOISE, person.size))


def measurements_frame(pop: Population, params: CohortParams, visits: Visits, doses: Doses,
                       nfl0: FloatArray, conversion: IntArray, ids: pd.Index,
                       rng: np.random.Generator) -> pd.DataFrame:  # fmt: skip
    """The ``measurements`` table, ordered by patient and date."""
    labs = list(dict.fromkeys(s.lab for s in params.sites))
    site_lab = np.array([labs.index(s.lab) for s in params.sites])
    site_plasma = np.array([s.nfl_matrix == "plasma" for s in params.sites])
    site_assay = np.array([ASSAYS.index(s.nfl_assay) for s in params.sites])
    idx, nfl = _blood_nfl(pop, params, visits, nfl0, conversion, rng)
    person, day = visits.person[idx], visits.day[idx]
    site, carrier, n = pop.site[person], pop.carrier[person], idx.size
    clinic = _Stream(person, day)
    plasma = site_plasma[site] | carrier
    clinic.add(np.where(plasma, KINDS.index("nfl_plasma"), KINDS.index("nfl_serum")),
               np.round(nfl, 1), rng.random(n) < _SHARE["nfl"],
               np.where(carrier, 0, site_assay[site]), site_lab[site])  # fmt: skip
    loss = visits.latent_loss[idx]
    svc0 = rng.normal(95.0, 12.0, pop.n)
    svc = np.clip(svc0[person] - 1.6 * loss + rng.normal(0, 4.0, n), _SVC_MINIMUM, None)
    measured = ~carrier & (rng.random(n) < _SHARE["svc"])
    clinic.add(KINDS.index("svc_percent"), np.round(svc), measured)
    weight0 = np.where(pop.male, rng.normal(80.0, 12.0, pop.n), rng.normal(66.0, 11.0, pop.n))
    weight = np.clip(weight0[person] - 0.15 * loss + rng.normal(0, 1.0, n), 35, None)
    clinic.add(KINDS.index("weight_kg"), np.round(weight, 1), rng.random(n) < _SHARE["weight"])
    csf = _csf(pop, params, doses, nfl0, site_lab, rng)
    return _merged_frame(clinic, csf, ids, labs)


def _csf(pop: Population, params: CohortParams, doses: Doses, nfl0: FloatArray,
         site_lab: IntArray, rng: np.random.Generator) -> _Stream:  # fmt: skip
    sampled = given_mask(doses) & (rng.random(doses.day.size) < params.csf_lab_share)
    person, day = doses.person[sampled], doses.day[sampled]
    n, lab = person.size, site_lab[pop.site[person]]
    stream = _Stream(person, day)
    tau = params.nfl_fall_time_constant_days
    nfl = nfl0[person] * params.csf_to_serum_nfl_ratio * _on_treatment_ratio(
        pop, person, day, params.nfl_fall_on_treatment, tau)
    elisa = ASSAYS.index("elisa")
    stream.add(KINDS.index("nfl_csf"), np.round(nfl * np.exp(rng.normal(0, _LAB_NOISE, n))),
               assay=elisa, lab=lab)  # fmt: skip
    pnfh0 = params.pnfh_median_pg_per_ml * (nfl0 / params.nfl_median_pg_per_ml) ** 0.8
    pnfh = pnfh0[person] * _on_treatment_ratio(pop, person, day, params.pnfh_fall_on_treatment, tau)
    stream.add(KINDS.index("pnfh_csf"), np.round(pnfh * np.exp(rng.normal(0, _LAB_NOISE, n))),
               assay=elisa, lab=lab)  # fmt: skip
    inflamed = pop.csf_inflamed[person].astype(np.float64)
    rise = 1.0 - _on_treatment_ratio(pop, person, day, 1.0, 90.0)
    wbc0 = np.exp(rng.normal(np.log(1.5), 0.5, pop.n))
    wbc_amp = np.exp(rng.normal(np.log(10.0), 0.6, pop.n))
    wbc = wbc0[person] + inflamed * wbc_amp[person] * rise + rng.exponential(0.5, n)
    stream.add(KINDS.index("csf_wbc"), np.round(wbc), lab=lab)
    prot0 = np.clip(rng.normal(38.0, 7.0, pop.n), 15, None)
    prot_amp = np.exp(rng.normal(np.log(20.0), 0.4, pop.n))
    protein = prot0[person] + inflamed * prot_amp[person] * rise + rng.normal(0, 2.0, n)
    protein = np.round(np.clip(protein, 5.0, None), 1).astype(np.float64)
    stream.add(KINDS.index("csf_protein"), protein, lab=lab)
    return stream


__all__ = ["ASSAYS", "KINDS", "UNITS", "baseline_nfl", "carrier_conversion_day",
           "measurements_frame"]  # fmt: skip
