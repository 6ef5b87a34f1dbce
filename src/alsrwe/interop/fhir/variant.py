"""The SOD1 variant as a Genomics Reporting IG "variant" Observation, and back.

Components as docs/domain-rules.md §9.5 lists them (gene HGNC:11179, transcript NM_000454.5,
c.HGVS when the variant was entered as a cDNA change, p.HGVS, change type, germline, allelic
state), derived from the text as entered by :func:`alsrwe.domain.sod1.parse_sod1_variant`.
The text as entered and the legacy name (A4V) have no standard slot: they are alsrwe
extensions, so that import restores ``sod1_variant`` exactly as it was entered. A foreign
variant Observation without them is read from its c./p.HGVS components.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alsrwe.domain.errors import VariantError
from alsrwe.domain.sod1 import SOD1_TRANSCRIPT_ACCESSION, STOP, Zygosity, parse_sod1_variant
from alsrwe.interop.codes import (
    ALLELIC_STATE,
    AMINO_ACID_CHANGE,
    CHANGE_TYPE,
    DNA_CHANGE,
    GENE_STUDIED,
    GENETIC_VARIANT_ASSESSMENT,
    GENOMIC_SOURCE,
    GERMLINE,
    HETEROZYGOUS,
    HGNC,
    HGVS,
    HOMOZYGOUS,
    MISSENSE,
    PRESENT,
    SOD1_GENE,
    SOD1_TRANSCRIPT,
    TRANSCRIPT,
    VARIANT_PROFILE,
    Code,
)
from alsrwe.interop.fhir.elements import (
    cell,
    codes_in,
    concept,
    extension,
    extension_path,
    has_code,
    own_value,
    raw,
)
from alsrwe.interop.fhir.ids import identifier, identifier_system, patient_reference, record_id
from alsrwe.interop.fhir.parts import Collected, Found, SubjectPart
from alsrwe.interop.fhir.terminology import LABORATORY

AS_ENTERED = "variant-as-entered"
LEGACY = "legacy-variant-name"
ZYGOSITY = {Zygosity.HETEROZYGOUS: HETEROZYGOUS, Zygosity.HOMOZYGOUS: HOMOZYGOUS}
VARIANT_ELEMENTS = {"sod1_variant": extension_path(AS_ENTERED),
                    "zygosity": f"component[{ALLELIC_STATE.code}]"}


def _component(code: Code, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": concept(code), "valueCodeableConcept": value}


def _hgvs(code: str) -> dict[str, Any]:
    return {"coding": [{"system": HGVS, "code": code}]}


def is_variant(resource: Mapping[str, Any]) -> bool:
    """Whether an Observation is a genetic variant (its code, or the IG profile)."""
    profiles = (resource.get("meta") or {}).get("profile", [])
    return has_code(resource.get("code"), GENETIC_VARIANT_ASSESSMENT) or VARIANT_PROFILE in profiles


def variant_observation(row: Mapping[str, str]) -> dict[str, Any]:
    """The variant Observation of a patients.csv row."""
    pseudonym = raw(row["patient_id"])
    text = raw(row["sod1_variant"])
    variant = parse_sod1_variant(text)
    components = [_component(GENE_STUDIED, concept(SOD1_GENE)),
                  _component(TRANSCRIPT, concept(SOD1_TRANSCRIPT))]
    if variant.cdna is not None:
        components.append(_component(DNA_CHANGE,
                                     _hgvs(f"{SOD1_TRANSCRIPT_ACCESSION}:{variant.cdna}")))
    components.append(_component(AMINO_ACID_CHANGE, _hgvs(variant.normalized)))
    if variant.alt != STOP:
        components.append(_component(CHANGE_TYPE, concept(MISSENSE)))
    components.append(_component(GENOMIC_SOURCE, concept(GERMLINE)))
    zygosity = row.get("zygosity")
    if zygosity in set(Zygosity):
        components.append(_component(ALLELIC_STATE, concept(ZYGOSITY[Zygosity(zygosity)])))
    return {
        "resourceType": "Observation", "id": record_id("sod1-variant", pseudonym),
        "meta": {"profile": [VARIANT_PROFILE]},
        "extension": [extension(AS_ENTERED, valueString=text),
                      extension(LEGACY, valueString=variant.legacy)],
        "identifier": [identifier(identifier_system("sod1-variant"), pseudonym)],
        "status": "final", "category": [concept(LABORATORY)],
        "code": concept(GENETIC_VARIANT_ASSESSMENT), "subject": patient_reference(pseudonym),
        "valueCodeableConcept": concept(PRESENT), "component": components,
    }


def _components(resource: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for component in resource.get("component", []):
        for code in codes_in(component.get("code"), GENE_STUDIED.system):
            found.setdefault(code, component.get("valueCodeableConcept") or {})
    return found


def _value(concept_: Mapping[str, Any] | None) -> str:
    """An HGVS name from a component's value: its HGVS code, else its text."""
    codes = codes_in(concept_, HGVS)
    return codes[0] if codes else str((concept_ or {}).get("text") or "")


