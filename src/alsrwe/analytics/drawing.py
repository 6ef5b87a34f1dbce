"""Drawing a matplotlib figure as the report's SVG and PNG, and the report's tick labels.

The report (:mod:`alsrwe.analytics.report.figures`) and the web cohort page (SVG only) draw
through :func:`draw`, so that both give the same SVG for the same figure.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import Formatter  # noqa: E402

PNG_DPI = 200

Drawing = tuple[str, bytes | None]
"""A figure drawn: its SVG element and its PNG file (``None`` when drawn as SVG only)."""


def draw(figure: Figure, key: str, *, png: bool = True) -> Drawing:
    """``figure`` as SVG (ids seeded by ``key``, no date) and, with ``png``, PNG; the figure is
    closed. A web page needs the SVG only; the PNG at 200 dpi is half of a figure's cost.

    The tight bounding box is measured once, for both formats: ``bbox_inches="tight"`` would
    lay the figure out again inside each ``savefig`` (four draws per figure instead of three).
    """
    figure.draw_without_rendering()
    bbox = figure.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    with plt.rc_context({"svg.hashsalt": key}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches=bbox, metadata={"Date": None})
    raster = None
    if png:
        raster = io.BytesIO()
        figure.savefig(raster, format="png", dpi=PNG_DPI, bbox_inches=bbox)
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):], raster.getvalue() if raster is not None else None


class PlainLogTicks(Formatter):
    """Log-axis tick labels as plain numbers (0.3, 1, 10), not powers of ten. Minor ticks
    (``minor=True``) are labelled at 2, 3 and 5 × 10^k when the axis spans under two decades,
    else at 2 and 5."""

    def __init__(self, *, minor: bool) -> None:
        self.minor = minor

    def __call__(self, value: float, pos: int | None = None) -> str:
        if not self.minor:
            return f"{value:g}"
        assert self.axis is not None
        low, high = self.axis.get_view_interval()
        mantissa = round(value / 10 ** np.floor(np.log10(value)))
        shown = (2, 3, 5) if np.log10(high / low) < 2 else (2, 5)
        return f"{value:g}" if mantissa in shown else ""


__all__ = ["PNG_DPI", "Drawing", "PlainLogTicks", "draw"]
