"""Every RWE analysis gives the same numbers on DuckDB, PostgreSQL (in place) and Spark.

The analyses express their filters and per-patient aggregates in Ibis, so the heavy work runs
in whichever engine holds the data; only per-patient rows come back. These tests run each
analysis on the three copies of one synthetic cohort and compare the results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alsrwe.analytics import (
    Cohort,
    carrier_surveillance,
    early_vs_delayed,
    nfl_response,
    progression,
    responders,
    safety_incidence,
    survival,
)
from alsrwe.analytics.analyses.progression import ProgressionSettings

pytestmark = pytest.mark.xdist_group("spark")

ANALYSES: dict[str, Callable[[Cohort], Any]] = {
    "progression": lambda c: progression(c, ProgressionSettings(min_patients=3)),
    "responders": responders,
    "nfl_response": nfl_response,
    "early_vs_delayed": early_vs_delayed,
    "survival": survival,
    "safety_incidence": safety_incidence,
    "carrier_surveillance": carrier_surveillance,
}


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted rows, dates as strings, so engines' row order and date types do not matter."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: None if v is None or v is pd.NaT
                                          or (isinstance(v, float) and np.isnan(v)) else str(v))
    return out.sort_values(list(out.columns)[:3], ignore_index=True, na_position="first")


@pytest.mark.parametrize("name", list(ANALYSES))
def test_analysis_is_identical_on_every_engine(cohorts: dict[str, Cohort], name: str) -> None:
    results = {engine: ANALYSES[name](cohort) for engine, cohort in cohorts.items()}
    reference = _comparable(results["duckdb"].to_frame())
    assert not reference.empty
    for engine in ("postgres", "spark"):
        other = _comparable(results[engine].to_frame())
        pd.testing.assert_frame_equal(other, reference, check_dtype=False, rtol=1e-9,
                                      obj=f"{name} on {engine}")
        assert results[engine].attrition.to_dict() == results["duckdb"].attrition.to_dict()
