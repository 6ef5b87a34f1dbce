"""What alsrwe writes into OMOP besides standard concepts: its source values, in one place.

Export and reader share these names, so what one writes the other finds. Standard concept
ids come from :mod:`alsrwe.interop.codes` only (ALS, the ALSFRS-R items and total, gender,
type concepts); every other ``*_concept_id`` is 0 ("no matching concept") and the meaning is
in the ``*_source_value``: alsrwe's own codes (measurement kinds, drugs, milestones, adverse
event terms) and the observation names below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from alsrwe.domain.drugs import DRUGS, Drug, drug_key
from alsrwe.domain.records import ADMINISTERED_DRUGS
from alsrwe.domain.regimens import REGIMENS
from alsrwe.interop.codes import (
    ALS_ICD10_CM,
    ALS_SNOMED,
    LUMBAR_PUNCTURE,
    OMOP_ALSFRS_ITEMS,
)

NO_CONCEPT = 0
"""OMOP's "no matching concept"."""

ALS_SOURCE = "als"
"""condition_source_value of the ALS condition alsrwe writes (dated at symptom onset)."""
ALS_SOURCE_VALUES: tuple[str, ...] = (ALS_SOURCE, ALS_SNOMED.code.lower(),
                                      ALS_ICD10_CM.code.lower(),
                                      ALS_ICD10_CM.code.replace(".", "").lower())
"""Source values the reader takes for ALS when condition_concept_id is not 373182: alsrwe's,
SNOMED 86044005 and ICD-10-CM G12.21 (verified, domain-rules §9; not WHO G12.2, which is all
motor neuron disease)."""

LUMBAR_PUNCTURE_SOURCE = LUMBAR_PUNCTURE.code
"""procedure_source_value of the lumbar puncture of each intrathecal dose (SNOMED 277762005)."""

ALSFRS_TOTAL_SOURCE = "alsfrs_r_total"
ITEM_BY_CONCEPT: Mapping[int, str] = MappingProxyType(
    {concept: code for code, concept in OMOP_ALSFRS_ITEMS.items()})
"""ALSFRS-R item code (q1 … q12, q5a, q5b) of each item concept id."""

# --- OBSERVATION rows that carry what the CDM has no column for (observation_source_value) ---
REGISTRY_STATUS = "registry_status"       # value_as_string: patient | carrier
SOD1_VARIANT = "sod1_variant"             # value_as_string HGVS p., qualifier legacy, value
#                                           source value = the notation as entered
ZYGOSITY = "sod1_zygosity"                # value_as_string: heterozygous | homozygous
ONSET_REGION = "onset_region"             # value_as_string
DIAGNOSIS = "als_diagnosis"               # observation_date = date of ALS diagnosis
ASSAY = "assay"                           # → measurement_id; value_as_string
LAB = "lab"                               # → measurement_id; value_as_string
CSF_REMOVED = "csf_removed_ml"            # → drug_exposure_id; value_as_number, mL
DOSE_NOT_GIVEN = "dose_not_given"         # value_as_string missed|deferred, qualifier = drug
AE_GRADE = "ae_grade"                     # → condition_occurrence_id; value_as_number 1-5
AE_SERIOUS = "ae_serious"                 # value_as_number 0/1
AE_RELATED = "ae_related"                 # value_as_number 0/1
AE_OUTCOME = "ae_outcome"                 # value_as_string
AE_ACTION = "ae_action"                   # value_as_string
AE_TERM_TEXT = "ae_term_text"             # value_as_string (free text of term "other")

ROUTES: Mapping[Drug, str] = MappingProxyType(
    {Drug(regimen.drug): regimen.route.value for regimen in REGIMENS.values()})
"""route_source_value of each drug alsrwe schedules (intrathecal tofersen, IV edaravone)."""
INTRATHECAL = "intrathecal"
DOSE_UNIT = "mg"
ADMINISTERED: tuple[str, ...] = tuple(d.value for d in ADMINISTERED_DRUGS)

DRUG_KEYS: Mapping[str, str] = MappingProxyType({
    **{drug_key(name): info.code.value for info in DRUGS.values() for name in info.names},
    **{drug_key(code.value): code.value for code in Drug},
})
"""Normalised drug name (``drug_key``: brand names and synonyms too) → alsrwe's drug code."""

__all__ = [
    "ADMINISTERED", "AE_ACTION", "AE_GRADE", "AE_OUTCOME", "AE_RELATED", "AE_SERIOUS",
    "AE_TERM_TEXT", "ALSFRS_TOTAL_SOURCE", "ALS_SOURCE", "ALS_SOURCE_VALUES", "ASSAY",
    "CSF_REMOVED", "DIAGNOSIS", "DOSE_NOT_GIVEN", "DOSE_UNIT", "DRUG_KEYS", "INTRATHECAL",
    "ITEM_BY_CONCEPT", "LAB", "LUMBAR_PUNCTURE_SOURCE", "NO_CONCEPT", "ONSET_REGION",
    "REGISTRY_STATUS", "ROUTES", "SOD1_VARIANT", "ZYGOSITY",
]
