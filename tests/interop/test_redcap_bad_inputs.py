"""What a busy clinic sends: each bad input is one clear problem naming the file, the line
and the REDCap field (or the mapping key), and nothing is written. The same bad value sent
as tidy CSV gets the same rule text and code."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.interop.redcap import import_redcap_folder
from alsrwe.interop.tidy_csv import check_tidy_dir, write_frames
from alsrwe.store import models
from alsrwe.store.db import unit_of_work
from alsrwe.synth import generate_cohort
from tests.interop.test_redcap_example import EXAMPLE, EXAMPLE_PARAMS

TODAY = date(2026, 7, 1)
Row = dict[str, str]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "clinic"
    shutil.copytree(EXAMPLE, folder)
    return folder


def _edit_records(folder: Path, where: Callable[[Row], bool], change: Callable[[Row], None],
                  ) -> int:
    """Change the first row ``where`` holds; its line in records.csv."""
    path = folder / "records.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    line = next(i for i, row in enumerate(rows, 2) if where(row))
    change(rows[line - 2])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return line


def _edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _refused(engine: Engine, folder: Path) -> tuple[Problem, ...]:
    with pytest.raises(InvalidInput) as caught:
        import_redcap_folder(engine, folder, today=TODAY)
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.Patient)) == 0
        assert session.scalar(select(func.count()).select_from(models.AuditEntry)) == 0
    return caught.value.problems


def _first_visit(row: Row) -> bool:
    return row["record_id"] == "1" and row["redcap_event_name"] == "visit_1_arm_1"


def _set(name: str, value: str) -> Callable[[Row], None]:
    def change(row: Row) -> None:
        row[name] = value
    return change


def test_a_mapping_naming_a_field_not_in_the_dictionary(engine: Engine, project: Path) -> None:
    _edit_text(project / "alsrwe_clinic.toml", '\nvalue = "svc_percent"',
               '\nvalue = "svc_pct"')
    (problem,) = _refused(engine, project)
    assert (problem.file, problem.field) == ("alsrwe_clinic.toml", "measurements[2].value")
    assert "field svc_pct is not in the data dictionary (data_dictionary.csv)" in problem.rule


def test_a_mapping_key_that_does_not_exist(engine: Engine, project: Path) -> None:
    _edit_text(project / "alsrwe_clinic.toml", 'start_date = "cm_start_date"',
               'start = "cm_start_date"')
    problems = {p.field: p.rule for p in _refused(engine, project)}
    assert problems.keys() == {"medications[1].start", "medications[1].start_date"}
    assert "extra" in problems["medications[1].start"].lower()


def test_a_mapping_choice_code_the_dictionary_does_not_have(engine: Engine,
                                                            project: Path) -> None:
    _edit_text(project / "alsrwe_clinic.toml", '"2" = "F"', '"3" = "F"')
    (problem,) = _refused(engine, project)
    assert (problem.file, problem.field) == ("alsrwe_clinic.toml", "patients.sex")
    assert "choice code(s) 3 are not choices of field sex" in problem.rule


def test_a_record_with_a_choice_code_not_in_the_dictionary(engine: Engine,
                                                           project: Path) -> None:
    line = _edit_records(project, lambda r: r["study_id"] == "BER-0002", _set("sex", "3"))
    (problem,) = _refused(engine, project)
    assert (problem.file, problem.row, problem.field) == ("records.csv", line, "sex")
    assert problem.rule == ("'3' is not one of the field's choices in the data dictionary "
                            "(1 = Male; 2 = Female)")


def test_a_dictionary_choice_the_mapping_does_not_translate(engine: Engine,
                                                            project: Path) -> None:
    _edit_text(project / "data_dictionary.csv", '"1, Male | 2, Female"',
               '"1, Male | 2, Female | 3, Not known"')
    line = _edit_records(project, lambda r: r["study_id"] == "BER-0002", _set("sex", "3"))
    (problem,) = _refused(engine, project)
    assert (problem.row, problem.field) == (line, "sex")
    assert problem.rule == ("code 3 (Not known) has no alsrwe value: add it to mapping key "
                            "patients.sex.choices")


def _tidy_problems(tmp_path: Path, table: str, where: Callable[[Row], bool], column: str,
                   value: str) -> tuple[Problem, ...]:
    """The problems of the same cohort as tidy CSV with one cell changed."""
    folder = tmp_path / "tidy"
    write_frames(generate_cohort(EXAMPLE_PARAMS).tables(), folder)
    path = folder / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    target = next(row for row in rows if where(row))
    target[column] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(InvalidInput) as caught:
        check_tidy_dir(folder, today=TODAY)
    return caught.value.problems


def _first_rating(row: Row) -> bool:
    return (row["patient_id"], row["date"], row["source"]) == ("BER-0001", "2021-03-29",
                                                                "clinic")


@pytest.mark.parametrize(("field", "column", "value"), [
    ("alsfrs_3", "q3", "5"),
    ("alsfrs_date", "date", "31/02/2024"),
])
def test_a_bad_alsfrs_value_gets_the_tidy_rule_named_by_its_redcap_field(
        engine: Engine, project: Path, tmp_path: Path, field: str, column: str,
        value: str) -> None:
    line = _edit_records(project, _first_visit, _set(field, value))
    (problem,) = _refused(engine, project)
    assert (problem.file, problem.row, problem.field) == ("records.csv", line, field)
    (tidy,) = _tidy_problems(tmp_path, "alsfrs", _first_rating, column, value)
    assert tidy.field == column
    assert (problem.rule, problem.code, problem.soft) == (tidy.rule, tidy.code, tidy.soft)


def test_a_repeat_instance_without_its_instrument(engine: Engine, project: Path) -> None:
    line = _edit_records(project, lambda r: r["redcap_repeat_instrument"] == "adverse_event",
                         _set("redcap_repeat_instrument", ""))
    (problem,) = _refused(engine, project)
    assert (problem.file, problem.row, problem.field) == ("records.csv", line,
                                                         "redcap_repeat_instrument")
    assert "has repeat instance 1: name its repeating instrument" in problem.rule


def test_a_records_file_whose_header_lacks_the_record_id(engine: Engine,
                                                         project: Path) -> None:
    _edit_text(project / "records.csv", "record_id,redcap_event_name",
               "Record ID,redcap_event_name")
    problems = _refused(engine, project)
    assert [(p.file, p.row, p.field) for p in problems] == [("records.csv", 1, "record_id")]
    assert "the header lacks the record id field record_id" in problems[0].rule


def test_an_identifier_in_the_records_is_refused(engine: Engine, project: Path) -> None:
    _edit_text(project / "records.csv", "record_id,redcap_event_name",
               "record_id,patient_name,redcap_event_name")
    _edit_text(project / "records.csv", "\n1,enrolment_arm_1,", "\n1,Jane Doe,enrolment_arm_1,")
    problems = _refused(engine, project)
    assert {(p.file, p.row, p.field, p.code) for p in problems} == {
        ("records.csv", 1, "patient_name", "privacy.identifying_column")}


def test_both_item_5_scales_and_a_missing_pseudonym(engine: Engine, project: Path) -> None:
    line = _edit_records(project, _first_visit, _set("alsfrs_5b", "2"))
    first = _edit_records(project, lambda r: r["study_id"] == "BER-0002", _set("study_id", ""))
    problems = sorted((p.row or 0, p.field or "", p.rule) for p in _refused(engine, project))
    assert [(row, name) for row, name, _ in problems] == [(line, "alsfrs_5b"),
                                                          (first, "study_id")]
    assert "item 5a (alsfrs_5a) and item 5b (alsfrs_5b) are both scored" in problems[0][2]
    assert problems[1][2].startswith("record 2 has no pseudonym: field study_id")


def test_the_same_rule_from_the_rulebook_is_named_by_field(engine: Engine,
                                                           project: Path) -> None:
    """A record after death (a rule across rows) is placed on its line and field too."""
    _edit_records(project, lambda r: r["record_id"] == "1" and bool(r["niv_date"]),
                  _set("death_date", "2021-01-01"))
    visit = _edit_records(project, _first_visit, lambda row: None)
    problems = _refused(engine, project)
    assert problems and all(p.file == "records.csv" and p.row and p.field for p in problems)
    found = {(p.row, p.field): p.rule for p in problems}
    assert found[visit, "alsfrs_date"] == "2021-03-29 is after the patient's death on 2021-01-01"
    assert found[visit, "visit_date"] == found[visit, "alsfrs_date"]  # its measurements
    assert not any(p.field in ("date", "q5", "start_date", "onset_date") for p in problems)


def test_a_field_the_dictionary_marks_as_an_identifier_is_not_read(engine: Engine,
                                                                   project: Path) -> None:
    _edit_text(project / "data_dictionary.csv", '"As reported, e.g. A4V or p.(Ala5Val)",,,,',
               '"As reported, e.g. A4V or p.(Ala5Val)",,,,y')
    (problem,) = _refused(engine, project)
    assert (problem.file, problem.field) == ("alsrwe_clinic.toml", "patients.sod1_variant")
    assert "field sod1_variant is marked as an identifier" in problem.rule


def test_item_5b_scored_while_the_gastrostomy_answer_says_5a(engine: Engine,
                                                             project: Path) -> None:
    def change(row: Row) -> None:
        row["alsfrs_5b"], row["alsfrs_5a"] = row["alsfrs_5a"], ""

    line = _edit_records(project, _first_visit, change)
    (problem,) = _refused(engine, project)
    assert (problem.row, problem.field) == (line, "alsfrs_gastrostomy")
    assert problem.rule == "is 0 (5a) but item 5b (alsfrs_5b) is scored"
