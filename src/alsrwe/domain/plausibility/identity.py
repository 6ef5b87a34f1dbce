"""Rules of who a patient is: pseudonyms unique regardless of case, identity changes confirmed.

A pseudonym that differs from a registered one only in letter case ("ber-0007" beside
"BER-0007") is almost always the same person typed twice, so it is refused (hard). An import
that would move a registered patient to another site, or change their sex or birth year, is
either a different person under a reused pseudonym or a correction: it needs a confirmation
(soft). docs/domain-rules.md §11.
"""

from __future__ import annotations

from collections.abc import Mapping

from alsrwe.domain.errors import Problem
from alsrwe.domain.plausibility.history import PatientHistory
from alsrwe.domain.records import PatientEntry

PSEUDONYM_CASE = "patient.pseudonym_case"
SITE_CHANGED = "patient.site_changed"
SEX_CHANGED = "patient.sex_changed"
BIRTH_YEAR_CHANGED = "patient.birth_year_changed"


def pseudonym_key(pseudonym: str) -> str:
    """How pseudonyms are compared for uniqueness: case-insensitively."""
    return pseudonym.casefold()


def pseudonym_problems(pseudonym: str, registered: Mapping[str, str]) -> list[Problem]:
    """A clash with a registered pseudonym of other case; ``registered`` maps
    :func:`pseudonym_key` → the registered spelling."""
    taken = registered.get(pseudonym_key(pseudonym))
    if taken is None or taken == pseudonym:
        return []
    return [Problem("patient_id", f"'{pseudonym}' differs only in letter case from the "
                                  f"registered patient '{taken}'; use '{taken}'",
                    PSEUDONYM_CASE)]


def identity_problems(entry: PatientEntry, registered: PatientHistory | None) -> list[Problem]:
    """Changes to a registered patient's site, sex or birth year (soft)."""
    if registered is None or registered.site is None:
        return []
    new = entry.identity
    problems = []
    if new.site != registered.site:
        problems.append(Problem("site", f"would move {new.patient_id} from site "
                                        f"{registered.site} to {new.site}", SITE_CHANGED,
                                soft=True))
    if registered.sex is not None and new.sex is not registered.sex:
        problems.append(Problem("sex", f"would change {new.patient_id}'s sex from "
                                       f"{registered.sex.value} to {new.sex.value}", SEX_CHANGED,
                                soft=True))
    if registered.birth_year is not None and new.birth_year != registered.birth_year:
        problems.append(Problem("birth_year", f"would change {new.patient_id}'s birth year from "
                                              f"{registered.birth_year} to {new.birth_year}",
                                BIRTH_YEAR_CHANGED, soft=True))
    return problems


__all__ = [
    "BIRTH_YEAR_CHANGED",
    "PSEUDONYM_CASE",
    "SEX_CHANGED",
    "SITE_CHANGED",
    "identity_problems",
    "pseudonym_key",
    "pseudonym_problems",
]
