"""The disclosure rules a site checks before anything leaves it, with their defaults' sources.

Every default is at least as strict as DataSHIELD's or vantage6's (docs/domain-rules.md
§9.6, both read from their source code), and stricter where a registry of a rare disease
needs it: a site may hold three SOD1-ALS patients, so a rule that counts rows (visits)
would let one patient through.

| rule | alsrwe default | DataSHIELD | vantage6 |
|---|---|---|---|
| patients per site in an analysis | 5 | — (3 per table cell) | 10 rows |
| rows per site | 10 | — | 10 |
| parameters / rows | ≤ 0.33 | ``nfilter.glm`` 0.33 | ≤ 0.10 (GLM) |
| patients per level of a binary covariate | 0 or ≥ 3 | ``nfilter.tab`` 3 | — |
| sites answering a round | ≥ 3 | — | 3 organisations |
| rounds per analysis (+ enrolment) | 200 LMM, 40 Cox, 3 / 2 / 1 summaries | — | — |
| analyses per site in 30 days | 50 | — | — |
| patients by which two analyses' sets differ | 0 or ≥ 5 | — (see below) | — |
| one patient's share of a Cox risk-set weight | ≤ 0.9 | — | — |

DataSHIELD's ``nfilter.subset`` is a minimum subset size, not a rule on differences.
The round caps are the honest algorithm's measured need with room to spare (docs/federation.md:
the pooled LMM took 25–45 rounds on the synthetic networks, the Cox fit 4–6); a coordinator
that asks for more is not fitting a model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ROUNDS = {"lmm": 200, "cox": 40, "km": 1, "progression": 1, "safety": 1, "responders": 1,
              "nfl": 2, "early_delayed": 2, "subgroups": 3, "observed_expected": 1,
              "carriers": 1}
"""Rounds after enrolment the honest algorithm needs, with room to spare for the iterative
ones; a summary of counts gets one, a summary of cells of moments two (the cells' counts,
then the moments of those large enough), subgroups three (first the pooled mean age)."""


class DisclosureRules(BaseModel):
    """A site's rules; every site sets its own (its ethics approval may be stricter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_patients: int = Field(default=5, ge=3, description="patients per site per analysis")
    min_rows: int = Field(default=10, ge=1, description="rows (visits, spells) per site")
    max_parameter_fraction: float = Field(
        default=0.33, gt=0, le=1, description="parameters at most this × the site's rows "
        "(DataSHIELD nfilter.glm)")
    min_cell: int = Field(default=3, ge=1, description="patients per level of a binary "
                                                       "covariate, unless none")
    min_sites: int = Field(default=3, ge=2, description="sites answering every round")
    max_rounds: dict[str, int] = Field(
        default_factory=lambda: dict(MAX_ROUNDS),
        description="rounds per analysis after enrolment, by kind (a kind not named: its "
        "default)")
    max_analyses: int = Field(default=50, ge=1, description="analyses answered per 30 days")
    min_set_difference: int = Field(
        default=5, ge=1, description="two analyses of one kind use the same patients or "
        "differ by at least this many (against differencing)")
    max_weight_share: float = Field(
        default=0.9, gt=0, le=1, description="one patient's largest share of a Cox risk set "
        "(where the site has ≥ min_cell at risk) at the proposed coefficients")
    max_theta: float = Field(default=1e4, gt=0, description="largest |θ| of a mixed-model "
                                                           "round (scaled units)")

    @field_validator("max_rounds", mode="before")
    @classmethod
    def _defaults_for_unnamed_kinds(cls, value: Any) -> Any:
        """A site.json written before a kind existed still answers it, with its default."""
        return {**MAX_ROUNDS, **value} if isinstance(value, dict) else value


__all__ = ["MAX_ROUNDS", "DisclosureRules"]
