"""Dosing regimens (docs/domain-rules.md §3.1, conventions 5 and 6) and their public API.

The regimens alsrwe knows — tofersen by the US label and the EU SmPC, IV edaravone — as data,
with the model (:mod:`alsrwe.domain.dosing`) and the engine (:mod:`alsrwe.domain.schedule`)
re-exported so that callers import everything about regimens from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from alsrwe.domain.dosing import (
    AdministrationStatus,
    Authority,
    CyclePhase,
    IntervalPhase,
    MissedDoseRule,
    Phase,
    Regimen,
    Route,
    check_administration,
)
from alsrwe.domain.errors import ScheduleError
from alsrwe.domain.schedule import (
    HORIZON_DAYS,
    LATE_AFTER_DAYS,
    Adherence,
    Due,
    ScheduledDose,
    adherence,
    interval_into,
    next_due,
    planned_calendar,
    schedule,
)

_TOFERSEN_PHASES: tuple[Phase, ...] = (
    IntervalPhase("loading", interval_days=14, doses=3),
    IntervalPhase("maintenance", interval_days=28),
)
_LP_TEXT = (
    "Given intrathecally by, or under the direction of, healthcare professionals experienced "
    "in performing lumbar punctures."
)
_TOFERSEN_NOTES = (
    "Remove about 10 mL of CSF before dosing; inject 15 mL as an intrathecal bolus over 1-3 "
    "minutes (US PI 2.2). A missed first loading dose is not addressed by either label."
)

TOFERSEN_US = Regimen(
    id="tofersen_us",
    drug="tofersen",
    dose=100,
    unit="mg",
    route=Route.INTRATHECAL,
    phases=_TOFERSEN_PHASES,
    authority=Authority.FDA,
    label="QALSODY (tofersen) injection, for intrathecal use - US Prescribing Information",
    label_revision="2023 (NDA 215887, approved 2023-04-25)",
    source_url="https://rxreasoner.com/monographs/qalsody/usage",
    prescriber_requirement=_LP_TEXT,
    missed_dose_rules=(
        MissedDoseRule(
            "missed second loading dose",
            "Give as soon as possible; give the third loading dose 14 days later.",
        ),
        MissedDoseRule(
            "missed third loading dose or maintenance dose",
            "Give as soon as possible; give the next dose 28 days later.",
        ),
    ),
    volume_ml=15,
    notes=_TOFERSEN_NOTES,
)
"""Tofersen, US PI 2023 (docs/domain-rules.md §3.1): 100 mg (15 mL) IT, 3 loading doses q14d,
then q28d."""

TOFERSEN_EU = Regimen(
    id="tofersen_eu",
    drug="tofersen",
    dose=100,
    unit="mg",
    route=Route.INTRATHECAL,
    phases=_TOFERSEN_PHASES,
    authority=Authority.EMA,
    label="Qalsody 100 mg solution for injection - EU Summary of Product Characteristics",
    label_revision="2024 (MAH Biogen Netherlands B.V.)",
    source_url="https://rxreasoner.com/monographs/110458/usage",
    prescriber_requirement=(
        _LP_TEXT + " Treatment should be initiated only by a physician experienced in the "
        "management of ALS."
    ),
    missed_dose_rules=(
        MissedDoseRule(
            "delayed or missed second loading dose",
            "Give as soon as possible; give the third loading dose 14 days later.",
        ),
        MissedDoseRule(
            "delayed or missed third loading dose",
            "Give as soon as possible; give the first maintenance dose 28 days later.",
        ),
        MissedDoseRule(
            "delayed or missed maintenance dose",
            "Give as soon as possible; then maintenance doses every 28 days from the last dose.",
        ),
    ),
    volume_ml=15,
    notes=_TOFERSEN_NOTES + " The need to continue is reviewed regularly (SmPC).",
)
"""Tofersen per the EU SmPC 2024 (docs/domain-rules.md §3.1): same arithmetic as the US PI,
other wording."""

EDARAVONE_IV = Regimen(
    id="edaravone_iv",
    drug="edaravone_iv",
    # Label dose, FDA Radicava 2017: 60 mg IV infusion over 60 minutes (two consecutive 30 mg bags).
    dose=60,
    unit="mg",
    route=Route.INTRAVENOUS,
    phases=(
        CyclePhase(doses=14, window_days=14, off_days=14, cycles=1),
        CyclePhase(doses=10, window_days=14, off_days=14),
    ),
    authority=Authority.FDA,
    label="RADICAVA (edaravone) injection, for intravenous use - US Prescribing Information",
    label_revision="2017 (initial approval); read via the maker's HCP page, not the PI itself",
    source_url="https://www.radicava.com/hcp/dosing-and-administration/",
    missed_dose_rules=(
        MissedDoseRule(
            "missed day within a 14-day treatment period",
            "Make it up within the same 14-day period; never two doses on one day and never in "
            "the drug-free period; doses not given when the period ends are lost.",
            source="alsrwe convention 6 (no IV missed-dose text found)",
        ),
    ),
    # Two 30 mg/100 mL bags; 100 mL per bag matches the stated rate (1 mg = 3.33 mL per minute).
    volume_ml=200,
    notes="Infusion rate about 1 mg per minute. Unsure: the current PI text was not checked.",
)
"""IV edaravone (Radicava, FDA 2017): cycle 1 = 14 daily doses then 14 days off; later cycles =
10 doses within 14 days then 14 days off (convention 6; dosing as on radicava.com HCP page)."""

REGIMENS: Mapping[str, Regimen] = MappingProxyType(
    {r.id: r for r in (TOFERSEN_US, TOFERSEN_EU, EDARAVONE_IV)}
)
"""Every regimen alsrwe knows, by id."""


def get_regimen(regimen_id: str) -> Regimen:
    """The regimen with this id, or a ScheduleError that lists the known ids."""
    try:
        return REGIMENS[regimen_id]
    except KeyError:
        known = ", ".join(sorted(REGIMENS))
        raise ScheduleError("regimen", f"unknown regimen {regimen_id!r}; known: {known}") from None


def regimens_for_drug(drug: str) -> tuple[Regimen, ...]:
    """All regimens of a drug (case-insensitive), e.g. the US and EU tofersen labels."""
    found = tuple(r for r in REGIMENS.values() if r.drug == drug.strip().lower())
    if not found:
        known = ", ".join(sorted({r.drug for r in REGIMENS.values()}))
        raise ScheduleError("drug", f"no regimen for drug {drug!r}; known: {known}")
    return found


__all__ = [
    "EDARAVONE_IV",
    "HORIZON_DAYS",
    "LATE_AFTER_DAYS",
    "REGIMENS",
    "TOFERSEN_EU",
    "TOFERSEN_US",
    "AdministrationStatus",
    "Adherence",
    "Authority",
    "CyclePhase",
    "Due",
    "IntervalPhase",
    "MissedDoseRule",
    "Phase",
    "Regimen",
    "Route",
    "ScheduledDose",
    "adherence",
    "check_administration",
    "get_regimen",
    "interval_into",
    "next_due",
    "planned_calendar",
    "regimens_for_drug",
    "schedule",
]
