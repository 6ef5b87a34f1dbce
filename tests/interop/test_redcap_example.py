"""The committed example REDCap project (examples/redcap/): never drifts, imports like tidy CSV.

The example is a clinic's own project design read by the shipped mapping; importing it must
give the same registry as importing the same synthetic cohort as tidy CSV (the outside
reference: the tidy format's own import), compared through byte-identical tidy exports.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from alsrwe.interop.redcap import (
    CLINIC_MAPPING,
    import_redcap_folder,
    looks_like_redcap,
    read_redcap_project,
)
from alsrwe.interop.redcap.dictionary import read_dictionary, valid_name
from alsrwe.interop.redcap.example import write_example_project
from alsrwe.interop.tidy_csv import export_tidy, import_tidy, write_frames
from alsrwe.store.db import make_engine, migrate
from alsrwe.synth import CohortParams, generate_cohort

Tables = dict[str, pd.DataFrame]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "redcap"
EXAMPLE_PARAMS = CohortParams(seed=7, n_patients=32, n_carriers=8, as_of=date(2026, 6, 30))
"""The cohort of examples/redcap/ (regenerate it with these, see its README)."""
TODAY = date(2026, 7, 1)
GENERATED = ("data_dictionary.csv", "events.csv", "instrument_designations.csv",
             "repeating_instruments.csv", "records.csv", "alsrwe_clinic.toml")


@pytest.fixture(scope="module")
def cohort_tables() -> Tables:
    return generate_cohort(EXAMPLE_PARAMS).tables()


def test_the_committed_example_is_what_the_generator_writes(tmp_path: Path,
                                                            cohort_tables: Tables) -> None:
    write_example_project(tmp_path, cohort_tables)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(GENERATED)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), (
            f"examples/redcap/{name} drifted from the generator: regenerate it (README)")
    assert (EXAMPLE / "alsrwe_clinic.toml").read_bytes() == CLINIC_MAPPING.read_bytes()


def test_the_example_has_the_shape_of_a_clinic_project(cohort_tables: Tables) -> None:
    dictionary = read_dictionary(EXAMPLE / "data_dictionary.csv")
    assert dictionary.fields["sex"].choices == (("1", "Male"), ("2", "Female"))
    assert dictionary.fields["alsfrs_5b"].branching == "[alsfrs_gastrostomy] = '1'"
    assert all(valid_name(s.name) and valid_name(s.form) for s in dictionary.fields.values())
    with (EXAMPLE / "records.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    events = {row["redcap_event_name"] for row in rows}
    assert {"enrolment_arm_1", "visit_1_arm_1", "intrathecal_dose_arm_1"} <= events
    people = {row["study_id"] for row in rows if row["study_id"]}
    patients = cohort_tables["patients"]
    assert people == set(patients["patient_id"].astype(str))
    assert (patients["status"] == "carrier").sum() == 8
    repeating_event = [r for r in rows if r["redcap_event_name"] == "intrathecal_dose_arm_1"]
    assert repeating_event and all(r["redcap_repeat_instrument"] == "" and
                                   r["redcap_repeat_instance"] for r in repeating_event)
    blank = [r for r in rows if "0" in (r["clinic_visit_complete"], r["csf_labs_complete"])]
    assert blank and all(not (r["visit_date"] or r["csf_date"]) for r in blank)  # skipped
    assert looks_like_redcap(EXAMPLE) and not looks_like_redcap(EXAMPLE / "records.csv")
    project = read_redcap_project(EXAMPLE)
    assert (project.records.name, project.mapping) == ("records.csv",
                                                       EXAMPLE / "alsrwe_clinic.toml")


def test_the_example_imports_into_the_same_registry_as_tidy_csv(
        engine: Engine, tmp_path: Path, cohort_tables: Tables) -> None:
    report = import_redcap_folder(engine, EXAMPLE, today=TODAY)
    assert report.counts["patients"] == (40, 0, 0)
    assert report.counts["alsfrs"][0] == len(cohort_tables["alsfrs"])
    assert report.counts["measurements"][0] == len(cohort_tables["measurements"])
    assert report.ignored_columns == {}
    write_frames(cohort_tables, tmp_path / "tidy")
    reference = make_engine(f"sqlite:///{tmp_path / 'tidy.db'}")
    try:
        migrate(reference)
        import_tidy(reference, tmp_path / "tidy", today=TODAY)
        export_tidy(reference, tmp_path / "from_tidy")
    finally:
        reference.dispose()
    export_tidy(engine, tmp_path / "from_redcap")
    for path in sorted((tmp_path / "from_tidy").glob("*.csv")):
        assert (tmp_path / "from_redcap" / path.name).read_text() == path.read_text(), path.name
    again = import_redcap_folder(engine, EXAMPLE, today=TODAY)
    assert all(inserted == updated == 0 for inserted, updated, _ in again.counts.values())
