"""restrict_to_sites: one site or several, an unknown site refused unless empty is allowed."""

from __future__ import annotations

import pytest

from alsrwe.analytics.cohort import Cohort, CohortError, restrict_to_sites
from alsrwe.synth import SyntheticCohort


@pytest.fixture(scope="module")
def cohort(synthetic_cohort: SyntheticCohort) -> Cohort:
    return Cohort.from_frames(synthetic_cohort.tables())


def test_several_sites_keep_only_their_patients_in_every_table(cohort: Cohort) -> None:
    sites = sorted(cohort.frame("patients")["site"].unique())
    assert len(sites) >= 2
    two = restrict_to_sites(cohort, sites[:2])
    assert set(two.frame("patients")["site"]) == set(sites[:2])
    ids = set(two.frame("patients")["patient_id"])
    for name in ("alsfrs", "measurements", "administrations", "milestones"):
        assert set(two.frame(name)["patient_id"]) <= ids, name
    assert two.source == f"frames (sites {sites[0]}, {sites[1]})"
    assert restrict_to_sites(cohort, sites[:1]).source == f"frames (site {sites[0]})"


def test_a_site_without_patients_is_refused_unless_allowed(cohort: Cohort) -> None:
    with pytest.raises(CohortError) as caught:
        restrict_to_sites(cohort, ["BER", "NOPE"])
    assert caught.value.field == "site"
    assert caught.value.rule == "no patient of site 'NOPE' in the cohort"
    allowed = restrict_to_sites(cohort, ["BER", "NOPE"], allow_empty=True)
    assert set(allowed.frame("patients")["site"]) == {"BER"}
    empty = restrict_to_sites(cohort, ["NOPE"], allow_empty=True)
    assert empty.table("patients").count().execute() == 0
