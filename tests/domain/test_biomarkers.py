"""Measurements, units, NfL change, CSF flags, carrier surveillance, BMI (domain-rules §7, §9.2)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsrwe.domain.biomarkers import (
    KIND_SPECS,
    CsfThresholds,
    Matrix,
    MeasurementKind,
    NflAssay,
    bmi,
    csf_flags,
    from_canonical,
    nfl_percent_change,
    nfl_platform,
    normalize_measurement,
    to_canonical,
)
from alsrwe.domain.errors import MeasurementError
from alsrwe.domain.nfl_surveillance import (
    SurveillanceRule,
    nfl_above_reference,
    nfl_trigger,
    nfl_upper_reference,
)

# --- units (data-format.md measurements.csv) --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "unit", "expected", "canonical"),
    [
        ("nfl_serum", 78.0, "pg/mL", 78.0, "pg/mL"),  # Wiesenfarth 2024 median sNfL
        ("nfl_plasma", 44.0, "ng/L", 44.0, "pg/mL"),  # ng/L = pg/mL
        ("pnfh_csf", 2226.0, "ng/L", 2226.0, "pg/mL"),
        ("csf_protein", 0.45, "g/L", 45.0, "mg/dL"),  # convention 8: 0.45 g/L = 45 mg/dL
        ("csf_protein", 52.0, "mg/dL", 52.0, "mg/dL"),
        ("csf_wbc", 7.0, "cells/uL", 7.0, "/uL"),
        ("csf_wbc", 7.0, "10*6/L", 7.0, "/uL"),
        ("svc_percent", 104.0, "%", 104.0, "%"),
        ("hhd_megascore", -0.8, "score", -0.8, "score"),
        ("weight_kg", 70.5, "kg", 70.5, "kg"),
        ("csf_sod1", 120.0, "ng/mL", 120.0, "ng/mL"),
    ],
)
def test_normalize_converts_to_canonical(
    kind: str, value: float, unit: str, expected: float, canonical: str
) -> None:
    m = normalize_measurement(kind, value, unit)
    assert m.kind == MeasurementKind(kind)
    assert m.value == expected
    assert m.unit == canonical


def test_protein_on_threshold_stays_on_threshold() -> None:
    # 0.45 * 100 is 45.00000000000001 in binary floats; it must not flag raised protein.
    m = normalize_measurement("csf_protein", 0.45, "g/L")
    assert m.value == 45.0
    assert csf_flags(None, m.value).raised_protein is False


@pytest.mark.parametrize("unit", ["PG/ML", " pg / mL ", "ng/l", "cells/µL", "cells/μl", "10*6/l"])
def test_unit_matching_ignores_case_space_and_micro(unit: str) -> None:
    kind = "csf_wbc" if "cell" in unit or "10*6" in unit else "nfl_serum"
    assert normalize_measurement(kind, 3.0, unit).value == 3.0


def test_wrong_unit_names_field_and_alternatives() -> None:
    with pytest.raises(MeasurementError) as info:
        normalize_measurement("nfl_serum", 12.0, "mg/L")
    assert info.value.field == "unit"
    assert info.value.rule == "unit 'mg/L' is not accepted for nfl_serum; use pg/mL or ng/L"


def test_unknown_kind() -> None:
    with pytest.raises(MeasurementError) as info:
        normalize_measurement("nfl_blood", 12.0, "pg/mL")
    assert info.value.field == "kind"
    assert "nfl_serum" in info.value.rule


@pytest.mark.parametrize(
    ("kind", "value", "unit"),
    [
        ("nfl_serum", -1.0, "pg/mL"),
        ("csf_protein", -0.1, "g/L"),
        ("svc_percent", 250.0, "%"),
        ("weight_kg", 9.0, "kg"),
        ("weight_kg", 401.0, "kg"),
        ("nfl_csf", math.nan, "pg/mL"),
        ("nfl_csf", math.inf, "pg/mL"),
    ],
)
def test_out_of_range_values(kind: str, value: float, unit: str) -> None:
    with pytest.raises(MeasurementError) as info:
        normalize_measurement(kind, value, unit)
    assert info.value.field == "value"


def test_megascore_may_be_negative_and_percent_may_exceed_100() -> None:
    assert normalize_measurement("hhd_megascore", -2.5, "score").value == -2.5
    assert normalize_measurement("fvc_percent", 120.0, "%").value == 120.0


def test_every_kind_has_a_spec_with_ucum_and_matrix() -> None:
    assert set(KIND_SPECS) == set(MeasurementKind)
    assert KIND_SPECS[MeasurementKind.NFL_PLASMA].matrix is Matrix.PLASMA
    assert KIND_SPECS[MeasurementKind.CSF_WBC].ucum == "/uL"
    assert KIND_SPECS[MeasurementKind.HHD_MEGASCORE].ucum == "{score}"
    assert KIND_SPECS[MeasurementKind.WEIGHT_KG].matrix is None
    assert KIND_SPECS[MeasurementKind.CSF_PROTEIN].accepted_units == ("mg/dL", "g/L")


def test_assay_lab_and_platform() -> None:
    m = normalize_measurement("nfl_serum", 40.0, "pg/mL", assay=" Simoa ", lab="  ")
    assert m.assay == "Simoa" and m.lab is None
    assert m.platform is NflAssay.SIMOA and m.matrix is Matrix.SERUM
    assert normalize_measurement("weight_kg", 70.0, "kg").platform is None
    assert nfl_platform(None) is NflAssay.UNKNOWN
    assert nfl_platform("Simple Plex") is NflAssay.ELLA
    assert nfl_platform("LabCorp in-house") is NflAssay.OTHER


_kinds_and_units = st.sampled_from(
    [(spec.kind, unit) for spec in KIND_SPECS.values() for unit in spec.accepted_units]
)


@given(_kinds_and_units, st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_round_trip_through_canonical(kind_unit: tuple[MeasurementKind, str], x: float) -> None:
    kind, unit = kind_unit
    back = from_canonical(kind, to_canonical(kind, x, unit), unit)
    assert math.isclose(back, x, rel_tol=1e-12, abs_tol=1e-300)


@given(st.decimals(min_value=0, max_value=100, places=4))
def test_g_per_l_is_exactly_100_mg_per_dl_for_lab_decimals(x: Decimal) -> None:
    assert to_canonical("csf_protein", float(x), "g/L") == float(x * 100)


# --- NfL change (convention 9) ----------------------------------------------------------------


def test_percent_change_worked_example() -> None:
    # Wiesenfarth 2024 medians 78 → 36 pg/mL: (36/78 − 1) × 100 = −53.8 %.
    assert nfl_percent_change(78.0, 36.0) == pytest.approx(-53.846, abs=1e-3)
    assert nfl_percent_change(50.0, 50.0) == 0.0


def test_percent_change_needs_positive_baseline() -> None:
    with pytest.raises(MeasurementError) as info:
        nfl_percent_change(0.0, 10.0)
    assert info.value.field == "baseline"


_positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)


@given(_positive, _positive)
def test_percent_change_sign_follows_direction(pre: float, post: float) -> None:
    change = nfl_percent_change(pre, post)
    assert change >= -100.0
    if post > pre:
        assert change > 0
    elif post < pre:
        assert change < 0
    else:
        assert change == 0


# --- CSF flags (convention 8) -----------------------------------------------------------------


def test_csf_flags_defaults() -> None:
    assert csf_flags(5.0, 45.0) == csf_flags(0.0, 0.0)  # on the limit is not flagged
    flags = csf_flags(6.0, 46.0)
    assert flags.pleocytosis is True and flags.raised_protein is True and flags.any
    assert csf_flags(None, None).pleocytosis is None
    assert not csf_flags(None, None).any


def test_csf_thresholds_configurable_and_validated() -> None:
    assert csf_flags(8.0, 50.0, CsfThresholds(wbc_per_ul=10, protein_mg_dl=60)).any is False
    with pytest.raises(MeasurementError) as info:
        CsfThresholds(wbc_per_ul=-1)
    assert info.value.field == "wbc_per_ul"
    with pytest.raises(MeasurementError):
        csf_flags(-1.0, None)


_lab = st.floats(min_value=0, max_value=1e4, allow_nan=False)


@given(_lab, _lab, _lab, _lab)
def test_csf_flags_monotone(w1: float, w2: float, p1: float, p2: float) -> None:
    low, high = csf_flags(min(w1, w2), min(p1, p2)), csf_flags(max(w1, w2), max(p1, p2))
    assert bool(low.pleocytosis) <= bool(high.pleocytosis)
    assert bool(low.raised_protein) <= bool(high.raised_protein)


# --- Carrier surveillance (convention 10) -----------------------------------------------------


def test_atlas_trigger_worked_examples() -> None:
    # ATLAS: a rise of ≥ 10 pg/mL to a level ≥ 44 pg/mL (Benatar 2022; domain-rules §4.3).
    assert nfl_trigger(34.0, 44.0) is True
    assert nfl_trigger(35.0, 44.0) is False  # rise 9
    assert nfl_trigger(20.0, 43.0) is False  # level below 44
    assert nfl_trigger(10.0, 20.0, SurveillanceRule(rise_pg_ml=5, level_pg_ml=15)) is True


def test_trigger_checks_matrix_and_platform() -> None:
    plasma = normalize_measurement("nfl_plasma", 20.0, "pg/mL", assay="simoa")
    later = normalize_measurement("nfl_plasma", 60.0, "pg/mL", assay="simoa")
    assert nfl_trigger(plasma, later) is True
    serum = normalize_measurement("nfl_serum", 60.0, "pg/mL")
    with pytest.raises(MeasurementError) as info:
        nfl_trigger(plasma, serum)
    assert info.value.field == "value"
    ella = normalize_measurement("nfl_plasma", 60.0, "pg/mL", assay="ella")
    with pytest.raises(MeasurementError) as info:
        nfl_trigger(plasma, ella)
    assert info.value.field == "assay"


@pytest.mark.parametrize(
    ("age", "limit"),
    [
        (5, 7.0),
        (17.9, 7.0),
        (18, 10.0),
        (50.99, 10.0),
        (51, 15.0),
        (60, 15.0),
        (61, 20.0),
        (70, 20.0),
        (71, 35.0),
        (95, 35.0),
    ],
)
def test_simren_2022_plasma_limits(age: float, limit: float) -> None:
    # Simrén et al., Brain Commun 2022: 5–17 y 7; 18–50 10; 51–60 15; 61–70 20; >70 35 pg/mL.
    assert nfl_upper_reference(age) == limit


def test_reference_flag_and_age_outside_bands() -> None:
    assert nfl_above_reference(12.0, 45) is True
    assert nfl_above_reference(10.0, 45) is False
    with pytest.raises(MeasurementError) as info:
        nfl_upper_reference(3)
    assert info.value.field == "age_years"


# --- BMI --------------------------------------------------------------------------------------


def test_bmi() -> None:
    assert bmi(70.0, 1.75) == pytest.approx(22.857, abs=1e-3)
    with pytest.raises(MeasurementError) as info:
        bmi(70.0, 175.0)  # centimetres by mistake
    assert info.value.field == "height_m"
    with pytest.raises(MeasurementError) as info:
        bmi(5.0, 1.75)
    assert info.value.field == "weight_kg"


@pytest.mark.parametrize(("before", "after"), [(54.1, 64.1), (34.1, 44.1), (40.3, 50.3)])
def test_nfl_trigger_exact_rise_with_decimals(before: float, after: float) -> None:
    """A rise of exactly 10 pg/mL written with decimals triggers (convention 10)."""
    assert nfl_trigger(before, after)
