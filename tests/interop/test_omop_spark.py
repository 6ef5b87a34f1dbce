"""The OMOP reader on Spark: an exported Parquet folder read in place gives the registry back.

Equal tidy tables are enough here: that every analysis gives the same numbers on Spark as on
DuckDB for the same tables is tests/analytics/analyses/test_on_engines.py. In the ``spark``
xdist group with those tests, so that one worker starts Spark once (the root conftest's
``spark_session``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from alsrwe.analytics.cohort import SCHEMAS, Cohort
from alsrwe.interop.omop import export_omop, load_omop_folder, omop_cohort
from alsrwe.interop.tidy_csv import import_tidy, write_frames
from alsrwe.store.db import make_engine, migrate
from alsrwe.synth import CohortParams, generate_cohort

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [
    pytest.mark.xdist_group("spark"),
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"),
]


def test_spark_reads_the_parquet_export_in_place(spark_session: SparkSession,
                                                 tmp_path: Path) -> None:
    import ibis

    cohort = generate_cohort(CohortParams(seed=11, n_patients=20, n_carriers=3,
                                          as_of=date(2026, 6, 1)))
    write_frames(cohort.tables(), tmp_path / "tidy")
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    engine = make_engine(url)
    try:
        migrate(engine)
        import_tidy(engine, tmp_path / "tidy", today=date(2026, 7, 1))
        export_omop(engine, tmp_path / "omop", file_format="parquet")
    finally:
        engine.dispose()
    reference = Cohort.from_registry(url)
    on_spark = omop_cohort(load_omop_folder(tmp_path / "omop", ibis.pyspark.connect(spark_session)),
                           cache=True)  # each tidy table computed once, in Spark
    assert on_spark.backend == "pyspark"
    for name in SCHEMAS:
        ours, theirs = on_spark.frame(name), reference.frame(name)
        order = list(ours.columns)[:5]
        pd.testing.assert_frame_equal(ours.sort_values(order, ignore_index=True),
                                      theirs.sort_values(order, ignore_index=True),
                                      check_dtype=False, obj=name)
    reference.con.disconnect()
