"""A mapping checked against the data dictionary, compiled into what the reader follows.

Before a single record is read, every key of the mapping is checked: the form and every
field exist, each field is on its source's form, its type fits the tidy column (a date
column needs a date-validated text field, a 0/1 column a yesno field or choices that
translate to 0/1 …), translated choice codes are the field's own, constants and translated
values are what alsrwe accepts, and no field marked ``Identifier? = y`` is read. Every
problem names the mapping file, the key and the field.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from alsrwe.domain import cells
from alsrwe.domain.alsfrs import ITEM_COLUMNS, AssessmentSource
from alsrwe.domain.biomarkers import MeasurementKind
from alsrwe.domain.choices import parse_choice
from alsrwe.domain.dosing import AdministrationStatus
from alsrwe.domain.drugs import parse_drug
from alsrwe.domain.errors import DomainError, Problem
from alsrwe.domain.events import MilestoneKind, OnsetRegion
from alsrwe.domain.patient import PatientStatus, Sex
from alsrwe.domain.records import ADMINISTERED_DRUGS
from alsrwe.domain.safety import AeAction, AeOutcome, AeTerm
from alsrwe.domain.sod1 import Zygosity
from alsrwe.domain.tidy_format import TABLES_BY_NAME, ColumnKind, neutralise_formula
from alsrwe.interop.redcap.dictionary import DataDictionary, DictionaryField, checkbox_column
from alsrwe.interop.redcap.mapping import AlsfrsSource, RedcapMapping, Ref, Source

ITEM_KEYS = frozenset({*ITEM_COLUMNS, "q5a", "q5b"})
SCORES = frozenset(str(score) for score in range(5))
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(:\d{2})?")


def _enum(enum: type, fold: Callable[[str], str] = str.lower) -> Callable[[str, str], None]:
    def check(column: str, value: str) -> None:
        parse_choice(enum, column, value, fold=fold)
    return check


def _parsed(parse: Callable[..., object]) -> Callable[[str, str], None]:
    def check(column: str, value: str) -> None:
        parse(value)
    return check


def _drug(allowed: Collection[str] | None) -> Callable[[str, str], None]:
    def check(column: str, value: str) -> None:
        parse_drug(value, allowed, column)  # type: ignore[arg-type]
    return check


VOCABULARIES: dict[tuple[str, str], Callable[[str, str], None]] = {
    ("patients", "sex"): _enum(Sex, str.upper),
    ("patients", "status"): _enum(PatientStatus),
    ("patients", "zygosity"): _enum(Zygosity),
    ("patients", "onset_region"): _enum(OnsetRegion),
    ("alsfrs", "source"): _enum(AssessmentSource),
    ("alsfrs", "gastrostomy"): _parsed(cells.flag),
    ("measurements", "kind"): _enum(MeasurementKind),
    ("administrations", "drug"): _drug(ADMINISTERED_DRUGS),
    ("administrations", "status"): _enum(AdministrationStatus),
    ("medications", "drug"): _drug(None),
    ("adverse_events", "term"): _enum(AeTerm),
    ("adverse_events", "grade"): _parsed(cells.integer),
    ("adverse_events", "serious"): _parsed(cells.flag),
    ("adverse_events", "related"): _parsed(cells.flag),
    ("adverse_events", "outcome"): _enum(AeOutcome),
    ("adverse_events", "action"): _enum(AeAction),
    ("milestones", "kind"): _enum(MilestoneKind),
}
"""Checks of the alsrwe values a mapping writes (constants, translated choices): the
domain's own parsers, so a wrong value is named in the domain's words."""


@dataclass(frozen=True, slots=True)
class Getter:
    """How one tidy column's text is read from a records row (compiled from a Ref)."""

    key: str
    spec: DictionaryField | None = None
    column: str = ""
    value: str = ""
    choices: dict[str, str] | None = None
    label: bool = False

    @property
    def name(self) -> str:
        """What a problem names: the REDCap field, or the mapping key of a constant."""
        return self.spec.name if self.spec is not None else f"mapping key {self.key}"

    def read(self, row: dict[str, str]) -> tuple[str, str | None]:
        """(the cell as the tidy format writes it, the rule it broke or None)."""
        if self.spec is None:
            return neutralise_formula(self.value), None
        raw = row.get(self.column, "").strip()
        if not raw:
            return "", None
        if self.spec.validation.startswith("datetime_") and (match := _DATETIME.fullmatch(raw)):
            raw = match.group(1)
        if self.spec.validation.endswith("comma_decimal"):
            raw = raw.replace(",", ".")
        codes = self.spec.codes
        if self.choices is not None and raw in self.choices:
            return neutralise_formula(self.choices[raw]), None
        if self.label and raw in codes:
            return neutralise_formula(codes[raw]), None
        if self.choices is not None or self.label:
            return "", self._unknown(raw, codes)
        return neutralise_formula(raw), None

    def _unknown(self, raw: str, codes: dict[str, str]) -> str:
        if raw in codes:
            return (f"code {raw} ({codes[raw]}) has no alsrwe value: add it to mapping key "
                    f"{self.key}.choices")
        if codes:
            listed = "; ".join(f"{code} = {label}" for code, label in codes.items())
            return f"'{raw}' is not one of the field's choices in the data dictionary ({listed})"
        known = ", ".join(sorted(self.choices or {}))
        return f"'{raw}' is not one of the values mapping key {self.key}.choices translates " \
               f"({known})"


