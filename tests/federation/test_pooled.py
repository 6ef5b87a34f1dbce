"""Pooled analyses equal the same analyses of the union of the sites' data in one place.

The reference is the local engine on the union (the mixed model validated against lme4,
progression's Fieller interval, lifelines' Cox, R-checked Kaplan–Meier), never the pooled
code itself; and what the coordinator received is inspected for any single site's sums.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines import CoxTimeVaryingFitter

from alsrwe.analytics.analyses.progression import ProgressionSettings, lmm_rows, progression
from alsrwe.analytics.analyses.survival import SurvivalSettings, time_varying_spells
from alsrwe.analytics.analyses.survival_estimators import kaplan_meier
from alsrwe.analytics.lmm import fit_lmm
from alsrwe.federation import secure_sum
from alsrwe.federation.pooled import (
    pooled_cox,
    pooled_km,
    pooled_lmm,
    pooled_progression,
    site_table,
)
from alsrwe.federation.protocol import Answer, LmmSpec, decode_message
from alsrwe.federation.site_data import lmm_totals, local_data
from alsrwe.federation.survival_sums import Grid, coarsen
from tests.federation.conftest import Network, union_cohort

REL = 1e-8


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def test_pooled_mixed_model_equals_the_fit_of_the_union(network: Network) -> None:
    pooled = pooled_lmm(network.coordinator)
    roster = pooled.enrolment.roster
    assert len(roster) >= 3 and "site01" not in roster
    rows = lmm_rows(union_cohort(network.parts, roster), ProgressionSettings(
        lmm_sensitivity=False))
    central = fit_lmm(rows, "total", ["t", "t_post"], "patient_id", "t")
    fit = pooled.fit
    assert fit.n_obs == central.n_obs and fit.n_groups == central.n_groups
    for term in central.fixed:
        assert close(fit.fixed[term], central.fixed[term]), term
        assert close(fit.se[term], central.se[term]), term
    for name in ("sd_intercept", "sd_slope", "corr", "sd_residual", "criterion"):
        assert close(getattr(fit, name), getattr(central, name)), name
    assert fit.converged and fit.blups.empty  # BLUPs are per patient: they stay at the sites
    assert sum(pooled.enrolment.patients.values()) == central.n_groups


def test_pooled_percent_slower_equals_the_union(network: Network) -> None:
    pooled = pooled_progression(network.coordinator)
    local = progression(union_cohort(network.parts, pooled.enrolment.roster),
                        ProgressionSettings(lmm_sensitivity=False))
    assert pooled.result.n == local.n_included
    assert close(pooled.result.estimate, local.percent_slower)
    assert close(pooled.result.lower, local.percent_slower_ci[0])
    assert close(pooled.result.upper, local.percent_slower_ci[1])


def _coarse_union(network: Network, roster: list[str]) -> tuple:
    spells = time_varying_spells(union_cohort(network.parts, roster), SurvivalSettings())
    whole = spells.groupby("patient_id", as_index=False).agg(
        entry=("entry", "min"), stop=("stop", "max"), event=("event", "max"))
    return coarsen(spells, Grid(1.0)), coarsen(whole, Grid(1.0))


def test_pooled_kaplan_meier_equals_the_union_on_the_grid(network: Network) -> None:
    pooled = pooled_km(network.coordinator)
    _, whole = _coarse_union(network, pooled.enrolment.roster)
    central = kaplan_meier(whole["stop"], whole["event"], whole["entry"])
    mine = pooled.curve.table.set_index("time")
    theirs = central.table.set_index("time")
    assert set(theirs.index) <= set(mine.index)  # the pooled table has every interval
    mine = mine.loc[theirs.index]
    for column in ("at_risk", "events"):
        assert (mine[column].to_numpy() == theirs[column].to_numpy()).all()
    np.testing.assert_allclose(mine["survival"], theirs["survival"], rtol=1e-12)
    np.testing.assert_allclose(mine["se"], theirs["se"], rtol=1e-10)
    assert pooled.curve.n == central.n and pooled.curve.median == central.median


def test_pooled_cox_equals_lifelines_on_the_union_on_the_grid(network: Network) -> None:
    pooled = pooled_cox(network.coordinator)
    spells, _ = _coarse_union(network, pooled.enrolment.roster)
    fitter = CoxTimeVaryingFitter()
    fitter.fit(spells[["patient_id", "entry", "stop", "event", "treated"]], id_col="patient_id",
               start_col="entry", stop_col="stop", event_col="event",
               fit_options={"precision": 1e-12})
    coef = float(fitter.params_["treated"])
    se = float(fitter.standard_errors_["treated"])
    assert close(float(pooled.cox.coef[0]), coef, 1e-8)
    assert close(float(pooled.cox.se[0]), se, 1e-8)
    assert close(pooled.cox.loglik, float(fitter.log_likelihood_), 1e-10)
    assert pooled.cox.converged and pooled.enrolment.rounds <= 12


def test_small_site_is_refused_with_the_rule_and_shown_suppressed(network: Network) -> None:
    pooled = pooled_progression(network.coordinator)
    refusal = pooled.enrolment.refusals["site01"]
    assert "fewer than 5 patients" in refusal and "federation.rule.min_patients" in refusal
    table = site_table(pooled.enrolment, threshold=5).set_index("site")
    assert table.loc["site01", "patients"] == "< 5"
    assert table.loc["site10", "patients"] == str(pooled.enrolment.patients["site10"])


def test_the_coordinator_never_receives_a_single_sites_sums(network: Network) -> None:
    """Each masked vector alone decodes to noise; only the sum over the roster is the total."""
    network.coordinator.received.clear()
    pooled = pooled_lmm(network.coordinator, LmmSpec())
    answers = [decode_message(Answer, raw) for raw in network.coordinator.received]
    totals_round = [a for a in answers if a.status == "answered" and a.round == 1]
    assert {a.site for a in totals_round} == set(pooled.enrolment.roster)
    plains = []
    for answer in totals_round:
        site = network.site(answer.site)
        plain = lmm_totals(local_data(site.cohort(), LmmSpec()))
        seen = secure_sum.decode(secure_sum.unpack(answer.vector, answer.length))
        assert not np.any(np.isclose(seen, plain, rtol=1e-6, atol=0.0)), answer.site
        plains.append(plain)
    summed = secure_sum.decode(secure_sum.aggregate(
        [secure_sum.unpack(a.vector, a.length) for a in totals_round]))
    np.testing.assert_allclose(summed, np.sum(plains, axis=0), rtol=1e-15)
    # what a site tells about itself in clear is its patient count at enrolment, nothing else
    enrol = [a for a in answers if a.step == "enrol"]
    assert all(a.vector == "" for a in enrol)


@pytest.mark.parametrize("runner", [pooled_progression, pooled_km])
def test_every_request_and_answer_is_logged_at_the_site(network: Network, runner) -> None:
    before = len(network.site("site10").ledger.entries())
    runner(network.coordinator)
    entries = network.site("site10").ledger.entries()[before:]
    assert [e["step"] for e in entries] == ["enrol", "counts"]
    assert all(e["request_sha256"] and e["answer_sha256"] for e in entries)
    assert [e["status"] for e in entries] == ["accepted", "answered"]


def test_the_pooled_report_shows_counts_suppresses_small_sites_and_keeps_every_row_in_csv(
        network: Network, tmp_path) -> None:
    from alsrwe.federation.report import write_report

    path, sections = write_report(network.coordinator, ["km"], tmp_path)
    page = path.read_text(encoding="utf-8")
    assert not sections[0].error and "<svg" in page
    assert "&lt; 5" in page and "site01" in page  # declined: no count shown
    curve = (tmp_path / "km_curve.csv").read_text().splitlines()
    shown = page.split("every interval in km_curve.csv")[1].count("<tr>")
    assert 1 < shown < len(curve) - 1  # the page shows every 12 months, the CSV every interval
