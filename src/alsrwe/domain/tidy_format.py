"""The tidy CSV exchange format as data: its files, columns, column kinds and natural keys.

The human description is docs/data-format.md; this module is the same contract in code, the
one home every layer reads it from: the importer and the exporter (``alsrwe.interop``), the
registry's tidy views (``alsrwe.store``), the analytic schema (``alsrwe.analytics``) and the
synthetic cohort (``alsrwe.synth``), so none of them can drift from the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from alsrwe.domain.alsfrs import ITEM_COLUMNS


class ColumnKind(StrEnum):
    """How a cell is written: text, an ISO date, a whole number, a decimal or a 0/1 flag."""

    TEXT = "text"
    DATE = "date"
    INTEGER = "integer"
    NUMBER = "number"
    FLAG = "flag"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a file; ``required`` columns must be in the header (their cells may
    still be empty where the rule allows it), the others are optional extras."""

    name: str
    kind: ColumnKind = ColumnKind.TEXT
    required: bool = True


CONFIRMED_WARNINGS = "confirmed_warnings"
"""The extra column of every file that lists the plausibility warnings confirmed for the row
(rule codes separated by ``;``): written by export, read by import as the row's confirmation."""

WARNING_SEPARATOR = ";"

MANIFEST = "alsrwe-export.json"
"""The file an export writes beside the tables (when it was read, rows per file, the audit
chain's head); import skips it, and a re-import refuses rows changed since."""


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One file of the format: its name, its columns in order, and its natural key."""

    name: str
    table_columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table_columns if c.required)

    @property
    def extra(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table_columns if not c.required)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column name: the required ones first, then the extras (the export order)."""
        return self.required + self.extra

    @property
    def kinds(self) -> Mapping[str, ColumnKind]:
        return MappingProxyType({c.name: c.kind for c in self.table_columns})


_T, _D, _I, _N, _F = (ColumnKind.TEXT, ColumnKind.DATE, ColumnKind.INTEGER, ColumnKind.NUMBER,
                      ColumnKind.FLAG)
_CONFIRMED = Column(CONFIRMED_WARNINGS, _T, required=False)


def _table(name: str, key: tuple[str, ...], *columns: Column) -> TableSpec:
    return TableSpec(name, (*columns, _CONFIRMED), key)


PATIENTS = _table(
    "patients", ("patient_id",),
    Column("patient_id"), Column("site"), Column("sex"), Column("birth_year", _I),
    Column("status"), Column("sod1_variant"), Column("zygosity"), Column("onset_date", _D),
    Column("onset_region"), Column("diagnosis_date", _D), Column("site_name", required=False),
)
ALSFRS = _table(
    "alsfrs", ("patient_id", "date", "source"),
    Column("patient_id"), Column("date", _D), *(Column(q, _I) for q in ITEM_COLUMNS),
    Column("gastrostomy", _F), Column("source"),
)
MEASUREMENTS = _table(
    "measurements", ("patient_id", "date", "kind"),
    Column("patient_id"), Column("date", _D), Column("kind"), Column("value", _N),
    Column("unit"), Column("assay", required=False), Column("lab", required=False),
)
ADMINISTRATIONS = _table(
    "administrations", ("patient_id", "date", "drug"),
    Column("patient_id"), Column("date", _D), Column("drug"), Column("dose_mg", _N),
    Column("status"), Column("lot"), Column("csf_removed_ml", _N),
)
MEDICATIONS = _table(
    "medications", ("patient_id", "drug", "start_date"),
    Column("patient_id"), Column("drug"), Column("start_date", _D), Column("stop_date", _D),
)
ADVERSE_EVENTS = _table(
    "adverse_events", ("patient_id", "onset_date", "term"),
    Column("patient_id"), Column("onset_date", _D), Column("term"), Column("grade", _I),
    Column("serious", _F), Column("related", _F), Column("outcome"),
    Column("resolved_date", _D), Column("term_text", required=False),
    Column("action", required=False),
)
MILESTONES = _table(
    "milestones", ("patient_id", "kind"),
    Column("patient_id"), Column("date", _D), Column("kind"),
)

TABLES: tuple[TableSpec, ...] = (
    PATIENTS, ALSFRS, MEASUREMENTS, ADMINISTRATIONS, MEDICATIONS, ADVERSE_EVENTS, MILESTONES,
)
"""Every file, parents first: the order in which files are imported and exported."""
TABLES_BY_NAME: Mapping[str, TableSpec] = MappingProxyType({t.name: t for t in TABLES})
FILENAMES: tuple[str, ...] = tuple(t.filename for t in TABLES)
"""The only file names an import folder may hold (exactly so: lower case, ``.csv``)."""


def join_warnings(codes: tuple[str, ...] | list[str]) -> str:
    """The ``confirmed_warnings`` cell for these rule codes (sorted, so exports are stable)."""
    return WARNING_SEPARATOR.join(sorted(set(codes)))


def split_warnings(cell: str) -> tuple[str, ...]:
    """The rule codes of a ``confirmed_warnings`` cell (blank parts ignored)."""
    return tuple(sorted({p.strip() for p in cell.split(WARNING_SEPARATOR) if p.strip()}))


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection")."""
FORMULA_ESCAPE = "'"


def neutralise_formula(text: str) -> str:
    """A text cell as export writes it: one leading ``'`` when it starts with a formula
    character (or with ``'`` itself, so that the escaping can be undone exactly)."""
    if text.startswith((*FORMULA_TRIGGERS, FORMULA_ESCAPE)):
        return FORMULA_ESCAPE + text
    return text


def restore_formula(cell: str) -> str:
    """A cell as import reads it: export's escaping undone (a ``'`` before a formula
    character or before another ``'``); any other cell unchanged."""
    if len(cell) > 1 and cell[0] == FORMULA_ESCAPE and cell[1] in (*FORMULA_TRIGGERS,
                                                                   FORMULA_ESCAPE):
        return cell[1:]
    return cell


__all__ = [
    "FORMULA_ESCAPE",
    "FORMULA_TRIGGERS",
    "neutralise_formula",
    "restore_formula",
    "ADMINISTRATIONS",
    "ADVERSE_EVENTS",
    "ALSFRS",
    "CONFIRMED_WARNINGS",
    "FILENAMES",
    "MANIFEST",
    "ITEM_COLUMNS",
    "MEASUREMENTS",
    "MEDICATIONS",
    "MILESTONES",
    "PATIENTS",
    "TABLES",
    "TABLES_BY_NAME",
    "Column",
    "ColumnKind",
    "TableSpec",
    "join_warnings",
    "split_warnings",
]
