"""The SOD1 reference sequences alsrwe checks variant names against (docs/domain-rules.md §10).

- The protein: UniProt P00441 (SODC_HUMAN), 154 residues with the initiator Met, so HGVS
  position p is ``SOD1_PROTEIN_SEQUENCE[p - 1]``.
- The coding sequence (ATG … TAA, 465 nt): NCBI RefSeq NM_000454.4, CDS 149..613 (protein
  NP_000445.1), from the unmodified GenBank record copied in the public repository
  github.com/cspinetta/bio-tp (releases/SOD1_mRNA_NM_000454.gb, commit 20b4f977, record of
  07-MAY-2017). The current version NM_000454.5 (MANE Select) encodes the same protein; that
  its CDS is nucleotide-identical is stated in public notes but not checked here [U]. A test
  translates this CDS and compares it with P00441 residue by residue.
- The genetic code: NCBI translation table 1 (the standard code), codons in TCAG order.
"""

from __future__ import annotations

SOD1_PROTEIN_SEQUENCE = (
    "MATKAVCVLKGDGPVQGIINFEQKESNGPVKVWGSIKGLTEGLHGFHVHEFGDNTAGCTS"
    "AGPHFNPLSRKHGGPKDEERHVGDLGNVTADKDGVADVSIEDSVISLSGDHCIIGRTLVV"
    "HEKADDLGKGGNEESTKTGNAGSRLACGVIGIAQ"
)
"""UniProt P00441 (SODC_HUMAN), 154 residues with the initiator Met."""

SOD1_CODING_SEQUENCE = (
    "ATGGCGACGAAGGCCGTGTGCGTGCTGAAGGGCGACGGCCCAGTGCAGGGCATCATCAAT"
    "TTCGAGCAGAAGGAAAGTAATGGACCAGTGAAGGTGTGGGGAAGCATTAAAGGACTGACT"
    "GAAGGCCTGCATGGATTCCATGTTCATGAGTTTGGAGATAATACAGCAGGCTGTACCAGT"
    "GCAGGTCCTCACTTTAATCCTCTATCCAGAAAACACGGTGGGCCAAAGGATGAAGAGAGG"
    "CATGTTGGAGACTTGGGCAATGTGACTGCTGACAAAGATGGTGTGGCCGATGTGTCTATT"
    "GAAGATTCTGTGATCTCACTCTCAGGAGACCATTGCATCATTGGCCGCACACTGGTGGTC"
    "CATGAAAAAGCAGATGACTTGGGCAAAGGTGGAAATGAAGAAAGTACAAAGACAGGAAAC"
    "GCTGGAAGTCGTTTGGCTTGTGGTGTAATTGGGATCGCCCAATAA"
)
"""NM_000454.4 CDS 149..613: c.1 is the A of the ATG; 465 nt including the TAA stop."""

SOD1_PROTEIN_ACCESSION = "NP_000445.1"
SOD1_TRANSCRIPT_ACCESSION = "NM_000454.5"
"""The transcript HGVS names refer to (the coding sequence above is that of NM_000454.4)."""

_BASES = "TCAG"
_TABLE_1 = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
"""NCBI translation table 1 (standard code): amino acid of each codon in TCAG order."""
GENETIC_CODE: dict[str, str] = {
    a + b + c: _TABLE_1[16 * i + 4 * j + k]
    for i, a in enumerate(_BASES) for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)
}
"""Codon → one-letter amino acid; ``*`` is a stop."""


def translate(coding: str) -> str:
    """The protein encoded by a coding sequence read in triplets from its first base."""
    return "".join(GENETIC_CODE[coding[i:i + 3]] for i in range(0, len(coding) - 2, 3))


__all__ = [
    "GENETIC_CODE",
    "SOD1_CODING_SEQUENCE",
    "SOD1_PROTEIN_ACCESSION",
    "SOD1_PROTEIN_SEQUENCE",
    "SOD1_TRANSCRIPT_ACCESSION",
    "translate",
]
