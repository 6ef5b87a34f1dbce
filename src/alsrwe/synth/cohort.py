"""``generate_cohort``: a seeded synthetic SOD1-ALS registry in the tidy CSV tables.

The output has exactly the tables and columns of docs/data-format.md (required columns first,
then the extras ``site_name``, ``assay``, ``lab``, ``term_text``, ``action``), so it can go through
the exporter and the validating importer unchanged. Column types:

- dates are ``datetime64[ns]`` at day precision (``NaT`` = empty cell) — fast to build and
  compare, and written as ``YYYY-MM-DD`` by the exporter;
- repeated strings (ids, codes, kinds, terms) are ``category`` (``NaN`` = empty cell);
- items, flags and grades are small integers (``int8``), ``birth_year`` is ``int32``;
- ``dose_mg``, ``csf_removed_ml`` and ``value`` are ``float64`` (``NaN`` = empty).

Everything is vectorised with numpy (no per-patient loops), and each concern draws from its own
child of ``SeedSequence(params.seed)``, so the same params give identical frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alsrwe.domain.tidy_format import TABLES as FORMAT_TABLES
from alsrwe.synth.biomarkers import baseline_nfl, carrier_conversion_day, measurements_frame
from alsrwe.synth.dosing import (
    administrations_frame,
    medications_frame,
    schedule_doses,
)
from alsrwe.synth.encoding import IntArray, categorical, dates
from alsrwe.synth.parameters import CohortParams
from alsrwe.synth.population import REGIONS, Population, build_population
from alsrwe.synth.progression import (
    alsfrs_frame,
    milestone_days,
    milestones_frame,
    schedule_visits,
)
from alsrwe.synth.safety import adverse_events_frame

TABLES: tuple[str, ...] = tuple(spec.name for spec in FORMAT_TABLES)
"""The tidy CSV tables, in the format's order (alsrwe.domain.tidy_format)."""


