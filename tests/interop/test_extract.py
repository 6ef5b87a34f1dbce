"""The research extract on SQLite and PostgreSQL, on a small synthetic registry.

What leaves: keyed ids, days or shifted dates, coded values. What never leaves: a pseudonym,
a stored date (in onset mode), free text, site names, usernames. Aggregates: every small
count hidden, and none recomputable (checked by linear programming, tests/domain).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Date, Engine, select
from typer.testing import CliRunner

from alsrwe.cli import app
from alsrwe.domain.disclosure import MAX_SHIFT_DAYS, extract_id, key_fingerprint
from alsrwe.domain.treatments import TreatmentEnd
from alsrwe.interop.extract import SUPPRESSED, DateMode, write_extract
from alsrwe.interop.tidy_csv import import_tidy, write_frames
from alsrwe.store import models
from alsrwe.store.db import unit_of_work
from alsrwe.synth import CohortParams, generate_cohort
from tests.domain.test_disclosure import feasible_ranges

KEY = bytes(range(100, 132))
AS_OF = dt.date(2026, 6, 30)
PATIENTS, CARRIERS = 40, 6
FREE_TEXT = ("patient moved to Hamburg, care continues there", "called the family at home",
             "dr.house", "nurse.ratched")
runner = CliRunner()


@pytest.fixture(scope="module")
def tidy_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cohort = generate_cohort(CohortParams(seed=11, n_patients=PATIENTS, n_carriers=CARRIERS,
                                          as_of=AS_OF))
    folder = tmp_path_factory.mktemp("tidy")
    write_frames(cohort.tables(), folder)
    return folder


@pytest.fixture
def registry(engine: Engine, tidy_folder: Path) -> Engine:
    """The synthetic cohort, plus free text the generator does not write: a stop reason, an
    acknowledgement note, reviewers' usernames."""
    import_tidy(engine, tidy_folder, today=AS_OF + dt.timedelta(days=1))
    with unit_of_work(engine) as session:
        patient = session.scalars(select(models.Patient).where(
            models.Patient.onset_date.is_not(None)).order_by(models.Patient.pseudonym)).first()
        assert patient is not None and patient.onset_date is not None
        start = patient.onset_date + dt.timedelta(days=200)
        session.add(models.Treatment(
            patient_id=patient.id, regimen="tofersen_us", start_date=start,
            end_date=start + dt.timedelta(days=90), end_kind=TreatmentEnd.STOPPED,
            end_reason=FREE_TEXT[0]))
        session.add(models.FlagAcknowledgement(
            patient_id=patient.id, flag="csf", sample_date=start, note=FREE_TEXT[1],
            acknowledged_by=FREE_TEXT[2]))
        for rating in session.scalars(select(models.AlsfrsAssessment)
                                      .where(models.AlsfrsAssessment.source == "self")):
            rating.reviewed_by = FREE_TEXT[3]
            rating.reviewed_at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    return engine


def extract(engine: Engine, folder: Path, mode: DateMode = DateMode.ONSET, min_cell: int = 5,
            aggregates_only: bool = False) -> Path:
    write_extract(engine, folder, KEY, actor="test", mode=mode, min_cell=min_cell,
                  aggregates_only=aggregates_only)
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def every_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*"))
                     if p.is_file())


def every_cell(folder: Path) -> set[str]:
    cells: set[str] = set()
    for path in folder.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            cells.update(cell for row in csv.reader(handle) for cell in row)
    return cells


