"""Tidy CSV import/export on SQLite and PostgreSQL: validation, all-or-nothing, round trips."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from alsrwe.domain.errors import InvalidInput as ImportRejected
from alsrwe.domain.regimens import TOFERSEN_US, planned_calendar
from alsrwe.interop.tidy_csv import export_tidy, import_tidy
from alsrwe.store import models
from alsrwe.store.db import make_engine, migrate, unit_of_work

TODAY = date(2026, 11, 25)

PATIENTS = """\
patient_id,site,sex,birth_year,status,sod1_variant,zygosity,onset_date,onset_region,\
diagnosis_date,site_name
BER-001,BER,F,1968,patient,A4V,heterozygous,2022-03-01,lower_limb,2022-09-15,Berlin
BER-002,BER,M,1975,patient,p.(Asp91Ala),homozygous,2015-06-01,lower_limb,2019-01-10,Berlin
STL-001,STL,M,1990,carrier,c.14C>T p.(Ala5Val),heterozygous,,,,St. Louis
"""
ALSFRS = """patient_id,date,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,gastrostomy,source
BER-001,2023-01-10,4,4,4,3,3,4,4,2,2,4,4,4,0,clinic
BER-001,2023-04-12,4,4,3,3,2,3,3,2,1,4,4,4,0,clinic
BER-001,2023-04-20,4,4,3,3,2,3,3,2,1,3,4,4,0,self
BER-002,2023-02-01,4,4,4,4,4,4,4,3,3,4,4,4,0,clinic
"""
MEASUREMENTS = """patient_id,date,kind,value,unit,assay,lab
BER-001,2023-01-10,nfl_serum,78.5,ng/L,simoa,Lab A
BER-001,2023-04-12,nfl_serum,31.2,pg/mL,simoa,Lab A
BER-001,2023-01-10,csf_protein,0.52,g/L,,
STL-001,2023-05-01,nfl_plasma,12,pg/mL,simoa,
"""
ADMINISTRATIONS = """patient_id,date,drug,dose_mg,status,lot,csf_removed_ml
BER-001,2023-01-10,tofersen,100,given,L1,10
BER-001,2023-01-24,tofersen,100,given,L1,10
BER-001,2023-02-07,tofersen,,missed,,
BER-001,2023-02-09,tofersen,100,given,L2,9.5
"""
MEDICATIONS = """patient_id,drug,start_date,stop_date
BER-001,riluzole,2022-10-01,
"""
ADVERSE_EVENTS = """\
patient_id,onset_date,term,grade,serious,related,outcome,resolved_date,term_text,action
BER-001,2023-01-11,other,1,0,1,recovered,2023-01-13,post-lumbar-puncture headache,none
BER-001,2023-03-01,myelitis,3,1,1,recovering,,,interrupted
"""
MILESTONES = """patient_id,date,kind
BER-001,2023-06-01,niv
"""
VALID = {
    "patients": PATIENTS, "alsfrs": ALSFRS, "measurements": MEASUREMENTS,
    "administrations": ADMINISTRATIONS, "medications": MEDICATIONS,
    "adverse_events": ADVERSE_EVENTS, "milestones": MILESTONES,
}


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def count(engine: Engine, model: type[models.Base]) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_counts_and_normalizes(engine: Engine, tmp_path: Path) -> None:
    report = import_tidy(engine, write(tmp_path / "in", VALID), today=TODAY)
    assert report.counts["patients"] == (3, 0, 0)
    assert report.counts["alsfrs"] == (4, 0, 0)
    assert report.counts["administrations"] == (4, 0, 0)
    with unit_of_work(engine) as session:
        ber2 = session.scalars(select(models.Patient).filter_by(pseudonym="BER-002")).one()
        assert (ber2.sod1_hgvs, ber2.sod1_legacy) == ("p.Asp91Ala", "D90A")
        protein = session.scalars(select(models.Measurement).filter_by(kind="csf_protein")).one()
        assert (protein.value, protein.unit) == (pytest.approx(52.0), "mg/dL")
        nfl = session.scalars(
            select(models.Measurement).filter_by(kind="nfl_serum").order_by(models.Measurement.date)
        ).first()
        assert nfl is not None and nfl.unit == "pg/mL" and nfl.value == 78.5
        audit = session.scalars(select(models.AuditEntry)).one()
        assert audit.action == "import"


def test_reimport_changes_nothing_and_updates_in_place(engine: Engine, tmp_path: Path) -> None:
    folder = write(tmp_path / "in", VALID)
    import_tidy(engine, folder, today=TODAY)
    again = import_tidy(engine, folder, today=TODAY)
    assert again.counts["alsfrs"] == (0, 0, 4)
    assert again.counts["patients"] == (0, 0, 3)
    write(folder, {"measurements": MEASUREMENTS.replace("31.2", "30.9")})
    corrected = import_tidy(engine, folder, today=TODAY)
    assert corrected.counts["measurements"] == (0, 1, 3)
    assert count(engine, models.Measurement) == 4


def test_export_import_export_is_identity(engine: Engine, tmp_path: Path) -> None:
    import_tidy(engine, write(tmp_path / "in", VALID), today=TODAY)
    first = tmp_path / "first"
    counts = export_tidy(engine, first)
    assert counts == {"patients": 3, "alsfrs": 4, "measurements": 4, "administrations": 4,
                      "medications": 1, "adverse_events": 2, "milestones": 1}
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        migrate(other)
        import_tidy(other, first, today=TODAY)
        second = tmp_path / "second"
        export_tidy(other, second)
    finally:
        other.dispose()
    for name in counts:
        assert (first / f"{name}.csv").read_bytes() == (second / f"{name}.csv").read_bytes()
    # The SOD1 notation survives as entered (the registry also holds it normalised).
    assert read(first, "patients")[2]["sod1_variant"] == "c.14C>T p.(Ala5Val)"
    assert read(first, "measurements")[0]["value"] == "52"


def test_every_problem_is_reported_and_nothing_written(engine: Engine, tmp_path: Path) -> None:
    bad = dict(VALID)
    bad["alsfrs"] = ALSFRS.replace("2023-04-12,4,4,3,3,2", "2023-04-12,4,4,3,7,2")
    bad["measurements"] = MEASUREMENTS.replace("ng/L", "mg/L")
    bad["milestones"] = MILESTONES + "NOBODY-1,2023-06-01,death\n"
    with pytest.raises(ImportRejected) as rejected:
        import_tidy(engine, write(tmp_path / "in", bad), today=TODAY)
    found = {(p.file, p.row, p.field) for p in rejected.value.problems}
    assert ("alsfrs.csv", 3, "q4") in found
    assert ("measurements.csv", 2, "unit") in found
    assert ("milestones.csv", 3, "patient_id") in found
    assert all(str(p).startswith(p.file) for p in rejected.value.problems)
    assert count(engine, models.Patient) == 0
    assert count(engine, models.AuditEntry) == 0


@pytest.mark.parametrize(
    ("file", "old", "new", "column", "words"),
    [
        ("patients", "A4V,", "D91A,", "sod1_variant", "HGVS"),
        ("patients", "1968", "1868", "birth_year", "between 1900"),
        ("patients", ",2022-09-15,", ",2021-09-15,", None, "before"),
        ("patients", "STL-001,STL,M,1990,carrier,c.14C>T p.(Ala5Val),heterozygous,,,",
         "STL-001,STL,M,1990,carrier,A4V,heterozygous,2020-01-01,,", None, "carrier"),
        ("alsfrs", "2023-01-10,4", "2031-01-10,4", "date", "future"),
        ("administrations", "100,given,L1,10", ",given,L1,10", "dose_mg", "required"),
        ("adverse_events", "post-lumbar-puncture headache", "", None, "term_text"),
        ("adverse_events", "myelitis,3", "myelitis,7", "grade", "range"),
    ],
)
def test_rules_name_the_column(sqlite_url: str, tmp_path: Path, file: str, old: str, new: str,
                               column: str | None, words: str) -> None:
    files = dict(VALID)
    assert old in files[file]
    files[file] = files[file].replace(old, new, 1)
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with pytest.raises(ImportRejected) as rejected:
            import_tidy(engine, write(tmp_path / "in", files), today=TODAY)
    finally:
        engine.dispose()
    problems = rejected.value.problems
    assert any(words.lower() in str(p).lower() for p in problems), problems
    if column is not None:
        assert any(p.field == column for p in problems), problems


def test_identifying_and_missing_columns_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    files = {"patients": PATIENTS.replace("site_name", "name").replace(
        "patient_id,site,sex", "patient_id,sex", 1)}
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with pytest.raises(ImportRejected) as rejected:
            import_tidy(engine, write(tmp_path / "in", files), today=TODAY)
    finally:
        engine.dispose()
    rules = {(p.field, p.rule.split(";")[0]) for p in rejected.value.problems}
    assert ("name", "looks like a direct identifier") in rules
    assert ("site", "is a required column and is missing") in rules


def test_children_may_name_patients_already_registered(engine: Engine, tmp_path: Path) -> None:
    import_tidy(engine, write(tmp_path / "first", {"patients": PATIENTS}), today=TODAY)
    report = import_tidy(engine, write(tmp_path / "second", {"alsfrs": ALSFRS}), today=TODAY)
    assert report.counts == {"alsfrs": (4, 0, 0)}


def test_empty_folder_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(ImportRejected, match="none of the tidy CSV files"):
            import_tidy(engine, empty, today=TODAY)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("file", "old", "new", "column", "words"),
    [
        ("administrations", "tofersen,100,given,L1,10", "Tofersn,100,given,L1,10", "drug",
         "not one of: edaravone_iv, tofersen"),
        ("measurements", "simoa,Lab A", "x" * 41 + ",Lab A", "assay", "at most 40"),
        ("patients", "2022-09-15", "2022-W37-4", "diagnosis_date", "ISO date"),
        ("alsfrs", "2023-01-10,4,4,4,3", "2023-01-10,4_0,4,4,3", "q1", "whole number"),
        ("milestones", "BER-001,2023-06-01,niv", "BER-001,2021-06-01,niv", "date", "onset"),
    ],
)
def test_more_rules_name_the_column(sqlite_url: str, tmp_path: Path, file: str, old: str,
                                    new: str, column: str, words: str) -> None:
    test_rules_name_the_column(sqlite_url, tmp_path, file, old, new, column, words)


def test_records_after_death_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    files = dict(VALID)
    files["milestones"] = MILESTONES + "BER-001,2023-04-15,death\n"
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with pytest.raises(ImportRejected) as rejected:
            import_tidy(engine, write(tmp_path / "in", files), today=TODAY)
    finally:
        engine.dispose()
    found = {(p.file, p.row, p.field) for p in rejected.value.problems}
    assert ("alsfrs.csv", 4, "date") in found  # the 2023-04-20 self-report
    assert ("milestones.csv", 2, "date") in found  # NIV after death
    assert all("death" in p.rule for p in rejected.value.problems)


def test_death_already_registered_counts_too(engine: Engine, tmp_path: Path) -> None:
    first = {"patients": PATIENTS, "milestones": MILESTONES + "BER-001,2023-07-01,death\n"}
    import_tidy(engine, write(tmp_path / "first", first), today=TODAY)
    late = ALSFRS.splitlines()[0] + "\nBER-001,2023-08-01,4,4,4,4,4,4,4,4,4,4,4,4,0,clinic\n"
    with pytest.raises(ImportRejected, match="after the patient's death on 2023-07-01"):
        import_tidy(engine, write(tmp_path / "second", {"alsfrs": late}), today=TODAY)


@pytest.mark.parametrize("header", ["Patient Name", "birth date", "Geburtsdatum", "e-mail"])
def test_identifying_columns_by_their_look(sqlite_url: str, tmp_path: Path,
                                           header: str) -> None:
    lines = PATIENTS.splitlines()
    text = "\n".join([lines[0] + f",{header}"] + [line + ",x" for line in lines[1:]]) + "\n"
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with pytest.raises(ImportRejected, match="direct identifier"):
            import_tidy(engine, write(tmp_path / "in", {"patients": text}), today=TODAY)
    finally:
        engine.dispose()


def test_unreadable_files_are_problems_not_tracebacks(sqlite_url: str, tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"patients": PATIENTS})
    (folder / "medications.csv").write_bytes("patient_id,drug,start_date,stop_date\n"
                                             "BER-001,riluzol\xe9,2022-10-01,\n".encode("latin-1"))
    (folder / "milestones.csv").mkdir()
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with pytest.raises(ImportRejected) as rejected:
            import_tidy(engine, folder, today=TODAY)
    finally:
        engine.dispose()
    rules = {p.file: p.rule for p in rejected.value.problems}
    assert "not UTF-8" in rules["medications.csv"]
    assert "is a folder" in rules["milestones.csv"]


def test_a_brand_name_dose_counts_for_the_calendar(engine: Engine, tmp_path: Path) -> None:
    files = dict(VALID)
    files["administrations"] = ADMINISTRATIONS.replace("2023-02-09,tofersen",
                                                       "2023-02-09,Qalsody")
    import_tidy(engine, write(tmp_path / "in", files), today=TODAY)
    with unit_of_work(engine) as session:
        drugs = set(session.scalars(select(models.Administration.drug)))
    assert drugs == {"tofersen"}


def test_a_bare_cdna_name_is_read_and_kept_as_entered(engine: Engine, tmp_path: Path) -> None:
    files = {"patients": PATIENTS.replace("c.14C>T p.(Ala5Val)", "c.14C>T")}
    import_tidy(engine, write(tmp_path / "in", files), today=TODAY)
    with unit_of_work(engine) as session:
        carrier = session.scalars(select(models.Patient).filter_by(pseudonym="STL-001")).one()
        assert (carrier.sod1_hgvs, carrier.sod1_legacy, carrier.sod1_input) == (
            "p.Ala5Val", "A4V", "c.14C>T")


def test_links_and_unknown_files_are_refused_by_name(engine: Engine, tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"patients": PATIENTS})
    (folder / "alsfrs.csv").symlink_to("/dev/zero")
    (folder / "Measurements.CSV").write_text("x\n")
    with pytest.raises(ImportRejected) as rejected:
        import_tidy(engine, folder, today=TODAY)
    rules = {p.file: p.rule for p in rejected.value.problems}
    assert "not a regular file" in rules["alsfrs.csv"]
    assert "rename it to measurements.csv" in rules["Measurements.CSV"]
    assert count(engine, models.Patient) == 0


DAYS = st.integers(0, 700).map(lambda n: date(2023, 1, 1) + timedelta(days=n))


@st.composite
def valid_folders(draw: st.DrawFn) -> dict[str, str]:
    """A patient's records that the rulebook accepts: doses on schedule, plausible values."""
    given = planned_calendar(TOFERSEN_US, draw(DAYS), date(2025, 6, 1))
    doses = [f"BER-001,{d},tofersen,100,given,L{i},{draw(st.integers(5, 20))}"
             for i, d in enumerate(given[:draw(st.integers(0, 8))])]
    kinds = {"nfl_serum": ("pg/mL", 1, 900), "csf_wbc": ("/uL", 0, 90),
             "svc_percent": ("%", 10, 140), "weight_kg": ("kg", 40, 120)}
    measured = draw(st.dictionaries(st.tuples(DAYS, st.sampled_from(sorted(kinds))),
                                    st.floats(0, 1), max_size=6))
    rows = [f"BER-001,{d},{k},{round(kinds[k][1] + f * (kinds[k][2] - kinds[k][1]), 1)},"
            f"{kinds[k][0]},,"
            for (d, k), f in sorted(measured.items())]
    return {
        "patients": PATIENTS.splitlines()[0] + "\n" + PATIENTS.splitlines()[1] + "\n",
        "administrations": ADMINISTRATIONS.splitlines()[0] + "\n" + "\n".join(doses) + "\n",
        "measurements": MEASUREMENTS.splitlines()[0] + "\n" + "\n".join(rows) + "\n",
    }


