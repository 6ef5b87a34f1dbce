"""Cohort constructors: frames, tidy CSV folders, the registry (SQLite, PostgreSQL), and errors."""

from __future__ import annotations

from pathlib import Path

import ibis.expr.datatypes as dtypes
import pandas as pd
import pytest

from alsrwe.analytics.cohort import SCHEMAS, Cohort, CohortError
from alsrwe.interop.tidy_csv import export_tidy, write_frames
from alsrwe.store.db import make_engine
from alsrwe.synth import SyntheticCohort
from tests.analytics.conftest import load_registry


def canonical(cohort: Cohort, name: str) -> pd.DataFrame:
    """A tidy table as plain Python values (None for missing), rows in a fixed order."""
    frame = cohort.frame(name)
    columns = list(SCHEMAS[name]) + (["sod1_legacy"] if name == "patients" else [])
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        values = frame[column].astype(object)
        if SCHEMAS[name].get(column) == "date":
            values = pd.to_datetime(values).dt.date.astype(object)
        out[column] = values.where(values.notna(), None)
    key = out.astype(str)
    order = key.sort_values(list(key.columns)).index
    return out.loc[order].reset_index(drop=True)


def assert_same_cohort(a: Cohort, b: Cohort) -> None:
    for name in SCHEMAS:
        pd.testing.assert_frame_equal(canonical(a, name), canonical(b, name), obj=name)


@pytest.fixture(scope="module")
def frames_cohort(synthetic_cohort: SyntheticCohort) -> Cohort:
    return Cohort.from_frames(synthetic_cohort.tables())


def test_from_frames_keeps_every_row_in_the_analytic_schema(
    synthetic_cohort: SyntheticCohort, frames_cohort: Cohort
) -> None:
    assert frames_cohort.backend == "duckdb"
    for name, frame in synthetic_cohort.tables().items():
        table = frames_cohort.table(name)
        assert table.count().execute() == len(frame), name
        for column, kind in SCHEMAS[name].items():
            assert table.schema()[column].copy(nullable=True) == dtypes.dtype(kind), column
    patients = frames_cohort.frame("patients")
    assert patients["sod1_variant"].dropna().str.startswith("p.").all()
    assert set(patients["sod1_legacy"].dropna()) <= {"A4V", "D90A", "G93A", "R115G", "L144F"}
    alsfrs = frames_cohort.frame("alsfrs")
    assert alsfrs["gastrostomy"].isin([True, False]).all()


def test_absent_tables_are_empty(synthetic_cohort: SyntheticCohort) -> None:
    cohort = Cohort.from_frames({"patients": synthetic_cohort.patients})
    assert cohort.table("alsfrs").count().execute() == 0
    assert cohort.table("patients").count().execute() == len(synthetic_cohort.patients)


def test_csv_folders_from_frames_and_from_export_hold_the_same_cohort(
    synthetic_cohort: SyntheticCohort, frames_cohort: Cohort, tmp_path: Path, sqlite_url: str
) -> None:
    written = tmp_path / "written"
    write_frames(synthetic_cohort.tables(), written)
    from_written = Cohort.from_csv_dir(written)
    assert from_written.source == str(written)
    assert_same_cohort(from_written, frames_cohort)

    load_registry(sqlite_url, synthetic_cohort.tables(), tmp_path / "import")
    exported = tmp_path / "exported"
    engine = make_engine(sqlite_url)
    try:
        export_tidy(engine, exported)
    finally:
        engine.dispose()
    from_export = Cohort.from_csv_dir(exported)
    assert_same_cohort(from_export, from_written)
    assert_same_cohort(Cohort.from_registry(sqlite_url), from_written)


@pytest.mark.postgres
def test_registry_on_postgres_copied_and_in_place_agree(
    synthetic_cohort: SyntheticCohort, frames_cohort: Cohort, tmp_path: Path, postgres_url: str
) -> None:
    load_registry(postgres_url, synthetic_cohort.tables(), tmp_path / "import")
    copied = Cohort.from_registry(postgres_url, engine="duckdb")
    native = Cohort.from_registry(postgres_url, engine="native")
    try:
        assert copied.backend == "duckdb" and native.backend == "postgres"
        assert_same_cohort(copied, native)
        assert_same_cohort(native, frames_cohort)
    finally:
        native.con.disconnect()


def test_variant_notations_are_normalized(synthetic_cohort: SyntheticCohort) -> None:
    patients = synthetic_cohort.patients.head(4).copy()
    patients["sod1_variant"] = ["A4V", "p.Ala5Val", "p.(Ala5Val)", None]
    cohort = Cohort.from_frames({"patients": patients})
    got = cohort.frame("patients").sort_values("patient_id")
    assert got["sod1_variant"].tolist()[:3] == ["p.Ala5Val"] * 3
    assert got["sod1_legacy"].tolist()[:3] == ["A4V"] * 3
    assert got["sod1_variant"].isna().tolist()[3]


@pytest.mark.parametrize(
    ("make", "field", "words"),
    [
        ("no_patients", "patients.csv", "is missing"),
        ("not_a_folder", "path", "is not a folder"),
        ("bad_date", "alsfrs.date", "cannot be read as date"),
        ("no_patient_id", "alsfrs.patient_id", "required column"),
        ("bad_variant", "patients.sod1_variant", ""),
    ],
)
def test_csv_errors_name_the_field_and_the_rule(
    synthetic_cohort: SyntheticCohort, tmp_path: Path, make: str, field: str, words: str
) -> None:
    tables = {name: frame.head(5) for name, frame in synthetic_cohort.tables().items()}
    folder = tmp_path / "tidy"
    if make == "no_patients":
        del tables["patients"]
    elif make == "bad_date":
        tables["alsfrs"] = tables["alsfrs"].astype({"date": str}).assign(date="2024-13-40")
    elif make == "no_patient_id":
        tables["alsfrs"] = tables["alsfrs"].drop(columns="patient_id")
    elif make == "bad_variant":
        tables["patients"] = tables["patients"].astype({"sod1_variant": str}).assign(
            sod1_variant="Z999Q")
    write_frames(tables, folder)
    target = folder / "patients.csv" if make == "not_a_folder" else folder
    with pytest.raises(CohortError) as caught:
        Cohort.from_csv_dir(target)
    assert caught.value.field == field
    assert words in caught.value.rule
    assert caught.value.rule


def test_unknown_engine_is_refused(sqlite_url: str) -> None:
    with pytest.raises(CohortError) as caught:
        Cohort.from_registry(sqlite_url, engine="spark")
    assert caught.value.field == "engine"
    assert "'spark' is not one of: duckdb, native" in caught.value.rule


def test_native_needs_postgresql(sqlite_url: str) -> None:
    with pytest.raises(CohortError) as caught:
        Cohort.from_registry(sqlite_url, engine="native")
    assert caught.value.field == "engine"
    assert "PostgreSQL" in caught.value.rule


def test_missing_tables_are_refused(frames_cohort: Cohort) -> None:
    tables = {name: frames_cohort.table(name) for name in SCHEMAS if name != "milestones"}
    with pytest.raises(CohortError) as caught:
        Cohort(frames_cohort.con, tables)
    assert caught.value.field == "tables" and "milestones" in caught.value.rule