def stored(engine: Engine) -> tuple[set[str], set[str], set[str]]:
    """Every pseudonym, every stored (calendar) date as ISO text, and every free text."""
    dates: set[str] = set()
    texts: set[str] = set()
    with unit_of_work(engine, read_only=True) as session:
        pseudonyms = set(session.scalars(select(models.Patient.pseudonym)))
        for table in models.Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, Date):
                    dates.update(v.isoformat() for v in session.scalars(select(column))
                                 if v is not None)
        free: tuple[Any, ...] = (
            models.Site.name, models.AdverseEvent.term_text, models.Measurement.lab,
            models.Measurement.assay, models.Administration.lot, models.Treatment.end_reason,
            models.FlagAcknowledgement.note, models.FlagAcknowledgement.acknowledged_by,
            models.AlsfrsAssessment.reviewed_by, models.Patient.sod1_input)
        for column in free:
            texts.update(v for v in session.scalars(select(column).distinct()) if v)
    return pseudonyms, dates, texts


def test_no_pseudonym_no_stored_date_and_no_free_text_leaves(registry: Engine,
                                                             tmp_path: Path) -> None:
    folder = extract(registry, tmp_path / "extract")
    pseudonyms, dates, texts = stored(registry)
    assert len(pseudonyms) == PATIENTS + CARRIERS and len(dates) > 300 and set(FREE_TEXT) <= texts
    text, cells = every_text(folder), every_cell(folder)
    assert not [p for p in pseudonyms if p in text]
    assert not [d for d in dates if d in text]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", "".join(cells))
    # Free text: never as a cell; long ones never even inside other text. Assay labels may
    # equal their coded platform ("simoa"), and a legacy variant name its normalised one.
    variants = read_csv(folder / "records" / "patients.csv")
    coded = {"simoa", "ella", "ecl", "elisa", "other", "unknown"}
    coded |= {r["sod1_legacy"] for r in variants} | {r["sod1_hgvs"] for r in variants}
    assert not (texts - coded) & cells
    assert not [t for t in texts - coded if len(t) >= 6 and t in text]


def test_onset_mode_counts_days_from_onset_or_a_carriers_first_date(registry: Engine,
                                                                    tmp_path: Path) -> None:
    folder = extract(registry, tmp_path / "extract")
    patients = {row["id"]: row for row in read_csv(folder / "records" / "patients.csv")}
    with unit_of_work(registry, read_only=True) as session:
        people = list(session.scalars(select(models.Patient)))
    for person in people:
        row = patients[extract_id(KEY, person.pseudonym)]
        assert row["birth_band"].startswith(str(person.birth_year - person.birth_year % 5))
        if person.onset_date is not None:
            assert (row["time_origin"], row["onset_day"]) == ("onset", "0")
            assert person.diagnosis_date is not None
            assert int(row["diagnosis_day"]) == (person.diagnosis_date - person.onset_date).days
        else:
            assert row["time_origin"] in ("first_record", "") and row["onset_day"] == ""
    doses = read_csv(folder / "records" / "doses.csv")
    carriers = {i for i, r in patients.items() if r["status"] == "carrier"}
    days: dict[str, list[int]] = {}
    for path in (folder / "records").glob("*.csv"):
        for row in read_csv(path):
            if row["id"] in carriers:
                days.setdefault(row["id"], []).extend(
                    int(v) for k, v in row.items() if k.endswith("day") and v)
    assert days and all(min(d) == 0 for d in days.values())  # day 0: the earliest date
    assert "lot" not in doses[0] and "lab" not in read_csv(
        folder / "records" / "biomarkers.csv")[0]


def test_shift_mode_moves_each_patient_by_one_nonzero_amount(registry: Engine,
                                                             tmp_path: Path) -> None:
    folder = extract(registry, tmp_path / "extract", mode=DateMode.SHIFT)
    with unit_of_work(registry, read_only=True) as session:
        truth = {(p.pseudonym, a.date, a.drug): a.date for p, a in session.execute(
            select(models.Patient, models.Administration)
            .join(models.Administration, models.Administration.patient_id == models.Patient.id))}
    ids = {extract_id(KEY, pseudonym): pseudonym for pseudonym, _, _ in truth}
    shifts: dict[str, set[int]] = {}
    by_patient: dict[str, list[dt.date]] = {}
    for row in read_csv(folder / "records" / "doses.csv"):
        by_patient.setdefault(ids[row["id"]], []).append(dt.date.fromisoformat(row["date"]))
    for pseudonym, shifted in by_patient.items():
        original = sorted(d for p, d, _ in truth if p == pseudonym)
        assert len(original) == len(shifted)
        shifts[pseudonym] = {(s - o).days for s, o in zip(sorted(shifted), original,
                                                           strict=True)}
    assert all(len(s) == 1 and 1 <= abs(next(iter(s))) <= MAX_SHIFT_DAYS
               for s in shifts.values())
    assert len({next(iter(s)) for s in shifts.values()}) > 5


