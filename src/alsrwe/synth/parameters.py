"""Parameters of the synthetic cohort, each with its source.

Every default below cites the section of ``docs/domain-rules.md`` it comes from, or is marked
**alsrwe assumption** when no source gives a number (those are plausible, documented and
configurable, never facts). ``CohortParams`` is frozen and validated; ``model_dump_json()`` saves
it next to a generated cohort so the cohort can be re-created exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alsrwe.domain.alsfrs import DAYS_PER_MONTH
from alsrwe.domain.sod1 import parse_sod1_variant

MONTH_DAYS = DAYS_PER_MONTH  # one definition of the month: alsrwe.domain.alsfrs
"""Days per month, alsrwe convention 1 (docs/domain-rules.md, ENCALS/TRICALS reference code)."""

_LEGACY = re.compile(r"^([A-Z])(\d{1,3})([A-Z])$")


def legacy_to_hgvs(legacy: str) -> str:
    """``"A4V"`` → ``"p.Ala5Val"`` by the domain's SOD1 rules (HGVS = legacy + 1,
    docs/domain-rules.md §8).

    Raises ``ValueError`` when the name is not a plain legacy change or its stated reference
    residue is not the one in the SOD1 protein at that legacy position (§10), so a mistyped or
    HGVS-numbered name cannot slip in.
    """
    if _LEGACY.match(legacy) is None:
        raise ValueError(f"{legacy!r} is not a legacy protein change such as 'A4V'")
    return parse_sod1_variant(legacy).hgvs


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VariantSpec(_Frozen):
    """One SOD1 genotype of the mix, with its progression speed and diagnostic delay."""

    legacy: str = Field(description="legacy protein name (initiator Met not counted), e.g. A4V")
    zygosity: Literal["heterozygous", "homozygous"] = "heterozygous"
    weight: float = Field(gt=0, description="relative frequency in the symptomatic cohort")
    speed_factor: float = Field(gt=0, le=10, description="multiplies the ALSFRS-R decline rate")
    diagnostic_delay_months: float = Field(gt=0, le=240, description="median onset→diagnosis")
    source: str = ""

    @model_validator(mode="after")
    def _residue_matches_reference(self) -> VariantSpec:
        legacy_to_hgvs(self.legacy)
        return self

    @property
    def hgvs(self) -> str:
        """HGVS protein name on NP_000445.1, e.g. ``p.Asp91Ala``."""
        return legacy_to_hgvs(self.legacy)


class SiteSpec(_Frozen):
    """A registry site and how it records variants and NfL."""

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{2,16}$")
    name: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)
    variant_notation: Literal["legacy", "hgvs"] = "legacy"
    nfl_matrix: Literal["serum", "plasma"] = "serum"
    nfl_assay: Literal["simoa", "ella", "ecl", "elisa"] = "simoa"
    lab: str = Field(min_length=1)


DEFAULT_SITES: tuple[SiteSpec, ...] = (
    # German papers write HGVS-based names (docs/domain-rules.md §8); Ella at Padova (§7); WashU
    # serum (§5).
    SiteSpec(code="BER", name="Berlin ALS centre (synthetic)", weight=0.4,
             variant_notation="hgvs", lab="BER neurochemistry lab"),
    SiteSpec(code="STL", name="St. Louis ALS clinic (synthetic)", weight=0.35, lab="STL core lab"),
    SiteSpec(code="PAD", name="Padova neuromuscular centre (synthetic)", weight=0.25,
             nfl_matrix="plasma", nfl_assay="ella", lab="PAD clinical chemistry"),
)  # fmt: skip

DEFAULT_VARIANTS: tuple[VariantSpec, ...] = (
    VariantSpec(legacy="A4V", weight=0.20, speed_factor=2.5, diagnostic_delay_months=8.0,
                source="fast variant (docs/domain-rules.md §8, A4V survival figure [U]); "
                       "speed and delay: "
                       "alsrwe assumption"),
    VariantSpec(legacy="D90A", zygosity="homozygous", weight=0.12, speed_factor=0.25,
                diagnostic_delay_months=57.5,
                source="benign D91A, median survival 198 mo, delay 57.5 mo (Wiesenfarth, §5/§8); "
                       "speed factor: alsrwe assumption"),
    VariantSpec(legacy="D90A", weight=0.06, speed_factor=0.5, diagnostic_delay_months=57.5,
                source="heterozygous D91A, causality contested (§5, pubmed 39054363); delay as "
                       "D91A (Wiesenfarth); speed factor: alsrwe assumption"),
    VariantSpec(legacy="G93A", weight=0.14, speed_factor=1.3, diagnostic_delay_months=12.0,
                source="G93A residue check (§10); speed and delay: alsrwe assumption"),
    VariantSpec(legacy="R115G", weight=0.22, speed_factor=2.0, diagnostic_delay_months=10.0,
                source="German R116G: fastest, survival 22 mo, delay 10 mo (Wiesenfarth, §5/§8); "
                       "speed factor: alsrwe assumption"),
    VariantSpec(legacy="L144F", weight=0.26, speed_factor=0.8, diagnostic_delay_months=21.5,
                source="German L145F: intermediate, survival 87 mo, delay 21.5 mo (Wiesenfarth, "
                       "§5/§8); speed factor: alsrwe assumption"),
)  # fmt: skip

OnsetRegionName = Literal["bulbar", "upper_limb", "lower_limb", "respiratory", "generalized"]


class CohortParams(_Frozen):
    """Everything that shapes a synthetic cohort; same params → identical frames.

    Sources (docs/domain-rules.md sections) are in each field's description; "assumption" marks an
    alsrwe
    assumption with no source.
    """

    seed: int = Field(default=20260630, ge=0)
    n_patients: int = Field(default=300, ge=0, le=20_000_000, description="symptomatic patients")
    n_carriers: int = Field(default=30, ge=0, le=20_000_000,
                            description="presymptomatic SOD1 carriers")
    sites: tuple[SiteSpec, ...] = DEFAULT_SITES
    variants: tuple[VariantSpec, ...] = DEFAULT_VARIANTS
    carrier_variants: tuple[str, ...] = Field(
        default=("A4V", "R115G", "G93A"),
        description="ATLAS enrols carriers of rapidly progressive variants (§4.3)")
    as_of: dt.date = Field(default=dt.date(2026, 6, 30), description="no date after this")
    registry_years: float = Field(default=8.0, gt=0, le=40,
                                  description="diagnoses spread over this span (assumption)")

    # Demographics and onset
    male_share: float = Field(default=0.57, ge=0, le=1, description="~43% female, VALOR (§4.1)")
    onset_age_mean: float = Field(default=49.8, description="VALOR mean age 49.8 (§4.1)")
    onset_age_sd: float = Field(default=11.5, gt=0, description="assumption (VALOR range 23-78)")
    onset_region_weights: dict[OnsetRegionName, float] = Field(
        default={"bulbar": 0.12, "upper_limb": 0.25, "lower_limb": 0.55, "respiratory": 0.04,
                 "generalized": 0.04},
        description="assumption (limb onset predominant in SOD1-ALS; no source in "
                    "docs/domain-rules.md)")
    diagnostic_delay_sigma: float = Field(default=0.5, gt=0, description="log-sd, assumption")

    # ALSFRS-R progression
    decline_mean_per_month: float = Field(
        default=0.89, gt=0, description="ΔFRS mean 0.89 pts/month, PRECISION-ALS (§1.3)")
    decline_cv: float = Field(
        default=0.55, gt=0, le=3,
        description="gamma CV, roughly the PRECISION-ALS 95% range 0.04-1.96 (§1.3); assumption")
    item_noise_sd: float = Field(default=0.8, ge=0, description="points on the total, assumption")
    self_noise_sd: float = Field(default=1.2, ge=0, description="self-report noise, assumption")
    visit_interval_days: int = Field(default=91, ge=28, le=365,
                                     description="clinic visit every ~3 months (assumption)")
    visit_jitter_days: int = Field(default=14, ge=0)
    self_report_share: float = Field(default=0.3, ge=0, le=1,
                                     description="patients who also self-report (assumption)")
    self_report_completion: float = Field(default=0.7, ge=0, le=1)
    death_loss_range: tuple[float, float] = Field(
        default=(38.0, 47.0), description="ALSFRS-R points lost at death (assumption)")
    gastrostomy_uptake: float = Field(default=0.8, ge=0, le=1, description="assumption")
    niv_uptake: float = Field(default=0.8, ge=0, le=1, description="assumption")
    permanent_ventilation_share: float = Field(default=0.6, ge=0, le=1, description="assumption")
    tracheostomy_share: float = Field(default=0.15, ge=0, le=1, description="assumption")

    # Tofersen
    treatment_available_from: dt.date = Field(
        default=dt.date(2021, 7, 1),
        description="expanded access ~2021-22 (Meyer 2023, Wiesenfarth 03/2022, §5); assumption")
    treatment_share: float = Field(default=0.6, ge=0, le=1, description="assumption")
    treatment_start_lag_days: int = Field(default=180, ge=0, description="assumption")
    treatment_effect: float = Field(
        default=0.5, ge=0, le=0.95,
        description="relative slowing of ALSFRS-R decline on tofersen (0.5 = 50% slower); "
                    "German PRO study 25% relative reduction (§5); assumption")
    dose_mg: float = Field(default=100.0, gt=0, description="100 mg per dose (§3.1)")
    late_dose_probability: float = Field(default=0.05, ge=0, le=0.5, description="assumption")
    late_dose_max_days: int = Field(default=7, ge=1, le=14, description="assumption")
    missed_dose_probability: float = Field(default=0.02, ge=0, le=0.5, description="assumption")
    deferred_dose_probability: float = Field(default=0.01, ge=0, le=0.5,
                                             description="assumption")
    csf_removed_ml: float = Field(default=10.0, gt=0, description="~10 mL removed (§3.1)")
    csf_lab_share: float = Field(default=0.6, ge=0, le=1,
                                 description="doses with CSF labs drawn (assumption)")

    # Biomarkers
    nfl_median_pg_per_ml: float = Field(
        default=78.0, gt=0, description="median sNfL 78 pg/mL, tofersen cohort (Wiesenfarth, §5)")
    nfl_speed_elasticity: float = Field(
        default=0.6, ge=0, description="higher NfL ↔ faster progression (§4.2); size assumption")
    nfl_fall_on_treatment: float = Field(
        default=0.6, ge=0, lt=1, description="plateau −60%: −58% to −67% (§4.2, §5)")
    nfl_fall_time_constant_days: float = Field(default=60.0, gt=0, description="assumption")
    csf_to_serum_nfl_ratio: float = Field(
        default=40.0, gt=0, description="assumption (typical CSF NfL NOT FOUND, §7)")
    pnfh_median_pg_per_ml: float = Field(
        default=2226.0, gt=0, description="median CSF pNfH 2226 pg/mL (Wiesenfarth, §5)")
    pnfh_fall_on_treatment: float = Field(
        default=0.676, ge=0, lt=1, description="mean −67.6% (Smith 2025, §5)")
    csf_inflammation_share: float = Field(
        default=0.6, ge=0, le=1, description="CSF WBC/protein rise in 60% (Sabatelli, §3.2/§5)")
    carrier_conversion_share: float = Field(default=0.1, ge=0, le=1, description="assumption")
    carrier_nfl_median_pg_per_ml: float = Field(
        default=8.0, gt=0, description="below the 18-50 y upper limit 10 pg/mL (Simrén, §7)")

    # Safety
    serious_neuro_ae_share: float = Field(
        default=0.07, ge=0, le=1, description="~7% of treated (Lovett, §3.2)")
    riluzole_share: float = Field(default=0.85, ge=0, le=1, description="assumption")
    edaravone_oral_share: float = Field(default=0.15, ge=0, le=1, description="assumption")

    @model_validator(mode="after")
    def _consistent(self) -> CohortParams:
        codes = [s.code for s in self.sites]
        if not self.sites or len(set(codes)) != len(codes):
            raise ValueError("sites: at least one, with unique codes")
        if not self.variants:
            raise ValueError("variants: at least one")
        known = {v.legacy for v in self.variants}
        if not set(self.carrier_variants) <= known or not self.carrier_variants:
            raise ValueError("carrier_variants: must be non-empty and among variants")
        lo, hi = self.death_loss_range
        if not 20 <= lo <= hi <= 48:
            raise ValueError("death_loss_range: 20 <= low <= high <= 48")
        if 4 * self.visit_jitter_days >= self.visit_interval_days:
            raise ValueError("visit_jitter_days: must be under a quarter of the interval")
        if sum(self.onset_region_weights.values()) <= 0:
            raise ValueError("onset_region_weights: must not all be zero")
        late = self.missed_dose_probability + self.deferred_dose_probability
        if late + self.late_dose_probability >= 1:
            raise ValueError("dose probabilities: late + missed + deferred must be < 1")
        if self.treatment_available_from > self.as_of:
            raise ValueError("treatment_available_from: after as_of")
        return self


__all__ = [
    "DEFAULT_SITES",
    "DEFAULT_VARIANTS",
    "MONTH_DAYS",
    "CohortParams",
    "SiteSpec",
    "VariantSpec",
    "legacy_to_hgvs",
]
