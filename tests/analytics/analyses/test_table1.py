"""Table 1: three strata counted as the synthetic cohort says, one denominator per column,
words instead of codes, baseline values at the first dose, small cells suppressed by default."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from alsrwe.analytics.analyses.table1 import BASELINE_WINDOW_DAYS, LABELS, table1
from alsrwe.analytics.cohort import Cohort
from alsrwe.domain.privacy import SUPPRESS_BELOW
from alsrwe.synth import SyntheticCohort

ITEMS = [f"q{n}" for n in range(1, 13)]


@pytest.fixture(scope="module")
def frames(synthetic_cohort: SyntheticCohort) -> dict[str, pd.DataFrame]:
    return synthetic_cohort.tables()


@pytest.fixture(scope="module")
def full(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return table1(Cohort.from_frames(frames), suppress_below=0)


def _strata(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The three strata computed here from the tidy frames, independently of the module."""
    patients, doses = frames["patients"], frames["administrations"]
    dosed = set(doses.loc[(doses["drug"] == "tofersen") & (doses["status"] == "given"),
                          "patient_id"])
    als = patients[patients["status"] == "patient"]
    return {"treated": als[als["patient_id"].isin(dosed)],
            "untreated": als[~als["patient_id"].isin(dosed)],
            "carrier": patients[patients["status"] == "carrier"]}


def _row(frame: pd.DataFrame, characteristic: str) -> list[str]:
    return [str(v) for v in frame.loc[frame["characteristic"] == characteristic].iloc[0, 1:]]


def _n(cell: str) -> int:
    match = re.match(r"(\d+)", cell)
    assert match, cell
    return int(match[1])


def test_columns_are_the_three_strata_with_their_n(frames: dict[str, pd.DataFrame],
                                                   full: pd.DataFrame) -> None:
    strata = _strata(frames)
    assert all(len(group) > 0 for group in strata.values())
    assert list(full.columns) == [
        "characteristic", f"Treated with tofersen (n={len(strata['treated'])})",
        f"Untreated ALS (never dosed) (n={len(strata['untreated'])})",
        f"Presymptomatic carriers (n={len(strata['carrier'])})"]
    assert _row(full, "patients with ALS") == [str(len(strata["treated"])),
                                               str(len(strata["untreated"])), "–"]


def test_every_percentage_is_of_its_own_column(frames: dict[str, pd.DataFrame],
                                               full: pd.DataFrame) -> None:
    strata = _strata(frames)
    female = _row(full, "female")
    for cell, group in zip(female, strata.values(), strict=True):
        k = int((group["sex"] == "F").sum())
        assert cell == f"{k} ({100 * k / len(group):.0f}%)"
    for column, key in zip(full.columns[1:3], ("treated", "untreated"), strict=True):
        regions = full[full["characteristic"].str.startswith("onset region")]
        assert sum(_n(v) for v in regions[column]) == len(strata[key])  # incl. "missing"
        for cell in regions[column]:
            k = _n(cell)
            assert cell == f"{k} ({100 * k / len(strata[key]):.0f}%)"


def test_labels_are_words_not_codes(full: pd.DataFrame) -> None:
    text = " ".join(full.astype(str).to_numpy().ravel())
    for code in ("lower_limb", "upper_limb", "nfl_serum", "svc_percent", "edaravone_oral"):
        assert code not in text
    assert "onset region: lower limb" in set(full["characteristic"])
    assert "serum NfL at baseline, pg/mL, median (IQR)" in set(full["characteristic"])
    assert LABELS["F"] == "female"


def test_baseline_alsfrs_of_treated_is_the_last_rating_before_the_first_dose(
        frames: dict[str, pd.DataFrame], full: pd.DataFrame) -> None:
    doses = frames["administrations"].astype({"patient_id": str})
    given = doses[(doses["drug"] == "tofersen") & (doses["status"] == "given")]
    starts = given.groupby("patient_id")["date"].min().rename("start")
    ratings = frames["alsfrs"].astype({"patient_id": str}).join(starts, on="patient_id",
                                                                 how="inner")
    ratings = ratings[(ratings["date"] <= ratings["start"]) & (
        ratings["date"] >= ratings["start"] - pd.Timedelta(days=BASELINE_WINDOW_DAYS))]
    last = ratings.sort_values("date").groupby("patient_id").tail(1)
    treated = _strata(frames)["treated"]
    totals = last.set_index("patient_id")[ITEMS].sum(axis=1).reindex(
        treated["patient_id"].astype(str))
    q1, q2, q3 = totals.dropna().quantile([0.25, 0.5, 0.75])
    treated_cell, _, carrier_cell = _row(full, "ALSFRS-R total at baseline (0–48), median (IQR)")
    assert treated_cell == f"{q2:.1f} ({q1:.1f}–{q3:.1f})"
    assert carrier_cell == "–"  # not applicable to carriers
    missing = _row(full, "ALSFRS-R total at baseline (0–48): missing")[0]
    assert _n(missing) == int(totals.isna().sum()) > 0


def test_doses_only_for_the_treated(full: pd.DataFrame) -> None:
    treated, untreated, carriers = _row(full, "doses of tofersen given, median (IQR)")
    assert treated != "–" and untreated == carriers == "–"


@pytest.fixture(scope="module")
def small(synthetic_cohort: SyntheticCohort) -> Cohort:
    """Eight untreated patients with ALS, two of them female."""
    patients = synthetic_cohort.patients
    patients = patients[patients["status"] == "patient"].head(8).copy()
    patients["sex"] = ["F", "F"] + ["M"] * 6
    return Cohort.from_frames({"patients": patients})


def test_small_counts_are_suppressed_by_default(small: Cohort) -> None:
    assert SUPPRESS_BELOW == 5
    first = table1(small)
    assert _row(first, "female")[1] == f"<{SUPPRESS_BELOW}"
    assert _row(first, "patients with ALS") == ["0", "8", "–"]  # totals are not suppressed
    assert first.columns[2] == "Untreated ALS (never dosed) (n=8)"


def test_suppression_can_be_switched_off(small: Cohort) -> None:
    assert _row(table1(small, suppress_below=0), "female")[1] == "2 (25%)"
    assert _row(table1(small, suppress_below=2), "female")[1] == "2 (25%)"
    assert _row(table1(small, suppress_below=3), "female")[1] == "<3"