@dataclass(slots=True)
class SourcePlan:
    """One source ready to read: its getters by tidy column and the columns whose values
    say that the instrument was filled in (``presence``)."""

    table: str
    key: str
    form: str
    events: frozenset[str]
    getters: dict[str, Getter]
    items: dict[str, Getter] = field(default_factory=dict)
    presence: tuple[str, ...] = ()
    checkboxes: frozenset[str] = frozenset()

    def applies(self, event: str, instrument: str) -> bool:
        if self.events and event not in self.events:
            return False
        return not instrument or instrument == self.form

    def filled(self, cells: dict[str, str]) -> bool:
        """Whether one of the source's own fields holds a value (an unticked checkbox,
        0, holds none)."""
        for column in self.presence:
            value = cells.get(column, "").strip()
            if value and not (value == "0" and column in self.checkboxes):
                return True
        return False

    def field_names(self) -> dict[str, str]:
        """Tidy column → what a problem about it names (q5 as 5a; see the reader)."""
        names = {column: getter.name for column, getter in self.getters.items()}
        for code, getter in self.items.items():
            names.setdefault("q5" if code == "q5a" else code, getter.name)
        return names


@dataclass(slots=True)
class Plan:
    """The compiled mapping: the record id, the pseudonym getter and every source."""

    file: str
    record_id: str
    pseudonym: Getter
    sources: list[SourcePlan]
    repeating_events: frozenset[str]
    columns: frozenset[str]
    """Every records column the mapping reads."""


def _kind(table: str, column: str) -> ColumnKind:
    if column in ITEM_KEYS:
        return ColumnKind.INTEGER
    return TABLES_BY_NAME[table].kinds[column]


_NUMERIC_VALIDATION = ("", "integer", "number")


