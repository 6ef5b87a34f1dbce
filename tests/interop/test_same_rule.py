"""One bad value, three formats, one rule: the readers differ only in where they place it.

The same synthetic cohort with the same wrong cell (an ALSFRS-R item of 5, a negative NfL) is
imported as tidy CSV, as a REDCap project (the clinic mapping) and as FHIR resources. Each import
is refused whole with the rulebook's own rule text and code; the field is named in the format's
terms (tidy column, REDCap field, FHIR element).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from alsrwe.domain.errors import InvalidInput, Problem
from alsrwe.interop.fhir import import_resources, resources_for
from alsrwe.interop.redcap import import_redcap_folder
from alsrwe.interop.redcap.example import write_example_project
from alsrwe.interop.tidy_csv import import_tidy, write_frames
from alsrwe.store.db import unit_of_work
from alsrwe.store.reads.counts import registry_counts
from alsrwe.store.scope import SiteScope
from alsrwe.synth import CohortParams, generate_cohort

TODAY = date(2026, 7, 1)
PARAMS = CohortParams(seed=3, n_patients=6, n_carriers=2, as_of=date(2026, 6, 30))


def _text_tables(folder: Path) -> dict[str, list[dict[str, str]]]:
    tables = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            tables[path.stem] = list(csv.DictReader(handle))
    return tables


def _refused(import_: object) -> list[Problem]:
    with pytest.raises(InvalidInput) as error:
        import_()  # type: ignore[operator]
    return list(error.value.problems)


def _people(engine: Engine) -> int:
    with unit_of_work(engine, read_only=True) as session:
        return registry_counts(session, SiteScope.every_site(), suppress_below=0).people


def _spoilt(frames: dict[str, pd.DataFrame], table: str, column: str,
            value: object) -> tuple[dict[str, pd.DataFrame], str]:
    """The cohort with one cell of the first clinic-rated row of ``table`` set to ``value``."""
    spoilt = {name: frame.copy() for name, frame in frames.items()}
    rows = spoilt[table]
    if table == "alsfrs":
        first = rows.index[rows["source"] == "clinic"][0]
    else:
        first = rows.index[rows["kind"] == "nfl_serum"][0]
    rows[column] = rows[column].astype(object)
    rows.loc[first, column] = value
    return spoilt, str(rows.loc[first, "patient_id"])


@pytest.mark.parametrize(("table", "column", "value", "redcap_field", "fhir_element"), [
    ("alsfrs", "q3", 5, "alsfrs_3", "item[q3].answer[0].valueInteger"),
    ("measurements", "value", -4.0, "nfl_serum", "valueQuantity.value"),
])
def test_the_same_bad_value_gets_the_same_rule_in_every_format(
        engine: Engine, tmp_path: Path, table: str, column: str, value: object,
        redcap_field: str, fhir_element: str) -> None:
    spoilt, pseudonym = _spoilt(generate_cohort(PARAMS).tables(), table, column, value)
    write_frames(spoilt, tmp_path / "tidy")
    write_example_project(tmp_path / "redcap", spoilt)
    resources = resources_for(_text_tables(tmp_path / "tidy"))

    tidy = _refused(lambda: import_tidy(engine, tmp_path / "tidy", today=TODAY))
    redcap = _refused(lambda: import_redcap_folder(engine, tmp_path / "redcap", today=TODAY))
    fhir = _refused(lambda: import_resources(engine, list(enumerate(resources, 1)),
                                             file="bundle.json", today=TODAY, actor="test"))
    assert _people(engine) == 0  # all three refused whole

    for problems in (tidy, redcap, fhir):
        assert len(problems) == 1, [str(p) for p in problems]
    (t,), (r,), (f,) = tidy, redcap, fhir
    assert t.code == r.code == f.code  # (a builder rule of the domain may have no code)
    assert t.rule == r.rule == f.rule
    assert (t.field, t.file) == (column, f"{table}.csv")
    assert (r.field, r.file) == (redcap_field, "records.csv")
    assert f.field is not None and f.field.endswith(fhir_element)
    assert f.file is not None and f.file.startswith("bundle.json ")
    assert pseudonym
