"""FHIR import: all or nothing, problems placed at the resource and element, foreign Bundles.

Each bad input is checked against what the tidy CSV path says about the same value (the
outside reference for rule texts and codes), and every import against the registry's own
tidy export afterwards.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from alsrwe.domain.errors import InvalidInput, Problem, UnconfirmedWarnings
from alsrwe.interop.fhir import (
    FHIR_INVALID,
    bundle_of,
    import_fhir,
    patient_fhir_id,
    pseudonym_of_fhir_id,
    resources_for,
    rows_of_resources,
)
from alsrwe.interop.tidy_csv import check_tidy_dir, export_tidy, import_tidy
from alsrwe.interop.tidy_csv.export import text_tables
from alsrwe.store.db import unit_of_work

TODAY = date(2026, 11, 25)
CSV = {
    "patients": "patient_id,site,sex,birth_year,status,sod1_variant,zygosity,onset_date,"
                "onset_region,diagnosis_date,site_name\n"
                "BER-001,BER,F,1968,patient,A4V,heterozygous,2022-03-01,lower_limb,"
                "2022-09-15,Berlin\n",
    "alsfrs": "patient_id,date,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,gastrostomy,source\n"
              "BER-001,2023-01-10,4,4,4,3,3,4,4,2,2,4,4,4,0,clinic\n",
    "measurements": "patient_id,date,kind,value,unit,assay,lab\n"
                    "BER-001,2023-01-10,nfl_serum,78.5,pg/mL,simoa,Lab A\n",
    "administrations": "patient_id,date,drug,dose_mg,status,lot,csf_removed_ml\n"
                       "BER-001,2023-01-10,tofersen,100,given,L1,10\n",
}


def tables(changes: dict[str, tuple[str, str]] | None = None) -> dict[str, list[dict[str, str]]]:
    """The small registry above as text tables; ``changes`` replaces text in one file."""
    texts = dict(CSV)
    for table, (old, new) in (changes or {}).items():
        texts[table] = texts[table].replace(old, new)
    return {name: list(csv.DictReader(io.StringIO(text))) for name, text in texts.items()}


def resources(changes: dict[str, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    return resources_for(tables(changes))


def write_bundle(folder: Path, items: list[dict[str, Any]], kind: str = "transaction") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bundle.json"
    path.write_text(json.dumps(bundle_of(items, kind)), encoding="utf-8")
    return path


def rows_in(engine: Engine) -> dict[str, int]:
    with unit_of_work(engine, read_only=True) as session:
        return {name: len(rows) for name, rows in text_tables(session).items()}


def refused(engine: Engine, path: Path) -> list[Problem]:
    with pytest.raises(InvalidInput) as caught:
        import_fhir(engine, path, today=TODAY)
    assert set(rows_in(engine).values()) == {0}, "nothing may be written"
    return list(caught.value.problems)


def tidy_problem(tmp_path: Path, changes: dict[str, tuple[str, str]]) -> Problem:
    """What the tidy CSV import says about the same change (the reference)."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, rows in tables(changes).items():
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with pytest.raises(InvalidInput) as caught:
        check_tidy_dir(folder, today=TODAY)
    (problem,) = caught.value.problems
    return problem


def by_type(items: list[dict[str, Any]], kind: str) -> tuple[int, dict[str, Any]]:
    """The entry number (from 1) and resource of the first resource of ``kind``."""
    return next((n, r) for n, r in enumerate(items, start=1) if r["resourceType"] == kind)


def of_table(items: list[dict[str, Any]], table: str) -> tuple[int, dict[str, Any]]:
    """The entry number and resource of the first record of a tidy table (by identifier)."""
    def system(resource: dict[str, Any]) -> str:
        ident = resource.get("identifier")
        first = ident[0] if isinstance(ident, list) else ident or {}
        return str(first.get("system", ""))

    return next((n, r) for n, r in enumerate(items, start=1)
                if system(r).endswith(f"/{table}"))


def test_invalid_fhir_imports_nothing_and_names_the_element(engine: Engine,
                                                             tmp_path: Path) -> None:
    items = resources()
    number, observation = of_table(items, "measurements")
    observation["valueQuantity"]["value"] = "a lot"
    (problem,) = refused(engine, write_bundle(tmp_path, items))
    assert problem.field == "valueQuantity.value"
    assert problem.file == f"bundle.json Observation/{observation['id']}"
    assert problem.row == number
    assert problem.code == FHIR_INVALID
    assert "not valid FHIR R4B" in problem.rule


