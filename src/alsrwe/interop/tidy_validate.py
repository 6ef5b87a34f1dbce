"""Validation of tidy CSV rows into typed records, every problem collected with its place.

Each ``_validate_<table>`` reads one row through a :class:`RowReader`, which records a
:class:`Problem` for every cell that breaks a rule (the domain's errors carry the rule) and
carries on, so a file is checked whole. Cross-row rules (unknown patients, duplicate natural
keys, milestones after death) are checked once all rows are read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from alsrwe.domain.alsfrs import AlsfrsR, AssessmentSource
from alsrwe.domain.biomarkers import normalize_measurement
from alsrwe.domain.errors import DomainError
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.patient import PatientStatus, Sex, patient_record
from alsrwe.domain.regimens import REGIMENS, AdministrationStatus
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm, adverse_event
from alsrwe.domain.sod1 import Zygosity, parse_sod1_variant
from alsrwe.interop import cells
from alsrwe.interop.problems import Problem
from alsrwe.interop.tidy_schema import ITEM_COLUMNS, TABLES_BY_NAME, TableSpec
from alsrwe.interop.tidy_timeline import PatientDates, timeline_problems

T = TypeVar("T")
Record = dict[str, Any]


@dataclass(slots=True)
class RawTable:
    """A file as read: its header and its rows as text, with their line numbers."""

    spec: TableSpec
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


@dataclass(slots=True)
class RowReader:
    """Reads the cells of one row, turning each broken rule into a Problem."""

    file: str
    line: int
    row: dict[str, str]
    problems: list[Problem] = field(default_factory=list)

    def cell(self, column: str, parse: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return parse(self.row.get(column, ""), *args, **kwargs)
        except cells.CellError as error:
            self.fail(column, error.rule)
        except DomainError as error:
            self.fail(column, error.rule)
        return None

    def rule(self, column: str, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Apply a domain rule; its error's field names the column unless it names one."""
        try:
            return check(*args, **kwargs)
        except DomainError as error:
            self.fail(error.field if error.field in self.row else column, error.rule)
        return None

    def fail(self, column: str | None, rule: str) -> None:
        self.problems.append(Problem(self.file, self.line, column, rule))

    @property
    def ok(self) -> bool:
        return not self.problems


ADMINISTERED_DRUGS: tuple[str, ...] = tuple(sorted({r.drug for r in REGIMENS.values()}))
"""Drug codes of administrations.csv: the drugs of the regimens alsrwe schedules."""


def _administered_drug(cell: str) -> str:
    value = (cells.text(cell) or "").lower()
    if value not in ADMINISTERED_DRUGS:
        raise cells.CellError(f"'{cell.strip()}' is not one of: {', '.join(ADMINISTERED_DRUGS)}")
    return value


def _patient(r: RowReader, today: date) -> Record | None:
    pseudonym = r.cell("patient_id", cells.text)
    site = r.cell("site", cells.text)
    sex = r.cell("sex", cells.choice, Sex)
    birth_year = r.cell("birth_year", cells.integer)
    status = r.cell("status", cells.choice, PatientStatus)
    variant_text = r.cell("sod1_variant", cells.text, max_length=64)
    variant = r.rule("sod1_variant", parse_sod1_variant, variant_text) if variant_text else None
    zygosity = r.cell("zygosity", cells.choice, Zygosity)
    onset = r.cell("onset_date", cells.iso_date, required=False, not_after=today)
    region = r.cell("onset_region", cells.choice, OnsetRegion, required=False)
    diagnosis = r.cell("diagnosis_date", cells.iso_date, required=False, not_after=today)
    if not r.ok or variant is None:
        return None
    record = r.rule("status", patient_record, pseudonym, site, sex, birth_year, status,
                    today.year, onset_date=onset, onset_region=region, diagnosis_date=diagnosis)
    if record is None:
        return None
    return {
        "pseudonym": record.patient_id, "site": record.site,
        "site_name": r.cell("site_name", cells.text, required=False, max_length=200),
        "sex": record.sex,
        "birth_year": record.birth_year, "status": record.status,
        "sod1_hgvs": variant.hgvs, "sod1_legacy": variant.legacy, "sod1_input": variant_text,
        "zygosity": zygosity, "onset_date": record.onset_date,
        "onset_region": record.onset_region, "diagnosis_date": record.diagnosis_date,
    }


