"""The research extract in memory: pseudonymised record tables and protected aggregates.

Every rule comes from :mod:`alsrwe.domain.disclosure` (docs/extract.md): keyed ids, dates as
days since a per-patient origin or shifted per patient, birth years as 5-year bands, no free
text (the read already left it in the database), and aggregate counts with primary and
secondary suppression.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Any

from alsrwe.domain.disclosure import (
    ProtectedTable,
    birth_band,
    date_shift_days,
    days_since,
    extract_id,
    protect_table,
    shift_date,
)
from alsrwe.domain.dosing import AdministrationStatus
from alsrwe.domain.errors import Conflict
from alsrwe.domain.patient import PatientStatus
from alsrwe.domain.safety import AeTerm
from alsrwe.store.reads.extract_rows import DATE_COLUMNS, ExtractRows, Row


class DateMode(StrEnum):
    """How dates leave: days since the patient's origin (default), or shifted dates."""

    ONSET = "onset"
    SHIFT = "shift"


class TimeOrigin(StrEnum):
    """What day 0 is in onset mode: symptom onset, or a carrier's earliest registry date."""

    ONSET = "onset"
    FIRST_RECORD = "first_record"


@dataclass(frozen=True, slots=True)
class RecordTable:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Extract:
    records: list[RecordTable]
    aggregates: dict[str, ProtectedTable]
    row_label: dict[str, str]
    """The heading of each aggregate's first column (what its rows are)."""


PATIENT_COLUMNS = ("site", "sex", "birth_band", "status", "sod1_hgvs", "sod1_legacy",
                   "zygosity", "onset_region")
Converter = Callable[[date | None], Any]


def date_column_name(name: str, mode: DateMode) -> str:
    """``onset_date`` → ``onset_day`` and ``date`` → ``day`` when dates are day numbers."""
    if mode is DateMode.SHIFT:
        return name
    return "day" if name == "date" else name.removesuffix("_date") + "_day"


def _origins(rows: ExtractRows) -> dict[str, tuple[date | None, TimeOrigin | None]]:
    """Day 0 of each patient: symptom onset; for a carrier (no onset), the earliest date the
    registry holds of them (genetic test, counselling or any record)."""
    earliest: dict[str, date] = {}

    def seen(pseudonym: str, value: date | None) -> None:
        if value is not None and (pseudonym not in earliest or value < earliest[pseudonym]):
            earliest[pseudonym] = value

    for name, records in (("patients", rows.patients), *rows.records.items()):
        for row in records:
            for column in DATE_COLUMNS[name]:
                seen(row["pseudonym"], row[column])
    origins: dict[str, tuple[date | None, TimeOrigin | None]] = {}
    for patient in rows.patients:
        pseudonym = patient["pseudonym"]
        if patient["onset_date"] is not None:
            origins[pseudonym] = (patient["onset_date"], TimeOrigin.ONSET)
        elif pseudonym in earliest:
            origins[pseudonym] = (earliest[pseudonym], TimeOrigin.FIRST_RECORD)
        else:
            origins[pseudonym] = (None, None)
    return origins


def _converters(rows: ExtractRows, key: bytes, mode: DateMode) -> dict[str, Converter]:
    """Each patient's date conversion: to days since their origin, or by their shift."""
    if mode is DateMode.SHIFT:
        return {p["pseudonym"]: partial(_shifted, date_shift_days(key, p["pseudonym"]))
                for p in rows.patients}
    return {pseudonym: partial(_since, origin)
            for pseudonym, (origin, _) in _origins(rows).items()}


def _shifted(shift: int, day: date | None) -> date | None:
    return None if day is None else shift_date(day, shift)


def _since(origin: date | None, day: date | None) -> int | None:
    return None if day is None or origin is None else days_since(day, origin)


def _ids(rows: ExtractRows, key: bytes) -> dict[str, str]:
    ids = {p["pseudonym"]: extract_id(key, p["pseudonym"]) for p in rows.patients}
    if len(set(ids.values())) != len(ids):
        raise Conflict("two pseudonyms share an extract id (a 64-bit collision): make a new "
                       "extract key and extract again")
    return ids


