"""REDCap export and import on SQLite and PostgreSQL: round trips, REDCap's rules, a classic
project with checkboxes, datetimes and comma decimals."""

from __future__ import annotations

import csv
import json
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from alsrwe.domain.alsfrs import ITEMS
from alsrwe.domain.errors import InvalidInput
from alsrwe.interop.redcap import (
    check_redcap_folder,
    export_redcap,
    import_redcap,
    import_redcap_folder,
    read_redcap_project,
)
from alsrwe.interop.redcap.dictionary import HEADER, read_dictionary, valid_name
from alsrwe.interop.redcap.export_layout import MAPPING_FILE
from alsrwe.interop.redcap.mapping import RedcapMapping, load_mapping, mapping_toml
from alsrwe.interop.tidy_csv import export_tidy, import_tidy, write_frames
from alsrwe.interop.tidy_csv.importer import WRITING
from alsrwe.store import models
from alsrwe.store.db import make_engine, migrate, unit_of_work
from alsrwe.synth import CohortParams, generate_cohort

TODAY = date(2026, 7, 1)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "redcap"

EDGE = {
    "patients.csv": """\
patient_id,site,sex,birth_year,status,sod1_variant,zygosity,onset_date,onset_region,\
diagnosis_date,site_name
-X.1,ZZ_1,F,1968,patient,c.14C>T p.(Ala5Val),homozygous,2022-03-01,bulbar,2022-09-15,\
"=cmd, 'quoted'"
""",
    "alsfrs.csv": """patient_id,date,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,gastrostomy,source
-X.1,2023-01-10,4,4,4,3,3,4,4,2,2,4,4,4,1,clinic
-X.1,2023-01-10,4,4,4,3,2,4,4,2,2,4,4,4,1,self
""",
    "measurements.csv": """patient_id,date,kind,value,unit,assay,lab
-X.1,2023-01-10,nfl_serum,0.00001,ng/L,@simoa,+lab
-X.1,2023-01-10,csf_protein,0.52,g/L,,
""",
    "administrations.csv": """patient_id,date,drug,dose_mg,status,lot,csf_removed_ml
-X.1,2023-01-10,Qalsody,90,given,'=L1,10
-X.1,2023-01-24,tofersen,,deferred,,
""",
    "adverse_events.csv": """\
patient_id,onset_date,term,grade,serious,related,outcome,resolved_date,term_text,action
-X.1,2023-01-11,other,1,0,1,recovered,2023-01-13,"-headache, after LP",none
""",
}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _registry(engine: Engine, tmp_path: Path) -> None:
    """A small synthetic cohort plus a patient whose cells test every escape and unit."""
    cohort = generate_cohort(CohortParams(seed=3, n_patients=10, n_carriers=3,
                                          as_of=date(2026, 6, 30)))
    write_frames(cohort.tables(), tmp_path / "cohort")
    import_tidy(engine, tmp_path / "cohort", today=TODAY)
    import_tidy(engine, _write(tmp_path / "edge", EDGE), today=TODAY, accept_warnings=True)


def _tidy_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.csv"))}


def test_export_then_import_into_an_empty_registry_is_the_identity(engine: Engine,
                                                                    tmp_path: Path) -> None:
    _registry(engine, tmp_path)
    export_tidy(engine, tmp_path / "before")
    counts = export_redcap(engine, tmp_path / "redcap")
    before = _tidy_files(tmp_path / "before")
    assert counts["patients"] == before["patients.csv"].count("\n") - 1 == 14
    assert "dose.not_label_dose" in before["administrations.csv"]  # a confirmed warning
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        migrate(empty)
        report = import_redcap_folder(empty, tmp_path / "redcap", today=TODAY)
        assert report.confirmed_warnings == 1 and report.ignored_columns == {}  # by its row
        export_tidy(empty, tmp_path / "after")
    finally:
        empty.dispose()
    assert _tidy_files(tmp_path / "after") == before
    with unit_of_work(engine) as session:
        audits = session.scalars(select(models.AuditEntry).filter_by(action="export")).all()
    details = [json.loads(a.detail) if isinstance(a.detail, str) else a.detail for a in audits]
    assert any(d and d.get("format") == "redcap" and d["counts"] == counts for d in details)


