"""The coded drug vocabulary and its brand names (docs/domain-rules.md §12)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.drugs import DRUGS, Drug, drug_key, parse_drug
from alsrwe.domain.errors import DrugError


@pytest.mark.parametrize(("name", "code"), [
    ("Qalsody", Drug.TOFERSEN), ("QALSODY®", Drug.TOFERSEN), ("tofersen", Drug.TOFERSEN),
    ("Radicava", Drug.EDARAVONE_IV), ("Radicava ORS", Drug.EDARAVONE_ORAL),
    ("radicava-ors", Drug.EDARAVONE_ORAL), ("Rilutek", Drug.RILUZOLE),
    ("Tiglutik", Drug.RILUZOLE), ("Teglutik", Drug.RILUZOLE), ("Exservan", Drug.RILUZOLE),
    ("Relyvrio", Drug.SODIUM_PHENYLBUTYRATE_TAURURSODIOL),
    ("Albrioza", Drug.SODIUM_PHENYLBUTYRATE_TAURURSODIOL),
    ("sodium phenylbutyrate/taurursodiol", Drug.SODIUM_PHENYLBUTYRATE_TAURURSODIOL),
    ("Nuedexta", Drug.DEXTROMETHORPHAN_QUINIDINE),
])
def test_brand_names_and_synonyms_map_to_their_code(name: str, code: Drug) -> None:
    assert parse_drug(name) is code


def test_unknown_and_ambiguous_names_are_refused_naming_the_choices() -> None:
    with pytest.raises(DrugError, match="'aspirin' is not one of: tofersen") as unknown:
        parse_drug("aspirin")
    assert (unknown.value.field, unknown.value.code) == ("drug", "drug.unknown")
    with pytest.raises(DrugError, match="ambiguous: use edaravone_iv or edaravone_oral"):
        parse_drug("Edaravone")
    with pytest.raises(DrugError, match="not one of: edaravone_iv, tofersen"):
        parse_drug("Rilutek", allowed=(Drug.EDARAVONE_IV, Drug.TOFERSEN))


@given(st.sampled_from([n for info in DRUGS.values() for n in info.names]),
       st.sampled_from(["", " ", "®", "™"]), st.booleans())
def test_case_spaces_and_signs_do_not_matter(name: str, sign: str, upper: bool) -> None:
    typed = (name.upper() if upper else name) + sign
    assert parse_drug(typed) is parse_drug(name)
    assert drug_key(drug_key(typed)) == drug_key(typed)
