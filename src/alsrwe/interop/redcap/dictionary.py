"""REDCap data dictionaries: the CSV that defines a project's instruments and fields.

REDCap's own download has 18 columns in a fixed order (:data:`HEADER`); older versions lack
the last ones, so only the first four are required on reading. Radio, dropdown and checkbox
fields list their choices as ``1, Female | 2, Male``; ``yesno`` and ``truefalse`` fields have
fixed choices (1 = yes/true, 0 = no/false). A checkbox field is exported as one column per
choice, ``field___code``, holding 0 or 1. Problems name the dictionary file, its line and the
dictionary column.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.interop.input_files import open_text

NAME = "Variable / Field Name"
FORM = "Form Name"
SECTION = "Section Header"
TYPE = "Field Type"
LABEL = "Field Label"
CHOICES = "Choices, Calculations, OR Slider Labels"
NOTE = "Field Note"
VALIDATION = "Text Validation Type OR Show Slider Number"
MINIMUM = "Text Validation Min"
MAXIMUM = "Text Validation Max"
IDENTIFIER = "Identifier?"
BRANCHING = "Branching Logic (Show field only if...)"
REQUIRED = "Required Field?"
ALIGNMENT = "Custom Alignment"
QUESTION_NUMBER = "Question Number (surveys only)"
MATRIX_GROUP = "Matrix Group Name"
MATRIX_RANKING = "Matrix Ranking?"
ANNOTATION = "Field Annotation"

HEADER: tuple[str, ...] = (
    NAME, FORM, SECTION, TYPE, LABEL, CHOICES, NOTE, VALIDATION, MINIMUM, MAXIMUM, IDENTIFIER,
    BRANCHING, REQUIRED, ALIGNMENT, QUESTION_NUMBER, MATRIX_GROUP, MATRIX_RANKING, ANNOTATION,
)
"""REDCap's data dictionary columns, in REDCap's order."""
REQUIRED_COLUMNS = (NAME, FORM, TYPE, LABEL)

FIELD_TYPES = frozenset({"text", "notes", "calc", "dropdown", "radio", "checkbox", "yesno",
                         "truefalse", "file", "slider", "descriptive", "sql"})
CHOICE_TYPES = frozenset({"dropdown", "radio", "checkbox"})
FIXED_CHOICES: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType({
    "yesno": (("1", "Yes"), ("0", "No")),
    "truefalse": (("1", "True"), ("0", "False")),
})
"""The choices REDCap gives ``yesno`` and ``truefalse`` fields (raw 1/0)."""

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
"""REDCap's rule for field and form names: lower case letters, digits and ``_``, starting
with a letter."""
RECOMMENDED_NAME_LENGTH = 26
"""REDCap recommends field names of at most 26 characters."""
CHECKBOX_SEPARATOR = "___"


def valid_name(name: str) -> bool:
    """A field or form name as REDCap wants it (and no longer than it recommends)."""
    return bool(NAME_PATTERN.fullmatch(name)) and len(name) <= RECOMMENDED_NAME_LENGTH


@dataclass(frozen=True, slots=True)
class DictionaryField:
    """One row of a data dictionary; ``choices`` are (code, label) pairs in order."""

    name: str
    form: str
    type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    branching: str = ""
    required: bool = False
    section: str = ""
    note: str = ""
    annotation: str = ""
    choices_text: str = ""
    """The choices column as written (a calc field's formula, a slider's labels)."""
    line: int | None = None

    @property
    def codes(self) -> dict[str, str]:
        """Choice code → label (the fixed ones for yesno/truefalse)."""
        return dict(FIXED_CHOICES.get(self.type, self.choices))

    @property
    def is_date(self) -> bool:
        return self.type == "text" and self.validation.startswith(("date_", "datetime_"))

    def columns(self) -> tuple[str, ...]:
        """The records-export columns of this field (one per choice for a checkbox)."""
        if self.type == "checkbox":
            return tuple(checkbox_column(self.name, code) for code, _ in self.choices)
        if self.type == "descriptive":
            return ()
        return (self.name,)

    def row(self) -> dict[str, str]:
        """The dictionary row REDCap would read for this field."""
        choices = format_choices(self.choices) if self.type in CHOICE_TYPES else self.choices_text
        return {NAME: self.name, FORM: self.form, SECTION: self.section, TYPE: self.type,
                LABEL: self.label, CHOICES: choices, NOTE: self.note,
                VALIDATION: self.validation, MINIMUM: self.minimum, MAXIMUM: self.maximum,
                IDENTIFIER: "y" if self.identifier else "", BRANCHING: self.branching,
                REQUIRED: "y" if self.required else "", ANNOTATION: self.annotation}


def checkbox_column(name: str, code: str) -> str:
    """A checkbox choice's export column: ``field___code`` (code lower case, other characters
    than letters and digits as ``_``)."""
    return f"{name}{CHECKBOX_SEPARATOR}{re.sub(r'[^a-z0-9]', '_', code.lower())}"


def format_choices(choices: Iterable[tuple[str, str]]) -> str:
    return " | ".join(f"{code}, {label}" for code, label in choices)


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """``1, Female | 2, Male`` as ((code, label), …); ValueError names a malformed part."""
    pairs = []
    for part in text.split("|"):
        code, comma, label = part.strip().partition(",")
        if not part.strip():
            continue
        if not comma or not code.strip():
            raise ValueError(f"'{part.strip()}' is not 'code, label'")
        pairs.append((code.strip(), label.strip()))
    if not pairs:
        raise ValueError("lists no choices ('1, First | 2, Second')")
    codes = [code for code, _ in pairs]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise ValueError(f"repeats the code(s) {', '.join(repeated)}")
    return tuple(pairs)


@dataclass(slots=True)
class DataDictionary:
    """A project's fields in dictionary order; the first field is the record id."""

    file: str
    fields: dict[str, DictionaryField] = field(default_factory=dict)

    @property
    def record_id(self) -> str:
        return next(iter(self.fields))

    @property
    def forms(self) -> tuple[str, ...]:
        """Form names in the order they first appear."""
        return tuple(dict.fromkeys(f.form for f in self.fields.values()))

    def form_fields(self, form: str) -> tuple[DictionaryField, ...]:
        return tuple(f for f in self.fields.values() if f.form == form)