def test_the_export_is_a_project_redcap_accepts(engine: Engine, tmp_path: Path) -> None:
    _registry(engine, tmp_path)
    folder = tmp_path / "redcap"
    export_redcap(engine, folder)
    with (folder / "data_dictionary.csv").open(newline="") as handle:
        assert tuple(next(csv.reader(handle))) == HEADER
    dictionary = read_dictionary(folder / "data_dictionary.csv")
    for spec in dictionary.fields.values():
        assert valid_name(spec.name), spec.name
        assert valid_name(spec.form), spec.form
    q1 = dictionary.fields["alsfrs_q1"]
    assert (q1.type, q1.choices[0], q1.choices[-1]) == ("radio", ("4", ITEMS[0].anchors[4]),
                                                        ("0", ITEMS[0].anchors[0]))
    assert dictionary.fields["alsfrs_q5b"].branching == "[alsfrs_gastrostomy] = '1'"
    assert [dictionary.fields[f"alsfrs_{q}"].annotation for q in ("q1", "q3", "q8")] == [
        "LOINC 82940-8", "", "LOINC 82948-1"]  # docs/domain-rules.md §9.1, verified only
    assert dictionary.fields["alsfrs_q5a"].branching == "[alsfrs_gastrostomy] = '0'"
    assert dictionary.fields["sex"].choices == (("1", "Female"), ("2", "Male"))
    with (folder / "events.csv").open(newline="") as handle:
        events = {row["unique_event_name"]: row["event_name"] for row in csv.DictReader(handle)}
    for unique, name in events.items():  # REDCap derives the unique name from the name
        assert unique == name.lower().replace(" ", "_") + "_arm_1"
    with (folder / "instrument_designations.csv").open(newline="") as handle:
        designated = {(r["unique_event_name"], r["form"]) for r in csv.DictReader(handle)}
    assert {form for _, form in designated} == set(dictionary.forms)
    with (folder / "records.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:4] == ["patient_id", "redcap_event_name", "redcap_repeat_instrument",
                                 "redcap_repeat_instance"]
    for row in rows:
        assert row["redcap_event_name"] in events
        if row["redcap_repeat_instrument"]:
            assert (row["redcap_event_name"], row["redcap_repeat_instrument"]) in designated
    edge = [r for r in rows if r["patient_id"] == "-X.1"]
    assert {r["adm_lot"] for r in edge} >= {"=L1"}  # raw text for REDCap, not escaped
    assert {r["meas_value"] for r in edge} >= {"0.00001"}  # no exponent for REDCap
    mapping = load_mapping(folder / MAPPING_FILE)
    assert RedcapMapping.model_validate(tomllib.loads(mapping_toml(mapping))) == mapping


CLASSIC_DICTIONARY = """\
Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, Calculations, \
OR Slider Labels",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,\
Text Validation Max,Identifier?
pid,baseline,,text,Pseudonym,,,,,,
centre,baseline,,text,Centre,,,,,,
gender,baseline,,dropdown,Gender,"m, Male | f, Female",,,,,
yob,baseline,,text,Year of birth,,,integer,,,
sod1,baseline,,text,SOD1,,,,,,
first_symptom,baseline,,text,Onset,,,datetime_dmy,,,
first_region,baseline,,radio,Region,"1, Bulbar | 2, Limb",,,,,
lab_when,labs,,text,Date,,,date_dmy,,,
lab_nfl,labs,,text,NfL,,,number_comma_decimal,,,
ae_start,ae,,text,Start,,,date_mdy,,,
ae_what,ae,,text,Term,,,,,,
ae_grade,ae,,text,Grade,,,integer,,,
ae_criteria,ae,,checkbox,Criteria,"1, Serious | 2, Related to study drug",,,,,
ae_result,ae,,text,Outcome,,,,,,
"""
CLASSIC_RECORDS = """\
pid,redcap_repeat_instrument,redcap_repeat_instance,centre,gender,yob,sod1,first_symptom,\
first_region,baseline_complete,lab_when,lab_nfl,labs_complete,ae_start,ae_what,ae_grade,\
ae_criteria___1,ae_criteria___2,ae_result,ae_complete
P-1,,,HAM,f,1970,A4V,2021-05-04 08:30,2,2,,,,,,,,,,
P-1,labs,1,,,,,,,,2022-01-02,"31,5",2,,,,,,,
P-1,labs,2,,,,,,,,,,0,,,,,,,
P-1,ae,1,,,,,,,,,,,2022-02-03,pain,2,0,1,recovered,2
P-1,ae,2,,,,,,,,,,,,,,0,0,,0
"""
CLASSIC_MAPPING = """\
[patients]
form = "baseline"
site = "centre"
sex = { field = "gender", choices = { m = "M", f = "F" } }
birth_year = "yob"
status = { value = "patient" }
sod1_variant = "sod1"
zygosity = { value = "heterozygous" }
onset_date = "first_symptom"
onset_region = { field = "first_region", choices = { "1" = "bulbar", "2" = "lower_limb" } }
diagnosis_date = "first_symptom"

[[measurements]]
form = "labs"
date = "lab_when"
kind = { value = "nfl_serum" }
value = "lab_nfl"
unit = { value = "pg/mL" }

[[adverse_events]]
form = "ae"
onset_date = "ae_start"
term = "ae_what"
grade = "ae_grade"
serious = { field = "ae_criteria", checkbox = "1" }
related = { field = "ae_criteria", checkbox = "2" }
outcome = "ae_result"
"""


