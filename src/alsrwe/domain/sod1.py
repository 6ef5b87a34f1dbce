"""SOD1 variant nomenclature: legacy and HGVS numbering (see ../shared/domain.md §8, §10)."""

from __future__ import annotations

from enum import StrEnum


class Zygosity(StrEnum):
    """How many copies of the variant a person carries."""

    HETEROZYGOUS = "heterozygous"
    HOMOZYGOUS = "homozygous"
