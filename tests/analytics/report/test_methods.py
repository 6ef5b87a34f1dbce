"""The Methods are written from the settings: a changed setting changes the text."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from alsrwe.analytics.analyses.progression import ProgressionSettings
from alsrwe.analytics.report import ReportSettings
from alsrwe.analytics.report.methods import methods, software_versions
from alsrwe.analytics.report.presentations import ANALYSES


def _text(settings: ReportSettings, results: dict[str, Any] | None = None,
          refusals: dict[str, str] | None = None) -> str:
    parts = methods(settings, ANALYSES, results or {}, refusals or {}, source="demo.sqlite",
                    backend="duckdb", as_of=date(2026, 6, 30))
    return "\n".join([p.heading for p in parts] + [t for p in parts for t in p.paragraphs]
                     + [t for p in parts for t in p.items])


def test_defaults_describe_data_inclusion_models_disclosure_and_software() -> None:
    text = _text(ReportSettings())
    assert "Source: demo.sqlite (engine duckdb), all sites; data as of 2026-06-30" in text
    assert "≥ 3 clinic-rated ALSFRS-R assessments before the first dose of tofersen" in text
    assert "total ~ t + t_post + (1 + t | patient), fitted by REML" in text
    assert "log(NfL) ~ 1 + months + (1 + months | patient)" in text
    assert "Kaplan–Meier" in text and "time-varying treatment" in text
    assert "composite of death, tracheostomy or permanent ventilation" in text
    assert 'Counts from 1 to 4 are shown as "<5"' in text
    assert "95% interval: Fieller interval for a ratio of paired means" in text
    for analysis in ANALYSES:  # every analysis has its part, named as in the report
        assert analysis.title in text
    versions = software_versions()
    assert versions[0].startswith("Python 3.")
    for name in ("alsrwe", "numpy", "scipy", "pandas", "ibis-framework", "duckdb", "lifelines",
                 "matplotlib"):
        assert any(v.startswith(f"{name} ") and "not installed" not in v for v in versions)
        assert f"{name} " in text


def test_a_changed_setting_changes_the_text() -> None:
    default = _text(ReportSettings())
    changed = _text(ReportSettings(
        site="BER", suppress_below=0,
        progression=ProgressionSettings(level=0.9, min_pre_assessments=4, reml=False)))
    assert "90% interval: Fieller" in changed and "95% interval: Fieller" not in changed
    assert "≥ 4 clinic-rated ALSFRS-R assessments before the first dose" in changed
    assert "fitted by ML" in changed and "fitted by REML" in default
    assert "site BER only" in changed
    assert "No small-cell suppression" in changed and "No small-cell" not in default


def test_estimand_and_interval_come_from_the_result_when_it_has_them() -> None:
    result = SimpleNamespace(estimand="θ = the stated estimand", ci_method="an interval method")
    text = _text(ReportSettings(), results={"progression": result},
                 refusals={"safety": "no treated patient"})
    assert "Estimand: θ = the stated estimand." in text
    assert "an interval method" in text
    assert "Not evaluated on these data: no treated patient" in text