@dataclass(frozen=True, slots=True)
class SyntheticCohort:
    """A generated registry: the seven tidy tables, the known truth, and the params used.

    ``truth`` has one row per person: the latent ALSFRS-R slopes before and on tofersen
    (points/month, negative = decline, convention 2), the treatment start, the variant's speed
    factor, baseline NfL and its on-treatment plateau, and carrier NfL conversion — for tests
    and analytics with known answers. It is not part of the exchange format.
    """

    params: CohortParams
    patients: pd.DataFrame
    alsfrs: pd.DataFrame
    measurements: pd.DataFrame
    administrations: pd.DataFrame
    medications: pd.DataFrame
    adverse_events: pd.DataFrame
    milestones: pd.DataFrame
    truth: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables by name (``patients`` … ``milestones``), for the exporter."""
        return {name: getattr(self, name) for name in TABLES}


def _patient_ids(pop: Population, params: CohortParams) -> pd.Index:
    """Pseudonyms ``<SITE>-0001`` numbered within each site (persons are ordered by site)."""
    counts = np.bincount(pop.site, minlength=len(params.sites))
    width = max(4, len(str(int(counts.max(initial=0)))))
    ids: list[str] = []
    for site, count in zip(params.sites, counts, strict=True):
        ids.extend(f"{site.code}-{k:0{width}d}" for k in range(1, int(count) + 1))
    return pd.Index(ids, dtype="str")


def _patients_frame(pop: Population, params: CohortParams, ids: pd.Index) -> pd.DataFrame:
    names: list[str] = []
    name_code = np.empty((2, len(params.variants)), dtype=np.int64)
    for i, v in enumerate(params.variants):
        for row, name in enumerate((v.legacy, v.hgvs)):
            if name not in names:
                names.append(name)
            name_code[row, i] = names.index(name)
    hgvs_site = np.array([s.variant_notation == "hgvs" for s in params.sites])
    variant_code = name_code[hgvs_site[pop.site].astype(np.int64), pop.variant]
    zyg = np.array([v.zygosity == "homozygous" for v in params.variants], dtype=np.int8)
    return pd.DataFrame(
        {
            "patient_id": categorical(np.arange(pop.n), ids),
            "site": categorical(pop.site, [s.code for s in params.sites]),
            "sex": categorical(pop.male.astype(np.int8), ["F", "M"]),
            "birth_year": pop.birth_year.astype(np.int32),
            "status": categorical(pop.carrier.astype(np.int8), ["patient", "carrier"]),
            "sod1_variant": categorical(variant_code, names),
            "zygosity": categorical(zyg[pop.variant], ["heterozygous", "homozygous"]),
            "onset_date": dates(pop.onset),
            "onset_region": categorical(pop.region, REGIONS),
            "diagnosis_date": dates(pop.diagnosis),
            "site_name": categorical(pop.site, [s.name for s in params.sites]),
        },
        copy=False,
    )


def _truth_frame(pop: Population, params: CohortParams, ids: pd.Index, nfl0: np.ndarray,
                 conversion: IntArray) -> pd.DataFrame:  # fmt: skip
    sym, treated = ~pop.carrier, pop.treated
    speed = np.array([v.speed_factor for v in params.variants])[pop.variant]
    legacy = list(dict.fromkeys(v.legacy for v in params.variants))
    legacy_code = np.array([legacy.index(v.legacy) for v in params.variants])
    return pd.DataFrame(
        {
            "patient_id": categorical(np.arange(pop.n), ids),
            "status": categorical(pop.carrier.astype(np.int8), ["patient", "carrier"]),
            "variant": categorical(legacy_code[pop.variant], legacy),
            "zygosity": categorical(
                np.array([v.zygosity == "homozygous" for v in params.variants])[pop.variant],
                ["heterozygous", "homozygous"]),
            "speed_factor": speed,
            "slope_pre_per_month": np.where(sym, -pop.rate, np.nan),
            "slope_on_per_month": np.where(treated, -pop.rate * (1 - pop.effect), np.nan),
            "treatment_start": dates(pop.treat_start),
            "registry_entry": dates(pop.entry),
            "death_date": dates(pop.death),
            "death_loss": np.where(sym, pop.death_loss, np.nan),
            "nfl_baseline_pg_per_ml": nfl0,
            "nfl_plateau_ratio": np.where(treated, 1 - params.nfl_fall_on_treatment, np.nan),
            "csf_inflamed": pop.csf_inflamed,
            "carrier_conversion_date": dates(conversion),
        },
        copy=False,
    )  # fmt: skip


def generate_cohort(params: CohortParams | None = None) -> SyntheticCohort:
    """Generate a synthetic registry from ``params`` (defaults: a small demo cohort)."""
    params = params or CohortParams()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(10)]
    pop = build_population(params, streams[0])
    ids = _patient_ids(pop, params)
    visits = schedule_visits(pop, params, streams[1])
    events = milestone_days(pop, params, streams[2])
    doses = schedule_doses(pop, params, streams[3])
    nfl0 = baseline_nfl(pop, params, streams[4])
    conversion = carrier_conversion_day(pop, params, streams[4])
    return SyntheticCohort(
        params=params,
        patients=_patients_frame(pop, params, ids),
        alsfrs=alsfrs_frame(pop, params, visits, events["gastrostomy"], ids, streams[5]),
        measurements=measurements_frame(pop, params, visits, doses, nfl0, conversion, ids,
                                        streams[6]),  # fmt: skip
        administrations=administrations_frame(doses, params, ids, streams[7]),
        medications=medications_frame(pop, params, ids, streams[8]),
        adverse_events=adverse_events_frame(pop, params, ids, streams[9]),
        milestones=milestones_frame(events, ids),
        truth=_truth_frame(pop, params, ids, nfl0, conversion),
    )


__all__ = ["TABLES", "SyntheticCohort", "generate_cohort"]
