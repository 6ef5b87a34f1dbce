"""A records export and its mapping turned into the tidy format's text rows.

Every row of the export is offered to every source of the mapping whose instrument it can
hold (a repeating instrument's row holds only that instrument; a plain or repeating event's
row holds all its instruments). A source whose own fields are all empty is skipped: the
instrument was not used in that event, or that value was not measured — a blank form is not
an error. Otherwise its cells become one :class:`TextRow`, which the tidy builder and the
rulebook judge like any other: the same bad value gets the same rule and code whichever
format brought it.

Problems found later name tidy columns; :meth:`RedcapRows.translate` turns them back into
the records file, its line and the REDCap field (each text row's ``file`` carries a tag
saying which source made it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from alsrwe.domain.alsfrs import ITEM_COLUMNS
from alsrwe.domain.errors import Problem
from alsrwe.domain.tidy_format import TABLES_BY_NAME, neutralise_formula
from alsrwe.interop.redcap.plan import Plan, SourcePlan
from alsrwe.interop.redcap.records import RecordRow, RecordsFile
from alsrwe.interop.tidy_csv.rows import TextRow

TAG = "#"


@dataclass(slots=True)
class _Pending:
    table: str
    tag: str
    line: int
    record: str
    values: dict[str, str]


@dataclass(slots=True)
class RedcapRows:
    """What the reader made of a records file: text rows per tidy table, the problems met,
    the columns it ignored, and how to name a tidy column back as a REDCap field."""

    file: str
    tables: dict[str, list[TextRow]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    """Row tag → tidy column → REDCap field (or mapping key of a constant)."""
    failed: set[tuple[str, int | None, str]] = field(default_factory=set)
    """(row tag, line, tidy column) of cells the reader already refused: the builder's
    complaint about the same cell (now empty) would only repeat it."""

    def translate(self, problem: Problem) -> Problem:
        """A problem about a text row, placed in the records file and named by its field."""
        tag = problem.file or ""
        if not tag.startswith(self.file + TAG):
            return problem
        names = self.names.get(tag, {})
        name = names.get(problem.field or "", problem.field) if problem.field else None
        return Problem(name, problem.rule, problem.code, problem.soft, self.file, problem.row)

    def translated(self, problems: Iterable[Problem]) -> list[Problem]:
        """The problems in REDCap's terms, each once (two measurements of one visit that
        break the same rule name the same date field of the same line)."""
        kept = (self.translate(p) for p in problems
                if (p.file or "", p.row, p.field or "") not in self.failed)
        return list(dict.fromkeys(kept))


def _alsfrs(plan: SourcePlan, row: RecordRow, values: dict[str, str],
            fail: list[tuple[str, str, str]]) -> str:
    """Put the 12 items and the gastrostomy flag in ``values``; the tag variant for q5."""
    items = {code: getter.read(row.cells) for code, getter in plan.items.items()}
    for code, (_, rule) in items.items():
        if rule:
            fail.append(("q5" if code.startswith("q5") else code, plan.items[code].name, rule))
    for column in ITEM_COLUMNS:
        if column in items:
            values[column] = items[column][0]
    if "q5" in plan.items:
        return ""
    a, b = items["q5a"][0], items["q5b"][0]
    g = values.get("gastrostomy", "")
    names = {code: plan.items[code].name for code in ("q5a", "q5b")}
    gastrostomy = plan.getters.get("gastrostomy")
    if a and b:
        rule = (f"item 5a ({names['q5a']}) and item 5b ({names['q5b']}) are both scored; an "
                "assessment scores item 5 on one scale only (5b with a gastrostomy)")
        fail.append(("q5", names["q5b"], rule))
    elif gastrostomy is not None and g in ("0", "1") and (a if g == "1" else b):
        scored, said = ("5a", "1 (5b)") if g == "1" else ("5b", "0 (5a)")
        rule = f"is {said} but item {scored} ({names['q' + scored]}) is scored"
        fail.append(("gastrostomy", gastrostomy.name, rule))
    if gastrostomy is None or not g:
        g = "1" if b else "0"
        values["gastrostomy"] = g
    values["q5"] = (b if g == "1" else a) or a or b  # a mismatch is reported once, above
    return ":5b" if g == "1" else ""


def _read(plan: SourcePlan, row: RecordRow,
          ) -> tuple[dict[str, str], list[tuple[str, str, str]], str]:
    """The source's cells for one row, the (tidy column, field, rule) problems met, the tag
    variant."""
    values: dict[str, str] = {}
    fail: list[tuple[str, str, str]] = []
    for column, getter in plan.getters.items():
        values[column], rule = getter.read(row.cells)
        if rule:
            fail.append((column, getter.name, rule))
    variant = _alsfrs(plan, row, values, fail) if plan.table == "alsfrs" else ""
    return values, fail, variant


def _names(source: SourcePlan, plan: Plan, variant: str) -> dict[str, str]:
    names = source.field_names()
    if variant:
        names["q5"] = source.items["q5b"].name
    names["patient_id"] = plan.pseudonym.name
    return names


def _collect(records: RecordsFile, plan: Plan, result: RedcapRows,
             ) -> tuple[list[_Pending], dict[str, str], dict[str, int]]:
    """Every source's cells of every row; the pseudonyms read; each record's first line."""
    pending: list[_Pending] = []
    pseudonyms: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for row in records.rows():
        first_line.setdefault(row.record, row.line)
        for source in plan.sources:
            if not source.applies(row.event, row.instrument) or not source.filled(row.cells):
                continue
            values, fail, variant = _read(source, row)
            tag = f"{records.file}{TAG}{source.key}{variant}"
            result.problems += [Problem(name, rule, file=records.file, row=row.line)
                                for _, name, rule in fail]
            result.failed |= {(tag, row.line, column) for column, _, _ in fail}
            if tag not in result.names:
                result.names[tag] = _names(source, plan, variant)
            if source.table == "patients" and values.get("patient_id"):
                pseudonyms.setdefault(row.record, values["patient_id"])
            pending.append(_Pending(source.table, tag, row.line, row.record, values))
    return pending, pseudonyms, first_line


def read_rows(records: RecordsFile, plan: Plan) -> RedcapRows:
    """Stream ``records`` through ``plan`` into text rows (pseudonyms resolved at the end)."""
    result = RedcapRows(records.file)
    pending, pseudonyms, first_line = _collect(records, plan, result)
    result.problems[:0] = records.problems
    result.ignored = records.ignored
    by_record = plan.pseudonym.column == plan.record_id
    missing: set[str] = set()
    for item in pending:
        if by_record:
            pseudonym: str | None = neutralise_formula(item.record)
        elif item.table == "patients":
            pseudonym = item.values.get("patient_id") or None
        else:
            pseudonym = pseudonyms.get(item.record)
        if pseudonym is None:
            if item.record not in missing:
                missing.add(item.record)
                result.problems.append(Problem(
                    plan.pseudonym.name, f"record {item.record} has no pseudonym: field "
                    f"{plan.pseudonym.name} (mapping key patients.patient_id) is empty or its "
                    "form was not filled in, so its rows cannot be placed",
                    file=records.file, row=first_line.get(item.record, item.line)))
            continue
        values = {c: item.values.get(c, "") for c in TABLES_BY_NAME[item.table].columns}
        values["patient_id"] = pseudonym
        result.tables.setdefault(item.table, []).append(TextRow(item.tag, item.line, values))
    return result


__all__ = ["RedcapRows", "read_rows"]
