"""Every code alsrwe writes into FHIR, REDCap and OMOP, with where it comes from and how sure.

One home for the code systems and codes of the interop layer (docs/interop.md lists them
with the same statuses). A standard code is used only where docs/domain-rules.md §9 records
it as verified; where it marks a code unverified, conflicting or NOT FOUND, alsrwe writes a
code of its own code system (``ALSRWE_SYSTEM``) and keeps the candidate only as a documented
mapping, never in the data. No standard code is invented here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from alsrwe.domain.alsfrs import ITEMS
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.drugs import DRUGS, Drug
from alsrwe.domain.events import MilestoneKind

ALSRWE_BASE = "https://alsrwe.org/fhir"
"""Canonical base of alsrwe's own FHIR artefacts (code systems, extensions, Questionnaire).

A canonical URL is an identifier, not necessarily a web address that answers; alsrwe's
server also serves its CodeSystem and Questionnaire resources under ``/fhir/R4``."""

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
HGNC = "http://www.genenames.org/geneId"
REFSEQ = "http://www.ncbi.nlm.nih.gov/refseq"
HGVS = "http://varnomen.hgvs.org"
V3_ROUTE = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"


def alsrwe_system(name: str) -> str:
    """The URL of one of alsrwe's code systems (e.g. ``measurement-kind``)."""
    return f"{ALSRWE_BASE}/CodeSystem/{name}"


def alsrwe_extension(name: str) -> str:
    """The URL of one of alsrwe's FHIR extensions (e.g. ``legacy-variant-name``)."""
    return f"{ALSRWE_BASE}/StructureDefinition/{name}"


class Status(StrEnum):
    """How sure a code is (docs/domain-rules.md §9): verified, or alsrwe's own for want of
    a verified standard code."""

    VERIFIED = "verified"
    ALSRWE = "alsrwe code (standard code unverified or not found)"


@dataclass(frozen=True, slots=True)
class Code:
    """A code in a system, its display, its status and the source that verified it."""

    system: str
    code: str
    display: str
    status: Status = Status.VERIFIED
    source: str = "docs/domain-rules.md §9"

    def coding(self) -> dict[str, str]:
        """As a FHIR Coding."""
        return {"system": self.system, "code": self.code, "display": self.display}


def _own(system: str, code: str, display: str, why: str) -> Code:
    return Code(alsrwe_system(system), code, display, Status.ALSRWE, why)


# --- diagnosis, genetics, procedures, route ---------------------------------------------------

ALS_SNOMED = Code(SNOMED, "86044005", "Amyotrophic lateral sclerosis")
ALS_ICD10_CM = Code(ICD10_CM, "G12.21", "Amyotrophic lateral sclerosis")
ALS_ICD10 = Code(ICD10, "G12.2", "Motor neuron disease",
                 source="docs/domain-rules.md §9.5 (WHO ICD-10 2019)")
ALS_CODES = (ALS_SNOMED, ALS_ICD10_CM, ALS_ICD10)
LUMBAR_PUNCTURE = Code(SNOMED, "277762005", "Lumbar puncture (procedure)")
INTRATHECAL_ROUTE = Code(SNOMED, "72607000", "Intrathecal route")
INTRATHECAL_INJECTION = Code(V3_ROUTE, "ITINJ", "Injection, intrathecal")
INTRAVENOUS_ROUTE = _own("route", "intravenous", "Intravenous route",
                         "no intravenous route code is recorded in domain-rules §9")

GENETIC_VARIANT_ASSESSMENT = Code(LOINC, "69548-6", "Genetic variant assessment")
PRESENT = Code(LOINC, "LA9633-4", "Present")
GENE_STUDIED = Code(LOINC, "48018-6", "Gene studied [ID]")
TRANSCRIPT = Code(LOINC, "51958-7", "Transcript reference sequence [ID]")
DNA_CHANGE = Code(LOINC, "48004-6", "DNA change (c.HGVS)")
AMINO_ACID_CHANGE = Code(LOINC, "48005-3", "Amino acid change (pHGVS)")
CHANGE_TYPE = Code(LOINC, "48006-1", "Amino acid change type")
MISSENSE = Code(LOINC, "LA6698-0", "Missense")
GENOMIC_SOURCE = Code(LOINC, "48002-0", "Genomic source class")
GERMLINE = Code(LOINC, "LA6683-2", "Germline")
ALLELIC_STATE = Code(LOINC, "53034-5", "Allelic state")
HETEROZYGOUS = Code(LOINC, "LA6706-1", "Heterozygous")
HOMOZYGOUS = Code(LOINC, "LA6705-3", "Homozygous")
SOD1_GENE = Code(HGNC, "HGNC:11179", "SOD1", source="docs/domain-rules.md §9.5 (UniProt P00441)")
SOD1_TRANSCRIPT = Code(REFSEQ, "NM_000454.5", "SOD1 transcript")
VARIANT_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"

