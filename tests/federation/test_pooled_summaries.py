"""The pooled one-round summaries equal the local analyses run on the union of the sites.

The reference is the local analysis (its own tests check it against R, the label's
definitions and worked examples) run on the rosters' data in one place, never the pooled code.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alsrwe.analytics.analyses.carriers import CarrierSettings, carrier_surveillance
from alsrwe.analytics.analyses.early_delayed import EarlyDelayedSettings, early_vs_delayed
from alsrwe.analytics.analyses.expected_events import ederer_curve
from alsrwe.analytics.analyses.nfl import NflSettings, nfl_response
from alsrwe.analytics.analyses.observed_expected import observed_vs_expected
from alsrwe.analytics.analyses.responders import responders
from alsrwe.analytics.analyses.safety import safety_incidence
from alsrwe.analytics.analyses.subgroups import SubgroupSettings, subgroups
from alsrwe.analytics.analyses.survival_estimators import kaplan_meier
from alsrwe.domain.biomarkers import NflAssay
from alsrwe.federation import secure_sum
from alsrwe.federation.errors import FederationError
from alsrwe.federation.pooled_summaries import (
    pooled_carriers,
    pooled_early_delayed,
    pooled_nfl,
    pooled_observed_expected,
    pooled_responders,
    pooled_safety,
    pooled_subgroups,
    welch_from_moments,
)
from alsrwe.federation.protocol import Answer, NflSpec, SubgroupsSpec, decode_message
from alsrwe.federation.simulate import split_frames
from alsrwe.federation.site_data import local_data
from alsrwe.federation.survival_sums import Grid, coarsen
from alsrwe.synth import CohortParams, generate_cohort
from tests.federation.conftest import NAMES, SIZES, Network, union_cohort

REL = 1e-8


def assert_frames_close(pooled: pd.DataFrame, local: pd.DataFrame) -> None:
    """Same columns, same rows; numbers equal to 1e-8 relative, text exactly."""
    assert list(pooled.columns) == list(local.columns)
    assert len(pooled) == len(local)
    for column in local.columns:
        a, b = pooled[column].reset_index(drop=True), local[column].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(b) and pd.api.types.is_numeric_dtype(a):
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=REL,
                                       atol=1e-12, equal_nan=True, err_msg=column)
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), column


def test_pooled_safety_equals_the_union(network: Network) -> None:
    pooled = pooled_safety(network.coordinator)
    local = safety_incidence(union_cohort(network.parts, pooled.enrolment.roster))
    assert pooled.patients == len(local.exposure) == pooled.enrolment.total_patients
    assert math.isclose(pooled.person_years, local.person_years, rel_tol=1e-12)
    assert int(local.rates["events"].sum()) > 0  # the synthetic cohort has adverse events
    assert_frames_close(pooled.to_frame(), local.to_frame())
    assert_frames_close(pooled.csf_frame(), local.csf_frame())


def test_pooled_responders_equal_the_union(network: Network) -> None:
    pooled = pooled_responders(network.coordinator)
    local = responders(union_cohort(network.parts, pooled.enrolment.roster))
    assert pooled.result.counts == local.counts and local.n_classified >= 20
    assert_frames_close(pooled.result.to_frame(), local.to_frame())


def test_pooled_nfl_equals_the_union_except_the_median(network: Network) -> None:
    pooled = pooled_nfl(network.coordinator)
    settings = NflSettings(assay=NflAssay.SIMOA)
    local = nfl_response(union_cohort(network.parts, pooled.enrolment.roster), settings)
    frame, reference = pooled.result.to_frame(), local.to_frame()
    median = "median change (%)"
    assert frame[median].isna().all()  # a median is not a sum: not pooled
    assert_frames_close(frame.drop(columns=median), reference.drop(columns=median))
    assert (reference["patients"] >= 10).all()


def test_a_window_of_one_or_two_patients_is_never_asked_for(
        tmp_path: Path, parts: list[dict[str, pd.DataFrame]]) -> None:
    """The coordinator first learns each window's pooled count; a window below 3 patients is
    shown with its count only, and every site sends zeros for its moments."""
    network = Network(tmp_path, parts)  # fresh ledgers: the shared network's NfL analysis
    # has nearly the same patients, and the differencing rule would refuse this one
    union = union_cohort(network.parts, NAMES)
    probe = nfl_response(union, NflSettings(assay=NflAssay.SIMOA, weeks=tuple(range(100, 300, 2))))
    sparse = probe.windows[probe.windows["n"].between(1, 2)]
    assert len(sparse), "the synthetic cohort has a window reached by one or two patients"
    week = int(sparse["week"].iloc[0])
    spec = NflSpec(settings=NflSettings(assay=NflAssay.SIMOA, weeks=(12, week)))
    pooled = pooled_nfl(network.coordinator, spec)
    rows = pooled.result.windows.set_index("week")
    local = nfl_response(union_cohort(network.parts, pooled.enrolment.roster), spec.settings)
    reference = local.windows.set_index("week")
    assert rows.loc[week, "n"] == reference.loc[week, "n"] <= 2
    assert rows.loc[week, ["gmr", "lower", "upper"]].isna().all()
    assert math.isclose(rows.loc[12, "gmr"], reference.loc[12, "gmr"], rel_tol=REL)
    assert pooled.enrolment.rounds == 3  # enrolment, the windows' counts, their moments
    for name in pooled.enrolment.roster:
        tally = local_data(network.site(name).cohort(), spec).tally
        assert tally is not None
        sums = tally("sums", [1.0, 0.0]).reshape(2, -1)
        assert not sums[1].any()


def test_pooled_early_vs_delayed_equals_welch_on_the_union(network: Network) -> None:
    pooled = pooled_early_delayed(network.coordinator)
    local = early_vs_delayed(union_cohort(network.parts, pooled.enrolment.roster),
                             EarlyDelayedSettings(lmm=False))
    d, ref = pooled.result.difference, local.difference
    assert (d.n_early, d.n_delayed) == (ref.n_early, ref.n_delayed)
    for name in ("estimate", "lower", "upper"):
        assert math.isclose(getattr(d, name), getattr(ref, name), rel_tol=REL), name
    assert pooled.groups is not None
    reference = local.group_summary()
    assert_frames_close(pooled.groups, reference)
    # the NfL ratio is not pooled, so the table lists the Welch difference only
    assert_frames_close(pooled.result.to_frame(), local.to_frame().iloc[:1])


def test_pooled_observed_vs_expected_equals_the_union(network: Network) -> None:
    pooled = pooled_observed_expected(network.coordinator)
    result = pooled.result
    local = observed_vs_expected(union_cohort(network.parts, pooled.enrolment.roster))
    assert local.events is not None and local.events.observed >= 5
    assert_frames_close(result.to_frame(), local.to_frame())  # rates, % slower, O, E, O/E
    # the Ederer I curve: the local grid runs to the last follow-up, the pooled one to the
    # last observed grid time; they agree where both are
    rows = local.survival_patients
    months = result.expected_curve["months"].to_numpy(float)
    reference = ederer_curve(rows["t0_months"].tolist(), rows["lp"].tolist(), months)
    np.testing.assert_allclose(result.expected_curve["expected_survival"], reference,
                               rtol=1e-10)
    assert months.max() >= local.expected_curve["months"].max() - 1.0
    # the observed curve: Kaplan–Meier from the first dose on the union coarsened to the grid
    spells = rows.assign(entry=0.0, stop=rows["follow_up_months"])
    coarse = coarsen(spells[["patient_id", "entry", "stop", "event"]], Grid(1.0))
    central = kaplan_meier(coarse["stop"], coarse["event"])
    assert result.observed_curve is not None
    mine = result.observed_curve.table.set_index("time").loc[central.table["time"]]
    np.testing.assert_allclose(mine["survival"], central.table["survival"], rtol=1e-12)
    np.testing.assert_allclose(mine["se"], central.table["se"], rtol=1e-10)
    assert result.observed_curve.n == central.n == len(rows)


def test_welch_from_moments_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(-6, 4, 9), rng.normal(-9.5, 7, 14)
    diff, lower, upper = welch_from_moments((a.size, float(a.sum()), float(a @ a)),
                                            (b.size, float(b.sum()), float(b @ b)), 0.95)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert math.isclose(diff, a.mean() - b.mean(), rel_tol=1e-12)
    assert math.isclose(lower, ci.low, rel_tol=1e-10)
    assert math.isclose(upper, ci.high, rel_tol=1e-10)


def test_pooled_subgroups_equal_the_union_at_the_pooled_mean_age(network: Network) -> None:
    pooled = pooled_subgroups(network.coordinator)
    union = union_cohort(network.parts, pooled.enrolment.roster)
    result = pooled.result
    local = subgroups(union, SubgroupSettings(age_cut_years=result.age_cut_years))
    assert pooled.enrolment.rounds == 4  # enrolment, mean age, cell counts, moments
    ages = local.patients.merge(
        union.frame("patients")[["patient_id", "birth_year"]], on="patient_id")
    assert len(ages) == local.overall.n
    assert_frames_close(result.to_frame(), local.to_frame())
    assert (local.rows["note"] == "").sum() >= 4  # most subgroups have an estimate


def test_a_fixed_age_cut_needs_no_mean_round(tmp_path: Path,
                                             parts: list[dict[str, pd.DataFrame]]) -> None:
    network = Network(tmp_path, parts)  # its own ledgers: no earlier cut to difference against
    spec = SubgroupsSpec(settings=SubgroupSettings(age_cut_years=47.0))
    pooled = pooled_subgroups(network.coordinator, spec)
    assert pooled.enrolment.rounds == 3 and pooled.result.age_cut_years == 47.0
    local = subgroups(union_cohort(network.parts, pooled.enrolment.roster), spec.settings)
    assert_frames_close(pooled.result.to_frame(), local.to_frame())


def test_the_coordinator_receives_no_single_site_summary(network: Network) -> None:
    """Every answered vector the coordinator kept is masked: none equals its site's plain
    vector, and together they add up to the total."""
    pooled = pooled_responders(network.coordinator)
    analysis = pooled.enrolment.analysis
    answers = [decode_message(Answer, raw) for raw in network.coordinator.received]
    mine = [a for a in answers if a.analysis_id == analysis.id and a.status == "answered"]
    assert len(mine) == len(pooled.enrolment.roster)
    total = np.zeros(3)
    for answer in mine:
        site = network.site(answer.site)
        plain = local_data(site.cohort(), analysis.spec).tally("counts", [])  # type: ignore[misc]
        seen = secure_sum.decode(secure_sum.unpack(answer.vector, answer.length))
        assert np.abs(seen - plain).max() > 1e-6
        total += plain
    assert list(total) == [float(v) for v in pooled.result.counts.values()]


def test_an_age_cut_next_to_an_earlier_one_is_refused(
        tmp_path: Path, parts: list[dict[str, pd.DataFrame]]) -> None:
    """Cuts a year apart would difference out the patients of that year of age."""
    network = Network(tmp_path, parts)
    first = SubgroupsSpec(settings=SubgroupSettings(age_cut_years=52.0))
    pooled_subgroups(network.coordinator, first)
    nearby = SubgroupsSpec(settings=SubgroupSettings(age_cut_years=53.0))
    with pytest.raises(FederationError, match="differencing") as refused:
        pooled_subgroups(network.coordinator, nearby)
    assert "federation.rule.differencing" in str(refused.value)


def test_pooled_carrier_surveillance_equals_the_union(tmp_path: Path) -> None:
    """Carriers (none in the shared network) dealt to the ten sites in proportion."""
    params = CohortParams(seed=5, n_patients=sum(SIZES), n_carriers=120, as_of=date(2026, 6, 1))
    parts = split_frames(generate_cohort(params).tables(), SIZES, seed=4, spread_carriers=True)
    network = Network(tmp_path, parts)
    pooled = pooled_carriers(network.coordinator)
    assert len(pooled.enrolment.roster) >= 3 and "site01" in pooled.enrolment.refusals
    local = carrier_surveillance(union_cohort(parts, pooled.enrolment.roster),
                                 CarrierSettings(assay=NflAssay.SIMOA))
    c = local.carriers
    assert pooled.counts == {"carriers": len(c), "with_follow_up": int((c["n_values"] >= 2).sum()),
                             "triggered": int(c["triggered"].sum()),
                             "above_reference": int(c["above_reference"].sum())}
    assert pooled.counts["carriers"] >= 60 and pooled.counts["triggered"] > 0
    frame = pooled.to_frame()
    assert frame["share (%)"].iloc[0] == 100.0 and "ATLAS" in frame["carriers"].iloc[2]
