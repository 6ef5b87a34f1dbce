"""The registry's tidy text tables as validated FHIR resources, in a stable order.

One tidy row gives its main resource (Patient, QuestionnaireResponse, Observation,
MedicationAdministration, MedicationStatement, AdverseEvent, Procedure) and the resources
derived from it (the Organization of a site, a patient's Condition and SOD1 variant
Observation, a rating's total Observation, an intrathecal dose's lumbar puncture). Order:
sites, then each table of the tidy format in turn, each row's resources together.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from alsrwe.domain.dosing import AdministrationStatus
from alsrwe.domain.events import MilestoneKind
from alsrwe.interop.fhir.alsfrs import response, total_observation
from alsrwe.interop.fhir.elements import raw
from alsrwe.interop.fhir.events import adverse_event, milestone
from alsrwe.interop.fhir.medications import (
    administration,
    administration_id,
    has_puncture,
    lumbar_puncture,
    statement,
)
from alsrwe.interop.fhir.observations import measurement
from alsrwe.interop.fhir.patient import condition, organization, patient
from alsrwe.interop.fhir.validate import validated
from alsrwe.interop.fhir.variant import variant_observation

Tables = Mapping[str, Sequence[Mapping[str, str]]]


def _sites(patients: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    for row in patients:
        site, name = raw(row["site"]), raw(row.get("site_name"))
        if not names.get(site):
            names[site] = name
    return [organization(site, names[site]) for site in sorted(names)]


class _Doses:
    """The doses given per patient by date, to name an adverse event's suspect dose."""

    def __init__(self, rows: Sequence[Mapping[str, str]]) -> None:
        self._by_patient: dict[str, list[tuple[str, str]]] = {}
        for row in rows:
            if row["status"] == AdministrationStatus.GIVEN:
                self._by_patient.setdefault(row["patient_id"], []).append(
                    (row["date"], administration_id(row)))
        for doses in self._by_patient.values():
            doses.sort()

    def latest(self, pseudonym: str, day: str) -> str | None:
        """The id of the last dose given on or before ``day`` (ISO dates sort as text)."""
        doses = self._by_patient.get(pseudonym, [])
        at = bisect.bisect_right(doses, (day, "\uffff"))
        return doses[at - 1][1] if at else None


def _patients(tables: Tables) -> list[dict[str, Any]]:
    deaths = {row["patient_id"]: row for row in tables.get("milestones", [])
              if row["kind"] == MilestoneKind.DEATH}
    found: list[dict[str, Any]] = []
    for row in tables.get("patients", []):
        found.append(patient(row, deaths.get(row["patient_id"])))
        diagnosis = condition(row)
        if diagnosis is not None:
            found.append(diagnosis)
        found.append(variant_observation(row))
    return found


def _records(tables: Tables) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for row in tables.get("alsfrs", []):
        found += [response(row), total_observation(row)]
    found += [measurement(row) for row in tables.get("measurements", [])]
    for row in tables.get("administrations", []):
        if has_puncture(row):
            found.append(lumbar_puncture(row))
        found.append(administration(row))
    found += [statement(row) for row in tables.get("medications", [])]
    doses = _Doses(tables.get("administrations", []))
    found += [adverse_event(row, doses.latest(row["patient_id"], row["onset_date"]))
              for row in tables.get("adverse_events", [])]
    found += [milestone(row) for row in tables.get("milestones", [])
              if row["kind"] != MilestoneKind.DEATH]
    return found


def resources_for(tables: Tables) -> list[dict[str, Any]]:
    """Text tables (as :func:`~alsrwe.interop.tidy_csv.export.text_tables` returns them) as
    validated FHIR resources: Organizations, Patients and what derives from them, records."""
    built = [*_sites(tables.get("patients", [])), *_patients(tables), *_records(tables)]
    return [validated(resource) for resource in built]


__all__ = ["resources_for"]
