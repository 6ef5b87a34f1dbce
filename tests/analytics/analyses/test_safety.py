"""AE incidence per 100 patient-years with exact Poisson limits, and CSF flags at punctures."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from scipy import stats

from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.analyses.safety import (
    DAYS_PER_YEAR,
    SafetySettings,
    incidence_rate,
    poisson_ci,
    safety_incidence,
    term_label,
)
from alsrwe.analytics.cohort import Cohort
from alsrwe.synth import generate_cohort
from alsrwe.synth.parameters import CohortParams

pytestmark = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning")


def test_exact_poisson_limits() -> None:
    # Garwood limits; published values: 0 events → (0, 3.689); 10 events → (4.795, 18.390)
    assert poisson_ci(0) == (0.0, pytest.approx(3.689, abs=5e-4))
    lower, upper = poisson_ci(10)
    assert (lower, upper) == (pytest.approx(4.795, abs=5e-4), pytest.approx(18.390, abs=5e-4))
    assert lower == pytest.approx(stats.chi2.ppf(0.025, 20) / 2, rel=1e-12)
    assert upper == pytest.approx(stats.chi2.ppf(0.975, 22) / 2, rel=1e-12)
    assert poisson_ci(0)[1] == pytest.approx(stats.chi2.ppf(0.975, 2) / 2, rel=1e-12)
    rate, lo, hi = incidence_rate(10, 50.0)
    assert (rate, lo, hi) == pytest.approx((20.0, 2 * lower, 2 * upper))
    with pytest.raises(AnalysisError):
        poisson_ci(-1)


def _doses(pid: str, days: list[str]) -> list[dict[str, object]]:
    return [{"patient_id": pid, "date": d, "drug": "tofersen", "status": "given",
             "dose_mg": 100.0} for d in days]


def _hand_cohort() -> Cohort:
    patients = pd.DataFrame({"patient_id": ["A", "B", "C", "N"], "status": "patient"})
    doses = pd.DataFrame(
        _doses("A", ["2024-01-01", "2024-01-15", "2024-06-29"])
        + _doses("B", ["2024-01-01", "2024-01-15"])
        + _doses("C", ["2024-01-01", "2024-03-01"])
        + [{"patient_id": "C", "date": "2024-03-29", "drug": "tofersen", "status": "missed"}])
    alsfrs = pd.DataFrame({"patient_id": ["A"], "date": ["2024-12-01"], "source": "clinic",
                           **{f"q{i}": 4 for i in range(1, 13)}})
    milestones = pd.DataFrame({"patient_id": ["B"], "date": ["2024-01-20"], "kind": ["death"]})
    ae = pd.DataFrame({
        "patient_id": ["A", "A", "A", "B", "N"],
        "onset_date": ["2023-12-31", "2024-02-01", "2024-09-01", "2024-01-10", "2024-02-01"],
        "term": ["pain", "pain", "fatigue", "myelitis", "pain"],
        "grade": [1, 2, 1, 3, 1], "serious": [0, 0, 0, 1, 0]})
    labs = pd.DataFrame({
        "patient_id": ["A", "A", "A", "B", "C"],
        "date": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-16", "2024-03-01"],
        "kind": ["csf_wbc", "csf_protein", "csf_wbc", "csf_wbc", "csf_protein"],
        "value": [3.0, 50.0, 12.0, 40.0, 45.0], "unit": ["/uL", "mg/dL", "/uL", "/uL", "mg/dL"]})
    return Cohort.from_frames({"patients": patients, "administrations": doses,
                               "alsfrs": alsfrs, "milestones": milestones,
                               "adverse_events": ae, "measurements": labs})


def test_hand_made_exposure_and_rates() -> None:
    result = safety_incidence(_hand_cohort())
    days = result.exposure.set_index("patient_id")["days"].to_dict()
    # A: last dose 29 Jun + 28 d = 27 Jul (last contact 1 Dec later) → 208 days
    # B: death on 20 Jan before last dose + 28 → 19 days
    # C: last contact is the missed dose on 29 Mar, before 1 Mar + 28 = 29 Mar → 88 days
    assert days == {"A": 208, "B": 19, "C": 88}
    person_years = (208 + 19 + 88) / DAYS_PER_YEAR
    assert result.person_years == pytest.approx(person_years)
    rates = result.rates.set_index(["stratum", "value"])
    # counted: A pain 1 Feb, B myelitis 10 Jan; not: A before dose 1, A after exposure, N
    assert rates.loc[("all", "any"), "events"] == 2
    assert rates.loc[("all", "any"), "rate_per_100py"] == pytest.approx(200 / person_years)
    lo, hi = poisson_ci(2)
    assert rates.loc[("all", "any"), "upper"] == pytest.approx(100 * hi / person_years)
    assert rates.loc[("all", "any"), "lower"] == pytest.approx(100 * lo / person_years)
    assert rates.loc[("serious", "serious"), "events"] == 1
    assert rates.loc[("grade", "3"), "events"] == 1
    assert rates.loc[("term", "pain"), "patients"] == 1
    assert ("term", "fatigue") not in rates.index
    later = safety_incidence(_hand_cohort(), SafetySettings(on_treatment_only=False))
    assert later.rates.set_index(["stratum", "value"]).loc[("term", "fatigue"), "events"] == 1
    json.dumps(result.to_dict())


def test_csf_flags_per_lumbar_puncture() -> None:
    csf = safety_incidence(_hand_cohort()).csf.set_index("doses")
    first, later = csf.loc["first dose (pre-treatment)"], csf.loc["later doses"]
    # dose 1 of A: WBC 3 (no), protein 50 (> 45: raised); C: no lab on its first dose
    assert (first["lumbar_punctures"], first["with_wbc"], first["pleocytosis"]) == (3, 1, 0)
    assert (first["with_protein"], first["raised_protein"]) == (1, 1)
    # later: A 15 Jan WBC 12 (pleocytosis); B's lab on 16 Jan is a day off the dose;
    # C 1 Mar protein exactly 45 (not above the limit)
    assert (later["with_wbc"], later["pleocytosis"], later["share_pleocytosis"]) == (1, 1, 1.0)
    assert (later["with_protein"], later["raised_protein"]) == (1, 0)
    matched = safety_incidence(_hand_cohort(), SafetySettings(lab_match_days=1)).csf
    assert matched.set_index("doses").loc["later doses", "pleocytosis"] == 2
    strict = safety_incidence(_hand_cohort(), SafetySettings(csf_protein_mg_dl=44.0)).csf
    assert strict.set_index("doses").loc["later doses", "raised_protein"] == 1


def test_censor_date_and_no_exposure() -> None:
    cut = safety_incidence(_hand_cohort(), SafetySettings(censor_date=date(2024, 1, 12)))
    assert cut.exposure.set_index("patient_id")["days"].to_dict() == {"A": 11, "B": 11, "C": 11}
    assert cut.rates.set_index(["stratum", "value"]).loc[("all", "any"), "events"] == 1
    with pytest.raises(AnalysisError):
        safety_incidence(_hand_cohort(), SafetySettings(censor_date=date(2023, 1, 1)))


def test_synthetic_registry() -> None:
    sc = generate_cohort(CohortParams(n_patients=150, n_carriers=0, seed=3))
    result = safety_incidence(Cohort.from_frames(sc.tables()))
    rates = result.rates.set_index(["stratum", "value"])
    assert rates.loc[("all", "any"), "events"] > 0
    by_term = rates.loc["term", "events"].sum()
    assert by_term == rates.loc[("all", "any"), "events"]
    later = result.csf.set_index("doses").loc["later doses"]
    assert 0.3 < later["share_pleocytosis"] < 0.9  # synth: 60% inflamed (Sabatelli)


@pytest.mark.parametrize(("code", "words"), [
    ("csf_wbc_increased", "CSF white cell count increased"),
    ("csf_protein_increased", "CSF protein increased"),
    ("musculoskeletal_stiffness", "musculoskeletal stiffness"),
    ("raised_intracranial_pressure", "raised intracranial pressure"),
    ("other", "other (free-text term)"), ("pain", "pain"),
    ("csf_leak", "CSF leak"),  # a term added later reads as words too
])
def test_terms_in_words(code: str, words: str) -> None:
    assert term_label(code) == words


def test_tables_in_human_words() -> None:
    result = safety_incidence(_hand_cohort())
    frame = result.to_frame()
    assert list(frame.columns) == [
        "by", "category", "events", "patients with the event", "patient-years",
        "incidence per 100 patient-years", "95% CI lower (exact Poisson)",
        "95% CI upper (exact Poisson)"]
    rows = frame.set_index(["by", "category"])
    assert rows.loc[("all adverse events", "any adverse event"), "events"] == 2
    assert rows.loc[("grade", "grade 3"), "events"] == 1
    assert rows.loc[("seriousness", "serious"), "events"] == 1
    assert rows.loc[("term", "myelitis"), "incidence per 100 patient-years"] == pytest.approx(
        100 / result.person_years)
    csf = result.csf_frame().set_index("doses")
    assert csf.loc["later doses", "pleocytosis (> 5 cells/µL)"] == 1
    assert csf.loc["later doses", "pleocytosis (%)"] == 100.0
    assert "raised protein (> 45 mg/dL)" in csf.columns