def _sorted(rows: list[tuple[Any, ...]], keys: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows by id, then by the record's original dates: no order of the source survives."""
    return [row for _, row in sorted(zip(keys, rows, strict=True), key=lambda pair: pair[0])]


def _order_key(row: Row, names: tuple[str, ...], dates: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple((row[c] or date.min) if c in dates else str(row[c]) for c in names)


def record_tables(rows: ExtractRows, key: bytes, mode: DateMode) -> list[RecordTable]:
    """The patients and every record table, pseudonymised."""
    ids, convert = _ids(rows, key), _converters(rows, key, mode)
    origins = _origins(rows)
    dates = DATE_COLUMNS["patients"]
    columns = ("id", *PATIENT_COLUMNS,
               *(("time_origin",) if mode is DateMode.ONSET else ()),
               *(date_column_name(c, mode) for c in dates))
    patients, keys = [], []
    for p in rows.patients:
        pid = ids[p["pseudonym"]]
        values = {**p, "birth_band": birth_band(p["birth_year"])}
        origin = (origins[p["pseudonym"]][1],) if mode is DateMode.ONSET else ()
        patients.append((pid, *(values[c] for c in PATIENT_COLUMNS), *origin,
                         *(convert[p["pseudonym"]](p[c]) for c in dates)))
        keys.append((pid,))
    tables = [RecordTable("patients", columns, _sorted(patients, keys))]
    for name, records in rows.records.items():
        dates, names = DATE_COLUMNS[name], rows.columns[name]
        out, keys = [], []
        for row in records:
            pid, change = ids[row["pseudonym"]], convert[row["pseudonym"]]
            out.append((pid, *(change(row[c]) if c in dates else row[c] for c in names)))
            keys.append((pid, *_order_key(row, names, dates)))
        header = ("id", *(date_column_name(c, mode) if c in dates else c for c in names))
        tables.append(RecordTable(name, header, _sorted(out, keys)))
    return tables


def _count_table(rows: Iterable[str], columns: Iterable[str], pairs: Iterable[tuple[str, str]],
                 min_cell: int) -> ProtectedTable:
    row_labels, column_labels = list(rows), list(columns)
    counted = Counter(pairs)
    counts = [[counted[(r, c)] for c in column_labels] for r in row_labels]
    return protect_table(row_labels, column_labels, counts, min_cell)


def aggregate_tables(rows: ExtractRows, min_cell: int) -> tuple[dict[str, ProtectedTable],
                                                                dict[str, str]]:
    """People by site × status and by SOD1 variant × site, adverse events by term × site,
    and doses of each drug by site × status; each protected by ``protect_table``."""
    site_of = {p["pseudonym"]: p["site"] for p in rows.patients}
    statuses = [s.value for s in PatientStatus]
    variants = sorted({p["sod1_hgvs"] for p in rows.patients})
    tables = {
        "people_by_site_status": _count_table(
            rows.sites, statuses, ((p["site"], str(p["status"])) for p in rows.patients),
            min_cell),
        "people_by_variant_site": _count_table(
            variants, rows.sites, ((p["sod1_hgvs"], p["site"]) for p in rows.patients),
            min_cell),
        "adverse_events_by_term_site": _count_table(
            [t.value for t in AeTerm], rows.sites,
            ((str(e["term"]), site_of[e["pseudonym"]]) for e in rows.records["adverse_events"]),
            min_cell),
    }
    labels = {"people_by_site_status": "site", "people_by_variant_site": "sod1_hgvs",
              "adverse_events_by_term_site": "term"}
    doses = rows.records["doses"]
    for drug in sorted({str(d["drug"]) for d in doses}):
        name = "doses_" + "".join(ch if ch.isalnum() else "_" for ch in drug) + "_by_site_status"
        tables[name] = _count_table(
            rows.sites, [s.value for s in AdministrationStatus],
            ((site_of[d["pseudonym"]], str(d["status"])) for d in doses if str(d["drug"]) == drug),
            min_cell)
        labels[name] = "site"
    return tables, labels


def build_extract(rows: ExtractRows, key: bytes, mode: DateMode, min_cell: int,
                  aggregates_only: bool = False) -> Extract:
    records = [] if aggregates_only else record_tables(rows, key, mode)
    aggregates, labels = aggregate_tables(rows, min_cell)
    return Extract(records, aggregates, labels)


__all__ = ["DateMode", "Extract", "RecordTable", "TimeOrigin", "build_extract",
           "date_column_name"]
