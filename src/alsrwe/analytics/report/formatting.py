"""How results are written for readers: numbers, missing values and tables, one rule for all.

A missing or undefined value (None, NaN, NaT) is written "–" everywhere, in headlines and in
tables, in the report as on the web cohort page, so that a reader never sees "nan".
"""

from __future__ import annotations

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


def html_table(frame: pd.DataFrame, max_rows: int = 60) -> str:
    """A frame as an HTML table (escaped), missing values as "–", long tables cut."""
    shown = _missing_as_dash(frame.head(max_rows))
    text = shown.to_html(index=False, na_rep=MISSING, float_format=lambda v: f"{v:.3g}",
                         border=0, escape=True)
    if len(frame) > max_rows:
        text += f"<p class='meta'>first {max_rows} of {len(frame)} rows; all in the CSV</p>"
    return f"<div class='wide'>{text}</div>"


__all__ = ["MISSING", "html_table", "number"]
