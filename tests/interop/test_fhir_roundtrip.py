"""FHIR R4 export and import of a whole registry, on SQLite and PostgreSQL.

The reference is the tidy CSV path: a synthetic cohort (with the corner cases added by hand)
goes into a first registry by tidy CSV; its FHIR export, imported into an empty registry,
must give back the first registry's tidy export byte for byte, and the same FHIR again.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import Engine

from alsrwe.domain.tidy_format import TABLES, TABLES_BY_NAME
from alsrwe.interop.codes import LOINC_CANDIDATES
from alsrwe.interop.fhir import (
    code_systems,
    export_fhir,
    import_fhir,
    pseudonym_of_fhir_id,
    questionnaire,
)
from alsrwe.interop.tidy_csv import export_tidy, import_tidy, write_frames
from alsrwe.store.db import make_engine
from alsrwe.synth import CohortParams, generate_cohort

TODAY = date(2025, 6, 2)

EXTRA: dict[str, list[dict[str, str]]] = {
    "patients": [
        {"patient_id": "ZZ_x.1", "site": "ZZ_1", "sex": "F", "birth_year": "1980",
         "status": "patient", "sod1_variant": "c.14C>T p.(Ala5Val)", "zygosity": "homozygous",
         "onset_date": "2020-01-01", "onset_region": "bulbar", "diagnosis_date": "2020-06-01",
         "site_name": "=Zeta site"},
        {"patient_id": "ZZ-0002", "site": "ZZ_1", "sex": "M", "birth_year": "1990",
         "status": "carrier", "sod1_variant": "c.272A>C", "zygosity": "heterozygous",
         "site_name": "=Zeta site"},
        {"patient_id": "ZZ-0003", "site": "ZZ_1", "sex": "M", "birth_year": "1966",
         "status": "patient", "sod1_variant": "L106X", "zygosity": "heterozygous",
         "onset_date": "2021-03-01", "onset_region": "generalized", "diagnosis_date": "",
         "site_name": "=Zeta site"},
    ],
    "alsfrs": [
        {"patient_id": "ZZ_x.1", "date": "2022-02-01", **{f"q{i}": "3" for i in range(1, 13)},
         "gastrostomy": "1", "source": "self"},
        {"patient_id": "ZZ_x.1", "date": "2022-02-01", **{f"q{i}": "2" for i in range(1, 13)},
         "gastrostomy": "1", "source": "clinic"},
    ],
    "measurements": [
        {"patient_id": "ZZ_x.1", "date": "2022-02-01", "kind": "hhd_megascore",
         "value": "-0.25", "unit": "score"},
        {"patient_id": "ZZ_x.1", "date": "2022-02-01", "kind": "nfl_serum", "value": "81.5",
         "unit": "ng/L", "assay": "Roche Elecsys", "lab": "+Lab Zeta"},
        {"patient_id": "ZZ_x.1", "date": "2022-02-01", "kind": "csf_wbc", "value": "3",
         "unit": "cells/uL"},
    ],
    "administrations": [
        {"patient_id": "ZZ_x.1", "date": "2022-01-03", "drug": "tofersen", "dose_mg": "100",
         "status": "given", "lot": "-LOT1", "csf_removed_ml": "0"},
        {"patient_id": "ZZ_x.1", "date": "2022-01-17", "drug": "Qalsody", "dose_mg": "",
         "status": "deferred", "lot": "", "csf_removed_ml": ""},
        {"patient_id": "ZZ_x.1", "date": "2022-01-20", "drug": "tofersen", "dose_mg": "90",
         "status": "given", "lot": "", "csf_removed_ml": "10",
         "confirmed_warnings": "dose.not_label_dose"},
        {"patient_id": "ZZ_x.1", "date": "2022-02-03", "drug": "tofersen", "dose_mg": "",
         "status": "missed", "lot": "", "csf_removed_ml": ""},
        {"patient_id": "ZZ_x.1", "date": "2022-03-01", "drug": "edaravone_iv",
         "dose_mg": "60", "status": "given", "lot": "E1", "csf_removed_ml": ""},
    ],
    "medications": [
        {"patient_id": "ZZ_x.1", "drug": "Rilutek", "start_date": "2020-07-01",
         "stop_date": "2021-07-01"},
    ],
    "adverse_events": [
        {"patient_id": "ZZ_x.1", "onset_date": "2022-01-21", "term": "other", "grade": "2",
         "serious": "1", "related": "1", "outcome": "recovered_with_sequelae",
         "resolved_date": "2022-02-10", "term_text": "@post-LP headache",
         "action": "withdrawn"},
        {"patient_id": "ZZ_x.1", "onset_date": "2021-12-01", "term": "fatigue", "grade": "1",
         "serious": "0", "related": "0", "outcome": "unknown", "resolved_date": ""},
    ],
    "milestones": [
        {"patient_id": "ZZ_x.1", "date": "2022-04-01", "kind": "tracheostomy"},
        {"patient_id": "ZZ_x.1", "date": "2022-05-01", "kind": "death"},
    ],
}
"""Corner cases the synthetic cohort lacks: an id FHIR must escape, a site code with "_",
free text that looks like a formula, a homozygous cDNA variant, a bare cDNA carrier, a
stop-gain, a self-report with gastrostomy, a negative megascore, units converted on import,
a deferred dose named by its brand, a missed dose, a confirmed warning, IV edaravone, a
tracheostomy and a death."""


def _append(folder: Path, table: str, rows: list[dict[str, str]]) -> None:
    path = folder / TABLES_BY_NAME[table].filename
    with path.open(newline="") as handle:
        existing = list(csv.DictReader(handle))
    columns = list(TABLES_BY_NAME[table].columns)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(existing + rows)


@dataclass(frozen=True)
class Reference:
    """The first registry's exports: what every FHIR round trip must give back."""

    tidy: Path
    fhir: Path
    ndjson: Path
    counts: dict[str, int]
    ndjson_counts: dict[str, int]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory,
              migrated_sqlite_template: Path) -> Reference:
    root = tmp_path_factory.mktemp("fhir-reference")
    cohort = generate_cohort(CohortParams(seed=11, n_patients=22, n_carriers=6,
                                          as_of=date(2025, 6, 1))).tables()
    write_frames(cohort, root / "in")
    for table, rows in EXTRA.items():
        _append(root / "in", table, rows)
    shutil.copyfile(migrated_sqlite_template, root / "first.db")
    first = make_engine(f"sqlite:///{root / 'first.db'}")
    try:
        import_tidy(first, root / "in", today=TODAY, accept_warnings=True)
        export_tidy(first, root / "tidy")
        counts = export_fhir(first, root / "fhir")
        ndjson_counts = export_fhir(first, root / "ndjson", ndjson=True)
    finally:
        first.dispose()
    return Reference(root / "tidy", root / "fhir", root / "ndjson", counts, ndjson_counts)