def test_the_same_key_gives_the_same_ids(registry: Engine, tmp_path: Path) -> None:
    one = read_csv(extract(registry, tmp_path / "one") / "records" / "patients.csv")
    two = read_csv(extract(registry, tmp_path / "two") / "records" / "patients.csv")
    write_extract(registry, tmp_path / "three", bytes(range(32)), actor="test")
    three = read_csv(tmp_path / "three" / "records" / "patients.csv")
    assert [r["id"] for r in one] == [r["id"] for r in two]
    assert not {r["id"] for r in one} & {r["id"] for r in three}


def published(path: Path) -> tuple[list[str], list[str], list[list[int | None]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    grid = [[None if v == SUPPRESSED else int(v) for v in row[1:]] for row in rows]
    return [row[0] for row in rows], header[1:], grid


def true_counts(folder: Path) -> dict[str, Counter[tuple[str, str]]]:
    """The aggregates recounted from the extract's own record-level files."""
    patients = read_csv(folder / "records" / "patients.csv")
    site = {p["id"]: p["site"] for p in patients}
    return {
        "people_by_site_status": Counter((p["site"], p["status"]) for p in patients),
        "people_by_variant_site": Counter((p["sod1_hgvs"], p["site"]) for p in patients),
        "adverse_events_by_term_site": Counter(
            (e["term"], site[e["id"]]) for e in read_csv(folder / "records" /
                                                         "adverse_events.csv")),
        "doses_tofersen_by_site_status": Counter(
            (site[d["id"]], d["status"]) for d in read_csv(folder / "records" / "doses.csv")
            if d["drug"] == "tofersen"),
    }


def test_aggregates_hide_every_small_count_and_none_can_be_recomputed(
    registry: Engine, tmp_path: Path,
) -> None:
    for min_cell in (5, 3, 11):
        check_aggregates(registry, tmp_path, min_cell)


def check_aggregates(registry: Engine, tmp_path: Path, min_cell: int) -> None:
    folder = extract(registry, tmp_path / f"extract-{min_cell}", min_cell=min_cell)
    truths = true_counts(folder)
    assert sorted(p.stem for p in (folder / "aggregates").iterdir()) == sorted(truths)
    hidden = 0
    for name, truth in truths.items():
        rows, columns, grid = published(folder / "aggregates" / f"{name}.csv")
        assert rows[-1] == "total" and columns[-1] == "total"
        counts = [[truth[(r, c)] for c in columns[:-1]] for r in rows[:-1]]
        full = [[*row, sum(row)] for row in counts]
        full.append([sum(col) for col in zip(*full, strict=True)])
        for shown_row, true_row in zip(grid, full, strict=True):
            for shown, value in zip(shown_row, true_row, strict=True):
                assert shown is None if 0 < value < min_cell else shown in (None, value)
        for entry, (low, high) in feasible_ranges(grid).items():
            assert high - low > 0.5, (name, entry)  # widths are whole numbers
            hidden += 1
    assert hidden > 0  # the small cohort has small cells to protect


def test_aggregates_only_writes_no_record_level_file(registry: Engine, tmp_path: Path) -> None:
    folder = extract(registry, tmp_path / "extract", aggregates_only=True)
    assert not (folder / "records").exists() and (folder / "aggregates").is_dir()


# --- the command ---------------------------------------------------------------------------


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_the_command_writes_the_extract_and_audits_it(registry: Engine, tmp_path: Path) -> None:
    key_file = tmp_path / "site.key"
    args = ["extract", str(tmp_path / "one"), "--database", url_of(registry),
            "--secret-file", str(key_file)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "created a new extract key" in result.output
    assert key_file.stat().st_size == 32 and key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "one" / "manifest.json").is_file()
    assert (tmp_path / "one" / "records" / "patients.csv").is_file()
    again = runner.invoke(app, ["extract", str(tmp_path / "two"), "--database",
                                url_of(registry), "--dates", "shift", "--min-cell", "3"],
                          env={"ALSRWE_EXTRACT_SECRET_FILE": str(key_file)})
    assert again.exit_code == 0, again.output
    assert "created" not in again.output
    key = key_file.read_bytes()
    with unit_of_work(registry, read_only=True) as session:
        entries = list(session.scalars(select(models.AuditEntry)
                                       .where(models.AuditEntry.action == "extract")
                                       .order_by(models.AuditEntry.id)))
    assert [e.detail["date_mode"] for e in entries if e.detail] == ["onset", "shift"]
    first = entries[0].detail or {}
    assert first["key_fingerprint"] == key_fingerprint(key) and first["min_cell"] == 5
    assert first["destination"] == str((tmp_path / "one").absolute())
    assert first["counts"]["records/patients"] == PATIENTS + CARRIERS
    assert key.hex() not in str(first)
    ids = {r["id"] for r in read_csv(tmp_path / "one" / "records" / "patients.csv")}
    assert ids == {r["id"] for r in read_csv(tmp_path / "two" / "records" / "patients.csv")}


@pytest.mark.parametrize(("content", "mode", "words"), [
    (b"x" * 32, 0o640, "open to group or others"),
    (b"x" * 32, 0o604, "open to group or others"),
    (b"short", 0o600, "needs at least 16"),
])
def test_a_bad_key_file_is_one_line_and_status_2(registry: Engine, tmp_path: Path,
                                                 content: bytes, mode: int, words: str) -> None:
    key_file = tmp_path / "bad.key"
    key_file.write_bytes(content)
    os.chmod(key_file, mode)
    result = runner.invoke(app, ["extract", str(tmp_path / "out"), "--database",
                                 url_of(registry), "--secret-file", str(key_file)])
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    with unit_of_work(registry, read_only=True) as session:
        assert session.scalars(select(models.AuditEntry)
                               .where(models.AuditEntry.action == "extract")).first() is None


def test_a_non_empty_folder_or_a_key_inside_it_is_refused(registry: Engine,
                                                          tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "patients.csv").write_text("patient_id\nBER-0001\n")
    full = runner.invoke(app, ["extract", str(tmp_path / "full"), "--database",
                               url_of(registry), "--secret-file", str(tmp_path / "k")])
    assert full.exit_code == 2 and "new or empty folder" in full.stderr
    inside = runner.invoke(app, ["extract", str(tmp_path / "e"), "--database", url_of(registry),
                                 "--secret-file", str(tmp_path / "e" / "k")])
    assert inside.exit_code == 2 and "inside the extract folder" in inside.stderr
    assert not (tmp_path / "k").exists() and not (tmp_path / "e").exists()


def test_the_default_key_sits_beside_a_sqlite_registry(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALSRWE_EXTRACT_SECRET_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'reg' / 'alsrwe.db'}"
    (tmp_path / "reg").mkdir()
    assert runner.invoke(app, ["init", "--database", url]).exit_code == 0
    result = runner.invoke(app, ["extract", str(tmp_path / "out"), "--database", url])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reg" / "alsrwe-extract.key").stat().st_mode & 0o777 == 0o600
    missing = runner.invoke(app, ["extract", str(tmp_path / "o2"), "--database",
                                  f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 2 and "no registry" in missing.stderr
