"""The coordinator: enrols the sites in an analysis and adds up their masked answers.

It sees each site's enrolment (accepted with a patient count, or a signed refusal) and,
for every later round, only masked vectors whose sum over the roster is the total it needs
(``secure_sum``). Everything it received is kept in ``received``, exactly as received, so
that a test (or an auditor) can check that no single site's sum is readable in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from alsrwe.federation import secure_sum
from alsrwe.federation.errors import FederationError
from alsrwe.federation.keys import KeyPair
from alsrwe.federation.protocol import (
    Analysis,
    Answer,
    Manifest,
    Request,
    Spec,
    Step,
    check_signature,
    decode_message,
    encode_message,
    sign,
)
from alsrwe.federation.transport import Transport


@dataclass
class Enrolment:
    """Who takes part in one analysis: the roster, the signed refusals and the counts."""

    analysis: Analysis
    roster: list[str]
    declined: list[Answer]
    patients: dict[str, int]
    rounds: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    refusals: dict[str, str] = field(default_factory=dict)

    @property
    def total_patients(self) -> int:
        return sum(self.patients.values())


class Coordinator:
    """Runs analyses over a ``Transport`` to the sites of a manifest."""

    def __init__(self, keys: KeyPair, manifest: Manifest, transport: Transport) -> None:
        if manifest.coordinator_card() != keys.card():
            raise FederationError("manifest", "was not issued by this coordinator's keys",
                                  code="federation.manifest.coordinator")
        check_signature(manifest, keys.card())
        self.keys, self.manifest, self.transport = keys, manifest, transport
        self.sites = manifest.site_cards()
        self.received: list[bytes] = []

    def _send(self, request: Request, sites: Sequence[str],
              enrolment: Enrolment | None) -> dict[str, Answer]:
        signed = sign(request, self.keys)
        data = encode_message(signed)
        raw = self.transport.exchange(signed, data, sites)
        answers = {}
        for site in sites:
            body = raw[site]
            self.received.append(body)
            if enrolment is not None:
                enrolment.bytes_sent += len(data)
                enrolment.bytes_received += len(body)
            answer = decode_message(Answer, body)
            check_signature(answer, self.sites[site])
            if (answer.site, answer.analysis_id, answer.round, answer.step) != \
                    (site, request.analysis.id, request.round, request.step):
                raise FederationError("answer", f"{site} answered another request",
                                      code="federation.answer.mismatch")
            answers[site] = answer
        return answers

    def enrol(self, spec: Spec) -> Enrolment:
        """Round 0: ask every site of the network whether it takes part in ``spec``."""
        analysis = Analysis(id=uuid.uuid4().hex, spec=spec)
        request = Request(network=self.manifest.network, analysis=analysis, round=0,
                          step="enrol")
        enrolment = Enrolment(analysis, [], [], {})
        answers = self._send(request, sorted(self.sites), enrolment)
        for site, answer in sorted(answers.items()):
            if answer.status == "accepted" and answer.patients is not None:
                enrolment.roster.append(site)
                enrolment.patients[site] = answer.patients
            else:
                enrolment.declined.append(answer)
                enrolment.refusals[site] = f"{answer.rule} ({answer.code})"
        enrolment.rounds = 1
        return enrolment

    def total(self, enrolment: Enrolment, step: Step, params: Sequence[float] = ()) -> np.ndarray:
        """One round: the sum over the roster of the sites' vectors at ``params``."""
        if not enrolment.roster:
            raise FederationError("roster", "no site takes part in this analysis: "
                                  + "; ".join(f"{s}: {r}" for s, r in
                                              sorted(enrolment.refusals.items())),
                                  code="federation.roster.empty")
        request = Request(network=self.manifest.network, analysis=enrolment.analysis,
                          round=enrolment.rounds, step=step, params=[float(p) for p in params],
                          roster=enrolment.roster, declined=enrolment.declined)
        enrolment.rounds += 1
        answers = self._send(request, enrolment.roster, enrolment)
        refused = {s: a for s, a in answers.items() if a.status != "answered"}
        if refused:
            why = "; ".join(f"{s} refused: {a.rule} ({a.code})" for s, a in sorted(refused.items()))
            raise FederationError("round", f"round {request.round} ({step}) of the "
                                           f"{enrolment.analysis.spec.kind} analysis: {why}",
                                  code="federation.round.refused")
        lengths = {a.length for a in answers.values()}
        if len(lengths) != 1:
            raise FederationError("answers", "the sites answered vectors of different lengths",
                                  code="federation.answer.length")
        length = lengths.pop()
        vectors = [secure_sum.unpack(a.vector, length) for a in answers.values()]
        return secure_sum.decode(secure_sum.aggregate(vectors))


__all__ = ["Coordinator", "Enrolment"]
