"""SOD1 variant names: the checks of docs/domain-rules.md §8 and §10, errors, and round trips."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.errors import VariantError
from alsrwe.domain.sod1 import (
    SOD1_PROTEIN_ACCESSION,
    SOD1_PROTEIN_SEQUENCE,
    STOP,
    Sod1Variant,
    Zygosity,
    parse_sod1_variant,
)
from alsrwe.domain.sod1_reference import GENETIC_CODE, SOD1_CODING_SEQUENCE, translate

THREE = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
    "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
    "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", STOP: "Ter",
}


def rejected(text: str) -> VariantError:
    with pytest.raises(VariantError) as err:
        parse_sod1_variant(text)
    assert err.value.field == "sod1_variant"
    return err.value


# --- reference sequence (domain-rules §10) --------------------------------------------------------


def test_reference_sequence_is_uniprot_p00441() -> None:
    assert len(SOD1_PROTEIN_SEQUENCE) == 154
    assert SOD1_PROTEIN_SEQUENCE.startswith("MATKAVCVLKGDGPVQ")
    assert SOD1_PROTEIN_SEQUENCE.endswith("LACGVIGIAQ")
    assert set(SOD1_PROTEIN_SEQUENCE) <= set(THREE) - {STOP}


@pytest.mark.parametrize(
    ("position_hgvs", "residue"),
    # "Check: legacy A4V → residue 5 is A; G93A → residue 94 is G; D90A → residue 91 is D;
    # L144F → residue 145 is L."
    [(5, "A"), (94, "G"), (91, "D"), (145, "L"), (116, "R")],
)
def test_residues_named_in_domain_md(position_hgvs: int, residue: str) -> None:
    assert SOD1_PROTEIN_SEQUENCE[position_hgvs - 1] == residue


# --- accepted forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hgvs", "legacy"),
    [
        ("A4V", "p.Ala5Val", "A4V"),
        ("G93A", "p.Gly94Ala", "G93A"),
        ("D90A", "p.Asp91Ala", "D90A"),
        ("L144F", "p.Leu145Phe", "L144F"),
        # German papers: "R116G" = legacy R115G, "L145F" = legacy L144F (domain-rules §8), as HGVS.
        ("p.Arg116Gly", "p.Arg116Gly", "R115G"),
        ("p.Leu145Phe", "p.Leu145Phe", "L144F"),
    ],
)
def test_domain_md_examples(text: str, hgvs: str, legacy: str) -> None:
    variant = parse_sod1_variant(text)
    assert (variant.hgvs, variant.legacy) == (hgvs, legacy)
    assert variant.position_hgvs == variant.position_legacy + 1


def test_a4v_fields() -> None:
    # "A4V = NM_000454.5:c.14C>T p.(Ala5Val)" (domain-rules §8).
    v = parse_sod1_variant("NM_000454.5:c.14C>T p.(Ala5Val)")
    assert (v.position_hgvs, v.position_legacy, v.ref, v.alt) == (5, 4, "A", "V")
    assert (v.hgvs, v.legacy, v.cdna) == ("p.Ala5Val", "A4V", "c.14C>T")
    assert v.normalized == "NP_000445.1:p.(Ala5Val)"
    assert v.input_text == "NM_000454.5:c.14C>T p.(Ala5Val)"


def test_d90a_with_cdna() -> None:
    # "D90A = c.272A>C p.(Asp91Ala) (Meyer 2023, Muscle Nerve)" (domain-rules §8).
    for text in ("c.272A>C p.(Asp91Ala)", "c.272A>C (D90A)", "NM_000454.5:c.272A>C (p.Asp91Ala)"):
        v = parse_sod1_variant(text)
        assert (v.hgvs, v.legacy, v.cdna) == ("p.Asp91Ala", "D90A", "c.272A>C")


@pytest.mark.parametrize(
    "text",
    [
        "A4V",
        "p.Ala5Val",
        "p.(Ala5Val)",
        "p.A5V",
        "p.(A5V)",
        "NP_000445.1:p.Ala5Val",
        "NP_000445.1:p.(Ala5Val)",
        "NP_000445:p.A5V",
        "  p. ( ala5VAL )  ",
        "P.ALA5VAL",
        "a4v",
        "SOD1 A4V",
        "SOD1:p.Ala5Val",
        "A4V (p.Ala5Val)",
        "p.Ala5Val / A4V",
    ],
)
def test_every_accepted_protein_form_normalizes_to_a4v(text: str) -> None:
    v = parse_sod1_variant(text)
    assert v == parse_sod1_variant("A4V")
    assert v.normalized == "NP_000445.1:p.(Ala5Val)"
    assert v.cdna is None
    assert v.input_text == text


def test_clinvar_title_form() -> None:
    v = parse_sod1_variant("NM_000454.5(SOD1):c.14C>T (p.Ala5Val)")
    assert (v.legacy, v.cdna) == ("A4V", "c.14C>T")


def test_lowercase_cdna_is_normalized() -> None:
    assert parse_sod1_variant("c.14c>t p.A5V").cdna == "c.14C>T"


@pytest.mark.parametrize("text", ["L106X", "L106*", "p.Leu107Ter", "p.(Leu107*)", "p.L107X"])
def test_stop_gain_is_one_variant_in_every_spelling(text: str) -> None:
    v = parse_sod1_variant(text)
    assert v.alt == STOP
    assert (v.hgvs, v.legacy) == ("p.Leu107Ter", "L106X")
    assert v.normalized == "NP_000445.1:p.(Leu107Ter)"


def test_cdna_positions_in_the_same_codon_are_consistent() -> None:
    # Codon 5 spans c.13-c.15 (GCC, Ala): each base change gives its own protein change.
    assert parse_sod1_variant("c.13G>A").hgvs == "p.Ala5Thr"
    assert parse_sod1_variant("c.14C>T").legacy == "A4V"
    assert "synonymous" in rejected("c.15C>T").rule  # GCC → GCT is still Ala


def test_bare_cdna_is_translated_with_the_coding_sequence() -> None:
    # Worked examples of docs/domain-rules.md §8: A4V = c.14C>T p.(Ala5Val); D90A = c.272A>C
    # p.(Asp91Ala) (Meyer et al., Muscle Nerve 2023).
    for cdna, legacy, hgvs in (("c.14C>T", "A4V", "p.Ala5Val"),
                               ("NM_000454.5:c.272A>C", "D90A", "p.Asp91Ala")):
        v = parse_sod1_variant(cdna)
        assert (v.legacy, v.hgvs, v.cdna) == (legacy, hgvs, cdna.split(":")[-1])
        assert v.input_text == cdna


def test_the_coding_sequence_translates_to_the_reference_protein() -> None:
    assert len(SOD1_CODING_SEQUENCE) == 465
    assert translate(SOD1_CODING_SEQUENCE) == SOD1_PROTEIN_SEQUENCE + STOP


def test_variant_is_frozen_and_hashable() -> None:
    v = parse_sod1_variant("G93A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.alt = "C"  # type: ignore[misc]
    assert len({v, parse_sod1_variant("p.Gly94Ala")}) == 1
    assert v != parse_sod1_variant("c.281G>C p.Gly94Ala")  # the cDNA is part of the record


def test_direct_construction_is_validated() -> None:
    assert Sod1Variant(5, "A", "V").legacy == "A4V"
    with pytest.raises(VariantError, match="residue 5 of NP_000445.1 is Ala"):
        Sod1Variant(5, "G", "V")
    with pytest.raises(VariantError, match="codon"):
        Sod1Variant(5, "A", "V", cdna="c.16G>T")
    with pytest.raises(VariantError, match="outside SOD1"):
        Sod1Variant(155, "A", "V")
    with pytest.raises(VariantError, match="one-letter amino-acid code"):
        Sod1Variant(5, "A", "Val")
    with pytest.raises(VariantError, match="written like c.14C>T"):
        Sod1Variant(5, "A", "V", cdna="NM_000454.5:c.14C>T")


def test_zygosity_values_are_stable() -> None:
    assert [z.value for z in Zygosity] == ["heterozygous", "homozygous"]


# --- numbering mix-ups (domain-rules §8, §10) -----------------------------------------------------


def test_german_d91a_without_p_is_refused_with_the_hgvs_reading() -> None:
    err = rejected("D91A")
    assert "does not match the SOD1 sequence in legacy numbering" in err.rule
    assert "residue 91 is Lys (K)" in err.rule
    assert "in HGVS numbering it matches: did you mean p.Asp91Ala (legacy D90A)?" in err.rule


def test_hgvs_written_with_legacy_number_is_refused_with_the_legacy_reading() -> None:
    err = rejected("p.Asp90Ala")
    assert "does not match the SOD1 sequence in HGVS numbering" in err.rule
    assert "in legacy numbering it matches: did you mean p.Asp91Ala (legacy D90A)?" in err.rule


def test_r116g_legacy_is_refused_but_hgvs_accepted() -> None:
    # German "R116G" is HGVS numbering; residue 116 is R (asserted above), legacy 116 is T.
    assert "did you mean p.Arg116Gly (legacy R115G)?" in rejected("R116G").rule
    assert parse_sod1_variant("p.R116G").legacy == "R115G"


def test_a_residue_matching_neither_numbering() -> None:
    assert "nor in HGVS numbering" in rejected("W4V").rule


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "enter a variant name"),
        ("   ", "enter a variant name"),
        ("hello", "cannot read"),
        ("A4", "cannot read"),
        ("c.13C>T p.A5V", "c.13 of the SOD1 coding sequence is G, not C"),
        ("c.14C>G (A4V)", "changes residue 5 to Gly (G), not to Val (V)"),
        ("c.3G>A", "start codon"),
        ("c.465A>G", "stop codon"),
        ("c.466A>G", "outside the SOD1 coding sequence"),
        ("c.12G>T p.A5V", "codon 4"),
        ("c.14C>C p.A5V", "does not change the nucleotide"),
        ("c.14C>T c.15C>T p.A5V", "more than one cDNA change"),
        ("c.72+1G>A", "single-nucleotide substitutions"),
        ("A4A", "synonymous"),
        ("p.Ala5=", "synonymous"),
        ("p.Ala5Ala", "synonymous"),
        ("A4B", "'B' is not an amino-acid code"),
        ("p.Ala5Vax", "'Vax' is not an amino-acid code"),
        ("X4V", "cannot be a stop"),
        ("A200V", "outside SOD1"),
        ("A0V", "outside SOD1"),
        ("p.Ala155Val", "outside SOD1"),
        ("p.Met1Val", "initiator methionine"),
        ("M0V", "initiator methionine"),
        ("M1V", "in HGVS numbering it is the initiator methionine"),
        ("p.Gly94fs", "frameshifts"),
        ("p.Gly94del", "deletions"),
        ("p.(Ala5Val", "not closed"),
        ("NP_000446.1:p.A5V", "use NP_000445.1"),
        ("NP_000445.2:p.A5V", "use NP_000445.1"),
        ("NM_000454.4:c.14C>T p.A5V", "use NM_000454.5"),
        ("NP_000445.1:A5V", "write p. after"),
        ("A4V (D90A)", "names different variants (A4V, D90A)"),
        ("A4V G93A", "names different variants"),
    ],
)
def test_malformed_names_are_refused_with_the_rule(text: str, words: str) -> None:
    assert words in rejected(text).rule


def test_non_string_input_is_refused() -> None:
    with pytest.raises(VariantError):
        parse_sod1_variant(None)  # type: ignore[arg-type]


def test_error_is_a_value_error_naming_the_field() -> None:
    with pytest.raises(ValueError, match="^sod1_variant: "):
        parse_sod1_variant("D91A")


# --- round trips -------------------------------------------------------------------------------

substitutions = st.integers(2, 154).flatmap(
    lambda pos: st.tuples(
        st.just(pos),
        st.sampled_from(sorted(set(THREE) - {SOD1_PROTEIN_SEQUENCE[pos - 1]})),
    )
)


@given(substitutions)
def test_legacy_name_round_trips_through_hgvs(substitution: tuple[int, str]) -> None:
    position, alt = substitution
    ref = SOD1_PROTEIN_SEQUENCE[position - 1]
    legacy = f"{ref}{position - 1}{'X' if alt == STOP else alt}"
    v = parse_sod1_variant(legacy)
    assert (v.position_hgvs, v.ref, v.alt, v.legacy) == (position, ref, alt, legacy)
    assert parse_sod1_variant(v.hgvs) == v
    assert parse_sod1_variant(v.normalized) == v
    assert parse_sod1_variant(v.legacy) == v


@given(substitutions, st.sampled_from(["", "NP_000445.1:", "SOD1 "]))
def test_hgvs_spellings_normalize_identically(substitution: tuple[int, str], prefix: str) -> None:
    position, alt = substitution
    ref = SOD1_PROTEIN_SEQUENCE[position - 1]
    three = f"{THREE[ref]}{position}{THREE[alt]}"
    one = f"{ref}{position}{alt}"
    spellings = [f"p.{three}", f"p.({three})", f"p.{one}",
                 f"p.({one.lower()})", f"p.{three.upper()}"]
    normalized = {parse_sod1_variant(prefix + s).normalized for s in spellings}
    assert normalized == {f"{SOD1_PROTEIN_ACCESSION}:p.({three})"}


cdna_changes = st.integers(1, 465).flatmap(
    lambda pos: st.tuples(st.just(pos), st.sampled_from(
        sorted(set("ACGT") - {SOD1_CODING_SEQUENCE[pos - 1]}))))


@given(cdna_changes)
def test_a_cdna_change_reads_as_its_translation(change: tuple[int, str]) -> None:
    position, alt = change
    ref = SOD1_CODING_SEQUENCE[position - 1]
    cdna = f"c.{position}{ref}>{alt}"
    start = (position - 1) // 3 * 3
    codon = SOD1_CODING_SEQUENCE[start:start + 3]
    mutated = codon[:position - 1 - start] + alt + codon[position - start:]
    residue, before, after = start // 3 + 1, GENETIC_CODE[codon], GENETIC_CODE[mutated]
    if residue == 1 or before in (STOP, after):
        assert rejected(cdna).field == "sod1_variant"
        return
    v = parse_sod1_variant(cdna)
    assert (v.position_hgvs, v.ref, v.alt, v.cdna) == (residue, before, after, cdna)
    assert SOD1_PROTEIN_SEQUENCE[residue - 1] == before
    assert parse_sod1_variant(f"{cdna} ({v.legacy})") == v
