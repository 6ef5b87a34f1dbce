"""Reading FHIR resources one at a time: validate, dispatch by type, keep only their parts.

A :class:`ResourceReader` takes resources, Bundle entries or whole Bundles (transaction,
batch, collection, searchset) in any order, from any number of files. Each resource is
validated with the fhir.resources R4B model (invalid FHIR is a problem at its element path)
and read by the module of its type, which leaves the tidy cells it carries (:mod:`.parts`).
:meth:`ResourceReader.finish` puts them together into tidy rows (:mod:`.assemble`).
Resources of types alsrwe does not map are counted as ignored, not read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from alsrwe.domain.errors import Problem
from alsrwe.interop.fhir.alsfrs import is_total, read_response, read_total
from alsrwe.interop.fhir.assemble import ResourceRows, assemble
from alsrwe.interop.fhir.events import read_adverse_event, read_milestone
from alsrwe.interop.fhir.medications import (
    is_puncture,
    read_administration,
    read_medication,
    read_statement,
)
from alsrwe.interop.fhir.observations import read_measurement
from alsrwe.interop.fhir.parts import Collected, Found
from alsrwe.interop.fhir.patient import read_condition, read_organization, read_patient
from alsrwe.interop.fhir.validate import FHIR_INVALID, checked, known_type
from alsrwe.interop.fhir.variant import is_variant, read_variant
from alsrwe.interop.progress import NO_PROGRESS, PROGRESS_EVERY, Progress
from alsrwe.interop.tidy_csv.rows import TextRow

BUNDLE_TYPES = ("transaction", "batch", "collection", "searchset")
"""The Bundles an import reads (a document, message or history is refused)."""
LUMBAR_PUNCTURE_DERIVED = "Procedure (lumbar puncture, derived)"

Read = Callable[[Found, Mapping[str, Any], Collected], None]


def _observation(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    if is_variant(resource):
        read_variant(found, resource, into)
    elif is_total(resource):
        read_total(found, resource, into)
    else:
        read_measurement(found, resource, into)


def _procedure(found: Found, resource: Mapping[str, Any], into: Collected) -> None:
    if is_puncture(resource):
        into.ignored[LUMBAR_PUNCTURE_DERIVED] += 1
    else:
        read_milestone(found, resource, into)


READERS: Mapping[str, Read] = {
    "Patient": read_patient, "Organization": read_organization, "Condition": read_condition,
    "Observation": _observation, "QuestionnaireResponse": read_response,
    "MedicationAdministration": read_administration, "MedicationStatement": read_statement,
    "Medication": read_medication, "AdverseEvent": read_adverse_event, "Procedure": _procedure,
}
"""The resource types alsrwe reads, by type (the others are ignored and counted)."""


class ResourceReader:
    """Reads resources as they come; :meth:`finish` turns them into tidy rows."""

    def __init__(self, progress: Progress = NO_PROGRESS) -> None:
        self.collected = Collected()
        self._progress = progress
        self._seq = 0
        self._counts: Counter[tuple[str, str]] = Counter()

    @property
    def problems(self) -> list[Problem]:
        return self.collected.problems

    def file_problem(self, file: str, rule: str, entry: int | None = None) -> None:
        """A problem of a whole file or line (unreadable, not JSON, not FHIR)."""
        self.problems.append(Problem(None, rule, file=file, row=entry))

    def read(self, file: str, entry: int | None, item: Any) -> None:
        """One resource, one Bundle entry (``{"fullUrl", "resource", "request"}``) or a whole
        Bundle (its entries numbered from 1)."""
        if isinstance(item, Mapping) and item.get("resourceType") == "Bundle":
            self._bundle(file, item)
        elif isinstance(item, Mapping) and "resourceType" not in item and "resource" in item:
            self._entry(file, entry, item)
        else:
            self._resource(file, entry, item, None)

    def _bundle(self, file: str, bundle: Mapping[str, Any]) -> None:
        kind = bundle.get("type")
        if kind not in BUNDLE_TYPES:
            self.problems.append(Problem("type", f"a {kind} Bundle is not read; send a "
                                                 f"{', '.join(BUNDLE_TYPES)} Bundle", file=file))
            return
        entries = bundle.get("entry") or []
        if not isinstance(entries, list):
            self.problems.append(Problem("entry", "must be a list of entries", file=file))
            return
        for number, entry in enumerate(entries, start=1):
            self._entry(file, number, entry)

    def _entry(self, file: str, number: int | None, entry: Any) -> None:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            self.problems.append(Problem("entry.resource", "an entry must hold a resource",
                                         file=file, row=number))
            return
        method = (entry.get("request") or {}).get("method")
        if method not in (None, "PUT", "POST"):
            self.problems.append(Problem("entry.request.method", f"{method}: an import only "
                                         "creates and updates (PUT, POST); void records in "
                                         "alsrwe", file=file, row=number))
            return
        full_url = entry.get("fullUrl")
        self._resource(file, number, entry["resource"], full_url if isinstance(full_url, str)
                       else None)

    def _resource(self, file: str, entry: int | None, resource: Any,
                  full_url: str | None) -> None:
        self._seq += 1
        if not isinstance(resource, Mapping):
            self.file_problem(file, "is not a FHIR resource (a JSON object)", entry)
            return
        kind = resource.get("resourceType")
        if not known_type(kind):
            self.problems.append(Problem("resourceType", f"{kind!r} is not a FHIR R4B resource "
                                                         "type", file=file, row=entry))
            return
        kind = str(kind)
        self._tick(file, kind)
        read = READERS.get(kind)
        if read is None:
            self.collected.ignored[kind] += 1
            return
        found = Found(kind, _text(resource.get("id")), full_url, file, entry, self._seq)
        errors = checked(dict(resource))
        if errors:
            self.problems.extend(found.problem(element, f"is not valid FHIR R4B: {message}",
                                               FHIR_INVALID) for element, message in errors)
            return
        read(found, resource, self.collected)

    def _tick(self, file: str, kind: str) -> None:
        self._counts[(file, kind)] += 1
        done = self._counts[(file, kind)]
        if done % PROGRESS_EVERY == 0:
            self._progress(f"{file} {kind}", done, None)

    def end_file(self, file: str) -> None:
        """Report the resources read from ``file`` per type (the last progress of a file)."""
        for (name, kind), done in sorted(self._counts.items()):
            if name == file:
                self._progress(f"{file} {kind}", done, done)

    def finish(self, known_patients: Mapping[str, str] | None = None,
               ) -> tuple[ResourceRows, list[Problem], dict[str, int]]:
        """The tidy rows of everything read, every problem met, the ignored counts."""
        rows = assemble(self.collected, known_patients or {})
        return rows, list(self.collected.problems), dict(sorted(
            self.collected.ignored.items()))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def rows_of_resources(resources: Iterable[tuple[int | None, dict[str, Any]]], file: str,
                      known_patients: Mapping[str, str] | None = None,
                      ) -> tuple[dict[str, list[TextRow]], list[Problem], dict[str, int]]:
    """(entry number, resource) pairs → tidy text rows, problems, ignored counts by type.

    A pair may also hold a Bundle entry (with its ``fullUrl``, for ``urn:uuid`` references)
    or a whole Bundle. ``known_patients`` maps the FHIR ids of registered patients to their
    pseudonyms, for records that reference a Patient not in ``resources``. The rows are a
    :class:`~.assemble.ResourceRows`: :func:`~.assemble.locate` places the write path's
    problems at the FHIR resource and element they came from.
    """
    reader = ResourceReader()
    for entry, resource in resources:
        reader.read(file, entry, resource)
    return reader.finish(known_patients)


__all__ = ["BUNDLE_TYPES", "READERS", "ResourceReader", "rows_of_resources"]
