"""A curious coordinator that leaves the protocol's honest path is stopped at the sites.

It holds the real coordinator keys (it *is* the coordinator) and crafts what it sends: many
parameter sets within one analysis, subgroups chosen to difference a patient out, a
coefficient that singles a patient out, a roster without a site, a replayed or changed
analysis. Each is refused by the site's rules before anything leaves it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alsrwe.federation import keys as keyring
from alsrwe.federation.coordinator import Coordinator, Enrolment
from alsrwe.federation.errors import FederationError
from alsrwe.federation.protocol import (
    Analysis,
    Answer,
    Request,
    Subgroup,
    SurvivalSpec,
    decode_message,
    encode_message,
    sign,
)
from alsrwe.federation.rules import DisclosureRules
from alsrwe.federation.site import Site
from tests.federation.conftest import Network

TARGET = "site10"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory,
           parts: list[dict[str, pd.DataFrame]]) -> Network:
    """The network with a small analysis budget, so that the caps are reached quickly."""

    rules = DisclosureRules(max_analyses=12, max_rounds={"cox": 8, "km": 1, "lmm": 200,
                                                         "progression": 1})
    return Network(tmp_path_factory.mktemp("strict"), parts, rules)


def _refusal_code(error: pytest.ExceptionInfo[FederationError]) -> str:
    return error.value.rule


def test_rounds_beyond_the_cap_are_refused(strict: Network) -> None:
    coordinator = strict.coordinator
    enrolment = coordinator.enrol(SurvivalSpec(kind="cox"))
    answered = 0
    with pytest.raises(FederationError) as refused:
        for j in range(100):  # crafted coefficients, far more than a Newton fit needs
            coordinator.total(enrolment, "sums", [0.01 * j])
            answered += 1
    assert answered == 8
    assert "federation.rule.max_rounds" in _refusal_code(refused)
    log = strict.site(TARGET).ledger.entries()
    assert log[-1]["status"] == "refused" and log[-1]["code"] == "federation.rule.max_rounds"


def test_a_coefficient_that_singles_a_patient_out_is_refused(strict: Network) -> None:
    coordinator = strict.coordinator
    enrolment = coordinator.enrol(SurvivalSpec(kind="cox"))
    with pytest.raises(FederationError) as refused:
        coordinator.total(enrolment, "sums", [40.0])  # exp(40·treated): one treated dominates
    assert "federation.rule.dominance" in _refusal_code(refused)


def test_subgroups_cannot_difference_a_patient_out(strict: Network) -> None:
    """Age-at-onset windows one year apart: any two analyses the target site answers use the
    same patients or differ by at least 5, and the analysis budget ends the attack."""
    coordinator = strict.coordinator
    site = strict.site(TARGET)
    codes = []
    for age in range(30, 70):
        spec = SurvivalSpec(kind="km", subgroup=Subgroup(min_onset_age=age))
        enrolment = coordinator.enrol(spec)
        refusal = next((a for a in enrolment.declined if a.site == TARGET), None)
        codes.append(refusal.code if refusal else "accepted")
    accepted = site.ledger.patient_sets("km")
    for i, a in enumerate(accepted):
        for b in accepted[i + 1:]:
            assert len(a ^ b) == 0 or len(a ^ b) >= 5
    assert "federation.rule.differencing" in codes
    assert codes[-1] == "federation.rule.max_analyses"
    assert len([e for e in site.ledger.entries() if e.get("status") == "accepted"]) <= 12


def _signed(coordinator: Coordinator, enrolment: Enrolment, **changes: object) -> bytes:
    fields: dict[str, object] = {"network": coordinator.manifest.network,
                                 "analysis": enrolment.analysis, "round": enrolment.rounds,
                                 "step": "counts", "roster": enrolment.roster,
                                 "declined": enrolment.declined}
    fields.update(changes)
    return encode_message(sign(Request.model_validate(fields), coordinator.keys))


def _answer(site: Site, data: bytes) -> Answer:
    return decode_message(Answer, site.answer_bytes(data))


def test_a_roster_without_a_site_or_with_a_forged_refusal_is_refused(network: Network) -> None:
    coordinator = network.coordinator
    enrolment = coordinator.enrol(SurvivalSpec(kind="km"))
    site = network.site(TARGET)
    smaller = [s for s in enrolment.roster if s != "site09"]
    answer = _answer(site, _signed(coordinator, enrolment, roster=smaller))
    assert answer.status == "refused" and answer.code == "federation.rule.roster"
    forged = sign(Answer(network=coordinator.manifest.network, analysis_id=enrolment.analysis.id,
                         round=0, step="enrol", site="site09", status="refused",
                         code="federation.rule.min_patients", rule="forged"),
                  coordinator.keys)  # signed by the coordinator, not by site09
    answer = _answer(site, _signed(coordinator, enrolment, roster=smaller,
                                   declined=[*enrolment.declined, forged]))
    assert answer.status == "refused" and answer.code == "federation.rule.roster"


def test_a_changed_or_replayed_analysis_is_refused(network: Network) -> None:
    coordinator = network.coordinator
    enrolment = coordinator.enrol(SurvivalSpec(kind="km"))
    site = network.site(TARGET)
    changed = Analysis(id=enrolment.analysis.id, spec=SurvivalSpec(kind="km", grid_months=0.5))
    answer = _answer(site, _signed(coordinator, enrolment, analysis=changed))
    assert answer.code == "federation.request.spec_changed"
    replay = _answer(site, _signed(coordinator, enrolment, round=0, step="enrol", roster=[],
                                   declined=[]))
    assert replay.status == "refused" and replay.code == "federation.request.replay"


def test_a_request_not_signed_by_the_coordinator_is_rejected_and_logged(
        network: Network, tmp_path: Path) -> None:
    coordinator = network.coordinator
    enrolment = coordinator.enrol(SurvivalSpec(kind="km"))
    impostor = keyring.generate("coordinator", "coordinator")
    data = encode_message(sign(Request(network=coordinator.manifest.network,
                                       analysis=enrolment.analysis, round=1, step="counts",
                                       roster=enrolment.roster, declined=enrolment.declined),
                               impostor))
    site = network.site(TARGET)
    with pytest.raises(FederationError) as rejected:
        site.answer_bytes(data)
    assert rejected.value.code == "federation.signature.invalid"
    assert site.ledger.entries()[-1]["status"] == "rejected"