@pytest.mark.parametrize(("changes", "table", "element"), [
    ({"alsfrs": (",3,3,4,4,2", ",3,5,4,4,2")}, "alsfrs", "item[q5a].answer[0].valueInteger"),
    ({"measurements": ("78.5", "-2")}, "measurements", "valueQuantity.value"),
    ({"administrations": ("tofersen,100", "tofersen,0")}, "administrations",
     "dosage.dose.value"),
    ({"measurements": ("2023-01-10", "1950-01-10")}, "measurements", "effectiveDateTime"),
])
def test_a_refused_value_gets_the_tidy_rule_at_its_element(
        engine: Engine, tmp_path: Path, changes: dict[str, tuple[str, str]], table: str,
        element: str) -> None:
    reference = tidy_problem(tmp_path, changes)
    items = resources(changes)
    problems = refused(engine, write_bundle(tmp_path / "fhir", items))
    (problem,) = problems
    number, bad = of_table(items, table)
    resource = bad["resourceType"]
    assert (problem.rule, problem.code, problem.soft) == (reference.rule, reference.code,
                                                          reference.soft)
    assert (problem.field, problem.file, problem.row) == (
        element, f"bundle.json {resource}/{bad['id']}", number)


def test_every_problem_of_every_resource_is_reported(engine: Engine, tmp_path: Path) -> None:
    items = resources({"alsfrs": (",3,3,4,4,2", ",3,5,4,4,2")})
    _, patient = by_type(items, "Patient")
    patient["identifier"] = [{"system": "urn:oid:1.2.3", "value": "MRN-4711"}]
    patient["name"] = [{"family": "Doe"}]
    _, total = of_table(items, "alsfrs-total")
    total["valueQuantity"]["value"] = 47
    problems = refused(engine, write_bundle(tmp_path, items))
    fields = {(p.file.split(" ")[1].split("/")[0], p.field) for p in problems
              if p.file and " " in p.file}
    assert ("Patient", "identifier") in fields
    assert ("Patient", "name") in fields
    assert ("Observation", "valueQuantity.value") in fields
    assert ("QuestionnaireResponse", "item[q5a].answer[0].valueInteger") in fields
    privacy = [p for p in problems if p.field == "name"]
    assert privacy[0].code == "privacy.identifying_column"
    assert any("pseudonym" in p.rule for p in problems if p.field == "identifier")


def test_a_total_that_is_not_the_sum_of_its_items_is_refused(engine: Engine,
                                                              tmp_path: Path) -> None:
    items = resources()
    number, total = of_table(items, "alsfrs-total")
    total["valueQuantity"]["value"] = 40  # the items sum to 42
    (problem,) = refused(engine, write_bundle(tmp_path, items))
    assert problem.field == "valueQuantity.value" and problem.row == number
    assert "(42)" in problem.rule


