"""What reading a FHIR resource leaves behind: small parts of tidy rows, each with its place.

Resources are read one at a time (an NDJSON file is never held whole) and each leaves only
the text cells it carries and the references it makes. Once every resource is read, the
parts are put together into tidy rows (:mod:`.reader`): a Patient, its Organization, its
Condition and its SOD1 variant Observation make one patients.csv row, wherever in the files
they came. Every part remembers its resource (``Observation/<id>``), file and entry, so that
a problem is placed where the resource was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alsrwe.domain.errors import Problem

Reference = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Found:
    """A resource as read: its type and id, its Bundle fullUrl, and where it was."""

    type: str
    id: str | None
    full_url: str | None
    file: str
    entry: int | None
    seq: int

    @property
    def label(self) -> str:
        """``Observation/<id>``; a resource without an id is named by its fullUrl or place."""
        if self.id:
            return f"{self.type}/{self.id}"
        if self.full_url:
            return f"{self.type} {self.full_url}"
        return f"{self.type} #{self.seq}"

    @property
    def where(self) -> str:
        """The file and the resource, as a problem's ``file``: ``bundle.json Patient/BER-1``."""
        return f"{self.file} {self.label}"

    def problem(self, element: str | None, rule: str, code: str = "") -> Problem:
        return Problem(element, rule, code, file=self.where, row=self.entry)


@dataclass(slots=True)
class Row:
    """A tidy row read from one resource; ``subject`` names its patient, resolved later.

    ``elements`` maps a tidy column to the FHIR element it came from (for problems);
    ``suffix`` tells a second row from the same resource apart (a Patient's death).
    """

    table: str
    found: Found
    subject: Reference | None
    cells: dict[str, str]
    elements: dict[str, str]
    source: Reference | None = None
    medication: Reference | None = None
    suffix: str = ""


@dataclass(slots=True)
class PatientPart:
    """A Patient: its pseudonym, its cells, its Organization, its death (a milestone row)."""

    found: Found
    pseudonym: str | None
    cells: dict[str, str]
    organization: Reference | None
    death: Row | None = None


@dataclass(slots=True)
class OrganizationPart:
    found: Found
    site: str | None
    name: str | None


@dataclass(slots=True)
class SubjectPart:
    """A resource that adds cells to its patient's row (Condition, SOD1 variant)."""

    found: Found
    subject: Reference | None
    cells: dict[str, str]
    elements: dict[str, str]


@dataclass(slots=True)
class TotalPart:
    """An ALSFRS-R total Observation: derived, checked against its QuestionnaireResponse."""

    found: Found
    derived_from: list[Reference]
    total: str
    element: str


@dataclass(slots=True)
class MedicationPart:
    """A Medication resource another resource refers to: its drug and lot."""

    found: Found
    drug: str
    lot: str


@dataclass(slots=True)
class Collected:
    """Everything read so far, indexed for the references still to resolve."""

    problems: list[Problem] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    patients: list[PatientPart] = field(default_factory=list)
    organizations: list[OrganizationPart] = field(default_factory=list)
    conditions: list[SubjectPart] = field(default_factory=list)
    variants: list[SubjectPart] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    totals: list[TotalPart] = field(default_factory=list)
    index: dict[str, object] = field(default_factory=dict)

    def add(self, found: Found, part: object, identifiers: object = None) -> None:
        """Index ``part`` by ``Type/id``, fullUrl and each identifier (``Type|system|value``)."""
        keys = []
        if found.id:
            keys.append(f"{found.type}/{found.id}")
        if found.full_url:
            keys.append(found.full_url)
            tail = found.full_url.rstrip("/").split("/")[-2:]
            if len(tail) == 2 and tail[0] == found.type:
                keys.append("/".join(tail))
        listed = identifiers if isinstance(identifiers, list) else [identifiers]
        keys += [f"{found.type}|{i.get('system')}|{i.get('value')}"
                 for i in listed if isinstance(i, Mapping) and i.get("value")]
        for key in dict.fromkeys(keys):
            if key in self.index and key.startswith(f"{found.type}/"):
                self.problems.append(found.problem("id", f"{key} appears more than once in "
                                                         "this import"))
            self.index.setdefault(key, part)

    def find(self, reference: Reference | None, kind: str) -> object | None:
        """The part a Reference names: by identifier, ``Type/id`` or fullUrl (``urn:uuid``)."""
        if not reference:
            return None
        ident = reference.get("identifier")
        if isinstance(ident, Mapping):
            found = self.index.get(f"{kind}|{ident.get('system')}|{ident.get('value')}")
            if found is not None:
                return found
        target = reference.get("reference")
        if not isinstance(target, str):
            return None
        if target in self.index:
            return self.index[target]
        tail = target.rstrip("/").split("/")[-2:]
        return self.index.get("/".join(tail)) if len(tail) == 2 and tail[0] == kind else None


__all__ = ["Collected", "Found", "MedicationPart", "OrganizationPart", "PatientPart",
           "Reference", "Row", "SubjectPart", "TotalPart"]