# --- ALSFRS-R -----------------------------------------------------------------------------------

ALSFRS_PANEL = Code(LOINC, "82954-9", "ALSFRS-R panel")
ALSFRS_TOTAL = Code(LOINC, "82953-1", "ALSFRS-R total score")
_ITEM_LOINC = {"q1": "82940-8", "q2": "82941-6", "q8": "82948-1"}
ALSFRS_ITEM_CODES: Mapping[str, tuple[Code, ...]] = MappingProxyType({
    item.code: (
        _own("alsfrs-r-item", item.code, item.label, "the one home of all 13 items"),
        *((Code(LOINC, _ITEM_LOINC[item.code], item.label),) if item.code in _ITEM_LOINC
          else ()),
    )
    for item in ITEMS
})
"""Per question (q1…q12 with q5a/q5b): alsrwe's code always, LOINC where verified (3 items;
the others are NOT FOUND individually, domain-rules §9.1)."""

OMOP_ALSFRS_ITEMS: Mapping[str, int] = MappingProxyType({
    "q1": 42529071, "q2": 42529072, "q3": 42529073, "q4": 42529074, "q5a": 42529075,
    "q5b": 42529076, "q6": 42529077, "q7": 42529078, "q8": 42529079, "q9": 42529080,
    "q10": 42529081, "q11": 42529082, "q12": 42529083,
})
"""OMOP concept ids of the items: 42529071 (speech) … 42529083 (respiratory insufficiency),
5a = 42529075, 5b = 42529076 (domain-rules §9.1, a public OMOP ETL and ALS TDI OMOP)."""
OMOP_ALSFRS_TOTAL = 42529084

# --- measurements -------------------------------------------------------------------------------

_K = MeasurementKind
MEASUREMENT_CODES: Mapping[MeasurementKind, tuple[Code, ...]] = MappingProxyType({
    _K.NFL_SERUM: (_own("measurement-kind", "nfl_serum", "Neurofilament light chain, serum",
                        "NfL LOINC candidates conflict (101281-4, 99771-2, 94505-5)"),),
    _K.NFL_PLASMA: (_own("measurement-kind", "nfl_plasma", "Neurofilament light chain, plasma",
                         "NfL LOINC candidates conflict (101281-4, 94505-5)"),),
    _K.NFL_CSF: (_own("measurement-kind", "nfl_csf", "Neurofilament light chain, CSF",
                      "LOINC 94677-2 is unverified (one repository)"),),
    _K.PNFH_CSF: (_own("measurement-kind", "pnfh_csf",
                       "Phosphorylated neurofilament heavy chain, CSF",
                       "no pNfH LOINC code found"),),
    _K.SVC_PERCENT: (_own("measurement-kind", "svc_percent",
                          "Slow vital capacity, % of predicted", "LOINC NOT FOUND"),),
    _K.FVC_PERCENT: (_own("measurement-kind", "fvc_percent",
                          "Forced vital capacity, % of predicted", "LOINC NOT FOUND"),),
    _K.HHD_MEGASCORE: (_own("measurement-kind", "hhd_megascore",
                            "Hand-held dynamometry megascore", "LOINC NOT FOUND"),),
    _K.WEIGHT_KG: (_own("measurement-kind", "weight_kg", "Body weight",
                        "no body-weight code is recorded in domain-rules §9"),),
    _K.CSF_WBC: (_own("measurement-kind", "csf_wbc", "CSF white cell count",
                      "CSF WBC LOINC NOT FOUND"),),
    _K.CSF_PROTEIN: (_own("measurement-kind", "csf_protein", "CSF protein", "paired with "
                          "LOINC 2880-3"),
                     Code(LOINC, "2880-3", "Protein [Mass/volume] in Cerebral spinal fluid")),
    _K.CSF_SOD1: (_own("measurement-kind", "csf_sod1", "SOD1 protein, CSF",
                       "no CSF SOD1 code found"),),
})
"""Per measurement kind: alsrwe's code first (always written), then any verified standard code
(only CSF protein, LOINC 2880-3)."""

LOINC_CANDIDATES: Mapping[MeasurementKind, tuple[str, ...]] = MappingProxyType({
    _K.NFL_SERUM: ("101281-4", "99771-2", "94505-5"),
    _K.NFL_PLASMA: ("101281-4", "94505-5"),
    _K.NFL_CSF: ("94677-2",),
})
"""Documented mapping candidates only (domain-rules §9.1): never written into the data."""

