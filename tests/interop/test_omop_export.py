"""OMOP CDM v5.4 export of a small hand-written registry: columns, ids, concepts, source values.

Expected columns and concept ids are written out here from the CDM v5.4 DDL
(OHDSI/CommonDataModel, inst/ddl/5.4/postgresql) and docs/domain-rules.md §9, not taken from
the module under test; expected values come from the tidy files the registry was built from.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select

from alsrwe.domain.errors import UnconfirmedWarnings
from alsrwe.domain.privacy import looks_identifying
from alsrwe.domain.tidy_format import TABLES_BY_NAME
from alsrwe.interop.omop import export_omop, import_omop, looks_like_omop
from alsrwe.interop.tidy_csv import export_tidy, import_tidy
from alsrwe.store import models
from alsrwe.store.db import make_engine, migrate, unit_of_work

TODAY = date(2026, 11, 25)
FILES = {
    "patients": """\
patient_id,site,sex,birth_year,status,sod1_variant,zygosity,onset_date,onset_region,\
diagnosis_date,site_name
BER-001,BER,F,1968,patient,A4V,heterozygous,2022-03-01,lower_limb,2022-09-15,Berlin
BER-002,BER,M,1975,patient,p.(Asp91Ala),homozygous,2015-06-01,bulbar,2016-01-10,Berlin
STL-001,STL,M,1990,carrier,c.14C>T p.(Ala5Val),heterozygous,,,,St. Louis
""",
    "alsfrs": """patient_id,date,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,gastrostomy,source
BER-001,2023-01-10,4,4,4,3,3,4,4,2,2,4,4,4,0,clinic
BER-001,2023-04-12,4,4,3,3,2,3,3,2,1,4,4,4,0,clinic
BER-001,2023-04-20,4,4,3,3,2,3,3,2,1,3,4,4,0,self
BER-002,2019-06-01,2,3,2,4,1,4,4,3,3,4,4,4,1,clinic
""",
    "measurements": """patient_id,date,kind,value,unit,assay,lab
BER-001,2023-01-10,nfl_serum,78.5,ng/L,simoa,Lab A
BER-001,2023-04-12,nfl_serum,31.2,pg/mL,simoa,Lab A
BER-001,2023-01-10,csf_protein,0.52,g/L,,
STL-001,2023-05-01,nfl_plasma,12,pg/mL,simoa,
""",
    "administrations": """patient_id,date,drug,dose_mg,status,lot,csf_removed_ml
BER-001,2023-01-10,tofersen,100,given,L1,10
BER-001,2023-01-24,tofersen,100,given,L1,10
BER-001,2023-02-07,tofersen,,missed,,
BER-001,2023-02-09,tofersen,100,given,L2,9.5
BER-001,2023-03-09,tofersen,50,given,L2,10
""",
    "medications": """patient_id,drug,start_date,stop_date
BER-001,riluzole,2022-10-01,
BER-002,riluzole,2016-02-01,2018-03-01
""",
    "adverse_events": """\
patient_id,onset_date,term,grade,serious,related,outcome,resolved_date,term_text,action
BER-001,2023-01-11,other,1,0,1,recovered,2023-01-13,'-post-lumbar-puncture headache,none
BER-001,2023-03-01,myelitis,3,1,1,recovering,,,interrupted
""",
    "milestones": """patient_id,date,kind