def test_a_classic_project_with_checkboxes_datetimes_and_comma_decimals(
        engine: Engine, tmp_path: Path) -> None:
    folder = _write(tmp_path / "classic", {"dict.csv": CLASSIC_DICTIONARY,
                                          "export.csv": CLASSIC_RECORDS,
                                          "map.toml": CLASSIC_MAPPING})
    report = import_redcap(engine, folder / "dict.csv", folder / "export.csv",
                           folder / "map.toml", today=TODAY)
    assert report.counts["measurements"] == (1, 0, 0)  # the blank second instance skipped
    assert report.counts["adverse_events"] == (1, 0, 0)  # unticked boxes are no data
    export_tidy(engine, tmp_path / "out")
    files = _tidy_files(tmp_path / "out")
    assert "P-1,HAM,F,1970,patient,A4V,heterozygous,2021-05-04,lower_limb,2021-05-04,,\n" \
           in files["patients.csv"]
    assert "P-1,2022-01-02,nfl_serum,31.5,pg/mL,,," in files["measurements.csv"]
    assert "P-1,2022-02-03,pain,2,0,1,recovered,,,," in files["adverse_events.csv"]


def test_progress_is_reported_per_file(engine: Engine, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int | None]] = []
    import_redcap_folder(engine, EXAMPLE, today=TODAY,
                         progress=lambda label, done, total: calls.append((label, done, total)))
    with (EXAMPLE / "records.csv").open(newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    assert ("records.csv", rows, rows) in calls
    assert calls[-1][0] == WRITING and calls[-1][1] == calls[-1][2] > 0  # then judged, written
    export_redcap(engine, tmp_path / "out",
                  progress=lambda label, done, total: calls.append((label, done, total)))
    assert calls[-1][0] == "records.csv" and calls[-1][1] == calls[-1][2]


def test_a_folder_is_read_by_the_headers_of_its_files(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXAMPLE, folder)
    (folder / "alsrwe_clinic.toml").unlink()
    (folder / "records.csv").rename(folder / "ALSClinic_DATA_2026-07-01_1200.csv")
    project = read_redcap_project(folder)
    assert (project.records.name, project.mapping) == ("ALSClinic_DATA_2026-07-01_1200.csv",
                                                       None)
    report = import_redcap_folder(engine, folder, today=TODAY)  # the shipped clinic mapping
    assert report.counts["patients"] == (40, 0, 0)
    (folder / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        read_redcap_project(folder)
    (problem,) = caught.value.problems
    assert problem.file == "notes.csv" and "second records file" in problem.rule


def test_a_broken_dictionary_names_its_line_and_column(tmp_path: Path) -> None:
    text = (EXAMPLE / "data_dictionary.csv").read_text(encoding="utf-8")
    text = text.replace('"1, Male | 2, Female"', '"1, Male | Female"').replace(
        "birth_year,demographics,,text", "birth_year,demographics,,number")
    (tmp_path / "dd.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        read_dictionary(tmp_path / "dd.csv")
    found = {(p.row, p.field): p.rule for p in caught.value.problems}
    assert found == {
        (5, "Choices, Calculations, OR Slider Labels"):
            "field sex (radio): 'Female' is not 'code, label'",
        (6, "Field Type"): "'number' (field birth_year) is not a REDCap field type; use "
                           "calc, checkbox, descriptive, dropdown, file, notes, radio, slider, "
                           "sql, text, truefalse, yesno",
    }


def test_checking_a_folder_without_a_registry(tmp_path: Path) -> None:
    check_redcap_folder(EXAMPLE, today=TODAY)
    folder = tmp_path / "export"
    shutil.copytree(EXAMPLE, folder)
    mapping = folder / "alsrwe_clinic.toml"
    mapping.write_text(mapping.read_text(encoding="utf-8").replace(
        'form = "alsfrs_r"\n', 'form = "alsfrs_r"\nevents = ["visit_1_arm"]\n'),
        encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        check_redcap_folder(folder, today=TODAY)
    assert [(p.file, p.field, p.rule) for p in caught.value.problems] == [
        ("alsrwe_clinic.toml", "alsfrs[1].events", "event visit_1_arm is not in the events file")]
    records = folder / "records.csv"
    mapping.write_text((EXAMPLE / "alsrwe_clinic.toml").read_text(encoding="utf-8"),
                       encoding="utf-8")
    records.write_text(records.read_text(encoding="utf-8").replace(",2021-03-29,0,4,3,4,",
                                                                   ",2021-03-29,0,4,3,9,", 1),
                       encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        check_redcap_folder(folder, today=TODAY)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.field) == ("records.csv", 5, "alsfrs_3")
    assert problem.rule.startswith("item 3 (swallowing) must be a whole number from 0 to 4")
