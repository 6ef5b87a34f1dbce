"""docs/interop.md lists every code alsrwe writes, with the status codes.py gives it."""

from __future__ import annotations

from pathlib import Path

from alsrwe.interop.codes import Status, all_codes

DOC = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def _table_rows() -> set[tuple[str, str, str, str]]:
    rows = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("`"):
            rows.add((cells[0], cells[1].strip("`"), cells[2].strip("`"), cells[4]))
    return rows


def test_every_code_is_documented_with_its_status() -> None:
    documented = _table_rows()
    expected = {(concept, code.system, code.code,
                 "verified" if code.status is Status.VERIFIED else "alsrwe")
                for concept, code in all_codes()}
    assert expected - documented == set(), "codes.py has codes docs/interop.md lacks"
    assert documented - expected == set(), "docs/interop.md lists codes codes.py lacks"


def test_no_unverified_candidate_is_written_as_a_code() -> None:
    from alsrwe.interop.codes import LOINC_CANDIDATES

    written = {code.code for _, code in all_codes()}
    for candidates in LOINC_CANDIDATES.values():
        assert written.isdisjoint(candidates)
