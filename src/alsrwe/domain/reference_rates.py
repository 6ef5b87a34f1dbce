"""External reference rates of ALSFRS-R decline, for "expected" progression beyond a clinic's
own history (docs/domain-rules.md §9.6, §16)."""

from __future__ import annotations

__all__ = ["PRO_ACT_RATE_OF_DECLINE", "PRO_ACT_SLOPE_PER_MONTH"]

PRO_ACT_SLOPE_PER_MONTH = -0.99
"""Mean ALSFRS-R slope in PRO-ACT, points/month (natural sign): n = 3,367 trial participants,
mixed models; Muscle Nerve 2018;57:937-945, PMID 29244213 (docs/domain-rules.md §9.6)."""

PRO_ACT_RATE_OF_DECLINE = -PRO_ACT_SLOPE_PER_MONTH
"""The same as a rate of decline (positive = decline), points/month: 0.99."""
