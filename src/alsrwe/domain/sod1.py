"""SOD1 variant nomenclature: legacy and HGVS numbering, and cDNA changes (docs/domain-rules.md
§8, §10).

Legacy (protein-chemistry) names omit the initiator Met, so HGVS p. position = legacy + 1
(A4V = p.Ala5Val). Convention 11: accept legacy, HGVS protein and cDNA forms, store the HGVS
protein name on NP_000445.1 plus the legacy name, and validate the reference residue against
UniProt P00441. A bare cDNA change ("c.14C>T", as genetic reports often give it) is
translated with the SOD1 coding sequence (:mod:`alsrwe.domain.sod1_reference`), and a cDNA
change given with its protein change must translate to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from alsrwe.domain.errors import VariantError
from alsrwe.domain.sod1_reference import (
    GENETIC_CODE,
    SOD1_CODING_SEQUENCE,
    SOD1_PROTEIN_ACCESSION,
    SOD1_PROTEIN_SEQUENCE,
    SOD1_TRANSCRIPT_ACCESSION,
)

__all__ = [
    "SOD1_PROTEIN_ACCESSION",
    "SOD1_PROTEIN_SEQUENCE",
    "SOD1_TRANSCRIPT_ACCESSION",
    "STOP",
    "Sod1Variant",
    "Zygosity",
    "parse_sod1_variant",
    "translate_cdna",
]

STOP = "*"
"""One-letter code of a stop (nonsense) residue; legacy names write it "X", HGVS "Ter"."""

_FIELD = "sod1_variant"
_FIRST_HGVS, _LAST_HGVS = 2, len(SOD1_PROTEIN_SEQUENCE)  # Met1 has no legacy name
_THREE_TO_ONE = {
    "ala": "A", "arg": "R", "asn": "N", "asp": "D", "cys": "C", "gln": "Q", "glu": "E",
    "gly": "G", "his": "H", "ile": "I", "leu": "L", "lys": "K", "met": "M", "phe": "F",
    "pro": "P", "ser": "S", "thr": "T", "trp": "W", "tyr": "Y", "val": "V", "ter": STOP,
}
_ONE_TO_THREE = {one: three.capitalize() for three, one in _THREE_TO_ONE.items()}
_EXAMPLES = "A4V, p.Ala5Val, p.(Ala5Val), p.A5V or c.14C>T"

_GENE_PREFIX = re.compile(r"^SOD1(?:\s*[:\-]\s*|\s+)", re.IGNORECASE)
_ACCESSION = r"(?P<acc>N[MP]_\d+)(?:\.(?P<version>\d+))?(?:\s*\(\s*SOD1\s*\))?\s*:\s*"
_CDNA = re.compile(
    rf"(?:{_ACCESSION})?c\.\s*(?P<pos>\d+)(?P<ref>[ACGT])\s*>\s*(?P<alt>[ACGT])", re.IGNORECASE
)
_PROTEIN = re.compile(
    rf"(?:{_ACCESSION})?(?P<p>p\.\s*)?(?P<open>\(\s*)?"
    r"(?P<ref>[A-Za-z]{1,3})(?P<pos>\d+)(?P<alt>[A-Za-z]{1,3}|\*|=)(?P<close>\s*\))?",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[\s,;/()]*")
_UNSUPPORTED = re.compile(r"fs|del|ins|dup|ext", re.IGNORECASE)


class Zygosity(StrEnum):
    """How many copies of the variant a person carries."""

    HETEROZYGOUS = "heterozygous"
    HOMOZYGOUS = "homozygous"


def _fail(rule: str) -> VariantError:
    return VariantError(_FIELD, rule)


def _residue(one_letter: str) -> str:
    """'Asp (D)' for messages."""
    return f"{_ONE_TO_THREE[one_letter]} ({one_letter})"


def _matches(position_hgvs: int, ref: str) -> bool:
    return _FIRST_HGVS <= position_hgvs <= _LAST_HGVS and (
        SOD1_PROTEIN_SEQUENCE[position_hgvs - 1] == ref
    )


@dataclass(frozen=True, slots=True)
class Sod1Variant:
    """A single amino-acid substitution in SOD1 (missense or stop-gain), in HGVS numbering.

    Construction checks the reference residue against UniProt P00441 (docs/domain-rules.md
    §10). ``cdna`` is the
    coding change on NM_000454.5 written without the accession ("c.14C>T"), or None.
    Equality ignores ``input_text``: "A4V" and "p.Ala5Val" are the same variant.
    """

    position_hgvs: int
    ref: str
    alt: str
    cdna: str | None = None
    input_text: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        name = self.input_text or f"{self.ref}{self.position_hgvs}{self.alt}"
        if not _FIRST_HGVS <= self.position_hgvs <= _LAST_HGVS:
            raise _fail(f"{name!r}: HGVS position {self.position_hgvs} is outside SOD1 "
                        f"(p.{_FIRST_HGVS}-p.{_LAST_HGVS} on {SOD1_PROTEIN_ACCESSION})")
        if self.ref not in _ONE_TO_THREE or self.ref == STOP:
            raise _fail(f"{name!r}: the reference residue must be a one-letter amino-acid code")
        if self.alt not in _ONE_TO_THREE:
            raise _fail(f"{name!r}: the new residue must be a one-letter amino-acid code or "
                        f"{STOP!r} for a stop")
        if self.ref == self.alt:
            raise _fail(f"{name!r} does not change the residue (both are {_residue(self.ref)}); "
                        "synonymous variants are not recorded")
        actual = SOD1_PROTEIN_SEQUENCE[self.position_hgvs - 1]
        if actual != self.ref:
            raise _fail(f"{name!r}: residue {self.position_hgvs} of {SOD1_PROTEIN_ACCESSION} is "
                        f"{_residue(actual)}, not {_residue(self.ref)}")
        if self.cdna is not None:
            _check_cdna(self.cdna, self.position_hgvs, self.alt, name)

    @property
    def position_legacy(self) -> int:
        """Legacy position: HGVS position − 1, because legacy names omit the initiator Met."""
        return self.position_hgvs - 1

    @property
    def hgvs(self) -> str:
        """HGVS protein name with three-letter codes, e.g. "p.Ala5Val" or "p.Leu107Ter"."""
        ref, alt = _ONE_TO_THREE[self.ref], _ONE_TO_THREE[self.alt]
        return f"p.{ref}{self.position_hgvs}{alt}"

    @property
    def legacy(self) -> str:
        """Legacy name, e.g. "A4V"; a stop is written "X" as in the literature ("L106X")."""
        alt = "X" if self.alt == STOP else self.alt
        return f"{self.ref}{self.position_legacy}{alt}"

    @property
    def normalized(self) -> str:
        """The stored form: "NP_000445.1:p.(Ala5Val)", predicted protein change per HGVS.

        Parentheses mark a consequence predicted from DNA, as genetic reports give it (§8).
        ``parse_sod1_variant(v.normalized) == v`` for every variant without a cDNA change.
        """
        return f"{SOD1_PROTEIN_ACCESSION}:p.({self.hgvs.removeprefix('p.')})"


def _cdna_text(match: re.Match[str]) -> str:
    """The canonical cDNA form without accession, e.g. "c.14C>T"."""
    return f"c.{int(match['pos'])}{match['ref'].upper()}>{match['alt'].upper()}"


def _cdna_parts(cdna: str, name: str) -> tuple[int, str, str]:
    match = _CDNA.fullmatch(cdna)
    if match is None or cdna != _cdna_text(match):
        raise _fail(f"{name!r}: the cDNA change must be written like c.14C>T; got {cdna!r}")
    return int(match["pos"]), match["ref"].upper(), match["alt"].upper()


def translate_cdna(cdna: str, name: str | None = None) -> tuple[int, str, str]:
    """(HGVS position, ref, alt) of the protein change a cDNA substitution makes, e.g.
    ``"c.14C>T"`` → ``(5, "A", "V")``, read on the SOD1 coding sequence (docs/domain-rules.md
    §10). Only changes of one amino acid (missense) or to a stop (nonsense) are accepted.
    """
    name = name or cdna
    position, ref, alt = _cdna_parts(cdna, name)
    last = len(SOD1_CODING_SEQUENCE)
    if not 1 <= position <= last:
        raise _fail(f"{name!r}: c.{position} is outside the SOD1 coding sequence (c.1-c.{last} "
                    f"on {SOD1_TRANSCRIPT_ACCESSION})")
    if ref == alt:
        raise _fail(f"{name!r}: {cdna} does not change the nucleotide")
    actual = SOD1_CODING_SEQUENCE[position - 1]
    if actual != ref:
        raise _fail(f"{name!r}: c.{position} of the SOD1 coding sequence is {actual}, not {ref}")
    start = (position - 1) // 3 * 3
    codon = SOD1_CODING_SEQUENCE[start:start + 3]
    offset = position - 1 - start
    changed = codon[:offset] + alt + codon[offset + 1:]
    residue = start // 3 + 1
    before, after = GENETIC_CODE[codon], GENETIC_CODE[changed]
    if residue == 1:
        raise _fail(f"{name!r} changes the start codon; start-loss variants are not supported")
    if before == STOP:
        raise _fail(f"{name!r} changes the stop codon; stop-loss variants are not supported")
    if before == after:
        raise _fail(f"{name!r} does not change the residue ({_residue(before)}{residue}: codon "
                    f"{codon} → {changed}); synonymous variants are not recorded")
    return residue, before, after


def _check_cdna(cdna: str, position_hgvs: int, alt: str, name: str) -> None:
    residue, _, made = translate_cdna(cdna, name)
    if residue != position_hgvs:
        raise _fail(f"{name!r}: {cdna} lies in codon {residue}, but the protein change is at "
                    f"residue {position_hgvs}")
    if made != alt:
        raise _fail(f"{name!r}: {cdna} changes residue {residue} to {_residue(made)}, not to "
                    f"{_residue(alt)}")


def _check_accession(match: re.Match[str], expected: str, name: str) -> None:
    if match["acc"] is None:
        return
    accession, _, version = expected.partition(".")
    given = match["acc"].upper()
    if given != accession or match["version"] not in (None, version):
        written = given + (f".{match['version']}" if match["version"] else "")
        raise _fail(f"{name!r}: {written} is not the SOD1 reference; use {expected}")


def _amino_acid(code: str, name: str) -> str:
    if code in ("*", "="):
        return code
    one = code.upper() if len(code) == 1 else _THREE_TO_ONE.get(code.lower(), "?")
    if one == "X":
        one = STOP
    if one not in _ONE_TO_THREE:
        raise _fail(f"{name!r}: {code!r} is not an amino-acid code (use one letter such as A, "
                    "three letters such as Ala, or X, Ter or * for a stop)")
    return one


def _protein_reading(match: re.Match[str], name: str) -> tuple[int, str, str]:
    """(HGVS position, ref, alt) from one protein form; without "p." the number is legacy."""
    _check_accession(match, SOD1_PROTEIN_ACCESSION, name)
    is_hgvs = match["p"] is not None
    if match["acc"] is not None and not is_hgvs:
        raise _fail(f"{name!r}: write p. after {SOD1_PROTEIN_ACCESSION}:")
    if is_hgvs and match["open"] is not None and match["close"] is None:
        raise _fail(f"{name!r}: a parenthesis after p. is not closed")
    ref, alt = _amino_acid(match["ref"], name), _amino_acid(match["alt"], name)
    if ref == STOP:
        raise _fail(f"{name!r}: the reference residue cannot be a stop")
    if alt == "=" or alt == ref:
        raise _fail(f"{name!r} does not change the residue; synonymous variants are not recorded")
    number = int(match["pos"])
    position = number if is_hgvs else number + 1
    if not _matches(position, ref):
        raise _fail(_mismatch(name, number, ref, alt, is_hgvs))
    return position, ref, alt


def _mismatch(name: str, number: int, ref: str, alt: str, is_hgvs: bool) -> str:
    """Say which numbering, if any, the stated reference residue matches."""
    system, other = ("HGVS", "legacy") if is_hgvs else ("legacy", "HGVS")
    position = number if is_hgvs else number + 1
    start_loss = "start-loss variants (p.Met1) are not supported"
    if position == 1 and ref == "M":
        return f"{name!r} is at the initiator methionine, which has no legacy name; {start_loss}"
    limit = _LAST_HGVS if is_hgvs else _LAST_HGVS - 1
    if not 1 <= number <= limit:
        return (f"{name!r}: position {number} is outside SOD1 (legacy 1-{_LAST_HGVS - 1}, "
                f"HGVS p.1-p.{_LAST_HGVS})")
    actual = _residue(SOD1_PROTEIN_SEQUENCE[position - 1])
    here = (f"{name!r} does not match the SOD1 sequence in {system} numbering "
            f"(residue {number} is {actual})")
    other_position = number + 1 if is_hgvs else number
    if _matches(other_position, ref):
        meant = Sod1Variant(other_position, ref, alt)
        return (f"{here}; in {other} numbering it matches: did you mean {meant.hgvs} "
                f"(legacy {meant.legacy})?")
    if other_position == 1 and ref == "M":
        return f"{here}; in {other} numbering it is the initiator methionine: {start_loss}"
    return f"{here}, nor in {other} numbering"


def _find_cdna(text: str, name: str) -> tuple[str | None, str]:
    """The cDNA change (without accession) if any, and the rest of the text."""
    matches = list(_CDNA.finditer(text))
    if len(matches) > 1:
        raise _fail(f"{name!r} gives more than one cDNA change; enter one variant at a time")
    if not matches:
        return None, text
    match = matches[0]
    _check_accession(match, SOD1_TRANSCRIPT_ACCESSION, name)
    return _cdna_text(match), text[: match.start()] + " " + text[match.end() :]


def _protein_forms(text: str, name: str) -> list[re.Match[str]]:
    """Every protein form in ``text``; anything between them must be a separator."""
    matches, covered = [], 0
    for match in _PROTEIN.finditer(text):
        if not _SEPARATORS.fullmatch(text, covered, match.start()):
            break
        matches.append(match)
        covered = match.end()
    if not _SEPARATORS.fullmatch(text, covered):
        rest = text[covered:]
        if re.search(r"\bc\.", rest, re.IGNORECASE):
            raise _fail(f"{name!r}: only single-nucleotide substitutions in the coding sequence "
                        "(like c.14C>T) are supported")
        raise _fail(f"cannot read {name!r}; write one amino-acid substitution like {_EXAMPLES} "
                    "(frameshifts, deletions and insertions are not supported)")
    return matches


def parse_sod1_variant(text: str) -> Sod1Variant:
    """Read an SOD1 variant name in any accepted form and check it against P00441.

    Accepted (docs/domain-rules.md §8, §10): legacy "A4V" (no "p." means legacy numbering, as
    in the SOD1 literature), HGVS "p.Ala5Val", "p.(Ala5Val)", "p.A5V", optionally after
    "NP_000445.1:", and a cDNA change "c.14C>T" / "NM_000454.5:c.14C>T", alone (translated
    with the coding sequence) or with its protein change ("c.14C>T (A4V)", which must agree).
    Stops are X, Ter or *. A name whose residue fits only the other numbering is refused with
    a suggestion (German papers write HGVS numbers without "p.", e.g. "D91A" for D90A).
    """
    if not isinstance(text, str) or not text.strip():
        raise _fail(f"enter a variant name such as {_EXAMPLES}")
    name = " ".join(text.split())
    body = _GENE_PREFIX.sub("", name)
    if _UNSUPPORTED.search(body):
        raise _fail(f"{name!r}: only single amino-acid substitutions (missense or stop-gain) "
                    "are supported, not frameshifts, deletions, insertions or duplications")
    cdna, rest = _find_cdna(body, name)
    readings = {_protein_reading(m, name) for m in _protein_forms(rest, name)}
    if not readings:
        if cdna is not None:
            return Sod1Variant(*translate_cdna(cdna, name), cdna=cdna, input_text=text)
        raise _fail(f"cannot read {name!r}; write it like {_EXAMPLES}")
    if len(readings) > 1:
        names = ", ".join(sorted(Sod1Variant(*r).legacy for r in readings))
        raise _fail(f"{name!r} names different variants ({names}); enter one variant at a time")
    position, ref, alt = readings.pop()
    return Sod1Variant(position, ref, alt, cdna=cdna, input_text=text)