BER-001,2023-06-01,niv
BER-002,2019-05-01,gastrostomy
BER-002,2023-06-01,death
""",
}
CONFIRMED = {"administrations": "dose.not_label_dose"}  # the 50 mg dose, last row
TABLE_NAMES = ("person", "observation_period", "condition_occurrence", "drug_exposure",
               "procedure_occurrence", "measurement", "observation", "death", "care_site")

# CDM v5.4 (OMOPCDM_postgresql_5.4_ddl.sql): every column, in order.
CDM_COLUMNS = {
    "person": "person_id gender_concept_id year_of_birth month_of_birth day_of_birth "
              "birth_datetime race_concept_id ethnicity_concept_id location_id provider_id "
              "care_site_id person_source_value gender_source_value gender_source_concept_id "
              "race_source_value race_source_concept_id ethnicity_source_value "
              "ethnicity_source_concept_id",
    "observation_period": "observation_period_id person_id observation_period_start_date "
                          "observation_period_end_date period_type_concept_id",
    "condition_occurrence": "condition_occurrence_id person_id condition_concept_id "
                            "condition_start_date condition_start_datetime condition_end_date "
                            "condition_end_datetime condition_type_concept_id "
                            "condition_status_concept_id stop_reason provider_id "
                            "visit_occurrence_id visit_detail_id condition_source_value "
                            "condition_source_concept_id condition_status_source_value",
    "drug_exposure": "drug_exposure_id person_id drug_concept_id drug_exposure_start_date "
                     "drug_exposure_start_datetime drug_exposure_end_date "
                     "drug_exposure_end_datetime verbatim_end_date drug_type_concept_id "
                     "stop_reason refills quantity days_supply sig route_concept_id lot_number "
                     "provider_id visit_occurrence_id visit_detail_id drug_source_value "
                     "drug_source_concept_id route_source_value dose_unit_source_value",
    "procedure_occurrence": "procedure_occurrence_id person_id procedure_concept_id "
                            "procedure_date procedure_datetime procedure_end_date "
                            "procedure_end_datetime procedure_type_concept_id "
                            "modifier_concept_id quantity provider_id visit_occurrence_id "
                            "visit_detail_id procedure_source_value procedure_source_concept_id "
                            "modifier_source_value",
    "measurement": "measurement_id person_id measurement_concept_id measurement_date "
                   "measurement_datetime measurement_time measurement_type_concept_id "
                   "operator_concept_id value_as_number value_as_concept_id unit_concept_id "
                   "range_low range_high provider_id visit_occurrence_id visit_detail_id "
                   "measurement_source_value measurement_source_concept_id unit_source_value "
                   "unit_source_concept_id value_source_value measurement_event_id "
                   "meas_event_field_concept_id",
    "observation": "observation_id person_id observation_concept_id observation_date "
                   "observation_datetime observation_type_concept_id value_as_number "
                   "value_as_string value_as_concept_id qualifier_concept_id unit_concept_id "
                   "provider_id visit_occurrence_id visit_detail_id observation_source_value "
                   "observation_source_concept_id unit_source_value qualifier_source_value "
                   "value_source_value observation_event_id obs_event_field_concept_id",
    "death": "person_id death_date death_datetime death_type_concept_id cause_concept_id "
             "cause_source_value cause_source_concept_id",
    "care_site": "care_site_id care_site_name place_of_service_concept_id location_id "
                 "care_site_source_value place_of_service_source_value",
}
SOURCE_COLUMN = {"person": "person_source_value", "care_site": "care_site_source_value",
                 "condition_occurrence": "condition_source_value",
                 "drug_exposure": "drug_source_value",
                 "procedure_occurrence": "procedure_source_value",
                 "measurement": "measurement_source_value",
                 "observation": "observation_source_value"}
ITEM_CONCEPTS = {"q1": 42529071, "q2": 42529072, "q3": 42529073, "q4": 42529074,
                 "q5a": 42529075, "q5b": 42529076, "q6": 42529077, "q7": 42529078,
                 "q8": 42529079, "q9": 42529080, "q10": 42529081, "q11": 42529082,
                 "q12": 42529083}
TOTAL_CONCEPT = 42529084


def write_tidy(folder: Path, shuffle: int | None = None) -> Path:
    """The tidy files (rows shuffled with seed ``shuffle``: same data, another order)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        header, *rows = text.splitlines()
        if name in CONFIRMED:
            header += ",confirmed_warnings"
            rows = [row + ("," + CONFIRMED[name] if i == len(rows) - 1 else ",")
                    for i, row in enumerate(rows)]
        if shuffle is not None:
            random.Random(shuffle).shuffle(rows)
        (folder / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


def registry(url: str, folder: Path) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    import_tidy(engine, folder, today=TODAY)
    return engine


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    base = tmp_path_factory.mktemp("omop-source")
    engine = registry(f"sqlite:///{base / 'a.db'}", write_tidy(base / "tidy"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def exported(source: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("omop-out")
    for fmt in ("csv", "parquet"):
        export_omop(source, base / fmt, file_format=fmt)
    return {fmt: base / fmt for fmt in ("csv", "parquet")}


def rows(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def header(folder: Path, table: str) -> list[str]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def observations(folder: Path, source: str) -> list[dict[str, str]]:
    return [o for o in rows(folder, "observation") if o["observation_source_value"] == source]


def persons(folder: Path) -> dict[str, str]:
    """person_id of each pseudonym."""
    return {p["person_source_value"]: p["person_id"] for p in rows(folder, "person")}


# --- shape -------------------------------------------------------------------------------------


def test_every_table_has_the_cdm_columns_in_order(exported: dict[str, Path]) -> None:
    for table, columns in CDM_COLUMNS.items():
        assert header(exported["csv"], table) == columns.split(), table
        assert pq.read_schema(exported["parquet"] / f"{table}.parquet").names == columns.split()
    assert sorted(p.stem for p in exported["csv"].iterdir()) == sorted(TABLE_NAMES)


def test_parquet_has_the_cdm_types(exported: dict[str, Path]) -> None:
    schema = pq.read_schema(exported["parquet"] / "drug_exposure.parquet")
    assert schema.field("drug_exposure_id").type == pa.int32()  # DDL: integer
    assert schema.field("drug_exposure_start_date").type == pa.date32()
    assert schema.field("quantity").type == pa.float64()  # DDL: NUMERIC
    assert schema.field("lot_number").type == pa.string()
    assert schema.field("drug_exposure_start_datetime").type == pa.timestamp("us")
    assert pq.read_table(exported["parquet"] / "person.parquet").num_rows == 3


def test_csv_and_parquet_hold_the_same_rows(exported: dict[str, Path]) -> None:
    for table in TABLE_NAMES:
        from_parquet = pq.read_table(exported["parquet"] / f"{table}.parquet").to_pylist()
        from_csv = rows(exported["csv"], table)
        assert len(from_csv) == len(from_parquet), table
        for text_row, typed in zip(from_csv, from_parquet, strict=True):
            for column, value in typed.items():
                cell = text_row[column]
                if value is None:
                    assert cell == "", (table, column)
                elif isinstance(value, float):
                    assert float(cell) == value, (table, column)
                else:
                    assert cell == str(value), (table, column)


# --- ids ---------------------------------------------------------------------------------------


def test_ids_are_deterministic_whatever_the_import_order(
        exported: dict[str, Path], tmp_path: Path) -> None:
    shuffled = registry(f"sqlite:///{tmp_path / 'b.db'}", write_tidy(tmp_path / "tidy", 3))
    try:
        export_omop(shuffled, tmp_path / "again")
    finally:
        shuffled.dispose()
    for table in TABLE_NAMES:
        first = (exported["csv"] / f"{table}.csv").read_bytes()
        assert (tmp_path / "again" / f"{table}.csv").read_bytes() == first, table


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_postgresql_registry_exports_the_same_ids(
        engine: Engine, exported: dict[str, Path], tmp_path: Path) -> None:
    import_tidy(engine, write_tidy(tmp_path / "tidy", 5), today=TODAY)
    export_omop(engine, tmp_path / "pg")
    for table in TABLE_NAMES:
        assert rows(tmp_path / "pg", table) == rows(exported["csv"], table), table


def test_ids_are_unique_and_children_point_at_their_person(exported: dict[str, Path]) -> None:
    ids = set(persons(exported["csv"]).values())
    assert ids == {"1", "2", "3"}  # pseudonyms in sorted order
    assert persons(exported["csv"])["BER-001"] == "1"
    for table in TABLE_NAMES:
        records = rows(exported["csv"], table)
        assert {r["person_id"] for r in records if "person_id" in r} <= ids
        own = f"{table}_id" if table not in ("death",) else None
        if own and own in records[0]:
            values = [r[own] for r in records]
            assert len(set(values)) == len(values), table


# --- concepts and values ---------------------------------------------------------------------


def test_every_alsfrs_item_maps_to_its_concept_with_its_score(exported: dict[str, Path]) -> None:
    pid = persons(exported["csv"])
    obs = rows(exported["csv"], "observation")
    header_row, *lines = FILES["alsfrs"].splitlines()
    columns = header_row.split(",")
    seen_concepts = set()
    for line in lines:
        a = dict(zip(columns, line.split(","), strict=True))
        at = [o for o in obs if o["person_id"] == pid[a["patient_id"]]
              and o["observation_date"] == a["date"]
              and o["observation_type_concept_id"] == ("32862" if a["source"] == "self"
                                                        else "32851")]
        by_concept = {int(o["observation_concept_id"]): o for o in at}
        expected = {}
        for i in range(1, 13):
            code = f"q{i}" if i != 5 else ("q5b" if a["gastrostomy"] == "1" else "q5a")
            expected[ITEM_CONCEPTS[code]] = float(a[f"q{i}"])
            assert by_concept[ITEM_CONCEPTS[code]]["observation_source_value"] == code
        expected[TOTAL_CONCEPT] = float(sum(int(a[f"q{i}"]) for i in range(1, 13)))
        assert {c: float(o["value_as_number"]) for c, o in by_concept.items()} == expected
        seen_concepts |= set(by_concept)
    assert seen_concepts == {*ITEM_CONCEPTS.values(), TOTAL_CONCEPT}  # 5a and 5b both seen


def test_every_row_keeps_its_source_value(exported: dict[str, Path]) -> None:
    for table, column in SOURCE_COLUMN.items():
        assert all(r[column] for r in rows(exported["csv"], table)), table
    measurements = rows(exported["csv"], "measurement")
    assert [(m["measurement_source_value"], m["value_as_number"], m["unit_source_value"])
            for m in measurements] == [
        ("csf_protein", "52", "mg/dL"), ("nfl_serum", "78.5", "pg/mL"),
        ("nfl_serum", "31.2", "pg/mL"), ("nfl_plasma", "12", "pg/mL")]
    assert {m["measurement_concept_id"] for m in measurements} == {"0"}


def test_persons_are_pseudonymous_with_the_standard_gender(exported: dict[str, Path]) -> None:
    people = {p["person_source_value"]: p for p in rows(exported["csv"], "person")}
    assert {k: (p["gender_concept_id"], p["year_of_birth"]) for k, p in people.items()} == {
        "BER-001": ("8532", "1968"), "BER-002": ("8507", "1975"), "STL-001": ("8507", "1990")}
    for p in people.values():
        assert p["month_of_birth"] == p["day_of_birth"] == p["birth_datetime"] == ""
    # the only columns that look identifying are the CDM's birth columns (empty but the
    # year) and care_site_name (a site's name, not a person's)
    flagged = {c for table in TABLE_NAMES for c in header(exported["csv"], table)
               if looks_identifying(c, ())}
    assert flagged == {"year_of_birth", "month_of_birth", "day_of_birth", "birth_datetime",
                       "care_site_name"}
    sites = {s["care_site_source_value"]: s["care_site_name"]
             for s in rows(exported["csv"], "care_site")}
    assert sites == {"BER": "Berlin", "STL": "St. Louis"}


def test_als_condition_and_patient_attributes(exported: dict[str, Path]) -> None:
    pid = persons(exported["csv"])
    als = [c for c in rows(exported["csv"], "condition_occurrence")
           if c["condition_concept_id"] == "373182"]
    assert {(c["person_id"], c["condition_start_date"]) for c in als} == {
        (pid["BER-001"], "2022-03-01"), (pid["BER-002"], "2015-06-01")}  # not the carrier
    variants = {o["person_id"]: (o["value_as_string"], o["qualifier_source_value"],
                                 o["value_source_value"])
                for o in observations(exported["csv"], "sod1_variant")}
    assert variants[pid["BER-001"]] == ("p.Ala5Val", "A4V", "A4V")
    assert variants[pid["STL-001"]] == ("p.Ala5Val", "A4V", "c.14C>T p.(Ala5Val)")
    status = {o["person_id"]: o["value_as_string"]
              for o in observations(exported["csv"], "registry_status")}
    assert status == {pid["BER-001"]: "patient", pid["BER-002"]: "patient",
                      pid["STL-001"]: "carrier"}
    assert [o["observation_date"] for o in observations(exported["csv"], "als_diagnosis")] == [
        "2022-09-15", "2016-01-10"]


def test_doses_drugs_and_lumbar_punctures(exported: dict[str, Path]) -> None:
    drugs = rows(exported["csv"], "drug_exposure")
    doses = [d for d in drugs if d["route_source_value"]]
    assert [(d["drug_exposure_start_date"], d["quantity"], d["lot_number"],
             d["dose_unit_source_value"], d["route_source_value"]) for d in doses] == [
        ("2023-01-10", "100", "L1", "mg", "intrathecal"),
        ("2023-01-24", "100", "L1", "mg", "intrathecal"),
        ("2023-02-09", "100", "L2", "mg", "intrathecal"),
        ("2023-03-09", "50", "L2", "mg", "intrathecal")]  # the missed dose is no exposure
    assert all(d["drug_exposure_end_date"] == d["drug_exposure_start_date"] for d in doses)
    missed = observations(exported["csv"], "dose_not_given")
    assert [(o["observation_date"], o["value_as_string"], o["qualifier_source_value"])
            for o in missed] == [("2023-02-07", "missed", "tofersen")]
    punctures = [p for p in rows(exported["csv"], "procedure_occurrence")
                 if p["procedure_source_value"] == "277762005"]
    assert [p["procedure_date"] for p in punctures] == [d["drug_exposure_start_date"]
                                                       for d in doses]
    csf = {o["observation_event_id"]: o["value_as_number"]
           for o in observations(exported["csv"], "csf_removed_ml")}
    assert [csf[d["drug_exposure_id"]] for d in doses] == ["10", "10", "9.5", "10"]
    periods = {d["person_id"]: d for d in drugs if not d["route_source_value"]}
    pid = persons(exported["csv"])
    ongoing, stopped = periods[pid["BER-001"]], periods[pid["BER-002"]]
    assert (ongoing["drug_source_value"], ongoing["verbatim_end_date"]) == ("riluzole", "")
    end = {o["person_id"]: o["observation_period_end_date"]
           for o in rows(exported["csv"], "observation_period")}
    assert ongoing["drug_exposure_end_date"] == end[pid["BER-001"]] == "2023-06-01"
    assert stopped["verbatim_end_date"] == stopped["drug_exposure_end_date"] == "2018-03-01"


def test_adverse_events_milestones_and_death(exported: dict[str, Path]) -> None:
    pid = persons(exported["csv"])
    events = [c for c in rows(exported["csv"], "condition_occurrence")
              if c["condition_concept_id"] == "0"]
    assert [(c["condition_source_value"], c["condition_start_date"], c["condition_end_date"])
            for c in events] == [("other", "2023-01-11", "2023-01-13"),
                                 ("myelitis", "2023-03-01", "")]
    linked = {(o["observation_event_id"], o["observation_source_value"]):
              o["value_as_string"] or o["value_as_number"]
              for o in rows(exported["csv"], "observation") if o["observation_event_id"]}
    first, second = (c["condition_occurrence_id"] for c in events)
    assert linked[(first, "ae_term_text")] == "-post-lumbar-puncture headache"  # raw text
    assert (linked[(second, "ae_grade")], linked[(second, "ae_serious")],
            linked[(second, "ae_outcome")], linked[(second, "ae_action")]) == (
        "3", "1", "recovering", "interrupted")
    procedures = [(p["person_id"], p["procedure_source_value"], p["procedure_date"])
                  for p in rows(exported["csv"], "procedure_occurrence")
                  if p["procedure_source_value"] != "277762005"]
    assert procedures == [(pid["BER-001"], "niv", "2023-06-01"),
                          (pid["BER-002"], "gastrostomy", "2019-05-01")]
    assert [(d["person_id"], d["death_date"]) for d in rows(exported["csv"], "death")] == [
        (pid["BER-002"], "2023-06-01")]


def test_the_export_is_audited(source: Engine, exported: dict[str, Path]) -> None:
    with unit_of_work(source) as session:
        details = [e.detail for e in session.scalars(
            select(models.AuditEntry).where(models.AuditEntry.action == "export"))]
    omop = [d for d in details if d and d.get("format") == "omop-cdm-5.4"]
    assert sorted(d["file_format"] for d in omop) == ["csv", "parquet"]
    assert omop[0]["counts"]["person"] == 3


def test_an_unknown_file_format_is_refused(source: Engine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        export_omop(source, tmp_path, file_format="xlsx")  # type: ignore[arg-type]


# --- back in -----------------------------------------------------------------------------------


def test_looks_like_omop(exported: dict[str, Path], tmp_path: Path) -> None:
    assert looks_like_omop(exported["csv"]) and looks_like_omop(exported["parquet"])
    assert not looks_like_omop(write_tidy(tmp_path / "tidy"))
    (tmp_path / "db.duckdb").write_bytes(b"")
    assert looks_like_omop(tmp_path / "db.duckdb")
    assert not looks_like_omop(tmp_path / "nowhere")


def tidy_rows(folder: Path, name: str) -> list[dict[str, str]]:
    """A tidy file's rows by natural key, without the confirmations (OMOP does not carry them)."""
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        found = [{k: v for k, v in row.items() if k != "confirmed_warnings"}
                 for row in csv.DictReader(handle)]
    key = TABLES_BY_NAME[name].key
    return sorted(found, key=lambda row: tuple(row[k] for k in key))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_import_keeps_what_omop_carries(exported: dict[str, Path], fmt: str,
                                        tmp_path: Path) -> None:
    """Everything comes back but the confirmations: OMOP has no place for them, so the 50 mg
    dose must be confirmed again."""
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        migrate(engine)
        with pytest.raises(UnconfirmedWarnings, match="dose"):
            import_omop(engine, exported[fmt], today=TODAY)
        report = import_omop(engine, exported[fmt], today=TODAY, accept_warnings=True)
        assert report.counts["administrations"] == (5, 0, 0)
        export_tidy(engine, tmp_path / "back")
    finally:
        engine.dispose()
    original = write_tidy(tmp_path / "in")
    for name in FILES:
        expected = tidy_rows(original, name)
        for row in expected:  # the registry keeps canonical units (data-format.md)
            if row.get("unit") == "ng/L":
                row["unit"] = "pg/mL"
            if row.get("unit") == "g/L":
                row["unit"], row["value"] = "mg/dL", "52"
        back = [{k: row[k] for k in expected[0]} for row in tidy_rows(tmp_path / "back", name)]
        assert back == expected, name
