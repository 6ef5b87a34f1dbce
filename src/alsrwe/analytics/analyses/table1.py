"""Table 1: who is in the cohort (demographics, onset, variants, treatment), per site or overall.

Counts from 1 to ``suppress_below - 1`` are shown as "<k" so that a report cannot single out
a person in a small site (small-cell suppression, :mod:`alsrwe.domain.privacy`); by default
with the domain's threshold. Pass ``suppress_below=0`` for every count, e.g. inside the clinic.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import months_between, treatment_starts
from alsrwe.domain.privacy import SUPPRESS_BELOW, suppressed_text


def _count(n: int, total: int, suppress_below: int) -> str:
    hidden = suppressed_text(n, suppress_below)
    if hidden is not None:
        return hidden
    share = f" ({100 * n / total:.0f}%)" if total else ""
    return f"{n}{share}"


def _median_iqr(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "–"
    q1, q2, q3 = values.quantile([0.25, 0.5, 0.75])
    return f"{q2:.1f} ({q1:.1f}–{q3:.1f})"


def _patient_frame(cohort: Cohort, drug: str) -> pd.DataFrame:
    patients = cohort.table("patients")
    starts = treatment_starts(cohort, drug)
    joined = patients.left_join(starts, "patient_id")
    frame: pd.DataFrame = joined.select(
        "patient_id", "site", "sex", "birth_year", "status", "sod1_variant", "sod1_legacy",
        "zygosity", "onset_region", "onset_date", "diagnosis_date", "start_date",
        "doses_given",
        delay_months=months_between(joined.diagnosis_date, joined.onset_date),
        treatment_months=months_between(joined.last_dose_date, joined.start_date),
    ).execute()
    return frame


def table1(cohort: Cohort, *, drug: str = "tofersen",
           suppress_below: int = SUPPRESS_BELOW) -> pd.DataFrame:
    """Characteristics of patients (ALS) and carriers: one row per characteristic."""
    frame = _patient_frame(cohort, drug)
    patients = frame[frame["status"] == "patient"]
    carriers = frame[frame["status"] == "carrier"]
    treated = patients[patients["start_date"].notna()]
    n = len(patients)
    onset_year = pd.to_datetime(patients["onset_date"]).dt.year
    rows: list[tuple[str, str]] = [
        ("patients with ALS", str(n)),
        ("presymptomatic carriers", str(len(carriers))),
        ("sites", str(frame["site"].nunique())),
        ("female", _count(int((patients["sex"] == "F").sum()), n, suppress_below)),
        ("age at onset, years, median (IQR)", _median_iqr(onset_year - patients["birth_year"])),
        ("diagnostic delay, months, median (IQR)", _median_iqr(patients["delay_months"])),
    ]
    for region, count in patients["onset_region"].value_counts().items():
        rows.append((f"onset region: {region}", _count(int(count), n, suppress_below)))
    rows.append(("treated with " + drug, _count(len(treated), n, suppress_below)))
    rows.append((f"time on {drug}, months, median (IQR)",
                 _median_iqr(treated["treatment_months"])))
    rows.append(("doses given, median (IQR)", _median_iqr(treated["doses_given"])))
    homo = int((frame["zygosity"] == "homozygous").sum())
    rows.append(("homozygous (patients and carriers)", _count(homo, len(frame), suppress_below)))
    variants = frame.groupby(["sod1_variant", "sod1_legacy"]).size().sort_values(ascending=False)
    for key, count in variants.items():
        hgvs, legacy = key if isinstance(key, tuple) else (key, "")
        rows.append((f"SOD1 {hgvs} ({legacy})", _count(int(count), len(frame), suppress_below)))
    return pd.DataFrame(rows, columns=["characteristic", "value"])


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


__all__ = ["as_of", "table1"]
