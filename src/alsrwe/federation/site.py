"""A site of the network: it checks each request, its disclosure rules, and answers masked.

A site answers only requests signed by the coordinator of the network it joined (the
manifest it pinned), only for rosters that are the whole network less the sites whose
signed refusals came with the request, and only within its rules (``rules``). Everything it
is asked and everything it answers is logged first (``ledger``). A refusal is an answer too:
signed, logged, with the rule in words.

Directory of a site: ``keys/`` (its private keys and public card), ``network.json`` (the
pinned manifest), ``site.json`` (its name, its data and its rules), ``ledger.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.federation import keys as keyring
from alsrwe.federation import secure_sum
from alsrwe.federation.errors import FederationError, Refused
from alsrwe.federation.ledger import Ledger
from alsrwe.federation.protocol import (
    PROTOCOL,
    Answer,
    LmmSpec,
    Manifest,
    Request,
    SurvivalSpec,
    check_signature,
    decode_message,
    encode_message,
    sign,
)
from alsrwe.federation.rules import DisclosureRules
from alsrwe.federation.site_data import (
    LocalData,
    cox_vector,
    km_vector,
    lmm_sums,
    lmm_totals,
    local_data,
    progression_moments,
)
from alsrwe.federation.summary_data import SubgroupTally
from alsrwe.federation.survival_sums import max_weight_share


class SiteConfig(BaseModel):
    """``site.json``: the site's name, where its data are and its disclosure rules."""

    model_config = ConfigDict(extra="forbid")

    name: str
    database: str | None = Field(default=None, description="registry URL (SQLite/PostgreSQL)")
    csv_dir: str | None = Field(default=None, description="or a folder of tidy CSV tables")
    rules: DisclosureRules = DisclosureRules()

    def cohort(self) -> Cohort:
        if self.database:
            return Cohort.from_registry(self.database)
        if self.csv_dir:
            return Cohort.from_csv_dir(self.csv_dir)
        raise FederationError("site.json", "names neither a database nor a csv_dir",
                              code="federation.site.no_source")


def read_manifest(path: Path, coordinator: keyring.PublicCard) -> Manifest:
    """A manifest checked against the coordinator card the site was given."""
    manifest = decode_message(Manifest, path.read_bytes())
    if manifest.coordinator_card() != coordinator:
        raise FederationError("manifest", "names another coordinator than the one this site "
                                          "was given", code="federation.manifest.coordinator")
    check_signature(manifest, coordinator)
    return manifest


