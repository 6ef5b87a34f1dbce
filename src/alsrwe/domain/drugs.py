"""The coded drug vocabulary, and the brand names and synonyms that map onto it.

A dose recorded as "Qalsody" must count for the tofersen calendar, so every edge maps what
was typed to one code before anything is stored; a name that maps to nothing is refused,
naming the accepted codes. Brand names and their sources: docs/domain-rules.md §12.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from alsrwe.domain.errors import DrugError


class Drug(StrEnum):
    """ALS drugs alsrwe records (doses it schedules, concomitant medications)."""

    TOFERSEN = "tofersen"
    EDARAVONE_IV = "edaravone_iv"
    EDARAVONE_ORAL = "edaravone_oral"
    RILUZOLE = "riluzole"
    SODIUM_PHENYLBUTYRATE_TAURURSODIOL = "sodium_phenylbutyrate_taurursodiol"
    DEXTROMETHORPHAN_QUINIDINE = "dextromethorphan_quinidine"


@dataclass(frozen=True, slots=True)
class DrugInfo:
    """A coded drug: how it is shown, the other names it goes by, and where they come from."""

    code: Drug
    label: str
    names: tuple[str, ...]
    source: str


_D = Drug
DRUGS: Mapping[Drug, DrugInfo] = MappingProxyType({
    info.code: info for info in (
        DrugInfo(_D.TOFERSEN, "tofersen (Qalsody)", ("qalsody",),
                 "FDA approval of QALSODY (tofersen), NDA 215887, 2023-04-25"),
        DrugInfo(_D.EDARAVONE_IV, "edaravone IV (Radicava)",
                 ("radicava", "edaravone intravenous", "edaravone infusion"),
                 "RADICAVA (edaravone) injection, US PI 2017"),
        DrugInfo(_D.EDARAVONE_ORAL, "oral edaravone (Radicava ORS)",
                 ("radicava ors", "radicava oral suspension", "edaravone oral suspension"),
                 "RADICAVA ORS (edaravone) oral suspension, FDA 2022"),
        DrugInfo(_D.RILUZOLE, "riluzole",
                 ("rilutek", "tiglutik", "teglutik", "exservan"),
                 "drugs.com; openFDA shortage (NDA209080) and NDC records"),
        DrugInfo(_D.SODIUM_PHENYLBUTYRATE_TAURURSODIOL,
                 "sodium phenylbutyrate/taurursodiol (Relyvrio)",
                 ("relyvrio", "albrioza", "amx0035", "sodium phenylbutyrate taurursodiol",
                  "sodium phenylbutyrate and taurursodiol",
                  "sodium phenylbutyrate and ursodoxicoltaurine"),
                 "Alzforum (Relyvrio); Health Canada approval of Albrioza, 2022"),
        DrugInfo(_D.DEXTROMETHORPHAN_QUINIDINE, "dextromethorphan/quinidine (Nuedexta)",
                 ("nuedexta", "dextromethorphan and quinidine"),
                 "openFDA NDC record of Nuedexta"),
    )
})
"""Every coded drug with its names (docs/domain-rules.md §12)."""

AMBIGUOUS: Mapping[str, tuple[Drug, ...]] = MappingProxyType(
    {"edaravone": (Drug.EDARAVONE_IV, Drug.EDARAVONE_ORAL)}
)
"""Names that fit more than one code: refused, naming the codes to choose from."""


def drug_key(name: str) -> str:
    """How names are compared: case, ®/™ signs, spaces, hyphens, slashes and '+' ignored."""
    cleaned = name.replace("\u00ae", " ").replace("\u2122", " ").casefold()
    for mark in "-_/+,":
        cleaned = cleaned.replace(mark, " ")
    return "_".join(cleaned.split())


_BY_NAME: Mapping[str, Drug] = MappingProxyType({
    **{drug_key(name): info.code for info in DRUGS.values() for name in info.names},
    **{drug_key(code.value): code for code in Drug},
})


def parse_drug(name: str, allowed: Collection[Drug] | None = None, field: str = "drug") -> Drug:
    """The coded drug that ``name`` (a code, brand name or synonym) stands for.

    ``allowed`` narrows the codes accepted here (administrations accept only the drugs of
    alsrwe's regimens); DrugError names the field, what was typed and what is accepted.
    """
    accepted = tuple(allowed) if allowed is not None else tuple(Drug)
    codes = ", ".join(code.value for code in accepted)
    key = drug_key(name)
    if not key:
        raise DrugError(field, "is required", "drug.unknown")
    if key in AMBIGUOUS:
        choices = [c.value for c in AMBIGUOUS[key] if c in accepted]
        raise DrugError(field, f"'{name.strip()}' is ambiguous: use {' or '.join(choices)}",
                        "drug.unknown")
    code = _BY_NAME.get(key)
    if code is None or code not in accepted:
        raise DrugError(field, f"'{name.strip()}' is not one of: {codes} (brand names such as "
                               "Qalsody map to their drug)",
                        "drug.unknown")
    return code


__all__ = ["AMBIGUOUS", "DRUGS", "Drug", "DrugInfo", "drug_key", "parse_drug"]