def _same_variant(a: str, b: str) -> bool:
    try:
        x, y = parse_sod1_variant(a), parse_sod1_variant(b)
    except VariantError:
        return True  # the builder refuses the unreadable one in its own words
    return (x.position_hgvs, x.ref, x.alt) == (y.position_hgvs, y.ref, y.alt)


def _variant_text(found: Found, resource: Mapping[str, Any], parts: dict[str, dict[str, Any]],
                  into: Collected) -> tuple[str, str]:
    """The ``sod1_variant`` cell and the element it came from."""
    entered = own_value(resource, AS_ENTERED)
    protein = _value(parts.get(AMINO_ACID_CHANGE.code))
    dna = _value(parts.get(DNA_CHANGE.code))
    if entered:
        element = f"component[{AMINO_ACID_CHANGE.code}]"
        if protein and not _same_variant(str(entered), protein):
            into.problems.append(found.problem(
                element, f"{protein} is not the variant entered as {entered!r} "
                         f"({extension_path(AS_ENTERED)})"))
        return cell(entered), extension_path(AS_ENTERED)
    combined = " ".join(v for v in (dna, protein) if v)
    if combined:
        which = AMINO_ACID_CHANGE if protein else DNA_CHANGE
        return cell(combined), f"component[{which.code}]"
    legacy = own_value(resource, LEGACY)
    return cell(legacy), extension_path(LEGACY)


def read_variant(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    """A variant Observation: the ``sod1_variant`` and ``zygosity`` cells of its patient."""
    parts = _components(resource)
    gene = parts.get(GENE_STUDIED.code)
    if gene is not None and SOD1_GENE.code not in codes_in(gene, HGNC):
        into.problems.append(found.problem(f"component[{GENE_STUDIED.code}]", "alsrwe records "
                                           f"SOD1 variants only ({SOD1_GENE.code})"))
        return
    value = resource.get("valueCodeableConcept")
    if value is not None and not has_code(value, PRESENT):
        into.problems.append(found.problem("valueCodeableConcept", "alsrwe records variants "
                                           f"that are present ({PRESENT.code})"))
        return
    text, element = _variant_text(found, resource, parts, into)
    state = parts.get(ALLELIC_STATE.code)
    zygosity = next((z.value for z, code in ZYGOSITY.items() if has_code(state, code)), None)
    if zygosity is None and state is not None:
        zygosity = cell(state.get("text") or next(
            (c.get("code") for c in state.get("coding", [])), ""))
    into.variants.append(SubjectPart(found, resource.get("subject"),
                                     {"sod1_variant": text, "zygosity": zygosity or ""},
                                     {**VARIANT_ELEMENTS, "sod1_variant": element}))


__all__ = ["AS_ENTERED", "LEGACY", "VARIANT_ELEMENTS", "is_variant", "read_variant",
           "variant_observation"]