# --- drugs, milestones --------------------------------------------------------------------------

TOFERSEN_ATC = Code(ATC, "N07XX22", "tofersen")
DRUG_CODES: Mapping[Drug, tuple[Code, ...]] = MappingProxyType({
    drug: (
        _own("drug", drug.value, DRUGS[drug].label, "alsrwe's drug vocabulary (domain-rules "
             "§12); only tofersen's ATC code is verified there"),
        *((TOFERSEN_ATC,) if drug is Drug.TOFERSEN else ()),
    )
    for drug in Drug
})
"""Per drug: alsrwe's code, and ATC where verified (tofersen N07XX22; no RxNorm code exists
in the sources, domain-rules §9.1). Other drugs' ATC codes are not recorded there."""

_MILESTONE_LABELS = {
    MilestoneKind.GASTROSTOMY: "Gastrostomy", MilestoneKind.NIV: "Non-invasive ventilation",
    MilestoneKind.TRACHEOSTOMY: "Tracheostomy",
    MilestoneKind.PERMANENT_VENTILATION: "Permanent assisted ventilation",
    MilestoneKind.DEATH: "Death",
}
MILESTONE_CODES: Mapping[MilestoneKind, Code] = MappingProxyType({
    kind: _own("milestone", kind.value, _MILESTONE_LABELS[kind],
               "no SNOMED code for these milestones is recorded in domain-rules §9")
    for kind in MilestoneKind
})

# --- OMOP ---------------------------------------------------------------------------------------

OMOP_ALS_CONDITION = 373182
OMOP_GENDER = MappingProxyType({"M": 8507, "F": 8532})
"""OMOP Gender vocabulary: MALE 8507, FEMALE 8532 (OHDSI Vocabulary-v5.0 wiki, "Vocab.
GENDER"; HL7 FHIR-to-OMOP IG ConceptMap GenderClass)."""
OMOP_TYPE_EHR = 32817
"""Type concept "EHR" (OMOP Type Concept vocabulary, concept 32817)."""
OMOP_TYPE_CLINICIAN = 32851
OMOP_TYPE_SELF_REPORT = 32862
"""ALSFRS-R observation types as ALS TDI's OMOP uses them (domain-rules §9.4)."""


def all_codes() -> list[tuple[str, Code]]:
    """Every code above with the concept it stands for: docs/interop.md's table of codes
    (a test keeps the two the same)."""
    found: list[tuple[str, Code]] = [("ALS diagnosis", code) for code in ALS_CODES]
    found += [("Lumbar puncture", LUMBAR_PUNCTURE), ("Intrathecal route", INTRATHECAL_ROUTE),
              ("Intrathecal injection", INTRATHECAL_INJECTION),
              ("Intravenous route", INTRAVENOUS_ROUTE)]
    found += [("SOD1 variant", code) for code in (
        GENETIC_VARIANT_ASSESSMENT, PRESENT, GENE_STUDIED, TRANSCRIPT, DNA_CHANGE,
        AMINO_ACID_CHANGE, CHANGE_TYPE, MISSENSE, GENOMIC_SOURCE, GERMLINE, ALLELIC_STATE,
        HETEROZYGOUS, HOMOZYGOUS, SOD1_GENE, SOD1_TRANSCRIPT)]
    found += [("ALSFRS-R panel", ALSFRS_PANEL), ("ALSFRS-R total", ALSFRS_TOTAL)]
    found += [(f"ALSFRS-R item {item}", code)
              for item, item_codes in ALSFRS_ITEM_CODES.items() for code in item_codes]
    found += [(f"Measurement {kind.value}", code)
              for kind, kind_codes in MEASUREMENT_CODES.items() for code in kind_codes]
    found += [(f"Drug {drug.value}", code)
              for drug, drug_codes in DRUG_CODES.items() for code in drug_codes]
    found += [(f"Milestone {kind.value}", code) for kind, code in MILESTONE_CODES.items()]
    return found


__all__ = [
    "ALSRWE_BASE", "ALS_CODES", "ALSFRS_ITEM_CODES", "ALSFRS_PANEL", "ALSFRS_TOTAL",
    "Code", "DRUG_CODES", "LOINC_CANDIDATES", "MEASUREMENT_CODES", "MILESTONE_CODES",
    "OMOP_ALSFRS_ITEMS", "OMOP_ALSFRS_TOTAL", "OMOP_ALS_CONDITION", "OMOP_GENDER",
    "OMOP_TYPE_CLINICIAN", "OMOP_TYPE_EHR", "OMOP_TYPE_SELF_REPORT", "Status",
    "all_codes", "alsrwe_extension", "alsrwe_system",
]