class Site:
    """One site answering requests from its own data."""

    def __init__(self, directory: Path, cohort: Cohort | None = None) -> None:
        self.directory = directory
        self.config = SiteConfig.model_validate_json((directory / "site.json").read_bytes())
        self.keys = keyring.load(directory / "keys")
        coordinator = keyring.read_card(directory / "coordinator.json")
        self.manifest = read_manifest(directory / "network.json", coordinator)
        self.peers = self.manifest.site_cards()
        if self.peers.get(self.keys.name) != self.keys.card():
            raise FederationError("manifest", f"does not list this site ({self.keys.name}) with "
                                              "its keys", code="federation.manifest.member")
        self.coordinator = coordinator
        self.rules = self.config.rules
        self.ledger = Ledger(directory)
        self._cohort = cohort
        self._fixed_cohort = cohort is not None
        self._data: dict[str, LocalData] = {}
        self._digests: dict[str, list[str]] = {}  # per analysis: its patients, digested once

    @property
    def name(self) -> str:
        return self.keys.name

    def cohort(self) -> Cohort:
        if self._cohort is None:
            self._cohort = self.config.cohort()
        return self._cohort

    # --- the edge -------------------------------------------------------------------------

    def answer_bytes(self, data: bytes) -> bytes:
        """Answer a request as received (JSON); a request that is not the coordinator's is
        rejected with a FederationError and logged, and nothing is signed for it."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            request = decode_message(Request, data)
            if request.protocol != PROTOCOL or request.network != self.manifest.network:
                raise FederationError("network", "the request is for another network",
                                      code="federation.request.network")
            check_signature(request, self.coordinator)
        except FederationError as error:
            self.ledger.record({"status": "rejected", "request_sha256": digest,
                                "code": error.code, "rule": error.rule})
            raise
        answer = self.answer(request)
        out = encode_message(answer)
        self.ledger.record({"analysis_id": request.analysis.id,
                            "kind": request.analysis.spec.kind, "round": request.round,
                            "step": request.step, "params": request.params,
                            "status": answer.status,
                            "code": answer.code, "rule": answer.rule,
                            "request_sha256": digest,
                            "answer_sha256": hashlib.sha256(out).hexdigest(),
                            "roster": request.roster, "spec": _spec_digest(request),
                            **self._enrol_fields(request, answer)})
        return out

    def answer(self, request: Request) -> Answer:
        """The signed answer (or signed refusal) to a verified request."""
        base: dict[str, Any] = {"network": request.network, "analysis_id": request.analysis.id,
                                "round": request.round, "step": request.step, "site": self.name}
        try:
            if request.step == "enrol":
                patients = self._enrol(request)
                answer = Answer(status="accepted", patients=patients, **base)
            else:
                vector = self._vector(request)
                answer = Answer(status="answered", vector=secure_sum.pack(vector),
                                length=len(vector), **base)
        except Refused as refusal:
            answer = Answer(status="refused", code=refusal.code, rule=refusal.rule, **base)
        return sign(answer, self.keys)

    def _enrol_fields(self, request: Request, answer: Answer) -> dict[str, Any]:
        if request.step != "enrol" or answer.status != "accepted":
            return {}
        return {"patients": self._digests[request.analysis.id]}

    # --- enrolment: may this site take part at all? ------------------------------------------

    def _enrol(self, request: Request) -> int:
        rules, spec = self.rules, request.analysis.spec
        if request.round != 0:
            raise Refused("round", "enrolment is round 0", code="federation.request.round")
        if self.ledger.seen(request.analysis.id):
            raise Refused("analysis", "this analysis id was enrolled before; a new run needs a "
                                      "new id", code="federation.request.replay")
        if self.ledger.enrolled_since(30) >= rules.max_analyses:
            raise Refused("analyses", f"this site answers at most {rules.max_analyses} analyses "
                                      "in 30 days", code="federation.rule.max_analyses")
        if not self._fixed_cohort:
            self._cohort = None  # a new analysis reads the registry as it is now
        try:
            data = local_data(self.cohort(), spec)
        except FederationError as error:  # e.g. no treated patient: none for this analysis
            raise Refused("patients", f"the site has fewer than {rules.min_patients} patients "
                                      f"for this analysis (none: {error.rule})",
                          code="federation.rule.min_patients") from error
        digests = self.ledger.digests(data.patients)
        self._check_rules(data, digests, spec.kind)
        self._data[request.analysis.id] = data
        self._digests[request.analysis.id] = digests
        return len(data.patients)

    def _check_rules(self, data: LocalData, digests: list[str], kind: str) -> None:
        """The rules on the data an analysis would use here (Refused when one is broken)."""
        rules = self.rules
        if len(data.patients) < rules.min_patients:
            raise Refused("patients", f"the site has fewer than {rules.min_patients} patients "
                                      "for this analysis", code="federation.rule.min_patients")
        if data.rows < rules.min_rows:
            raise Refused("rows", f"the site has fewer than {rules.min_rows} rows for this "
                                  "analysis", code="federation.rule.min_rows")
        if data.parameters > rules.max_parameter_fraction * data.rows:
            raise Refused("parameters", f"{data.parameters} parameters exceed "
                                        f"{rules.max_parameter_fraction:g} × the site's "
                                        f"{data.rows} rows", code="federation.rule.parameters")
        for name, levels in data.binary_levels.items():
            if any(0 < count < rules.min_cell for count in levels):
                raise Refused(name, f"a level of {name} has fewer than {rules.min_cell} "
                                    "patients at this site", code="federation.rule.min_cell")
        mine = set(digests)
        for earlier in self.ledger.patient_sets(kind):
            differ = len(mine ^ earlier)
            if 0 < differ < rules.min_set_difference:
                raise Refused("subgroup", f"its patients differ from an earlier {kind} "
                                          f"analysis's by {differ} (fewer than "
                                          f"{rules.min_set_difference}): differencing could "
                                          "reveal them", code="federation.rule.differencing")

    # --- later rounds: masked sums --------------------------------------------------------

    def _vector(self, request: Request) -> list[int]:
        enrolled = self.ledger.enrolment(request.analysis.id)
        if enrolled is None:
            raise Refused("analysis", "this site did not enrol in this analysis",
                          code="federation.request.not_enrolled")
        if enrolled.get("spec") != _spec_digest(request):
            raise Refused("analysis", "the analysis changed since enrolment",
                          code="federation.request.spec_changed")
        self._check_roster(request)
        done = self.ledger.answered(request.analysis.id)
        kind = request.analysis.spec.kind
        cap = self.rules.max_rounds.get(kind, 0)
        if len(done) >= cap:
            raise Refused("rounds", f"this site answers at most {cap} rounds of a {kind} "
                                    "analysis", code="federation.rule.max_rounds")
        if done and request.round <= int(done[-1]["round"]):
            raise Refused("round", "rounds must increase", code="federation.request.round")
        if done and done[0].get("roster") != request.roster:
            raise Refused("roster", "the roster changed within the analysis",
                          code="federation.rule.roster")
        values = self._plain_vector(request)
        encoded = secure_sum.encode(values)
        seeds = {p: self.keys.pair_seed(self.peers[p], request.context())
                 for p in request.roster if p != self.name}
        return secure_sum.mask(encoded, self.name, seeds)

    def _check_roster(self, request: Request) -> None:
        roster = request.roster
        if self.name not in roster or len(set(roster)) != len(roster):
            raise Refused("roster", "must list this site once", code="federation.rule.roster")
        if len(roster) < self.rules.min_sites:
            raise Refused("roster", f"fewer than {self.rules.min_sites} sites answer this "
                                    "round", code="federation.rule.min_sites")
        declined = {}
        for refusal in request.declined:
            card = self.peers.get(refusal.site)
            if card is None or refusal.status != "refused" or refusal.step != "enrol" \
                    or refusal.analysis_id != request.analysis.id:
                raise Refused("roster", "carries a refusal that is not an enrolment refusal of "
                                        "this analysis", code="federation.rule.roster")
            try:
                check_signature(refusal, card)
            except FederationError as error:
                raise Refused("roster", f"carries a refusal of {refusal.site} that it did not "
                                        "sign", code="federation.rule.roster") from error
            declined[refusal.site] = refusal
        if set(roster) | set(declined) != set(self.peers) or set(roster) & set(declined):
            raise Refused("roster", "must be every site of the network except those whose "
                                    "signed refusals come with it",
                          code="federation.rule.roster")

    def _plain_vector(self, request: Request) -> np.ndarray:
        data = self._cached(request)
        spec, params = request.analysis.spec, request.params
        if not all(math.isfinite(p) for p in params):
            raise Refused("params", "must be finite", code="federation.params.finite")
        if isinstance(spec, LmmSpec):
            if request.step == "totals":
                return lmm_totals(data)
            if len(params) != 4 or min(params[0], params[2]) < 0 or params[3] <= 0 \
                    or max(abs(p) for p in params[:3]) > self.rules.max_theta:
                raise Refused("params", f"θ must have θ₁, θ₃ ≥ 0 and |θ| ≤ "
                                        f"{self.rules.max_theta:g}, with a positive scale",
                              code="federation.params.theta")
            return lmm_sums(data, spec.reml, params)
        if isinstance(spec, SurvivalSpec):
            if spec.kind == "km":
                return km_vector(data, spec)
            self._check_weights(data, spec, params)
            return cox_vector(data, spec, params)
        if data.tally is not None:
            if isinstance(data.tally, SubgroupTally) and request.step in ("totals", "sums"):
                self._check_age_cut(data.tally, params, request.analysis.id)
            return data.tally(request.step, params)
        return progression_moments(data)

    def _check_age_cut(self, tally: SubgroupTally, params: list[float], analysis: str) -> None:
        """Two age cuts that move 1 to 4 patients across them would difference those
        patients' rates out of the two answers: refuse a cut so close to an earlier one."""
        if not params or not 0 <= params[0] <= 120:
            raise Refused("params", "a subgroup round needs an age cut in 0–120 years",
                          code="federation.params.shape")
        for earlier in self.ledger.entries():
            if earlier.get("kind") != "subgroups" or earlier.get("step") not in ("totals", "sums") \
                    or earlier.get("status") != "answered" or not earlier.get("params") \
                    or earlier.get("analysis_id") == analysis:
                continue
            moved = tally.between(params[0], float(earlier["params"][0]))
            if 0 < moved < self.rules.min_set_difference:
                raise Refused("age cut", f"moves {moved} of this site's patients across an "
                                         f"earlier subgroup analysis's age cut (fewer than "
                                         f"{self.rules.min_set_difference}): differencing "
                                         "could reveal them", code="federation.rule.differencing")

    def _check_weights(self, data: LocalData, spec: SurvivalSpec, beta: list[float]) -> None:
        if data.spells is None or len(beta) != len(spec.terms):
            raise Refused("params", f"a Cox round needs {len(spec.terms)} coefficients",
                          code="federation.params.shape")
        share = max_weight_share(data.spells, list(spec.terms), np.array(beta), spec.horizon,
                                 min_at_risk=self.rules.min_cell)
        if share > self.rules.max_weight_share:
            raise Refused("params", f"these coefficients give one patient {share:.0%} of a risk "
                                    f"set's weight (more than "
                                    f"{self.rules.max_weight_share:.0%}): the answer would "
                                    "single a patient out", code="federation.rule.dominance")

    def _cached(self, request: Request) -> LocalData:
        data = self._data.get(request.analysis.id)
        if data is None:  # e.g. a new process per request (file exchange): recompute
            data = local_data(self.cohort(), request.analysis.spec)
            enrolled = self.ledger.enrolment(request.analysis.id) or {}
            if self.ledger.digests(data.patients) != enrolled.get("patients"):
                raise Refused("data", "the site's patients changed since enrolment; run the "
                                      "analysis again", code="federation.site.data_changed")
            self._data[request.analysis.id] = data
        return data


def _spec_digest(request: Request) -> str:
    spec = json.dumps(request.analysis.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()


__all__ = ["Site", "SiteConfig", "read_manifest"]
