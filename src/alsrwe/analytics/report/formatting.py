"""How results are written for readers: numbers, missing values and tables, one rule for all.

A missing or undefined value (None, NaN, NaT) is written "–" everywhere, in headlines and in
tables, in the report as on the web cohort page, so that a reader never sees "nan".
"""

from __future__ import annotations

import re
from html import escape

import pandas as pd

MISSING = "–"
"""How a missing or undefined value is shown."""


def number(value: float | None, digits: int = 0) -> str:
    """``value`` with ``digits`` decimals, or :data:`MISSING` when it is None or NaN."""
    if value is None or pd.isna(value):
        return MISSING
    return f"{value:.{digits}f}"


def _missing_as_dash(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing cells of every non-float column as "–" (pandas' ``na_rep`` covers floats only:
    it would print None, NaT and <NA>)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values) or not values.isna().any():
            continue
        dates = pd.api.types.is_datetime64_any_dtype(values)
        text = values.astype(str) if dates else values.astype(object)
        out[column] = text.where(values.notna(), MISSING)
    return out


def slug(text: str) -> str:
    """``text`` as a file-name part: lower case ASCII letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def html_table(frame: pd.DataFrame, max_rows: int = 60, csv: str | None = None) -> str:
    """A frame as an HTML table (escaped), missing values as "–", long tables cut (the note
    says how many rows there are and names ``csv``, the file holding them all). The table
    scrolls inside its own box, so that a wide table never widens the page."""
    shown = _missing_as_dash(frame.head(max_rows))
    text = shown.to_html(index=False, na_rep=MISSING, float_format=lambda v: f"{v:.3g}",
                         border=0, escape=True)
    if len(frame) > max_rows:
        where = escape(csv) if csv else "the CSV"
        text += (f"<p class='meta'>first {max_rows} of {len(frame)} rows; all {len(frame)} in "
                 f"{where}</p>")
    return f"<div class='wide' tabindex='0'>{text}</div>"


STATUSES = ("PASS", "WARN", "FAIL", "NOT EVALUATED")


def mark_statuses(html: str) -> str:
    """Cells holding a diagnostic status get class ``status-<STATUS>`` (styled by the report:
    green PASS, amber WARN, red FAIL)."""
    pattern = "|".join(re.escape(status) for status in STATUSES)
    return re.sub(rf"<td>({pattern})</td>",
                  lambda m: f'<td class="status-{m[1].replace(" ", "_")}">{m[1]}</td>', html)


__all__ = ["MISSING", "STATUSES", "html_table", "mark_statuses", "number", "slug"]