def _alsfrs(r: RowReader, today: date) -> Record | None:
    pseudonym = r.cell("patient_id", cells.text)
    when = r.cell("date", cells.iso_date, not_after=today)
    items = [r.cell(q, cells.integer) for q in ITEM_COLUMNS]
    gastrostomy = r.cell("gastrostomy", cells.flag)
    source = r.cell("source", cells.choice, AssessmentSource)
    if not r.ok or gastrostomy is None:
        return None
    score = r.rule("q5", AlsfrsR.from_items, [int(i or 0) for i in items],
                   gastrostomy=gastrostomy)
    if score is None:
        return None
    return {"pseudonym": pseudonym, "date": when, **dict(zip(ITEM_COLUMNS, score.items,
            strict=True)), "gastrostomy": gastrostomy, "source": source}


def _measurement(r: RowReader, today: date) -> Record | None:
    pseudonym = r.cell("patient_id", cells.text)
    when = r.cell("date", cells.iso_date, not_after=today)
    kind = r.cell("kind", cells.text)
    value = r.cell("value", cells.number)
    unit = r.cell("unit", cells.text)
    if not r.ok:
        return None
    assay = r.cell("assay", cells.text, required=False, max_length=40)
    lab = r.cell("lab", cells.text, required=False, max_length=100)
    if not r.ok:
        return None
    measured = r.rule("value", normalize_measurement, kind, value, unit, assay=assay, lab=lab)
    if measured is None:
        return None
    return {"pseudonym": pseudonym, "date": when, "kind": measured.kind,
            "value": measured.value, "unit": measured.unit, "assay": measured.assay,
            "lab": measured.lab}


def _administration(r: RowReader, today: date) -> Record | None:
    pseudonym = r.cell("patient_id", cells.text)
    when = r.cell("date", cells.iso_date, not_after=today)
    drug = r.cell("drug", _administered_drug)
    status = r.cell("status", cells.choice, AdministrationStatus)
    lot = r.cell("lot", cells.text, required=False, max_length=64)
    dose = r.cell("dose_mg", cells.number, required=False, positive=True)
    csf = r.cell("csf_removed_ml", cells.number, required=False, minimum=0)
    if status is AdministrationStatus.GIVEN and dose is None and r.ok:
        r.fail("dose_mg", "is required when status is given")
    if not r.ok:
        return None
    return {"pseudonym": pseudonym, "date": when, "drug": drug, "dose_mg": dose,
            "status": status, "lot": lot,
            "csf_removed_ml": csf}


def _medication(r: RowReader, today: date) -> Record | None:
    pseudonym = r.cell("patient_id", cells.text)
    drug = r.cell("drug", cells.text, max_length=64)
    start = r.cell("start_date", cells.iso_date, not_after=today)
    stop = r.cell("stop_date", cells.iso_date, required=False, not_after=today)
    if start is not None and stop is not None and stop < start:
        r.fail("stop_date", f"{stop} is before start_date {start}")
    if not r.ok:
        return None
    return {"pseudonym": pseudonym, "drug": drug.lower() if drug else drug,
            "start_date": start, "stop_date": stop}


