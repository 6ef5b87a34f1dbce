"""Kaplan–Meier and Cox estimators against R's survival on ``lung``, and delayed entry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alsrwe.analytics.analyses.results import AnalysisError
from alsrwe.analytics.analyses.survival_estimators import cox, kaplan_meier

LUNG = pd.read_csv(Path(__file__).resolve().parents[2] / "data" / "lung.csv")

# R 4.2.2, survival 3.5-3 (tests/data/lung_survival_R_reference.txt):
#   survfit(Surv(time, status) ~ sex, data = lung)            # conf.type = "log" (default)
R_MEDIANS = {1: (270.0, 212.0, 310.0), 2: (426.0, 348.0, 550.0)}  # median, lower, upper
#   summary(survfit(Surv(time, status) ~ 1, data = lung), times = c(180, 365, 730))
R_SURVIVAL = {180: (0.72167065, 0.029812419), 365: (0.40924162, 0.035823638),
              730: (0.1156931, 0.028298197)}  # S(t), std.err (Greenwood, survival scale)
#   coxph(Surv(time, status) ~ age + sex, data = lung)         # ties = "efron" (default)
R_COX = {"age": (0.017045332, 0.0092232735), "sex": (-0.51321852, 0.16745796)}
R_COX_LOGLIK = -742.84825


@pytest.mark.parametrize("sex", [1, 2])
def test_km_median_and_log_ci_equal_r(sex: int) -> None:
    group = LUNG[LUNG["sex"] == sex]
    km = kaplan_meier(group["time"], group["status"])
    assert (km.median, km.median_lower, km.median_upper) == R_MEDIANS[sex]


def test_km_survival_and_greenwood_se_equal_r() -> None:
    km = kaplan_meier(LUNG["time"], LUNG["status"])
    at = km.survival_at(list(R_SURVIVAL)).set_index("time")
    for t, (s, se) in R_SURVIVAL.items():
        assert at.loc[t, "survival"] == pytest.approx(s, rel=1e-7)
        assert at.loc[t, "se"] == pytest.approx(se, rel=1e-7)
        assert at.loc[t, "lower"] < s < at.loc[t, "upper"]


def test_cox_efron_equals_r() -> None:
    fit = cox(LUNG, "time", "status", ["age", "sex"])
    for term, (coef, se) in R_COX.items():
        assert fit.summary.loc[term, "coef"] == pytest.approx(coef, rel=1e-6)
        assert fit.summary.loc[term, "se"] == pytest.approx(se, rel=1e-6)
    assert fit.log_likelihood == pytest.approx(R_COX_LOGLIK, rel=1e-8)
    with pytest.raises(AnalysisError):
        cox(LUNG, "time", "status", ["age"], ties="breslow")


def test_km_delayed_entry_removes_subjects_from_early_risk_sets() -> None:
    km = kaplan_meier([2, 4, 6], [1, 1, 1], entry=[0, 3, 0])
    # at t=2 only subjects 1 and 3 are at risk (subject 2 enters at 3)
    assert km.table["at_risk"].tolist() == [2, 2, 1]
    assert km.table["survival"].tolist() == pytest.approx([0.5, 0.25, 0.0])
    with pytest.raises(AnalysisError):
        kaplan_meier([2], [1], entry=[2])
