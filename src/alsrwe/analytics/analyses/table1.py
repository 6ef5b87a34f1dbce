"""Table 1: who is in the cohort, in three columns — treated, untreated ALS, carriers.

Columns: patients with ALS treated with the drug (baseline = first given dose), patients with
ALS never dosed (baseline = first ALSFRS-R assessment) and presymptomatic carriers (baseline =
registry entry, their first encounter; disease characteristics do not apply and show "–").
Every percentage is of its own column's n (no mixed denominators); continuous values are median
(IQR), categories n (%), and a "missing" row follows a characteristic whenever any column lacks
values. A baseline value is the last one within :data:`BASELINE_WINDOW_DAYS` before (or on) the
baseline date, the window the NfL analysis uses for its baseline (``NflSettings``).

Counts from 1 to ``suppress_below - 1`` are shown as "<k" so that a report cannot single out
a person in a small site (small-cell suppression, :mod:`alsrwe.domain.privacy`); by default
with the domain's threshold. Pass ``suppress_below=0`` for every count, e.g. inside the clinic.
Column sizes (the n of the headers) are totals and are never suppressed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import ibis
import pandas as pd

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import months_between, registry_dates, treatment_starts
from alsrwe.domain.alsfrs import ITEM_COLUMNS, AlsfrsR, delta_frs, kings_stage
from alsrwe.domain.errors import DomainError
from alsrwe.domain.privacy import SUPPRESS_BELOW, suppressed_text

BASELINE_WINDOW_DAYS = 90
"""A baseline value is the last one at most this many days before the baseline date."""

LABELS: dict[str, str] = {
    "F": "female", "M": "male",
    "lower_limb": "lower limb", "upper_limb": "upper limb", "bulbar": "bulbar",
    "respiratory": "respiratory", "generalized": "generalised", "axial": "axial",
    "cognitive": "cognitive", "other": "other",
    "nfl_serum": "serum NfL", "nfl_plasma": "plasma NfL", "nfl_csf": "CSF NfL",
    "svc_percent": "slow vital capacity", "fvc_percent": "forced vital capacity",
    "riluzole": "riluzole", "edaravone": "edaravone",
    "heterozygous": "heterozygous", "homozygous": "homozygous",
}
"""Every code Table 1 shows, in words (one place; no raw code reaches a reader)."""

VITAL_CAPACITY = ("fvc_percent", "svc_percent")
TOP_VARIANTS = 5
"""SOD1 variants beyond A4V listed by name (the most frequent); the rest are "other"."""

STRATA = ("treated", "untreated", "carrier")
MISSING = "–"
"""A cell that does not apply or has no value (as :mod:`alsrwe.analytics.report.formatting`)."""


def label(code: object) -> str:
    """A code in words (:data:`LABELS`); unknown codes with underscores as spaces."""
    text = str(code)
    return LABELS.get(text, text.replace("_", " "))


# --- per-person frame (aggregates in the engine, one row per person comes back) ------------


def _last_before(values: ibis.Table, baseline: ibis.Table, keep: Iterable[str]) -> ibis.Table:
    """Per person, the last row of ``values`` within the window before the baseline date."""
    joined = values.join(baseline, "patient_id")
    window = joined.filter((joined.date <= joined.baseline_date) & (
        joined.date >= joined.baseline_date - ibis.interval(days=BASELINE_WINDOW_DAYS)))
    ranked = window.mutate(rank=ibis.row_number().over(
        group_by=window.patient_id, order_by=[ibis.desc(window.date)]))
    return ranked.filter(ranked["rank"] == 0).select("patient_id", *keep)


def _attach(left: ibis.Table, right: ibis.Table) -> ibis.Table:
    """``left`` with the columns of ``right`` (one row per patient) joined by patient_id."""
    joined = left.left_join(right, left.patient_id == right.patient_id)
    return joined.select(*[left[c] for c in left.columns],
                         *[right[c] for c in right.columns if c != "patient_id"])


def _people(cohort: Cohort, drug: str) -> pd.DataFrame:
    patients = cohort.table("patients")
    starts = treatment_starts(cohort, drug)
    scores = cohort.table("alsfrs")
    first_rating = scores.group_by("patient_id").aggregate(first_rating=scores.date.min())
    contacts = registry_dates(cohort)
    joined = _attach(_attach(_attach(patients, starts), first_rating), contacts)
    baseline = ibis.cases(
        (joined.status == "carrier", joined.entry_date),
        (joined.start_date.notnull(), joined.start_date),
        else_=joined.first_rating)
    people = joined.mutate(baseline_date=baseline)
    key = people.select("patient_id", "baseline_date")
    alsfrs = cohort.table("alsfrs")
    rating = _last_before(alsfrs.mutate(rating_date=alsfrs.date), key,
                          ("rating_date", "gastrostomy", *ITEM_COLUMNS))
    values = cohort.table("measurements")
    nfl = _last_before(values.filter(values.kind == "nfl_serum"), key, ("value",)).rename(
        nfl_serum="value")
    capacity = _last_before(values.filter(values.kind.isin(list(VITAL_CAPACITY))), key,
                            ("value",)).rename(vital_capacity="value")
    medications = cohort.table("medications")
    on_drug = medications.join(key, "patient_id")
    on_drug = on_drug.filter((on_drug.start_date <= on_drug.baseline_date) & (
        on_drug.stop_date.isnull() | (on_drug.stop_date >= on_drug.baseline_date)))
    taking = on_drug.group_by("patient_id").aggregate(
        riluzole=(on_drug.drug == "riluzole").any(),
        edaravone=on_drug.drug.startswith("edaravone").any())
    table = people
    for part in (rating, nfl, capacity, taking):
        table = _attach(table, part)
    frame: pd.DataFrame = table.select(
        "patient_id", "site", "sex", "birth_year", "status", "sod1_variant", "sod1_legacy",
        "onset_region", "onset_date", "start_date", "baseline_date", "rating_date",
        "gastrostomy", *ITEM_COLUMNS, "nfl_serum", "vital_capacity", "riluzole", "edaravone",
        "doses_given",
        delay_months=months_between(table.diagnosis_date, table.onset_date),
        follow_up_months=months_between(table.last_contact, table.baseline_date),
    ).order_by("patient_id").execute()
    return frame


def _kings(row: pd.Series) -> str | None:
    items = [row[column] for column in ITEM_COLUMNS]
    if any(pd.isna(v) for v in items):
        return None
    gastrostomy = bool(row["gastrostomy"]) if not pd.isna(row["gastrostomy"]) else False
    try:
        return kings_stage(AlsfrsR.from_items([int(v) for v in items], gastrostomy))
    except DomainError:
        return None


def _delta_frs(row: pd.Series) -> float | None:
    if pd.isna(row["total"]) or pd.isna(row["onset_date"]) or pd.isna(row["rating_date"]):
        return None
    try:
        return delta_frs(int(row["total"]), pd.Timestamp(row["onset_date"]).date(),
                         pd.Timestamp(row["rating_date"]).date())
    except DomainError:
        return None


def _derived(frame: pd.DataFrame, drug: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["stratum"] = "untreated"
    frame.loc[frame["start_date"].notna(), "stratum"] = "treated"
    frame.loc[frame["status"] == "carrier", "stratum"] = "carrier"
    frame = frame[frame["status"].isin(["patient", "carrier"])]
    frame["age"] = pd.to_datetime(frame["baseline_date"]).dt.year - frame["birth_year"]
    items = frame[list(ITEM_COLUMNS)].astype("Float64")
    frame["total"] = items.sum(axis=1, skipna=False).astype("float64")
    rows = [row for _, row in frame.iterrows()]
    frame["kings"] = pd.Series([_kings(row) for row in rows], index=frame.index, dtype=object)
    frame["delta_frs"] = pd.Series([_delta_frs(row) for row in rows], index=frame.index,
                                   dtype="float64")
    return frame


# --- cells ---------------------------------------------------------------------------------


def _count(n: int, total: int, suppress_below: int) -> str:
    hidden = suppressed_text(n, suppress_below)
    if hidden is not None:
        return hidden
    share = f" ({100 * n / total:.0f}%)" if total else ""
    return f"{n}{share}"


def _median_iqr(values: pd.Series) -> str:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return MISSING
    q1, q2, q3 = values.quantile([0.25, 0.5, 0.75])
    return f"{q2:.1f} ({q1:.1f}–{q3:.1f})"


def _equals(column: str, value: str) -> Callable[[pd.DataFrame], pd.Series]:
    """A row test: ``column`` equals ``value`` (missing values are not equal)."""
    def test(group: pd.DataFrame) -> pd.Series:
        return group[column] == value
    return test


class _Table:
    """Rows of Table 1 over the three strata; ``applies`` says which strata a row is for."""

    def __init__(self, strata: dict[str, pd.DataFrame], suppress_below: int) -> None:
        self.strata = strata
        self.suppress_below = suppress_below
        self.rows: list[list[str]] = []

    def _row(self, name: str, cell: Callable[[pd.DataFrame], str],
             applies: Iterable[str]) -> None:
        allowed = set(applies)
        self.rows.append([name] + [cell(group) if key in allowed else MISSING
                                   for key, group in self.strata.items()])

    def _missing(self, name: str, column: str, applies: Iterable[str]) -> None:
        allowed = list(applies)
        if any(self.strata[key][column].isna().any() for key in allowed):
            self._row(f"{name}: missing", lambda g: _count(
                int(g[column].isna().sum()), len(g), self.suppress_below), allowed)

    def continuous(self, name: str, column: str, applies: Iterable[str] = STRATA) -> None:
        allowed = list(applies)
        self._row(f"{name}, median (IQR)", lambda g: _median_iqr(g[column]), allowed)
        self._missing(name, column, allowed)

    def flag(self, name: str, test: Callable[[pd.DataFrame], pd.Series],
             applies: Iterable[str] = STRATA) -> None:
        self._row(name, lambda g: _count(int(test(g).sum()), len(g), self.suppress_below),
                  applies)

    def categories(self, name: str, column: str, order: Iterable[str],
                   applies: Iterable[str] = STRATA) -> None:
        allowed = list(applies)
        for code in order:
            self.flag(f"{name}: {label(code)}", _equals(column, code), allowed)
        self._missing(name, column, allowed)


def _taking(values: pd.Series) -> pd.Series:
    """A drug flag as booleans: no medication record at baseline counts as not taking it."""
    return values.astype("boolean").fillna(False).astype(bool)


def _variant(row: pd.Series) -> str | None:
    if pd.isna(row["sod1_variant"]):
        return None
    legacy = row["sod1_legacy"]
    return f"{legacy} ({row['sod1_variant']})" if not pd.isna(legacy) else str(
        row["sod1_variant"])


def table1(cohort: Cohort, *, drug: str = "tofersen",
           suppress_below: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """Characteristics of treated and untreated patients with ALS and of carriers at baseline:
    one row per characteristic, one column per stratum (its header names its n)."""
    frame = _derived(_people(cohort, drug), drug)
    strata = {key: frame[frame["stratum"] == key] for key in STRATA}
    header = {"treated": f"Treated with {drug}", "untreated": "Untreated ALS (never dosed)",
              "carrier": "Presymptomatic carriers"}
    columns = ["characteristic"] + [f"{header[k]} (n={len(g)})" for k, g in strata.items()]
    table = _Table(strata, suppress_below)
    als = ("treated", "untreated")
    table._row("patients with ALS", lambda g: str(len(g)), als)
    table._row("sites", lambda g: str(g["site"].nunique()), STRATA)
    table.continuous("age at baseline, years", "age")
    table.flag("female", lambda g: g["sex"] == "F")
    table._missing("sex", "sex", STRATA)
    regions = frame.loc[frame["stratum"] != "carrier", "onset_region"].value_counts()
    table.categories("onset region", "onset_region", [str(r) for r in regions.index], als)
    table.continuous("diagnostic delay, months", "delay_months", als)
    table.continuous("ALSFRS-R total at baseline (0–48)", "total", als)
    table.continuous("ΔFRS at baseline, points/month", "delta_frs", als)
    rated = frame.loc[frame["stratum"] != "carrier", "kings"]
    stages = [s for s in ("0", "1", "2", "3", "4A", "4B") if (rated == s).any()]
    table.categories("King's stage at baseline", "kings", stages, als)
    table.continuous(f"{label('nfl_serum')} at baseline, pg/mL", "nfl_serum")
    table.continuous("vital capacity at baseline, % predicted", "vital_capacity", als)
    table.flag("riluzole at baseline", lambda g: _taking(g["riluzole"]), als)
    table.flag("edaravone at baseline", lambda g: _taking(g["edaravone"]), als)
    frame = frame.assign(variant=pd.Series(
        [_variant(row) for _, row in frame.iterrows()], index=frame.index, dtype=object))
    strata = {key: frame[frame["stratum"] == key] for key in STRATA}
    table.strata = strata
    a4v = frame["sod1_legacy"] == "A4V"
    table.flag("SOD1 A4V (p.Ala5Val)", lambda g: g["sod1_legacy"] == "A4V")
    others = frame.loc[~a4v, "variant"].value_counts()
    top = sorted(others.index[:TOP_VARIANTS], key=lambda v: (-others[v], v))
    for name in top:
        table.flag(f"SOD1 {name}", _equals("variant", name))
    table.flag("SOD1 other variants", lambda g: g["variant"].notna()
               & (g["sod1_legacy"] != "A4V") & ~g["variant"].isin(top))
    table._missing("SOD1 variant", "variant", STRATA)
    table.continuous("follow-up from baseline, months", "follow_up_months")
    table.continuous(f"doses of {drug} given", "doses_given", ("treated",))
    return pd.DataFrame(table.rows, columns=columns)


def as_of(cohort: Cohort) -> date | None:
    """The latest date recorded anywhere in the cohort (the data's "as of" date)."""
    latest = []
    for name, column in (("alsfrs", "date"), ("measurements", "date"),
                         ("administrations", "date"), ("milestones", "date")):
        table = cohort.table(name)
        value = table.aggregate(latest=table[column].max()).execute()["latest"].iloc[0]
        if value is not None and not pd.isna(value):
            latest.append(pd.Timestamp(value).date())
    return max(latest) if latest else None


__all__ = ["BASELINE_WINDOW_DAYS", "LABELS", "as_of", "label", "table1"]
