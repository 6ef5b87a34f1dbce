"""Figures drawn by the second process are the figures drawn here, byte for byte; a web
page's figures are drawn as SVG only.

``alsrwe analyze`` draws the report's figures in a second process
(:func:`alsrwe.analytics.background.drawn_in_background`): each figure travels pickled, and
the last ones may be drawn here after all. Whichever process drew them, the files are the same.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from alsrwe.analytics.background import background_pool, drawn_in_background
from alsrwe.analytics.cohort import Cohort
from alsrwe.analytics.report import build_report
from alsrwe.analytics.report.figures import svg_only
from alsrwe.analytics.report.presentations import alsfrs_spaghetti
from alsrwe.synth import CohortParams, generate_cohort

GENERATED = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: figures are drawn here")
def test_the_report_drawn_in_background_is_the_report_drawn_here(tmp_path: Path) -> None:
    cohort = Cohort.from_frames(generate_cohort(CohortParams(seed=5, n_patients=120,
                                                             n_carriers=8)).tables())
    here = build_report(cohort, tmp_path / "here").parent
    with drawn_in_background():
        assert background_pool() is not None
        there = build_report(cohort, tmp_path / "there").parent
    assert background_pool() is None

    drawn_here, drawn_there = _files(here), _files(there)
    assert drawn_here.keys() == drawn_there.keys()
    figures = [name for name in drawn_here if name.startswith("figures/")]
    assert len(figures) >= 20 and any(name.endswith(".png") for name in figures)
    for name in figures:
        assert drawn_here[name] == drawn_there[name], name
    html_here, html_there = (GENERATED.sub("", d["report.html"].decode())
                             for d in (drawn_here, drawn_there))
    assert html_here == html_there


def test_svg_only_draws_the_same_svg_and_no_png() -> None:
    """The web cohort page draws its figures as SVG only: the same SVG as the report's."""
    cohort = Cohort.from_frames(generate_cohort(CohortParams(seed=5, n_patients=60,
                                                             n_carriers=0)).tables())
    both = alsfrs_spaghetti(cohort, "tofersen")
    with svg_only():
        svg = alsfrs_spaghetti(cohort, "tofersen")
    assert svg.svg == both.svg and both.png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="SVG only"):
        svg.png  # noqa: B018
