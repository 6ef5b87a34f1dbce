"""The messages of the federated protocol: the network, analyses, requests and answers.

Every message is JSON; what is signed is its canonical form without the signature
(``keys.canonical_json``). The coordinator signs the network manifest and every request;
each site signs every answer, a refusal included, so that no one can claim that a site
declined (and so shrink a round to difference a site out, docs/federation.md).

A run of one analysis: round 0 (``enrol``) asks every site of the manifest whether it takes
part; each accepts with its patient count or refuses with the rule it would break. The
accepted sites are the analysis's roster; every later round (``totals``, ``sums``,
``counts``) goes to exactly that roster, and each answer is a vector masked so that only the
sum over the roster can be read (``secure_sum``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alsrwe.analytics.analyses.carriers import CarrierSettings
from alsrwe.analytics.analyses.early_delayed import EarlyDelayedSettings
from alsrwe.analytics.analyses.nfl import NflSettings
from alsrwe.analytics.analyses.observed_expected import ObservedExpectedSettings
from alsrwe.analytics.analyses.responders import RespondersSettings
from alsrwe.analytics.analyses.safety import SafetySettings
from alsrwe.analytics.analyses.subgroups import SubgroupSettings
from alsrwe.domain.biomarkers import NflAssay
from alsrwe.federation.errors import FederationError
from alsrwe.federation.keys import KeyPair, PublicCard, canonical_json, verify

PROTOCOL: Literal["alsrwe-federation/1"] = "alsrwe-federation/1"
Step = Literal["enrol", "totals", "sums", "counts"]
Kind = Literal["lmm", "progression", "km", "cox", "safety", "responders", "nfl",
               "early_delayed", "subgroups", "observed_expected", "carriers"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Subgroup(_Frozen):
    """Which patients an analysis uses (all by default): the fixed vocabulary a site accepts."""

    onset_region: Literal["bulbar", "spinal", "respiratory", "generalised"] | None = None
    min_onset_age: int | None = Field(default=None, ge=0, le=120)
    max_onset_age: int | None = Field(default=None, ge=0, le=120)


class _Assessments(_Frozen):
    """Which treated patients have enough ALSFRS-R assessments (progression's rules)."""

    drug: str = "tofersen"
    min_pre_assessments: int = Field(default=3, ge=1)
    min_on_assessments: int = Field(default=3, ge=2)
    min_on_months: float = Field(default=6.0, ge=0)
    subgroup: Subgroup = Subgroup()


class LmmSpec(_Assessments):
    """The piecewise mixed model of ALSFRS-R before and on treatment (progression's)."""

    kind: Literal["lmm"] = "lmm"
    reml: bool = True


class ProgressionSpec(_Assessments):
    """"% slower than expected": the cohort ratio of the mean observed to expected rate."""

    kind: Literal["progression"] = "progression"
    expected: Literal["pre_slope", "delta_frs"] = "pre_slope"
    level: float = Field(default=0.95, gt=0, lt=1)


class SurvivalSpec(_Frozen):
    """Time from onset to the endpoint on a grid of ``grid_months``, up to ``horizon_months``:
    Kaplan–Meier (``km``) or the Cox model with tofersen time-varying (``cox``)."""

    kind: Literal["km", "cox"] = "km"
    endpoint: Literal["composite", "encals", "death"] = "composite"
    drug: str = "tofersen"
    grid_months: float = Field(default=1.0, gt=0, le=12)
    horizon_months: float = Field(default=240.0, gt=0, le=600)
    covariates: tuple[Literal["bulbar_onset"], ...] = Field(
        default=(), description="binary only: with a continuous covariate, Newton rounds would "
        "reveal the values in small risk sets (docs/federation.md)")
    level: float = Field(default=0.95, gt=0, lt=1)
    subgroup: Subgroup = Subgroup()

    @property
    def horizon(self) -> int:
        """The number of grid intervals reported."""
        return int(round(self.horizon_months / self.grid_months))

    @property
    def terms(self) -> tuple[str, ...]:
        """The Cox model's columns: treated (time-varying) then the covariates."""
        return ("treated", *self.covariates)


_S = TypeVar("_S")


def _named_assay(spec: _S, assay: NflAssay | None) -> _S:
    """A pooled NfL value names its platform: each site choosing its own commonest would pool
    platforms (convention 9)."""
    if assay is None:
        raise ValueError("a pooled NfL analysis names its assay (one platform for every site)")
    return spec


class SafetySpec(_Frozen):
    """Adverse events per 100 patient-years and CSF flags: the local analysis's settings."""

    kind: Literal["safety"] = "safety"
    settings: SafetySettings = SafetySettings()


class RespondersSpec(_Frozen):
    """Improved / stabilised / progressed over a window: counts per class."""

    kind: Literal["responders"] = "responders"
    settings: RespondersSettings = RespondersSettings()


class NflSpec(_Frozen):
    """NfL geometric mean ratios per window. One platform for the whole network (values of
    different platforms are never pooled, convention 9), so the assay is named, not chosen
    per site; default Simoa."""

    kind: Literal["nfl"] = "nfl"
    settings: NflSettings = NflSettings(assay=NflAssay.SIMOA)

    @model_validator(mode="after")
    def _one_platform(self) -> NflSpec:
        return _named_assay(self, self.settings.assay)


class EarlyDelayedSpec(_Frozen):
    """ALSFRS-R change to the week, early vs delayed starters: Welch's interval from each
    group's n, Σ and Σ² (the local analysis's mixed-model sensitivity and NfL ratio are not
    pooled)."""

    kind: Literal["early_delayed"] = "early_delayed"
    settings: EarlyDelayedSettings = EarlyDelayedSettings(lmm=False)


class SubgroupsSpec(_Frozen):
    """"% slower than expected" per subgroup. The age cut is ``settings.age_cut_years`` or, by
    default, the pooled *mean* age at the first dose rounded to whole years (one round of n and
    Σ age; a median is not a sum, so it would need every patient's age)."""

    kind: Literal["subgroups"] = "subgroups"
    settings: SubgroupSettings = SubgroupSettings()

    @model_validator(mode="after")
    def _fieller(self) -> SubgroupsSpec:
        if self.settings.interval != "fieller":
            raise ValueError("pooled subgroups use Fieller's interval (a bootstrap needs every "
                             "patient's rates in one place)")
        return self


class ObservedExpectedSpec(_Frozen):
    """Observed vs ΔFRS, PRO-ACT and ENCALS-expected: the rate sums, O and E, the Ederer I
    curve's sums every ``settings.curve_step_months`` and the observed Kaplan–Meier counts
    from the first dose on a grid of ``grid_months``, both up to ``horizon_months``."""

    kind: Literal["observed_expected"] = "observed_expected"
    settings: ObservedExpectedSettings = ObservedExpectedSettings()
    grid_months: float = Field(default=1.0, gt=0, le=12)
    horizon_months: float = Field(default=96.0, gt=0, le=240)

    @property
    def horizon(self) -> int:
        """The number of grid intervals of the observed curve."""
        return int(round(self.horizon_months / self.grid_months))

    @property
    def curve_months(self) -> list[float]:
        """The expected curve's times: 0, step, … up to the horizon."""
        step = self.settings.curve_step_months
        return [k * step for k in range(int(self.horizon_months / step + 1e-9) + 1)]


class CarriersSpec(_Frozen):
    """Presymptomatic carriers' plasma NfL surveillance: how many carriers met the trigger or
    exceeded the age-specific limit. One named platform for every site (convention 9);
    default Simoa."""

    kind: Literal["carriers"] = "carriers"
    settings: CarrierSettings = CarrierSettings(assay=NflAssay.SIMOA)

    @model_validator(mode="after")
    def _one_platform(self) -> CarriersSpec:
        return _named_assay(self, self.settings.assay)


SummarySpec = (SafetySpec | RespondersSpec | NflSpec | EarlyDelayedSpec | SubgroupsSpec
               | ObservedExpectedSpec | CarriersSpec)
Spec = Annotated[LmmSpec | ProgressionSpec | SurvivalSpec | SafetySpec | RespondersSpec
                 | NflSpec | EarlyDelayedSpec | SubgroupsSpec | ObservedExpectedSpec
                 | CarriersSpec, Field(discriminator="kind")]


class Analysis(_Frozen):
    """One analysis: an id the coordinator chose and what is computed."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    spec: Spec


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Manifest(_Frozen):
    """The network: its coordinator and member sites with their public keys (signed)."""

    protocol: Literal["alsrwe-federation/1"] = PROTOCOL
    network: str = Field(min_length=1, max_length=64)
    coordinator: dict[str, str]
    sites: list[dict[str, str]]
    issued: datetime = Field(default_factory=_now)
    signature: str = ""

    def coordinator_card(self) -> PublicCard:
        return PublicCard.from_json(self.coordinator)

    def site_cards(self) -> dict[str, PublicCard]:
        cards = [PublicCard.from_json(c) for c in self.sites]
        names = [c.name for c in cards]
        if len(set(names)) != len(names):
            raise FederationError("manifest", "lists a site name twice",
                                  code="federation.manifest.duplicate")
        return {c.name: c for c in cards}


class Answer(_Frozen):
    """A site's answer to one round: accepted (enrol), a masked vector, or a refusal."""

    protocol: Literal["alsrwe-federation/1"] = PROTOCOL
    network: str
    analysis_id: str
    round: int = Field(ge=0)
    step: Step
    site: str
    status: Literal["accepted", "answered", "refused"]
    patients: int | None = None
    vector: str = ""
    length: int = Field(default=0, ge=0)
    code: str = ""
    rule: str = ""
    signature: str = ""


class Request(_Frozen):
    """One round of one analysis, signed by the coordinator."""

    protocol: Literal["alsrwe-federation/1"] = PROTOCOL
    network: str
    analysis: Analysis
    round: int = Field(ge=0)
    step: Step
    params: list[float] = Field(default_factory=list)
    roster: list[str] = Field(default_factory=list)
    declined: list[Answer] = Field(default_factory=list)
    issued: datetime = Field(default_factory=_now)
    signature: str = ""

    def context(self) -> bytes:
        """What the masks of this round are bound to: never reused by another round."""
        return f"{self.network}|{self.analysis.id}|{self.round}|{self.step}".encode()


Signed = Manifest | Request | Answer
M = TypeVar("M", Manifest, Request, Answer)


def payload(message: Signed) -> bytes:
    """The bytes that are signed: the canonical JSON without the signature."""
    data: dict[str, Any] = message.model_dump(mode="json", exclude={"signature"})
    return canonical_json(data)


def sign(message: M, keys: KeyPair) -> M:
    """The message with its signature by ``keys``."""
    return message.model_copy(update={"signature": keys.sign(payload(message))})


def check_signature(message: Signed, card: PublicCard) -> None:
    """Raise ``FederationError`` unless ``card``'s owner signed ``message``."""
    if not message.signature:
        raise FederationError("signature", "the message is not signed",
                              code="federation.signature.missing")
    verify(card, payload(message), message.signature)


def encode_message(message: Signed) -> bytes:
    """The message as sent (JSON, UTF-8)."""
    return message.model_dump_json().encode()


def decode_message(kind: type[M], data: bytes | str) -> M:
    """A message read from JSON; a clear error naming the field when it is malformed."""
    try:
        return kind.model_validate_json(data)
    except ValueError as error:
        first = str(error).splitlines()
        detail = "; ".join(first[:3]) if first else "invalid"
        raise FederationError(kind.__name__.lower(), f"is not a valid {kind.__name__}: "
                                                     f"{detail}",
                              code="federation.message.invalid") from error


def roster_names(names: Sequence[str]) -> list[str]:
    """A roster in its canonical (sorted, unique) order."""
    return sorted(set(names))


__all__ = ["PROTOCOL", "Analysis", "Answer", "CarriersSpec", "EarlyDelayedSpec", "Kind", "LmmSpec",
           "Manifest", "NflSpec", "ObservedExpectedSpec", "ProgressionSpec", "Request",
           "RespondersSpec", "SafetySpec", "Spec", "Step", "Subgroup", "SubgroupsSpec",
           "SummarySpec", "SurvivalSpec", "check_signature", "decode_message", "encode_message",
           "payload", "roster_names", "sign"]