def _field(line: int, row: Mapping[str, str], file: str) -> tuple[DictionaryField | None,
                                                                     list[Problem]]:
    def cell(column: str) -> str:
        return (row.get(column) or "").strip()

    name, kind = cell(NAME), cell(TYPE).lower()
    problems = []
    if not name:
        problems.append(Problem(NAME, "is empty: every row needs a field name", file=file,
                                row=line))
    if kind not in FIELD_TYPES:
        problems.append(Problem(TYPE, f"'{kind}' (field {name}) is not a REDCap field type; "
                                      f"use {', '.join(sorted(FIELD_TYPES))}",
                                file=file, row=line))
    if not cell(FORM):
        problems.append(Problem(FORM, f"is empty for field {name}", file=file, row=line))
    choices: tuple[tuple[str, str], ...] = ()
    if kind in CHOICE_TYPES:
        try:
            choices = parse_choices(cell(CHOICES))
        except ValueError as error:
            problems.append(Problem(CHOICES, f"field {name} ({kind}): {error}", file=file,
                                    row=line))
    if problems:
        return None, problems
    return DictionaryField(
        name=name, form=cell(FORM), type=kind, label=cell(LABEL), choices=choices,
        validation=cell(VALIDATION).lower(), minimum=cell(MINIMUM), maximum=cell(MAXIMUM),
        identifier=cell(IDENTIFIER).lower() == "y", branching=cell(BRANCHING),
        required=cell(REQUIRED).lower() == "y", section=cell(SECTION), note=cell(NOTE),
        annotation=cell(ANNOTATION), choices_text=cell(CHOICES), line=line,
    ), []


def read_dictionary(path: Path) -> DataDictionary:
    """Read a data dictionary CSV; InvalidInput names every problem (file, line, column)."""
    file = path.name
    dictionary, problems = DataDictionary(file), []
    try:
        with open_text(path) as handle:
            reader = csv.DictReader(handle, strict=True)
            header = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = header
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InvalidInput([Problem(c, "is a required column of a REDCap data "
                                               "dictionary and is missing", file=file, row=1)
                                    for c in missing])
            line = 1
            for row in reader:
                start, line = line + 1, reader.line_num
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue
                found, row_problems = _field(start, row, file)
                problems += row_problems
                if found is None:
                    continue
                if found.name in dictionary.fields:
                    problems.append(Problem(NAME, f"field {found.name} is defined twice (first "
                                                  f"on line {dictionary.fields[found.name].line})",
                                            file=file, row=start))
                    continue
                dictionary.fields[found.name] = found
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
        raise InvalidInput([Problem(None, f"cannot be read: {reason}", file=file)]) from None
    if not dictionary.fields and not problems:
        problems.append(Problem(None, "defines no fields", file=file))
    if problems:
        raise InvalidInput(problems)
    return dictionary


def write_dictionary(path: Path, fields: Iterable[DictionaryField]) -> int:
    """Write ``fields`` as a data dictionary REDCap can upload; returns the rows written."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER, lineterminator="\n")
        writer.writeheader()
        for item in fields:
            writer.writerow(item.row())
            count += 1
    return count


__all__ = ["CHOICE_TYPES", "FIELD_TYPES", "FIXED_CHOICES", "HEADER", "DataDictionary",
           "DictionaryField", "checkbox_column", "format_choices", "parse_choices",
           "read_dictionary", "valid_name", "write_dictionary"]
