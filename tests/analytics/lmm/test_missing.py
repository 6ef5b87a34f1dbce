"""Incomplete rows are left out and counted (lme4's na.omit), from a DataFrame or an Ibis table.

The reference is the fit of the complete-case frame, built here by hand; the Ibis table is
an in-memory DuckDB table carrying both SQL NULLs and IEEE NaNs.
"""

from __future__ import annotations

import json
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from alsrwe.analytics import LmmError, LmmResult, fit_lmm
from alsrwe.analytics.lmm.engine_stats import complete_case_stats

from .test_boundary import _simulate

MODEL: dict[str, Any] = {"y": "y", "fixed": ["t", "x"], "group": "g", "slope": "t"}
# Rows with a gap in a used column: y NaN, t NULL, x NaN, the group NULL, two at once.
GAPS = {"y": [3, 40], "t": [7, 40, 101], "x": [55], "g": [12, 13]}
N_DROPPED = 7  # row 40 has two gaps


def _numbers(fit: LmmResult) -> dict[str, float]:
    return {**{f"b_{k}": v for k, v in fit.fixed.items()},
            **{f"se_{k}": v for k, v in fit.se.items()},
            "sd_intercept": fit.sd_intercept, "sd_slope": fit.sd_slope, "corr": fit.corr,
            "sd_residual": fit.sd_residual, "criterion": fit.criterion}  # fmt: skip


@pytest.fixture(scope="module")
def complete() -> pd.DataFrame:
    data = _simulate(np.random.default_rng(21), 30, 6, sd_slope=0.3, corr=-0.3)
    data["x"] = np.random.default_rng(22).normal(size=len(data))
    data["y"] += 0.5 * data["x"]
    data["g"] = "P" + data["g"].astype(str).str.zfill(3)
    data["unused"] = 1.0
    return data


@pytest.fixture(scope="module")
def gappy(complete: pd.DataFrame) -> pd.DataFrame:
    data = complete.astype({"g": object})
    for column, rows in GAPS.items():
        data.loc[rows, column] = None if column == "g" else np.nan
    data.loc[[0, 1, 2], "unused"] = np.nan  # not a model column: these rows stay
    return data


@pytest.fixture(scope="module")
def reference(complete: pd.DataFrame) -> LmmResult:
    rows = sorted({r for rows in GAPS.values() for r in rows})
    assert len(rows) == N_DROPPED
    return fit_lmm(complete.drop(index=rows), **MODEL)


def _table(gappy: pd.DataFrame) -> ibis.Table:
    """The same rows in DuckDB: t's gaps as NULL, y's and x's as NaN, the group's as NULL."""
    arrays = {
        "g": pa.array(gappy["g"].tolist(), type=pa.string()),
        "t": pa.array(gappy["t"].tolist(), type=pa.float64(), from_pandas=True),  # NaN → NULL
        "x": pa.array(gappy["x"].to_numpy(), type=pa.float64()),  # NaN stays NaN
        "y": pa.array(gappy["y"].to_numpy(), type=pa.float64()),
        "unused": pa.array(gappy["unused"].to_numpy(), type=pa.float64()),
    }
    table = pa.table(arrays)
    assert table["t"].null_count == 3 and table["y"].null_count == 0
    return ibis.duckdb.connect().create_table("rows", table)


def test_a_frame_with_gaps_fits_its_complete_cases(gappy: pd.DataFrame,
                                                   reference: LmmResult) -> None:
    fit = fit_lmm(gappy, **MODEL)
    assert fit.rows_dropped_missing == N_DROPPED and reference.rows_dropped_missing == 0
    assert fit.n_obs == len(gappy) - N_DROPPED == reference.n_obs
    assert _numbers(fit) == pytest.approx(_numbers(reference), rel=1e-12)
    assert json.loads(json.dumps(fit.to_dict()))["rows_dropped_missing"] == N_DROPPED


def test_an_ibis_table_with_nulls_and_nans_fits_its_complete_cases(
    gappy: pd.DataFrame, reference: LmmResult
) -> None:
    fit = fit_lmm(_table(gappy), **MODEL)
    assert fit.rows_dropped_missing == N_DROPPED
    assert fit.n_obs == reference.n_obs and fit.n_groups == reference.n_groups
    # The engine sums in its own order (statistics equal to ~1e-15); the polished optimum
    # moves by far less than the 1e-7 allowed here.
    assert _numbers(fit) == pytest.approx(_numbers(reference), rel=1e-7)
    assert list(fit.blups["group"]) == list(reference.blups["group"])


def test_engine_statistics_of_complete_cases_count_the_dropped_rows(gappy: pd.DataFrame) -> None:
    stats, dropped = complete_case_stats(_table(gappy), **MODEL)
    assert dropped == N_DROPPED and stats.n_obs == len(gappy) - N_DROPPED


def test_a_complete_table_drops_nothing(complete: pd.DataFrame) -> None:
    fit = fit_lmm(ibis.memtable(complete), **MODEL)
    assert fit.rows_dropped_missing == 0 and fit.n_obs == len(complete)
    assert _numbers(fit) == pytest.approx(_numbers(fit_lmm(complete, **MODEL)), rel=1e-7)


@pytest.mark.parametrize("as_table", [False, True])
def test_other_invalid_data_is_still_refused(complete: pd.DataFrame, as_table: bool) -> None:
    def fit(data: pd.DataFrame, **model: object) -> LmmResult:
        source = ibis.memtable(data) if as_table else data
        return fit_lmm(source, **{**MODEL, **model})

    infinite = complete.copy()
    infinite.loc[[5, 6], "x"] = np.inf
    with pytest.raises(LmmError, match="x: 2 missing or non-finite"):
        fit(infinite)
    with pytest.raises(LmmError, match="site: must be numeric"):
        fit(complete.assign(site="A"), fixed=["t", "site"])
    few = complete.copy()
    few.loc[few["g"] > "P001", "y"] = np.nan  # only two groups keep a complete row
    with pytest.raises(LmmError, match="g: needs at least 3 groups"):
        fit(few)
    with pytest.raises(LmmError, match="nope: column not found"):
        fit(complete, fixed=["nope"])


def test_other_inputs_are_refused(complete: pd.DataFrame) -> None:
    with pytest.raises(LmmError, match="data: must be a pandas DataFrame or an Ibis table"):
        fit_lmm(complete.to_dict(), **MODEL)
