"""Per treated patient, what :mod:`.observed_expected` needs, gathered in the engine.

One row per patient with ALS and a given dose: the on-treatment OLS slope (from sums, as
:mod:`.progression` does), ΔFRS from the last total at or before the first dose (§1.2), the
ENCALS predictors at the first dose (diagnostic delay, age at onset, bulbar onset, the latest
vital capacity within a window before the dose), t0 = months from onset to the first dose, and
the ENCALS composite from the first dose (event, or censoring at the last contact or cut-off).
Months are 365.25/12 days (convention 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import ibis
import numpy as np
import pandas as pd

from alsrwe.analytics.analyses.progression import ols_slope
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import progression_table, registry_dates, treatment_starts
from alsrwe.domain.alsfrs import DAYS_PER_MONTH, MAX_TOTAL
from alsrwe.domain.errors import EventError
from alsrwe.domain.events import (
    ENCALS_COMPOSITE,
    VENTILATION_KINDS,
    Milestone,
    milestone,
    time_to_event,
)


def _treated(cohort: Cohort, drug: str) -> pd.DataFrame:
    p = cohort.table("patients")
    p = p.filter(p.status == "patient").select(
        "patient_id", "onset_date", "onset_region", "birth_year", "diagnosis_date")
    starts = treatment_starts(cohort, drug).select("patient_id", "start_date")
    joined = starts.join(p, "patient_id").left_join(registry_dates(cohort), "patient_id")
    frame: pd.DataFrame = joined.select(~ibis.selectors.endswith("_right")).execute()
    return frame


def _on_treatment_slopes(cohort: Cohort, drug: str, sources: Sequence[str]) -> pd.DataFrame:
    rows = progression_table(cohort, drug, sources)
    rows = rows.filter(rows.start_date.notnull() & (rows.t >= 0))
    t, y = rows.t, rows.total.cast("float64")
    sums: pd.DataFrame = rows.group_by("patient_id").aggregate(
        n_on=y.count(), st=t.sum(), stt=(t * t).sum(), sy=y.sum(), sty=(t * y).sum(),
        on_months=t.max()).execute()
    slope = ols_slope(*(sums[c].to_numpy(float) for c in ("n_on", "st", "stt", "sy", "sty")))
    return pd.DataFrame({"patient_id": sums["patient_id"], "n_on": sums["n_on"].astype(int),
                         "on_months": sums["on_months"].astype(float),
                         "observed_rate_per_month": -slope})


def _last_total_at_first_dose(cohort: Cohort, drug: str, sources: Sequence[str]) -> pd.DataFrame:
    rows = progression_table(cohort, drug, sources)
    rows = rows.filter(rows.start_date.notnull() & (rows.date <= rows.start_date))
    rank = ibis.row_number().over(group_by=rows.patient_id,
                                  order_by=[ibis.desc(rows.date), rows.total])
    rows = rows.mutate(rank_=rank)
    last: pd.DataFrame = rows.filter(rows.rank_ == 0).select(
        "patient_id", last_total=rows.total, months=rows.months_from_onset).execute()
    months = last["months"].astype(float)
    dfrs = np.where(months > 0, (MAX_TOTAL - last["last_total"].astype(float)) / months, np.nan)
    return pd.DataFrame({"patient_id": last["patient_id"], "delta_frs": dfrs})


def _vital_capacity(cohort: Cohort, drug: str, kinds: Sequence[str],
                    window_days: int) -> pd.DataFrame:
    m = cohort.table("measurements")
    m = m.filter(m.kind.isin(list(kinds)) & m.value.notnull())
    starts = treatment_starts(cohort, drug).select("patient_id", "start_date")
    j = m.join(starts, "patient_id")
    days = j.start_date.delta(j.date, unit="day")
    j = j.filter((days >= 0) & (days <= window_days))
    rank = ibis.row_number().over(group_by=j.patient_id, order_by=[ibis.desc(j.date), j.kind])
    j = j.mutate(rank_=rank)
    frame: pd.DataFrame = j.filter(j.rank_ == 0).select(
        "patient_id", vc_percent=j.value.cast("float64")).execute()
    return frame


def _milestones(cohort: Cohort) -> dict[str, list[Milestone]]:
    frame: pd.DataFrame = cohort.table("milestones").select("patient_id", "date", "kind").execute()
    out: dict[str, list[Milestone]] = {}
    for pid, when, kind in frame.itertuples(index=False):
        out.setdefault(str(pid), []).append(milestone(str(kind), pd.Timestamp(when).date()))
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _day(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _outcome(r: dict[str, Any], history: list[Milestone],
             censor_date: date | None) -> dict[str, Any]:
    """ENCALS composite from the first dose: follow-up months, event, uncounted ventilation."""
    start, onset, last = _day(r["start_date"]), _day(r["onset_date"]), _day(r["last_contact"])
    out: dict[str, Any] = {"milestones_ok": True, "follow_up_months": np.nan, "event": 0,
                           "uncounted_ventilation": 0}
    if start is None or onset is None or last is None or start <= onset:
        return out
    censor = min(last, censor_date) if censor_date is not None else last
    try:
        outcome = time_to_event(history, max(censor, onset), ENCALS_COMPOSITE, onset)
    except EventError:
        return {**out, "milestones_ok": False}
    out["follow_up_months"] = (outcome.date - start).days / DAYS_PER_MONTH
    out["event"] = int(outcome.event)
    out["uncounted_ventilation"] = sum(1 for m in history if m.kind in VENTILATION_KINDS
                                       and start < m.date <= outcome.date)
    return out


def patient_frame(cohort: Cohort, drug: str, sources: Sequence[str], vc_kinds: Sequence[str],
                  vc_window_days: int, censor_date: date | None
                  ) -> tuple[pd.DataFrame, pd.Series]:
    """One row per treated patient with ALS (see module doc), and per patient the number of
    NIV/PV milestones in follow-up that the ENCALS composite could not count (no hours)."""
    treated = _treated(cohort, drug)
    treated["patient_id"] = treated["patient_id"].astype(str)
    parts = [_on_treatment_slopes(cohort, drug, sources),
             _last_total_at_first_dose(cohort, drug, sources),
             _vital_capacity(cohort, drug, vc_kinds, vc_window_days)]
    per = treated
    for part in parts:
        part = part.assign(patient_id=part["patient_id"].astype(str))
        per = per.merge(part, on="patient_id", how="left")
    history = _milestones(cohort)
    outcomes = pd.DataFrame([_outcome(r, history.get(str(r["patient_id"]), []), censor_date)
                             for r in _records(per)],
                            columns=["milestones_ok", "follow_up_months", "event",
                                     "uncounted_ventilation"], index=per.index)
    per = pd.concat([per, outcomes], axis=1)
    onset = pd.to_datetime(per["onset_date"])
    per["t0_months"] = (pd.to_datetime(per["start_date"]) - onset).dt.days / DAYS_PER_MONTH
    per["delay_months"] = (pd.to_datetime(per["diagnosis_date"]) - onset).dt.days \
        / DAYS_PER_MONTH
    per["age_at_onset"] = onset.dt.year - pd.to_numeric(per["birth_year"]).astype(float)
    per["bulbar_onset"] = (per["onset_region"] == "bulbar").astype(float)
    per["n_on"] = per["n_on"].fillna(0).astype(int)
    per = per.sort_values("patient_id", ignore_index=True)
    uncounted = per.set_index("patient_id")["uncounted_ventilation"]
    return per, uncounted


__all__ = ["patient_frame"]
