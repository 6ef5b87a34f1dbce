"""The mapping: which REDCap fields hold which of alsrwe's tidy columns (a TOML file).

Every project names its fields differently, so a small TOML file says where each tidy
column comes from (docs/interop.md has every key). A column is either a field, written as
its name (``date = "alsfrs_date"``), or a table: ``{ field = "sex", choices = { "1" = "M",
"2" = "F" } }`` translates choice codes, ``{ field = "site", label = true }`` takes the
choice's label, ``{ field = "ae_flags", checkbox = "2" }`` reads one checkbox option (0/1)
and ``{ value = "clinic" }`` is a constant. The file is loaded with :mod:`tomllib` and
checked with pydantic: unknown keys and wrong shapes are problems naming the key.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from alsrwe.domain.errors import InvalidInput, Problem

MAPPINGS = Path(__file__).parent / "mappings"
CLINIC_MAPPING = MAPPINGS / "alsrwe_clinic.toml"
"""The shipped mapping of a typical ALS clinic project (examples/redcap/)."""


def _text(value: Any) -> Any:
    """TOML integers written where text is meant (``value = 100``, ``"1" = 0``) as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _ref(value: Any) -> Any:
    if isinstance(value, str):
        return {"field": value}
    if isinstance(value, dict):
        value = dict(value)
        if "value" in value:
            value["value"] = _text(value["value"])
        if isinstance(value.get("choices"), dict):
            value["choices"] = {str(k): _text(v) for k, v in value["choices"].items()}
        if "checkbox" in value:
            value["checkbox"] = _text(value["checkbox"])
    return value


class Ref(BaseModel):
    """Where one tidy column's value comes from: a field (translated or not) or a constant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = None
    value: str | None = None
    choices: dict[str, str] | None = None
    label: bool = False
    checkbox: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Ref:
        if (self.field is None) == (self.value is None):
            raise ValueError("give either field (a REDCap field) or value (a constant)")
        extras = [self.choices is not None, self.label, self.checkbox is not None]
        if self.value is not None and any(extras):
            raise ValueError("a constant value takes no choices, label or checkbox")
        if sum(extras) > 1:
            raise ValueError("give at most one of choices, label and checkbox")
        return self

    def dump(self) -> str | dict[str, Any]:
        """As the TOML file writes it: the bare field name when that says it all."""
        data = self.model_dump(exclude_defaults=True)
        return self.field if data.keys() == {"field"} and self.field else data


Column = Annotated[Ref, BeforeValidator(_ref)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Project(_Model):
    """The project as a whole. ``record_id`` defaults to the dictionary's first field;
    ``repeating_events`` lists the events set to repeat as a whole (rows with an instance
    but no instrument)."""

    description: str = ""
    record_id: str | None = None
    repeating_events: list[str] = []


class Source(_Model):
    """One instrument (``form``) that gives rows of a tidy table, optionally only in some
    ``events``; its other keys are the table's columns."""

    form: str
    events: list[str] = []
    confirmed_warnings: Column | None = None

    def columns(self) -> dict[str, Ref]:
        """The tidy columns this source maps (every key but form, events and items)."""
        return {name: value for name, value in self if isinstance(value, Ref)}


class PatientsSource(Source):
    patient_id: Column | None = None
    site: Column
    sex: Column
    birth_year: Column
    status: Column
    sod1_variant: Column
    zygosity: Column
    onset_date: Column | None = None
    onset_region: Column | None = None
    diagnosis_date: Column | None = None
    site_name: Column | None = None


class AlsfrsSource(Source):
    date: Column
    items: dict[str, str]
    """Item code (``q1`` … ``q12``; ``q5`` with ``gastrostomy``, or ``q5a`` and ``q5b``) →
    the field holding its score 0-4."""
    gastrostomy: Column | None = None
    source: Column


class MeasurementsSource(Source):
    date: Column
    kind: Column
    value: Column
    unit: Column
    assay: Column | None = None
    lab: Column | None = None


class AdministrationsSource(Source):
    date: Column
    drug: Column
    status: Column
    dose_mg: Column | None = None
    lot: Column | None = None
    csf_removed_ml: Column | None = None


class MedicationsSource(Source):
    drug: Column
    start_date: Column
    stop_date: Column | None = None


class AdverseEventsSource(Source):
    onset_date: Column
    term: Column
    grade: Column
    serious: Column
    related: Column
    outcome: Column
    resolved_date: Column | None = None
    term_text: Column | None = None
    action: Column | None = None


class MilestonesSource(Source):
    date: Column
    kind: Column


class RedcapMapping(_Model):
    """A whole mapping file: the project, the patient's instrument, and the sources of every
    other tidy table (each a list: several instruments may give rows of one table)."""

    project: Project = Project()
    patients: PatientsSource
    alsfrs: list[AlsfrsSource] = []
    measurements: list[MeasurementsSource] = []
    administrations: list[AdministrationsSource] = []
    medications: list[MedicationsSource] = []
    adverse_events: list[AdverseEventsSource] = []
    milestones: list[MilestonesSource] = []

    def sources(self) -> list[tuple[str, str, Source]]:
        """(tidy table, mapping key, source) for every source, in file order."""
        found: list[tuple[str, str, Source]] = [("patients", "patients", self.patients)]
        for table in ("alsfrs", "measurements", "administrations", "medications",
                      "adverse_events", "milestones"):
            items: list[Source] = getattr(self, table)
            found += [(table, f"{table}[{i}]", source) for i, source in enumerate(items, 1)]
        return found


def _key(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a mapping key: ``measurements[2].value`` (counted from 1)."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part + 1}]"
        elif "[" not in part and "-" not in part:
            key += f".{part}" if key else part
    return key


def load_mapping(path: Path) -> RedcapMapping:
    """Read and check a mapping file; InvalidInput names the file and every bad key."""
    file = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput([Problem(None, f"cannot be read: {error}", file=file)]) from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput([Problem(None, f"is not valid TOML: {error}", file=file)]) from None
    try:
        return RedcapMapping.model_validate(data)
    except ValidationError as error:
        problems = [Problem(_key(e["loc"]) or None, e["msg"], file=file)
                    for e in error.errors()]
        raise InvalidInput(problems) from None


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, Ref):
        value = value.dump()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def _table_lines(model: BaseModel) -> list[str]:
    lines = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None or value == type(model).model_fields[name].default:
            continue
        lines.append(f"{name} = {_toml_value(value)}")
    return lines


def mapping_toml(mapping: RedcapMapping, comment: str = "") -> str:
    """The mapping as a TOML file that :func:`load_mapping` reads back to the same model."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    project = _table_lines(mapping.project)
    if project:
        lines += ["", "[project]", *project]
    lines += ["", "[patients]", *_table_lines(mapping.patients)]
    for table, _, source in mapping.sources()[1:]:
        lines += ["", f"[[{table}]]", *_table_lines(source)]
    return "\n".join(lines).lstrip("\n") + "\n"


__all__ = ["CLINIC_MAPPING", "AdministrationsSource", "AdverseEventsSource", "AlsfrsSource",
           "Column", "MeasurementsSource", "MedicationsSource", "MilestonesSource",
           "PatientsSource", "Project", "RedcapMapping", "Ref", "Source", "load_mapping",
           "mapping_toml"]
