"""A synthetic registry through OMOP and back: the evidence engine gives the same numbers.

The registry (a seeded synthetic cohort imported as tidy CSV) is exported as OMOP CSV and
Parquet, loaded into DuckDB (and copied into a PostgreSQL schema), read back with
``omop_cohort``; the tidy tables, the progression analysis and the survival analysis must equal
those of ``Cohort.from_registry`` on the registry itself. A foreign OMOP instance (written
here by hand, without alsrwe's observations) is read as far as its standard concepts allow.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sqlalchemy import Engine

from alsrwe.analytics.analyses.progression import (
    ProgressionResult,
    ProgressionSettings,
    progression,
)
from alsrwe.analytics.analyses.survival import SurvivalResult, SurvivalSettings, survival
from alsrwe.analytics.cohort import SCHEMAS, Cohort
from alsrwe.interop.omop import (
    drop_postgres_schema,
    export_omop,
    import_omop,
    load_omop_folder,
    load_omop_postgres,
    omop_cohort,
)
from alsrwe.interop.tidy_csv import export_tidy, import_tidy, write_frames
from alsrwe.store.db import make_engine, migrate
from alsrwe.synth import CohortParams, generate_cohort

TODAY = date(2026, 7, 1)
PROGRESSION = ProgressionSettings()
SURVIVAL = (SurvivalSettings(), SurvivalSettings(endpoint="death", covariates=("age_at_onset",)))
Results = tuple[ProgressionResult, list[SurvivalResult]]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """40 patients and 6 carriers in a SQLite registry, exported as OMOP CSV and Parquet."""
    base = tmp_path_factory.mktemp("omop-roundtrip")
    cohort = generate_cohort(CohortParams(seed=11, n_patients=40, n_carriers=6,
                                          as_of=date(2026, 6, 1)))
    write_frames(cohort.tables(), base / "tidy")
    url = f"sqlite:///{base / 'registry.db'}"
    engine = make_engine(url)
    try:
        migrate(engine)
        import_tidy(engine, base / "tidy", today=TODAY)
        export_tidy(engine, base / "tidy-export")
        for fmt in ("csv", "parquet"):
            export_omop(engine, base / fmt, file_format=fmt)
    finally:
        engine.dispose()
    return {"url": url, "csv": base / "csv", "parquet": base / "parquet",
            "tidy": base / "tidy-export"}


@pytest.fixture(scope="module")
def reference(source: dict[str, Path | str]) -> Iterator[Cohort]:
    cohort = Cohort.from_registry(str(source["url"]))
    yield cohort
    cohort.con.disconnect()


def frames(cohort: Cohort) -> dict[str, pd.DataFrame]:
    """Every tidy table, rows in a stable order."""
    out = {}
    for name in SCHEMAS:
        frame = cohort.frame(name)
        out[name] = frame.sort_values(list(frame.columns)[:5], ignore_index=True)
    return out


def assert_same_tables(cohort: Cohort, reference: Cohort) -> None:
    ours, theirs = frames(cohort), frames(reference)
    for name in SCHEMAS:
        assert list(ours[name].columns) == list(SCHEMAS[name]), name
        assert len(ours[name]) == len(theirs[name]) > 0, name
        pd.testing.assert_frame_equal(ours[name], theirs[name], check_dtype=False, obj=name)


@pytest.fixture(scope="module")
def expected(reference: Cohort) -> Results:
    """The analyses on the registry itself, computed once."""
    return progression(reference, PROGRESSION), [survival(reference, s) for s in SURVIVAL]


def assert_same_results(cohort: Cohort, expected: Results) -> None:
    """Estimates, n, attrition and per-patient rows of both analyses, to 1e-9."""
    ours, theirs = progression(cohort, PROGRESSION), expected[0]
    assert ours.n_included == theirs.n_included >= 3
    pd.testing.assert_frame_equal(ours.to_frame(), theirs.to_frame(), rtol=1e-9)
    pd.testing.assert_frame_equal(ours.patients, theirs.patients, rtol=1e-9)
    assert ours.attrition.to_frame().equals(theirs.attrition.to_frame())
    for settings, b in zip(SURVIVAL, expected[1], strict=True):
        a = survival(cohort, settings)
        assert a.cox is not None and b.cox is not None
        pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-9)
        pd.testing.assert_frame_equal(a.curve_frame(), b.curve_frame(), rtol=1e-9)
        assert a.attrition.to_frame().equals(b.attrition.to_frame())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duckdb_reads_back_the_registry(source: dict[str, Path | str], reference: Cohort,
                                        expected: Results, fmt: str) -> None:
    # Parquet: the tidy tables computed once in DuckDB (cache); CSV: recomputed per query
    cohort = omop_cohort(load_omop_folder(Path(source[fmt])), cache=fmt == "parquet")
    try:
        assert_same_tables(cohort, reference)
        assert_same_results(cohort, expected)
    finally:
        cohort.con.disconnect()


@pytest.mark.postgres
def test_postgresql_reads_back_the_registry(source: dict[str, Path | str], reference: Cohort,
                                            expected: Results, postgres_url: str) -> None:
    schema = f"omop_test_{secrets.token_hex(4)}"
    con = load_omop_postgres(Path(source["parquet"]), postgres_url, schema)
    try:
        cohort = omop_cohort(con, database=schema)
        assert cohort.backend == "postgres"
        assert_same_tables(cohort, reference)
        assert_same_results(cohort, expected)
    finally:
        drop_postgres_schema(con, schema)
        con.disconnect()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_import_into_an_empty_registry_gives_the_registry_back(
        source: dict[str, Path | str], engine: Engine, fmt: str, tmp_path: Path) -> None:
    report = import_omop(engine, Path(source[fmt]), today=TODAY)
    assert report.counts["patients"] == (46, 0, 0)
    export_tidy(engine, tmp_path / "back")
    for path in sorted(Path(source["tidy"]).glob("*.csv")):
        assert (tmp_path / "back" / path.name).read_text() == path.read_text(), path.name


def test_import_from_a_duckdb_file_with_a_cdm_schema(
        source: dict[str, Path | str], tmp_path: Path) -> None:
    file = tmp_path / "omop.duckdb"
    con = load_omop_folder(Path(source["parquet"]))
    connection = duckdb.connect(str(file))
    connection.execute("CREATE SCHEMA cdm")
    for name in ("person", "observation", "condition_occurrence", "care_site", "death",
                 "drug_exposure"):  # the doses: a post-LP headache follows one (§11.2)
        connection.register("frame", con.table(name).to_pyarrow())
        connection.execute(f"CREATE TABLE cdm.{name} AS SELECT * FROM frame")
        connection.unregister("frame")
    connection.close()
    con.disconnect()
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        migrate(engine)
        report = import_omop(engine, file, today=TODAY)
    finally:
        engine.dispose()
    assert report.counts["patients"] == (46, 0, 0)
    assert report.counts["alsfrs"][0] > 400 and report.counts["milestones"][0] > 0


# --- a foreign instance ------------------------------------------------------------------------

FOREIGN = {
    "PERSON.csv": "PERSON_ID,GENDER_CONCEPT_ID,YEAR_OF_BIRTH,RACE_CONCEPT_ID,"
                  "ETHNICITY_CONCEPT_ID,PERSON_SOURCE_VALUE\n"
                  "7001,8532,1960,0,0,\n7002,8507,1955,0,0,X-2\n",
    "CONDITION_OCCURRENCE.csv": "CONDITION_OCCURRENCE_ID,PERSON_ID,CONDITION_CONCEPT_ID,"
                                "CONDITION_START_DATE,CONDITION_TYPE_CONCEPT_ID,"
                                "CONDITION_SOURCE_VALUE\n"
                                "1,7001,373182,2020-02-01,32817,G12.21\n"
                                "2,7002,320128,2019-01-01,32817,I10\n",
    "OBSERVATION.csv": "OBSERVATION_ID,PERSON_ID,OBSERVATION_CONCEPT_ID,OBSERVATION_DATE,"
                       "OBSERVATION_TYPE_CONCEPT_ID,VALUE_AS_NUMBER,OBSERVATION_SOURCE_VALUE\n"
                       + "".join(f"{i},7001,{42529071 + i - 1 if i <= 5 else 42529071 + i},"
                                 f"2021-03-01,32851,{4 - (i % 2)},ALSFRS_{i}\n"
                                 for i in range(1, 13)),
    "DRUG_EXPOSURE.csv": "DRUG_EXPOSURE_ID,PERSON_ID,DRUG_CONCEPT_ID,DRUG_EXPOSURE_START_DATE,"
                         "DRUG_EXPOSURE_END_DATE,VERBATIM_END_DATE,DRUG_TYPE_CONCEPT_ID,"
                         "QUANTITY,DRUG_SOURCE_VALUE,ROUTE_SOURCE_VALUE,DOSE_UNIT_SOURCE_VALUE\n"
                         "1,7001,0,2021-03-01,2021-03-01,,32817,100,QALSODY®,Intrathecal,mg\n"
                         "2,7001,0,2020-06-01,2021-01-01,,32817,,Rilutek,,\n"
                         "3,7001,0,2021-02-01,2021-05-01,,32817,,Relyvrio,,\n",
    "OBSERVATION_PERIOD.csv": "OBSERVATION_PERIOD_ID,PERSON_ID,OBSERVATION_PERIOD_START_DATE,"
                              "OBSERVATION_PERIOD_END_DATE,PERIOD_TYPE_CONCEPT_ID\n"
                              "1,7001,2020-01-01,2021-05-01,32817\n",
    "MEASUREMENT.csv": "MEASUREMENT_ID,PERSON_ID,MEASUREMENT_CONCEPT_ID,MEASUREMENT_DATE,"
                       "MEASUREMENT_TYPE_CONCEPT_ID,VALUE_AS_NUMBER,MEASUREMENT_SOURCE_VALUE,"
                       "UNIT_SOURCE_VALUE\n"
                       "1,7001,0,2021-03-01,32817,0.45,csf_protein,g/L\n"
                       "2,7001,0,2021-03-01,32817,5,ldl,mmol/L\n",
    "DEATH.csv": "PERSON_ID,DEATH_DATE\n7001,2021-05-01\n",
}


def test_a_foreign_instance_is_read_by_its_standard_concepts(tmp_path: Path) -> None:
    for name, text in FOREIGN.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    con = load_omop_folder(tmp_path)
    try:
        cohort = omop_cohort(con)
        tables = {name: cohort.frame(name) for name in SCHEMAS}
        with_variant = omop_cohort(con, require_variant=True).frame("patients")
    finally:
        con.disconnect()
    assert with_variant.empty  # no SOD1 variant observation in this instance
    patient = tables["patients"].to_dict(orient="records")
    assert len(patient) == 1  # the hypertensive person 7002 is not read
    assert {k: patient[0][k] for k in ("patient_id", "sex", "birth_year", "status")} == {
        "patient_id": "7001", "sex": "F", "birth_year": 1960, "status": "patient"}
    assert pd.Timestamp(patient[0]["onset_date"]) == pd.Timestamp("2020-02-01")
    assert patient[0]["site"] is None
    alsfrs = tables["alsfrs"].to_dict(orient="records")
    assert len(alsfrs) == 1
    assert [alsfrs[0][f"q{i}"] for i in range(1, 13)] == [4 - (i % 2) for i in range(1, 13)]
    assert (alsfrs[0]["gastrostomy"], alsfrs[0]["source"]) == (False, "clinic")  # 5a, clinician
    doses = tables["administrations"]
    assert doses[["drug", "dose_mg", "status"]].values.tolist() == [["tofersen", 100.0, "given"]]
    meds = tables["medications"].sort_values("start_date")
    assert meds["drug"].tolist() == ["riluzole", "sodium_phenylbutyrate_taurursodiol"]
    assert pd.Timestamp(meds["stop_date"].iloc[0]) == pd.Timestamp("2021-01-01")  # ended
    assert pd.isna(meds["stop_date"].iloc[1])  # ends with the observation period: ongoing
    assert tables["measurements"][["kind", "value", "unit"]].values.tolist() == [
        ["csf_protein", 45.0, "mg/dL"]]  # converted to the canonical unit; ldl is not read
    assert tables["milestones"][["kind"]].values.tolist() == [["death"]]
    assert tables["adverse_events"].empty
