"""The cohort report: every section rendered, files written, refusals shown, site filter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from alsrwe.analytics.cohort import Cohort, CohortError, restrict_to_sites
from alsrwe.analytics.report import ReportSettings, build_report
from alsrwe.synth import CohortParams, SyntheticCohort, generate_cohort

SECTIONS = ("progression", "responders", "nfl_response", "early_vs_delayed", "survival",
            "safety", "carriers")


@pytest.fixture(scope="module")
def report_cohort() -> SyntheticCohort:
    return generate_cohort(CohortParams(seed=3, n_patients=150, n_carriers=10))


def test_report_has_every_section_and_its_files(report_cohort: SyntheticCohort,
                                                tmp_path: Path) -> None:
    cohort = Cohort.from_frames(report_cohort.tables())
    seen: list[str] = []
    path = build_report(cohort, tmp_path, progress=seen.append)
    html = path.read_text(encoding="utf-8")
    assert len(seen) == len(SECTIONS)
    assert "Table 1" in html and "patients with ALS" in html
    assert html.count("<svg") >= 5  # spaghetti ALSFRS-R and NfL, rates, two KM curves
    assert "<script" not in html  # opens offline, nothing to fetch or run
    for name in SECTIONS:
        assert f'id="{name}"' in html
        assert (tmp_path / f"{name}.csv").exists() or "Not evaluated" in html
    progression = json.loads((tmp_path / "progression.json").read_text())
    assert sum(p["included"] for p in progression["patients"]) > 0
    settings = json.loads((tmp_path / "progression.settings.json").read_text())
    assert settings["expected"] == "pre_slope"
    assert json.loads((tmp_path / "report.settings.json").read_text())["site"] is None
    first = pd.read_csv(tmp_path / "table1.csv")
    assert first.loc[first["characteristic"] == "patients with ALS", "value"].item() == "150"
    headline = re.search(r"declined (-?\d+)% slower", html)
    assert headline is not None


def test_refused_analysis_is_shown_not_raised(tmp_path: Path) -> None:
    untreated = generate_cohort(CohortParams(seed=4, n_patients=20, n_carriers=0,
                                             treatment_share=0.0))
    cohort = Cohort.from_frames(untreated.tables())
    html = build_report(cohort, tmp_path).read_text(encoding="utf-8")
    assert "Not evaluated" in html
    assert not (tmp_path / "progression.json").exists()


def test_site_filter(report_cohort: SyntheticCohort, tmp_path: Path) -> None:
    cohort = Cohort.from_frames(report_cohort.tables())
    one = restrict_to_sites(cohort, ["BER"])
    sites = one.frame("patients")["site"].unique().tolist()
    assert sites == ["BER"]
    ids = set(one.frame("patients")["patient_id"])
    assert set(one.frame("alsfrs")["patient_id"]) <= ids
    with pytest.raises(CohortError, match="no patient of site"):
        restrict_to_sites(cohort, ["NOPE"])
    path = build_report(cohort, tmp_path, ReportSettings(site="BER"))
    assert "site BER" in path.read_text(encoding="utf-8")
