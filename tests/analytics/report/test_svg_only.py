"""A web page's figures are drawn as SVG only: the same SVG as the report's, and no PNG."""

from __future__ import annotations

import pytest

from alsrwe.analytics.cohort import Cohort
from alsrwe.analytics.report.figures import svg_only
from alsrwe.analytics.report.presentations import alsfrs_spaghetti
from alsrwe.synth import CohortParams, generate_cohort


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