@settings(max_examples=15, deadline=None)
@given(valid_folders())
def test_what_the_rulebook_accepts_round_trips(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        first, second = root / "first", root / "second"
        for n, out in ((1, first), (2, second)):
            engine = make_engine(f"sqlite:///{root / f'{n}.db'}")
            try:
                migrate(engine)
                import_tidy(engine, write(root / f"in{n}", files) if n == 1 else first,
                            today=TODAY)
                export_tidy(engine, out)
            finally:
                engine.dispose()
        for name in ("patients", "administrations", "measurements"):
            assert (first / f"{name}.csv").read_bytes() == (second / f"{name}.csv").read_bytes()


FORMULAS = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "@SUM(1+1)", "+1+1",
            "-2+3", "'quoted", "''twice", "'=already"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30))
def test_formula_escaping_is_undone_exactly_and_never_leaves_a_formula(text: str) -> None:
    from alsrwe.domain.tidy_format import FORMULA_TRIGGERS, neutralise_formula, restore_formula

    written = neutralise_formula(text)
    assert restore_formula(written) == text
    assert not written.startswith(FORMULA_TRIGGERS)


@pytest.mark.parametrize("lab", FORMULAS)
def test_free_text_that_looks_like_a_formula_is_exported_safely_and_reimported_as_is(
    tmp_path: Path, sqlite_url: str, lab: str
) -> None:
    """OWASP CSV injection: a cell starting with = + - @ is written behind a ' and read back.

    A file's ``'`` before a formula character or another ``'`` is read as export's escaping
    ("'=already" is the text "=already"); everything else is kept as written.
    """
    from alsrwe.domain.tidy_format import restore_formula

    expected = restore_formula(lab)
    engine = make_engine(sqlite_url)
    migrate(engine)
    files = dict(VALID)
    header, *rows = files["measurements"].splitlines()
    columns = header.split(",")
    cells = next(csv.reader([rows[0]]))
    cells[columns.index("lab")] = lab
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([columns, cells, *csv.reader(rows[1:])])
    files["measurements"] = out.getvalue()
    import_tidy(engine, write(tmp_path / "in", files), today=TODAY, actor="test")
    with unit_of_work(engine) as session:
        stored = session.scalars(select(models.Measurement.lab)).all()
    assert expected in stored
    export_tidy(engine, tmp_path / "out")
    exported = (tmp_path / "out" / "measurements.csv").read_text()
    for row in csv.reader(io.StringIO(exported)):
        assert not any(cell.startswith(("=", "+", "@")) for cell in row), row
    engine2 = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    migrate(engine2)
    import_tidy(engine2, tmp_path / "out", today=TODAY, actor="test")
    with unit_of_work(engine2) as session:
        assert expected in session.scalars(select(models.Measurement.lab)).all()
    engine.dispose()
    engine2.dispose()
