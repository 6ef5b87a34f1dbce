"""The cohort report: every section rendered, files written, figures and tables numbered,
per-patient tables in the supplement, refusals shown, site filter."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from alsrwe.analytics.analyses.results import (
    Attrition,
    Diagnostic,
    DiagnosticStatus,
    ResultFrames,
)
from alsrwe.analytics.cohort import Cohort, CohortError, restrict_to_sites
from alsrwe.analytics.report import ReportSettings, build_report
from alsrwe.analytics.report.presentations import ANALYSES
from alsrwe.synth import CohortParams, SyntheticCohort, generate_cohort

SECTIONS = tuple(analysis.name for analysis in ANALYSES)


@pytest.fixture(scope="module")
def report_cohort() -> SyntheticCohort:
    return generate_cohort(CohortParams(seed=3, n_patients=150, n_carriers=10))


@pytest.fixture(scope="module")
def built(report_cohort: SyntheticCohort,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """The report of the cohort, built once: (folder, report.html text, progress titles)."""
    folder = tmp_path_factory.mktemp("report")
    seen: list[str] = []
    path = build_report(Cohort.from_frames(report_cohort.tables()), folder,
                        progress=seen.append)
    return folder, path.read_text(encoding="utf-8"), seen


def test_report_has_every_section_and_its_files(built: tuple[Path, str, list[str]]) -> None:
    tmp_path, html, seen = built
    assert len(seen) == len(SECTIONS) + 1 and seen[-1] == "the figures"
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
    als = first.loc[first["characteristic"] == "patients with ALS"].iloc[0, 1:3]
    assert sum(int(v) for v in als) == 150
    assert "<h2 id=\"methods\">Methods</h2>" in html
    for name in SECTIONS:
        if (tmp_path / f"{name}.json").exists():
            diagnostics = pd.read_csv(tmp_path / f"{name}.diagnostics.csv")
            assert list(diagnostics.columns) == ["check", "status", "detail"]
            attrition = pd.read_csv(tmp_path / f"{name}.attrition.csv")
            assert attrition["remaining"].iloc[0] >= attrition["remaining"].iloc[-1]


def test_figures_are_numbered_exported_and_named_in_their_captions(
        built: tuple[Path, str, list[str]]) -> None:
    tmp_path, html, _ = built
    captions = re.findall(r"<figcaption>Figure (\d+)\. (.*?)</figcaption>", html, re.S)
    assert len(captions) == html.count("<svg") >= 5
    assert [int(n) for n, _ in captions] == list(range(1, len(captions) + 1))
    for number, caption in captions:
        files = re.search(r"\(files: (figures/figure-(\d\d)-[a-z0-9-]+\.svg), "
                          r"(figures/figure-\d\d-[a-z0-9-]+\.png)\)", caption)
        assert files is not None, caption
        assert int(files[2]) == int(number)
        assert (tmp_path / files[1]).read_text(encoding="utf-8").startswith("<svg")
        assert (tmp_path / files[3]).read_bytes().startswith(b"\x89PNG")
    tables = [int(n) for n in re.findall(r"Table (\d+)\. ", html)]
    assert tables == list(range(1, len(tables) + 1)) and len(tables) > 3


def test_per_patient_tables_are_in_the_supplement_linked_from_their_section(
        built: tuple[Path, str, list[str]]) -> None:
    tmp_path, html, _ = built
    supplement = html.index('<h2 id="supplement">')
    progression = html[html.index('id="progression"'):html.index('id="responders"')]
    link = re.search(r'per-patient listing: <a href="#(table-s\d+)">Table (S\d+)</a>',
                     progression)
    assert link is not None
    anchor = html.index(f'id="{link[1]}"')
    assert anchor > supplement  # the listing itself is at the end, not in the section
    assert "patient_id" not in progression  # no per-patient rows inside the section
    assert re.search(r"Supplementary tables S1–S\d+", html)
    assert (tmp_path / "tables" / f"table-{link[2]}-progression-before-and-on-treatment-"
            "per-patient.csv").exists()
    assert ".status-WARN" in html and 'class="status-PASS"' in html
    cut = re.search(r"first 60 of (\d+) rows; all \1 in (tables/table-S\d+-[a-z0-9-]+\.csv)",
                    html[supplement:])
    assert cut is not None  # a long listing names its row count and its CSV
    assert len(pd.read_csv(tmp_path / cut[2])) == int(cut[1]) > 60


def test_result_frames_mixin_gives_diagnostics_and_attrition_frames() -> None:
    @dataclass(frozen=True)
    class Fake(ResultFrames):
        attrition: Attrition
        diagnostics: list[Diagnostic]

    log = Attrition(start=10)
    log.apply("rated twice", 7)
    fake = Fake(log, [Diagnostic("fit", DiagnosticStatus.WARN, "singular")])
    assert fake.diagnostics_frame().to_dict("records") == [
        {"check": "fit", "status": "WARN", "detail": "singular"}]
    assert fake.attrition_frame()["remaining"].tolist() == [10, 7]


def test_cohort_repr_counts_patients_carriers_and_sites(report_cohort: SyntheticCohort) -> None:
    patients = report_cohort.tables()["patients"]
    cohort = Cohort.from_frames(report_cohort.tables(), source="demo.sqlite")
    expected = (f"Cohort(duckdb, 'demo.sqlite': {(patients['status'] == 'patient').sum()} "
                f"patients, {(patients['status'] == 'carrier').sum()} carriers, "
                f"{patients['site'].nunique()} sites)")
    assert repr(cohort) == expected
    assert "150 patients, 10 carriers" in expected


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