def _foreign(kind: str) -> list[dict[str, Any]]:
    """A Bundle as another system would send it: no ids, POST, urn:uuid references."""
    def ref(n: int) -> dict[str, str]:
        return {"reference": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"}

    loinc = "http://loinc.org"
    entries: list[dict[str, Any]] = [
        {"resourceType": "Organization", "identifier": [
            {"system": "https://alsrwe.org/fhir/site", "value": "MUC"}], "name": "Munich"},
        {"resourceType": "Patient", "identifier": [
            {"system": "https://alsrwe.org/fhir/pseudonym", "value": "MUC-9"}],
         "gender": "female", "birthDate": "1970", "managingOrganization": ref(1)},
        {"resourceType": "Condition", "code": {"coding": [
            {"system": "http://snomed.info/sct", "code": "86044005"}]}, "subject": ref(2),
         "onsetDateTime": "2021-05-04T10:00:00+02:00",
         "bodySite": [{"coding": [{"system": "https://alsrwe.org/fhir/CodeSystem/onset-region",
                                   "code": "upper_limb"}]}]},
        {"resourceType": "Observation", "status": "final", "code": {"coding": [
            {"system": loinc, "code": "69548-6"}]}, "subject": ref(2),
         "component": [
             {"code": {"coding": [{"system": loinc, "code": "48004-6"}]},
              "valueCodeableConcept": {"coding": [{"system": "http://varnomen.hgvs.org",
                                                   "code": "NM_000454.5:c.14C>T"}]}},
             {"code": {"coding": [{"system": loinc, "code": "48005-3"}]},
              "valueCodeableConcept": {"coding": [{"system": "http://varnomen.hgvs.org",
                                                   "code": "NP_000445.1:p.Ala5Val"}]}},
             {"code": {"coding": [{"system": loinc, "code": "53034-5"}]},
              "valueCodeableConcept": {"coding": [{"system": loinc, "code": "LA6706-1"}]}}]},
        {"resourceType": "Medication", "code": {"text": "Qalsody"},
         "batch": {"lotNumber": "QX-1"}},
        {"resourceType": "MedicationAdministration", "status": "completed",
         "medicationReference": ref(5), "subject": ref(2),
         "effectiveDateTime": "2022-02-01T08:30:00Z",
         "dosage": {"dose": {"value": 100.0, "unit": "mg", "system": "http://unitsofmeasure.org",
                             "code": "mg"}}},
        {"resourceType": "QuestionnaireResponse",
         "questionnaire": "https://alsrwe.org/fhir/Questionnaire/alsfrs-r|1",
         "status": "completed", "subject": ref(2), "authored": "2022-02-01",
         "item": [{"linkId": "bulbar", "item": [
             {"linkId": q, "answer": [{"valueInteger": 3}]} for q in ("q1", "q2", "q3")]},
             *({"linkId": q, "answer": [{"valueInteger": 2}]}
               for q in ("q4", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12"))],
         "source": ref(2)},
        {"resourceType": "Observation", "status": "final", "code": {"coding": [
            {"system": loinc, "code": "82953-1"}]}, "subject": ref(2),
         "valueInteger": 27, "derivedFrom": [ref(7)]},
        {"resourceType": "Observation", "status": "final", "code": {"coding": [
            {"system": loinc, "code": "2880-3"}]}, "subject": ref(2),
         "effectiveDateTime": "2022-02-01",
         "valueQuantity": {"value": 0.45, "unit": "g/L",
                           "system": "http://unitsofmeasure.org", "code": "g/L"}},
        {"resourceType": "Encounter", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                   "code": "AMB"}},
    ]
    full: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}", "resource": r}
        for n, r in enumerate(entries, start=1)]
    full[-1]["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-0000000000aa"
    for entry in full:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    return [{"resourceType": "Bundle", "type": kind, "entry": full}]


@pytest.mark.parametrize("kind", ["transaction", "batch", "collection"])
def test_a_foreign_bundle_with_urn_uuid_references(engine: Engine, tmp_path: Path,
                                                    kind: str) -> None:
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(_foreign(kind)[0]), encoding="utf-8")
    report = import_fhir(engine, path, today=TODAY)
    assert report.ignored_columns == {"fhir": ["Encounter ×1",
                                               "Observation (ALSFRS-R total, derived) ×1"]}
    export_tidy(engine, tmp_path / "out")

    def row(table: str) -> dict[str, str]:
        with (tmp_path / "out" / f"{table}.csv").open(newline="") as handle:
            (only,) = list(csv.DictReader(handle))
        return only

    assert row("patients") == {
        "patient_id": "MUC-9", "site": "MUC", "sex": "F", "birth_year": "1970",
        "status": "patient", "sod1_variant": "NM_000454.5:c.14C>T NP_000445.1:p.Ala5Val",
        "zygosity": "heterozygous", "onset_date": "2021-05-04", "onset_region": "upper_limb",
        "diagnosis_date": "", "site_name": "Munich", "confirmed_warnings": ""}
    alsfrs = row("alsfrs")
    assert (alsfrs["q1"], alsfrs["q5"], alsfrs["gastrostomy"], alsfrs["source"]) == \
        ("3", "2", "1", "self")
    dose = row("administrations")
    assert (dose["date"], dose["drug"], dose["dose_mg"], dose["lot"]) == \
        ("2022-02-01", "tofersen", "100", "QX-1")
    protein = row("measurements")
    assert (protein["kind"], protein["value"], protein["unit"]) == ("csf_protein", "45", "mg/dL")


def test_a_patient_without_a_pseudonym_is_refused(engine: Engine, tmp_path: Path) -> None:
    items = resources()
    _, patient = by_type(items, "Patient")
    patient["identifier"] = []
    problems = refused(engine, write_bundle(tmp_path, items))
    assert [p.field for p in problems if p.file and "Patient/" in p.file] == ["identifier"]
    assert "no alsrwe pseudonym" in problems[0].rule


def test_ndjson_lines_are_placed_and_other_files_refused(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    lines = [json.dumps(r) for r in resources()]
    lines.insert(2, "{not json")
    (folder / "all.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    problems = refused(engine, folder)
    assert {(p.file, p.row) for p in problems} == {("all.ndjson", 3), ("notes.txt", None)}


def test_a_single_observation_of_a_registered_patient(engine: Engine, tmp_path: Path) -> None:
    import_fhir(engine, write_bundle(tmp_path, resources()), today=TODAY)
    observation = copy.deepcopy(of_table(resources(), "measurements")[1])
    observation["subject"] = {"reference": "Patient/server-17"}
    observation["effectiveDateTime"] = "2023-02-10"
    rows, problems, ignored = rows_of_resources([(None, observation)], "POST Observation",
                                                known_patients={"server-17": "BER-001"})
    assert (problems, ignored) == ([], {})
    assert rows["measurements"][0].values["patient_id"] == "BER-001"
    _, unknown, _ = rows_of_resources([(None, observation)], "POST Observation")
    assert [p.field for p in unknown] == ["subject"]


def test_tidy_csv_and_fhir_agree_on_a_cohort_of_one(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, text in CSV.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    import_fhir(engine, write_bundle(tmp_path / "fhir", resources()), today=TODAY)
    export_tidy(engine, tmp_path / "via-fhir")
    from alsrwe.store.db import make_engine, migrate

    other = make_engine(f"sqlite:///{tmp_path / 'csv.db'}")
    try:
        migrate(other)
        import_tidy(other, folder, today=TODAY)
        export_tidy(other, tmp_path / "via-csv")
    finally:
        other.dispose()
    for name in CSV:
        assert (tmp_path / "via-fhir" / f"{name}.csv").read_bytes() == \
            (tmp_path / "via-csv" / f"{name}.csv").read_bytes()


_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@given(st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=40))
def test_patient_ids_are_fhir_ids_and_reversible(pseudonym: str) -> None:
    fhir_id = patient_fhir_id(pseudonym)
    assert _FHIR_ID.fullmatch(fhir_id)
    back = pseudonym_of_fhir_id(fhir_id)
    assert back == pseudonym or (back is None and fhir_id.startswith("u."))


@pytest.mark.parametrize(("pseudonym", "fhir_id"), [
    ("BER-0017", "BER-0017"), ("ber_17", "ber.-17"), ("a.b", "a..b"), ("x._", "x...-")])
def test_patient_ids_stay_readable(pseudonym: str, fhir_id: str) -> None:
    assert patient_fhir_id(pseudonym) == fhir_id
    assert pseudonym_of_fhir_id(fhir_id) == pseudonym


def test_distinct_pseudonyms_get_distinct_ids() -> None:
    names = ["a_b", "a.-b", "a-b", "a..b", "a.b", "_" * 40, "." * 40, "_." * 20]
    assert len({patient_fhir_id(n) for n in names}) == len(names)
    assert pseudonym_of_fhir_id("a.b") is None


def test_a_warning_is_confirmed_by_its_extension_or_for_the_whole_import(
        engine: Engine, tmp_path: Path) -> None:
    changes = {"administrations": ("tofersen,100", "tofersen,90")}
    reference = tidy_problem(tmp_path, changes)
    items = resources(changes)
    number, dose = of_table(items, "administrations")
    path = write_bundle(tmp_path / "fhir", items)
    with pytest.raises(UnconfirmedWarnings) as caught:
        import_fhir(engine, path, today=TODAY)
    (problem,) = caught.value.problems
    assert (problem.rule, problem.code, problem.soft) == (reference.rule, reference.code, True)
    assert (problem.field, problem.row) == ("dosage.dose.value", number)
    dose["extension"] = [{"url": "https://alsrwe.org/fhir/StructureDefinition/"
                                 "confirmed-warnings", "valueString": problem.code}]
    import_fhir(engine, write_bundle(tmp_path / "confirmed", items), today=TODAY)
    export_tidy(engine, tmp_path / "out")
    with (tmp_path / "out" / "administrations.csv").open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["dose_mg"], row["confirmed_warnings"]) == ("90", "dose.not_label_dose")


@pytest.mark.parametrize(("bundle", "field"), [
    ({"resourceType": "Bundle", "type": "document", "entry": []}, "type"),
    ({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/BER-001"},
         "resource": {"resourceType": "Patient", "id": "BER-001"}}]}, "entry.request.method"),
    ({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patinet", "id": "x"}}]}, "resourceType"),
])
def test_bundles_alsrwe_does_not_read(engine: Engine, tmp_path: Path, bundle: dict[str, Any],
                                      field: str) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    (problem,) = refused(engine, path)
    assert (problem.field, problem.file) == (field, "odd.json")
