"""Table 1: small cells suppressed by default with the domain's threshold, shown on request."""

from __future__ import annotations

import pandas as pd
import pytest

from alsrwe.analytics.analyses.table1 import table1
from alsrwe.analytics.cohort import Cohort
from alsrwe.domain.privacy import SUPPRESS_BELOW
from alsrwe.synth import SyntheticCohort


@pytest.fixture(scope="module")
def small(synthetic_cohort: SyntheticCohort) -> Cohort:
    """Eight patients with ALS, two of them female."""
    patients = synthetic_cohort.patients
    patients = patients[patients["status"] == "patient"].head(8).copy()
    patients["sex"] = ["F", "F"] + ["M"] * 6
    return Cohort.from_frames({"patients": patients})


def _value(frame: pd.DataFrame, characteristic: str) -> str:
    return str(frame.loc[frame["characteristic"] == characteristic, "value"].item())


def test_small_counts_are_suppressed_by_default(small: Cohort) -> None:
    assert SUPPRESS_BELOW == 5
    first = table1(small)
    assert _value(first, "female") == f"<{SUPPRESS_BELOW}"
    assert _value(first, "patients with ALS") == "8"  # totals are not suppressed


def test_suppression_can_be_switched_off(small: Cohort) -> None:
    first = table1(small, suppress_below=0)
    assert _value(first, "female") == "2 (25%)"
    assert _value(table1(small, suppress_below=2), "female") == "2 (25%)"
    assert _value(table1(small, suppress_below=3), "female") == "<3"