def _fit(kind: ColumnKind, ref: Ref, spec: DictionaryField) -> str | None:  # noqa: C901
    """Why ``spec`` cannot give a column of ``kind`` as ``ref`` reads it (None if it can)."""
    what = f"field {spec.name} is a {spec.type} field"
    if spec.validation:
        what += f" ({spec.validation})"
    if spec.type in ("descriptive", "file"):
        return f"{what}, which holds no value alsrwe can read"
    if spec.identifier:
        return (f"field {spec.name} is marked as an identifier in the data dictionary "
                "(Identifier? = y): alsrwe keeps pseudonymous data only")
    if ref.checkbox is not None:
        if spec.type != "checkbox":
            return f"checkbox = \"{ref.checkbox}\" needs a checkbox field; {what}"
        if ref.checkbox not in spec.codes:
            return f"checkbox option {ref.checkbox} is not a choice of field {spec.name}"
        return None if kind is ColumnKind.FLAG else "a checkbox option is 0 or 1: it fits " \
                                                     "only a 0/1 column"
    if spec.type == "checkbox":
        return f"{what}: name the option to read, {{ field = \"{spec.name}\", checkbox = …}}"
    if ref.label:
        if not spec.codes:
            return f"label = true needs a field with choices; {what}"
        return None if kind is ColumnKind.TEXT else "a choice label is text: it fits only a " \
                                                    "text column"
    if ref.choices is not None:
        unknown = sorted(set(ref.choices) - set(spec.codes)) if spec.codes else []
        if unknown:
            listed = "; ".join(f"{c} = {label}" for c, label in spec.codes.items())
            return (f"choice code(s) {', '.join(unknown)} are not choices of field "
                    f"{spec.name} in the data dictionary ({listed})")
        return None
    if kind is ColumnKind.DATE and not spec.is_date:
        return f"a date column needs a text field with date validation (date_ymd …); {what}"
    if kind in (ColumnKind.INTEGER, ColumnKind.NUMBER):
        numeric = spec.type in ("calc", "slider", "radio", "dropdown") or (
            spec.type == "text" and spec.validation.startswith(_NUMERIC_VALIDATION)
            and not spec.is_date)
        return None if numeric else f"a number column needs a number field; {what}"
    if kind is ColumnKind.FLAG and spec.type not in ("yesno", "truefalse") and not (
            spec.codes and set(spec.codes) <= {"0", "1"}):
        return (f"a 0/1 column needs a yesno or truefalse field, a checkbox option or "
                f"choices translating the codes to 0 and 1; {what}")
    return None


@dataclass(slots=True)
class _Compiler:
    dictionary: DataDictionary
    file: str
    events: frozenset[str] | None
    problems: list[Problem] = field(default_factory=list)

    def fail(self, key: str, rule: str) -> None:
        self.problems.append(Problem(key, rule, file=self.file))

    def getter(self, table: str, form: str, key: str, column: str, ref: Ref) -> Getter | None:
        check = VOCABULARIES.get((table, column))
        if ref.value is not None:
            if check is not None:
                self._value(key, column, ref.value, check)
            return Getter(key, value=ref.value)
        name = ref.field or ""
        spec = self.dictionary.fields.get(name)
        if spec is None:
            self.fail(key, f"field {name} is not in the data dictionary ({self.dictionary.file})")
            return None
        if spec.form != form and name != self.dictionary.record_id:
            self.fail(key, f"field {name} is on form {spec.form}, not on form {form}")
            return None
        reason = _fit(_kind(table, column), ref, spec)
        if reason is not None:
            self.fail(key, reason)
            return None
        if check is not None:
            for code, value in (ref.choices or {}).items():
                self._value(f"{key}.choices.\"{code}\"", column, value, check)
        if column in ITEM_KEYS and spec.codes and not set(spec.codes) <= SCORES:
            self.fail(key, f"field {name}'s choices ({', '.join(spec.codes)}) are not the "
                           "ALSFRS-R scores 0-4")
        target = checkbox_column(name, ref.checkbox) if ref.checkbox is not None else name
        return Getter(key, spec, target, choices=ref.choices, label=ref.label)

    def _value(self, key: str, column: str, value: str,
               check: Callable[[str, str], None]) -> None:
        try:
            check(column, value)
        except DomainError as error:
            self.fail(key, f"{error.rule}")

    def source(self, table: str, key: str, source: Source) -> SourcePlan | None:
        form = source.form
        if form not in self.dictionary.forms:
            self.fail(f"{key}.form", f"form {form} is not in the data dictionary (its forms: "
                                     f"{', '.join(self.dictionary.forms)})")
            return None
        if self.events is not None:
            for event in source.events:
                if event not in self.events:
                    self.fail(f"{key}.events", f"event {event} is not in the events file")
        getters = {}
        for column, ref in source.columns().items():
            found = self.getter(table, form, f"{key}.{column}", column, ref)
            if found is not None:
                getters[column] = found
        plan = SourcePlan(table, key, form, frozenset(source.events), getters)
        if isinstance(source, AlsfrsSource):
            self._items(plan, source)
        return plan

    def _items(self, plan: SourcePlan, source: AlsfrsSource) -> None:
        keys = set(source.items)
        unknown = sorted(keys - ITEM_KEYS)
        if unknown:
            self.fail(f"{plan.key}.items", f"{', '.join(unknown)}: not ALSFRS-R items; use "
                                           "q1 … q12 (q5, or q5a and q5b)")
        fifth = {"q5"} if "q5" in keys else {"q5a", "q5b"}
        missing = sorted(((set(ITEM_COLUMNS) - {"q5"}) | fifth) - keys,
                         key=lambda k: (len(k), k))
        if missing:
            self.fail(f"{plan.key}.items", f"lacks {', '.join(missing)} (the 12 items; item "
                                           "5 as q5 with gastrostomy, or as q5a and q5b)")
        if "q5" in keys and {"q5a", "q5b"} & keys:
            self.fail(f"{plan.key}.items", "give item 5 as q5 or as q5a and q5b, not both")
        if "q5" in keys and source.gastrostomy is None:
            self.fail(f"{plan.key}.gastrostomy", "is required with q5: it says whether item 5 "
                                                 "was scored as 5a or 5b")
        for code in sorted(keys & ITEM_KEYS):
            found = self.getter("alsfrs", plan.form, f"{plan.key}.items.{code}", code,
                                Ref(field=source.items[code]))
            if found is not None:
                plan.items[code] = found


