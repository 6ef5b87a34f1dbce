"""The forms of a patient's details and treatment, described once like the record forms.

Registering a patient or carrier, changing their details (a carrier's conversion to ALS),
starting a treatment and pausing or stopping it. Only types are read here; every rule is the
domain's and the rulebook's (:mod:`alsrwe.store.writes.patients`, ``.treatments``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alsrwe.domain import cells
from alsrwe.domain.events import OnsetRegion
from alsrwe.domain.patient import Sex
from alsrwe.domain.regimens import REGIMENS
from alsrwe.domain.sod1 import Zygosity
from alsrwe.domain.treatments import TreatmentEnd
from alsrwe.store.models import Patient
from alsrwe.web.form_reader import FormReader
from alsrwe.web.record_forms import Choices, FormField, choices_of, date_field

SOD1_HINT = ("Legacy (A4V), HGVS protein (p.Ala5Val) or cDNA (c.14C>T); the name alsrwe stores "
             "is shown as you type")
STATUS_CHOICES: Choices = (("patient", "patient with ALS"),
                           ("carrier", "presymptomatic carrier (no symptoms)"))


def details_fields(sites: list[str] | None) -> tuple[FormField, ...]:
    """The fields of a patient's details; with ``sites``, the registration's (pseudonym, site)."""
    identity: tuple[FormField, ...] = ()
    if sites is not None:
        identity = (
            FormField("patient_id", "Pseudonym", "text",
                      hint="The patient's study code, e.g. BER-0042: no name, no initials, "
                           "no date of birth"),
            FormField("site", "Site", "select", (("", "— choose —"),
                                                 *((code, code) for code in sites))),
        )
    return (
        *identity,
        FormField("status", "Status", "select", STATUS_CHOICES,
                  hint="A carrier who develops symptoms converts to ALS by changing this to "
                       "patient and giving the onset date; their record stays."),
        FormField("sex", "Sex", "select", (("", "— choose —"),
                                           *((s.value, s.name.lower()) for s in Sex))),
        FormField("birth_year", "Birth year", "number", hint="Year only (YYYY)"),
        FormField("sod1_variant", "SOD1 variant", "text", hint=SOD1_HINT),
        FormField("zygosity", "Zygosity", "select", choices_of(Zygosity, blank=None)),
        date_field("onset_date", "Symptom onset", required=False),
        FormField("onset_region", "Onset region", "select", choices_of(OnsetRegion, "—"),
                  required=False),
        date_field("diagnosis_date", "Diagnosis", required=False),
        date_field("genetic_test_date", "SOD1 result reported", required=False),
        date_field("counselling_date", "Genetic counselling", required=False),
    )


def read_details(r: FormReader, registering: bool) -> dict[str, Any] | None:
    """The keyword arguments of ``patient_entry`` (less ``current_year``) and the two
    genetic dates; None when a field cannot be read."""
    read: dict[str, Any] = {}
    if registering:
        read["patient_id"] = r.cell("patient_id", cells.text)
        read["site"] = r.cell("site", cells.text)
    read |= {
        "status": r.cell("status", cells.text),
        "sex": r.cell("sex", cells.text),
        "birth_year": r.cell("birth_year", cells.integer),
        "sod1_variant": r.cell("sod1_variant", cells.text),
        "zygosity": r.cell("zygosity", cells.text),
        "onset_date": r.cell("onset_date", cells.iso_date, required=False),
        "onset_region": r.optional_text("onset_region"),
        "diagnosis_date": r.cell("diagnosis_date", cells.iso_date, required=False),
        "genetic_test_date": r.cell("genetic_test_date", cells.iso_date, required=False),
        "counselling_date": r.cell("counselling_date", cells.iso_date, required=False),
    }
    return read if r.ok else None


def details_values(patient: Patient) -> dict[str, str]:
    """The form's values for a registered patient (the variant as it was entered)."""
    def day(value: dt.date | None) -> str:
        return value.isoformat() if value else ""

    return {"status": patient.status.value, "sex": patient.sex.value,
            "birth_year": str(patient.birth_year), "sod1_variant": patient.sod1_input,
            "zygosity": patient.zygosity.value, "onset_date": day(patient.onset_date),
            "onset_region": patient.onset_region.value if patient.onset_region else "",
            "diagnosis_date": day(patient.diagnosis_date),
            "genetic_test_date": day(patient.genetic_test_date),
            "counselling_date": day(patient.counselling_date)}


REGIMEN_CHOICES: Choices = tuple((r.id, f"{r.drug} — {r.label}") for r in REGIMENS.values())
START_FIELDS = (
    FormField("regimen", "Regimen", "select", REGIMEN_CHOICES,
              hint="Tofersen: 3 loading doses 14 days apart, then every 28 days (US and EU "
                   "labels agree on the arithmetic)"),
    date_field("start_date", "Start date"),
)
END_FIELDS = (
    FormField("end_kind", "Pause or stop", "select",
              tuple((k.value, k.value) for k in TreatmentEnd),
              hint="A paused treatment is resumed by starting it again; the schedule continues "
                   "from the last dose given"),
    date_field("end_date", "From"),
    FormField("end_reason", "Reason", "text", hint="e.g. myelitis work-up, patient's wish"),
)


__all__ = ["END_FIELDS", "REGIMEN_CHOICES", "SOD1_HINT", "START_FIELDS", "details_fields",
           "details_values", "read_details"]
