"""Carrier NfL surveillance: trigger boundaries (convention 10) and synthetic converters."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest

from alsrwe.analytics.analyses.carriers import CarrierSettings, carrier_surveillance
from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.cohort import Cohort
from alsrwe.domain.biomarkers import NflAssay
from alsrwe.synth import generate_cohort
from alsrwe.synth.parameters import CohortParams

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning")

SERIES = {  # carrier: values a month apart (pg/mL)
    "EXACT": [34.0, 40.0, 44.0, 50.0],  # +10 to exactly 44 → triggers at the 3rd value
    "BELOW_LEVEL": [33.9, 43.9],  # +10 but 43.9 < 44
    "SMALL_RISE": [40.0, 49.9],  # level reached, rise 9.9 < 10
    "HIGH_BASE": [30.0, 44.0],  # +14 to 44
    "ONE_VALUE": [9.0],
}


def _cohort() -> Cohort:
    rows = []
    for pid, values in SERIES.items():
        rows += [(pid, date(2024, 7, 1) + timedelta(days=30 * k), v, "simoa")
                 for k, v in enumerate(values)]
    rows.append(("EXACT", date(2024, 6, 1), 80.0, "ella"))  # another platform, never pooled
    rows.append(("REF", date(2024, 7, 1), 10.5, "simoa"))  # age 40.0: limit 10 → above
    rows.append(("REF", date(2024, 8, 1), 9.0, "simoa"))
    m = pd.DataFrame(rows, columns=["patient_id", "date", "value", "assay"])
    m["kind"], m["unit"] = "nfl_plasma", "pg/mL"
    ids = [*SERIES, "REF", "PATIENT"]
    patients = pd.DataFrame({"patient_id": ids, "birth_year": [1984] * len(ids),
                             "status": ["carrier"] * (len(ids) - 1) + ["patient"]})
    return Cohort.from_frames({"patients": patients, "measurements": m})


def test_trigger_boundaries() -> None:
    result = carrier_surveillance(_cohort())
    frame = result.carriers.set_index("patient_id")
    assert frame["triggered"].to_dict() == {
        "BELOW_LEVEL": False, "EXACT": True, "HIGH_BASE": True, "ONE_VALUE": False,
        "REF": False, "SMALL_RISE": False}
    assert frame.loc["EXACT", "first_trigger_date"] == date(2024, 8, 30)
    assert frame.loc["EXACT", "baseline_pg_ml"] == 34.0  # the Ella value is not the baseline
    assert result.assay == "simoa" and "ella" in result.diagnostics[0].detail
    assert result.attrition.to_frame()["remaining"].tolist() == [7, 6, 6]


def test_age_specific_reference() -> None:
    frame = carrier_surveillance(_cohort()).carriers.set_index("patient_id")
    # born 1984 (taken as 1 July): 40.0 y on 1 Jul 2024 → Simrén 18-50 y limit 10 pg/mL
    assert frame.loc["REF", "upper_reference_at_baseline"] == 10.0
    assert frame.loc["REF", "above_reference"]
    assert frame.loc["REF", "first_above_reference_date"] == date(2024, 7, 1)
    assert not frame.loc["ONE_VALUE", "above_reference"]


def test_configurable_rule_and_platform() -> None:
    loose = carrier_surveillance(_cohort(), CarrierSettings(rise_pg_ml=9.5, level_pg_ml=43.9))
    assert loose.carriers.set_index("patient_id")["triggered"].sum() == 4
    ella = carrier_surveillance(_cohort(), CarrierSettings(assay=NflAssay.ELLA))
    assert ella.carriers["patient_id"].tolist() == ["EXACT"]
    with pytest.raises(AnalysisError):
        carrier_surveillance(_cohort(), CarrierSettings(assay=NflAssay.ECL))
    json.dumps(loose.to_dict())


def test_synthetic_converters_are_flagged() -> None:
    sc = generate_cohort(CohortParams(n_patients=20, n_carriers=300, seed=3,
                                      carrier_conversion_share=0.15))
    result = carrier_surveillance(Cohort.from_frames(sc.tables()))
    truth = sc.truth.assign(patient_id=sc.truth["patient_id"].astype(str))
    frame = result.carriers.merge(truth[["patient_id", "carrier_conversion_date"]])
    conversion = pd.to_datetime(frame["carrier_conversion_date"])
    # the synthetic rise reaches ≥ 50 pg/mL above baseline 180 days after conversion
    risen = conversion.notna() & (pd.to_datetime(frame["last_date"]) >= conversion
                                  + pd.Timedelta(days=180))
    assert risen.sum() >= 10
    assert frame.loc[risen, "triggered"].all()
    never = conversion.isna()
    assert frame.loc[never, "triggered"].mean() < 0.05
    assert (pd.to_datetime(frame.loc[risen, "first_trigger_date"])
            > conversion[risen]).all()


def test_values_from_baseline_and_tables_in_words() -> None:
    result = carrier_surveillance(_cohort())
    exact = result.values[result.values["patient_id"] == "EXACT"]
    assert exact["value"].tolist() == [34.0, 40.0, 44.0, 50.0]  # Simoa only, in date order
    assert exact["years"].tolist() == pytest.approx([0, 30 / 365.25, 60 / 365.25, 90 / 365.25])
    assert "rise of ≥ 10 pg/mL" in result.trigger_rule and "≥ 44 pg/mL" in result.trigger_rule
    frame = result.to_frame().set_index("patient")
    assert frame.loc["EXACT", "first triggering value (date)"] == date(2024, 8, 30)
    assert frame.loc["REF", "upper reference limit at the first value (pg/mL)"] == 10.0
    assert not any("_" in column for column in frame.columns)
    assert result.attrition.to_frame()["rule"].iloc[-1] == "plasma NfL on Simoa"