def _presence(plans: list[SourcePlan], record_id: str) -> None:
    """Each source's own fields: those no other source of the same form also reads (a shared
    visit date does not mean a value was measured); never the record id, in every row."""
    def columns(plan: SourcePlan) -> set[str]:
        getters = [*plan.getters.values(), *plan.items.values()]
        return {g.column for g in getters if g.spec is not None and g.column != record_id}

    uses = Counter((plan.form, column) for plan in plans for column in columns(plan))
    for plan in plans:
        own = {c for c in columns(plan) if uses[plan.form, c] == 1}
        plan.presence = tuple(sorted(own or columns(plan)))
        plan.checkboxes = frozenset(g.column for g in plan.getters.values()
                                    if g.spec is not None and g.spec.type == "checkbox")


def compile_mapping(mapping: RedcapMapping, dictionary: DataDictionary, file: str,
                    events: frozenset[str] | None = None) -> tuple[Plan | None, list[Problem]]:
    """The mapping checked against ``dictionary`` (and the project's ``events`` when known):
    the plan, or None with every problem."""
    compiler = _Compiler(dictionary, file, events)
    record_id = dictionary.record_id
    if mapping.project.record_id not in (None, record_id):
        compiler.fail("project.record_id", f"REDCap's record id is the data dictionary's "
                                           f"first field, {record_id}, not "
                                           f"{mapping.project.record_id}")
    if events is not None:
        for event in mapping.project.repeating_events:
            if event not in events:
                compiler.fail("project.repeating_events", f"event {event} is not in the "
                                                          "events file")
    plans = [plan for table, key, source in mapping.sources()
             if (plan := compiler.source(table, key, source)) is not None]
    pseudonym = next((p.getters.get("patient_id") for p in plans if p.table == "patients"),
                     None)
    if pseudonym is not None and pseudonym.spec is None:
        compiler.fail("patients.patient_id", "must be a field (the record id or a pseudonym "
                                             "field), not a constant")
    if pseudonym is None or pseudonym.spec is None:
        spec = dictionary.fields[record_id]
        pseudonym = Getter("patients.patient_id", spec, record_id)
    if compiler.problems:
        return None, compiler.problems
    _presence(plans, record_id)
    columns = frozenset(g.column for p in plans
                        for g in (*p.getters.values(), *p.items.values()) if g.spec is not None)
    return Plan(file, record_id, pseudonym, plans, frozenset(mapping.project.repeating_events),
                columns | {pseudonym.column}), []


__all__ = ["Getter", "Plan", "SourcePlan", "VOCABULARIES", "compile_mapping"]