def _bundle(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    return loaded


def _rows(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / TABLES_BY_NAME[table].filename).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _same_tidy(first: Path, second: Path) -> None:
    for spec in TABLES:
        assert (first / spec.filename).read_bytes() == (second / spec.filename).read_bytes(), \
            spec.filename


def test_every_exported_resource_is_valid_r4b(reference: Reference) -> None:
    bundle = _bundle(reference.fhir)
    assert bundle["type"] == "transaction"
    kinds: Counter[str] = Counter()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["request"] == {"method": "PUT",
                                    "url": f"{resource['resourceType']}/{resource['id']}"}
        kinds[resource["resourceType"]] += 1
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"}
                                 for e in bundle["entry"]]}
    get_fhir_model_class("Bundle").model_validate(shell)  # the resources one by one above
    assert dict(kinds) == reference.counts
    for resource in [questionnaire(), *code_systems()]:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_the_export_holds_every_row_and_nothing_identifying(reference: Reference) -> None:
    rows = {spec.name: _rows(reference.tidy, spec.name) for spec in TABLES}
    resources = [e["resource"] for e in _bundle(reference.fhir)["entry"]]
    by_type = Counter(r["resourceType"] for r in resources)
    given_it = sum(1 for r in rows["administrations"]
                   if r["status"] == "given" and r["drug"] == "tofersen")
    not_death = sum(1 for r in rows["milestones"] if r["kind"] != "death")
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    assert len(patients) == len(rows["patients"])
    assert by_type["QuestionnaireResponse"] == len(rows["alsfrs"])
    assert by_type["MedicationAdministration"] == len(rows["administrations"])
    assert by_type["Procedure"] == given_it + not_death
    assert by_type["Condition"] == sum(1 for r in rows["patients"] if r["status"] == "patient")
    assert by_type["Observation"] == (len(rows["measurements"]) + len(rows["alsfrs"])
                                      + len(rows["patients"]))
    assert sum("deceasedDateTime" in p for p in patients) == sum(
        1 for r in rows["milestones"] if r["kind"] == "death")
    for p in patients:
        assert set(p) <= {"resourceType", "id", "extension", "identifier", "gender",
                          "birthDate", "deceasedDateTime", "_deceasedDateTime",
                          "managingOrganization"}
        assert len(p["birthDate"]) == 4
        assert pseudonym_of_fhir_id(p["id"]) == p["identifier"][0]["value"]
    text = (reference.fhir / "bundle.json").read_text(encoding="utf-8")
    for candidates in LOINC_CANDIDATES.values():
        for code in candidates:
            assert f'"{code}"' not in text
    escaped = next(p for p in patients if p["identifier"][0]["value"] == "ZZ_x.1")
    assert escaped["id"] == "ZZ.-x..1"
    confirmed = [r for r in resources for e in r.get("extension", [])
                 if e["url"].endswith("/confirmed-warnings")]
    assert len(confirmed) == sum(1 for table in rows.values() for r in table
                                 if r["confirmed_warnings"]) > 1