def _adverse_event(r: RowReader, today: date) -> Record | None:
    pseudonym = r.cell("patient_id", cells.text)
    onset = r.cell("onset_date", cells.iso_date, not_after=today)
    term = r.cell("term", cells.choice, AeTerm)
    grade = r.cell("grade", cells.integer, low=1, high=5)
    serious = r.cell("serious", cells.flag)
    related = r.cell("related", cells.flag)
    outcome = r.cell("outcome", cells.choice, AeOutcome)
    resolved = r.cell("resolved_date", cells.iso_date, required=False, not_after=today)
    action = r.cell("action", cells.choice, AeAction, required=False)
    term_text = r.cell("term_text", cells.text, required=False, max_length=200)
    if not r.ok:
        return None
    event = r.rule("term", adverse_event, term=term, onset=onset, grade=grade, serious=serious,
                   related=related, outcome=outcome, resolved=resolved, term_text=term_text,
                   action=action)
    if event is None:
        return None
    return {"pseudonym": pseudonym, "onset_date": onset, "term": term, "term_text": term_text,
            "grade": grade, "serious": serious, "related": related, "outcome": outcome,
            "action": action, "resolved_date": resolved}


def _milestone(r: RowReader, today: date) -> Record | None:
    pseudonym = r.cell("patient_id", cells.text)
    when = r.cell("date", cells.iso_date, not_after=today)
    kind = r.cell("kind", cells.choice, MilestoneKind)
    if not r.ok:
        return None
    return {"pseudonym": pseudonym, "date": when, "kind": kind}


ROW_VALIDATORS: dict[str, Callable[[RowReader, date], Record | None]] = {
    "patients": _patient,
    "alsfrs": _alsfrs,
    "measurements": _measurement,
    "administrations": _administration,
    "medications": _medication,
    "adverse_events": _adverse_event,
    "milestones": _milestone,
}


@dataclass(slots=True)
class Validated:
    """Typed records per table (keyed by pseudonym, not yet by database id) and problems."""

    records: dict[str, list[Record]]
    problems: list[Problem]


def validate(raw: dict[str, RawTable], today: date,
             registered: Mapping[str, PatientDates]) -> Validated:
    """Validate every row of every table, then the rules that span rows and files.

    ``registered`` holds the patients already in the registry (with their onset and death
    dates), which child rows may name.
    """
    records: dict[str, list[Record]] = {}
    problems: list[Problem] = []
    lines: dict[str, list[int]] = {}
    for name, table in raw.items():
        validator = ROW_VALIDATORS[name]
        kept: list[Record] = []
        kept_lines: list[int] = []
        for line, row in table.rows:
            reader = RowReader(table.spec.filename, line, row)
            record = validator(reader, today)
            problems.extend(reader.problems)
            if record is not None:
                kept.append(record)
                kept_lines.append(line)
        records[name] = kept
        lines[name] = kept_lines
    # A patient row that failed is reported once, not again for each of its child rows.
    listed = raw["patients"].rows if "patients" in raw else []
    known = set(registered) | {row.get("patient_id", "").strip() for _, row in listed}
    for name, kept in records.items():
        problems.extend(_duplicate_keys(TABLES_BY_NAME[name], kept, lines[name]))
        if name != "patients":
            problems.extend(_unknown_patients(TABLES_BY_NAME[name], kept, lines[name], known))
    problems.extend(timeline_problems(records, lines, registered))
    return Validated(records, problems)


def _key(spec: TableSpec, record: Record) -> tuple[Any, ...]:
    return tuple(record["pseudonym" if col == "patient_id" else col] for col in spec.key)


def _duplicate_keys(spec: TableSpec, records: Sequence[Record],
                    lines: Sequence[int]) -> list[Problem]:
    seen: dict[tuple[Any, ...], int] = {}
    problems = []
    for record, line in zip(records, lines, strict=True):
        key = _key(spec, record)
        if key in seen:
            columns = ", ".join(spec.key)
            problems.append(Problem(spec.filename, line, spec.key[-1],
                                    f"repeats ({columns}) of row {seen[key]}"))
        else:
            seen[key] = line
    return problems


def _unknown_patients(spec: TableSpec, records: Sequence[Record], lines: Sequence[int],
                      known: set[str]) -> list[Problem]:
    return [
        Problem(spec.filename, line, "patient_id",
                f"'{record['pseudonym']}' is neither in patients.csv nor in the registry")
        for record, line in zip(records, lines, strict=True)
        if record["pseudonym"] not in known
    ]
