"""NfL response: hand-computed GMRs and t intervals, platform separation, known synthetic truth."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from alsrwe.analytics.analyses.nfl import (
    NflSettings,
    geometric_mean_ratio,
    kind_label,
    nfl_response,
)
from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.cohort import Cohort
from alsrwe.domain.biomarkers import NflAssay
from alsrwe.synth import generate_cohort
from alsrwe.synth.parameters import CohortParams

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning")

START = date(2024, 1, 1)


def _day(offset: int) -> date:
    return START + timedelta(days=offset)


def _hand_cohort() -> Cohort:
    """Four treated patients; serum NfL on Simoa, plus Ella values that must not be pooled."""
    ids = ["A", "B", "C", "D"]
    rows = []
    baselines = {"A": 100.0, "B": 80.0, "C": 50.0, "D": 120.0}
    week12 = {"A": 60.0, "B": 56.0, "C": 40.0, "D": 60.0}
    for pid in ids:
        rows.append((pid, _day(-200), 999.0, "simoa"))  # outside the 90-day window
        rows.append((pid, _day(-30), baselines[pid], "Simoa"))  # label variant, same platform
        rows.append((pid, _day(84 + 20), week12[pid], "simoa"))  # within ±28 of week 12
        rows.append((pid, _day(84 + 27), 1.0, "ella"))  # another platform: never pooled
    rows.append(("A", _day(84 - 25), 70.0, "simoa"))  # gap 25 > 20: not the nearest
    m = pd.DataFrame(rows, columns=["patient_id", "date", "value", "assay"])
    m["kind"] = "nfl_serum"
    m["unit"] = "pg/mL"
    doses = pd.DataFrame({"patient_id": ids, "date": [START] * 4, "drug": "tofersen",
                          "status": "given", "dose_mg": 100.0})
    patients = pd.DataFrame({"patient_id": ids, "status": "patient"})
    return Cohort.from_frames({"patients": patients, "measurements": m,
                               "administrations": doses})


def test_hand_made_gmr_and_t_interval() -> None:
    result = nfl_response(_hand_cohort(), NflSettings(weeks=(12,)))
    # nearest to day 84: A has day 59 (gap 25) and day 104 (gap 20) → day 104, value 60
    ratios = np.array([60 / 100, 56 / 80, 40 / 50, 60 / 120])
    logs = np.log(ratios)
    half = stats.t.ppf(0.975, 3) * logs.std(ddof=1) / math.sqrt(4)
    row = result.windows.iloc[0]
    assert row["n"] == 4
    assert row["gmr"] == pytest.approx(math.exp(logs.mean()), rel=1e-12)
    assert row["lower"] == pytest.approx(math.exp(logs.mean() - half), rel=1e-12)
    assert row["upper"] == pytest.approx(math.exp(logs.mean() + half), rel=1e-12)
    assert row["gmr_percent_change"] == pytest.approx((math.exp(logs.mean()) - 1) * 100)
    per = result.patients.set_index("patient_id")["percent_change"]
    assert per.to_dict() == pytest.approx({"A": -40.0, "B": -30.0, "C": -20.0, "D": -50.0})
    # below 62 pg/mL: A 60, B 56, C 40, D 60 → all; at baseline only C (50)
    assert row["share_below_threshold"] == 1.0
    assert row["share_below_threshold_at_baseline"] == 0.25
    assert result.assay == "simoa"
    assert "not pooled" in result.diagnostics[0].detail


def test_other_platform_on_request() -> None:
    with pytest.raises(AnalysisError):  # Ella has no baseline → no patient qualifies
        nfl_response(_hand_cohort(), NflSettings(assay=NflAssay.ELLA, weeks=(12,)))
    with pytest.raises(AnalysisError):
        nfl_response(_hand_cohort(), NflSettings(assay=NflAssay.ECL))


def test_geometric_mean_ratio_edge_cases() -> None:
    assert geometric_mean_ratio(np.array([]))[0] == 0
    n, gmr, lo, hi = geometric_mean_ratio(np.log([0.5]))
    assert (n, gmr) == (1, pytest.approx(0.5)) and math.isnan(lo) and math.isnan(hi)


def test_settings_are_frozen_and_validated() -> None:
    settings = NflSettings()
    assert settings.threshold_pg_ml == 62.0 and settings.weeks == (12, 24, 52)
    with pytest.raises(ValidationError):
        NflSettings(kind="csf_wbc")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        NflSettings(unknown=1)  # type: ignore[call-arg]
    assert NflSettings.model_validate_json(settings.model_dump_json()) == settings


@pytest.fixture(scope="module")
def synthetic() -> tuple[Cohort, pd.DataFrame]:
    sc = generate_cohort(CohortParams(n_patients=400, n_carriers=0, seed=7))
    return Cohort.from_frames(sc.tables()), sc.truth


def test_synthetic_plateau_is_recovered(synthetic: tuple[Cohort, pd.DataFrame]) -> None:
    cohort, truth = synthetic
    plateau = float(truth["nfl_plateau_ratio"].dropna().iloc[0])
    assert plateau == pytest.approx(0.4)
    result = nfl_response(cohort)
    w52 = result.windows.set_index("week").loc[52]
    assert w52["n"] >= 30
    assert w52["gmr"] == pytest.approx(plateau, abs=0.04)
    assert w52["lower"] < w52["gmr"] < w52["upper"]
    gmrs = result.windows["gmr"].tolist()
    assert gmrs[0] > gmrs[1] > gmrs[2]  # falling towards the plateau
    model = result.mixed_model
    assert model is not None and model.ratio_per_month < 1.0 and model.upper < 1.0
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["assay"] == "simoa" and payload["mixed_model"]["n_patients"] > 30


def test_csf_pnfh_and_no_threshold(synthetic: tuple[Cohort, pd.DataFrame]) -> None:
    cohort, _ = synthetic
    result = nfl_response(cohort, NflSettings(kind="pnfh_csf"))
    w52 = result.windows.set_index("week").loc[52]
    assert w52["gmr"] == pytest.approx(1 - 0.676, abs=0.05)  # synth pNfH fall (Smith 2025)
    assert math.isnan(w52["share_below_threshold"])
    assert result.diagnostics[-1].status.value == "NOT EVALUATED"


def test_attrition_counts_the_mixed_model_and_the_windows_apart() -> None:
    """E has a value after dose 1 but in no window (day 120, weeks 12 and 24 ± 28 days): the
    mixed model uses it, the windows do not; F has a baseline only: neither uses it."""
    cohort = _hand_cohort()
    frames = {name: cohort.frame(name) for name in cohort.tables}
    extra = pd.DataFrame([("E", _day(-10), 90.0, "simoa"), ("E", _day(120), 50.0, "simoa"),
                          ("F", _day(-10), 70.0, "simoa")],
                         columns=["patient_id", "date", "value", "assay"])
    frames["measurements"] = pd.concat(
        [frames["measurements"], extra.assign(kind="nfl_serum", unit="pg/mL")],
        ignore_index=True)
    frames["patients"] = pd.concat([frames["patients"], pd.DataFrame(
        {"patient_id": ["E", "F"], "status": "patient"})], ignore_index=True)
    frames["administrations"] = pd.concat([frames["administrations"], pd.DataFrame(
        {"patient_id": ["E", "F"], "date": [START] * 2, "drug": "tofersen", "status": "given",
         "dose_mg": 100.0})], ignore_index=True)
    result = nfl_response(Cohort.from_frames(frames), NflSettings(weeks=(12, 24)))
    steps = result.attrition.to_frame().set_index("rule")["remaining"]
    assert steps.tolist() == [6, 6, 6, 6, 5, 4]
    assert steps.index[2] == "serum NfL on Simoa around treatment"
    assert steps.index[4] == "a value after dose 1 up to week 24 + 28 days (mixed model)"
    assert steps.index[5] == "a value within ± 28 days of week 12 or 24 (windows)"
    assert result.mixed_model is not None and result.mixed_model.n_patients == 5


def test_windows_table_in_human_words() -> None:
    result = nfl_response(_hand_cohort(), NflSettings(weeks=(12,)))
    frame = result.to_frame()
    assert list(frame.columns) == [
        "week on treatment", "patients", "geometric mean ratio to baseline", "95% CI lower",
        "95% CI upper", "geometric mean change (%)", "median change (%)",
        "share below 62 pg/mL (%)", "share below 62 pg/mL at baseline (%)"]
    assert frame.iloc[0]["share below 62 pg/mL at baseline (%)"] == 25.0
    assert frame.iloc[0]["geometric mean ratio to baseline"] == result.windows.iloc[0]["gmr"]
    assert result.label == "serum NfL (Simoa)"
    assert kind_label("pnfh_csf") == "CSF pNfH" and kind_label("new_kind") == "new_kind"