def test_fhir_round_trip_gives_the_same_registry_and_the_same_fhir(
        engine: Engine, reference: Reference, tmp_path: Path) -> None:
    report = import_fhir(engine, reference.fhir / "bundle.json", today=TODAY)
    tidy_rows = {spec.name: len(_rows(reference.tidy, spec.name)) for spec in TABLES}
    assert {t: c[0] for t, c in report.counts.items()} == tidy_rows
    assert "Questionnaire ×1" in report.ignored_columns["fhir"]
    export_tidy(engine, tmp_path / "tidy")
    _same_tidy(reference.tidy, tmp_path / "tidy")
    export_fhir(engine, tmp_path / "fhir")
    assert (tmp_path / "fhir" / "bundle.json").read_bytes() == \
        (reference.fhir / "bundle.json").read_bytes()
    entered = {p["patient_id"]: p["sod1_variant"] for p in _rows(tmp_path / "tidy", "patients")}
    assert entered["ZZ_x.1"] == "c.14C>T p.(Ala5Val)"
    assert entered["ZZ-0002"] == "c.272A>C"
    assert entered["ZZ-0003"] == "L106X"

    again = import_fhir(engine, reference.fhir / "bundle.json", today=TODAY)
    assert again.counts == {t: (0, 0, n) for t, n in tidy_rows.items()}
    export_tidy(engine, tmp_path / "again")
    _same_tidy(reference.tidy, tmp_path / "again")


def test_ndjson_round_trip(engine: Engine, reference: Reference, tmp_path: Path) -> None:
    counts = reference.ndjson_counts
    assert counts == reference.counts
    files = sorted(p.name for p in reference.ndjson.iterdir())
    assert files == sorted(f"{kind}.ndjson" for kind in counts)
    lines = (reference.ndjson / "Patient.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == counts["Patient"]
    seen: list[tuple[str, int, int | None]] = []
    import_fhir(engine, reference.ndjson, today=TODAY,
                progress=lambda label, done, total: seen.append((label, done, total)))
    assert ("Patient.ndjson Patient", counts["Patient"], counts["Patient"]) in seen
    export_tidy(engine, tmp_path / "tidy")
    _same_tidy(reference.tidy, tmp_path / "tidy")
