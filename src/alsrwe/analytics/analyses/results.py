"""What every analysis shares: frozen settings, the attrition log, diagnostics, refusals.

An analysis is a named step (after OHDSI CohortMethod): it takes a
:class:`~alsrwe.analytics.cohort.Cohort` and a frozen, validated settings object that can be
saved as JSON beside the result, logs how many patients each inclusion rule removed, records
its diagnostics as data (PASS / WARN / FAIL / NOT EVALUATED), and refuses with
:class:`AnalysisError` when the data cannot support it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict

from alsrwe.domain.errors import DomainError


class AnalysisError(DomainError):
    """The data (or the settings) cannot support the analysis; ``field`` names what is short."""


class AnalysisSettings(BaseModel):
    """Base of every analysis' settings: frozen, unknown keys refused, JSON round-trip."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True, slots=True)
class AttritionStep:
    rule: str
    before: int
    removed: int

    @property
    def remaining(self) -> int:
        return self.before - self.removed


@dataclass(slots=True)
class Attrition:
    """How many patients each inclusion rule removed, in the order the rules were applied."""

    start: int
    steps: list[AttritionStep] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.steps[-1].remaining if self.steps else self.start

    def apply(self, rule: str, kept: int) -> None:
        """Record that after ``rule`` only ``kept`` patients remain."""
        before = self.remaining
        if kept > before:
            raise ValueError(f"attrition step '{rule}' cannot add patients ({before} → {kept})")
        self.steps.append(AttritionStep(rule, before, before - kept))

    def to_frame(self) -> pd.DataFrame:
        rows = [{"rule": "all patients in the cohort", "removed": 0, "remaining": self.start}]
        rows += [{"rule": s.rule, "removed": s.removed, "remaining": s.remaining}
                 for s in self.steps]
        return pd.DataFrame(rows)

    def to_dict(self) -> list[dict[str, Any]]:
        return [{str(k): v for k, v in row.items()}
                for row in self.to_frame().to_dict(orient="records")]


class DiagnosticStatus(StrEnum):
    """PASS: the check holds; WARN: the result stands but needs the reader's attention (e.g. a
    singular mixed-model fit: a variance estimated as zero); FAIL: the result should not be
    relied on; NOT EVALUATED: the check could not be run."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    NOT_EVALUATED = "NOT EVALUATED"


def fit_status(converged: bool, singular: bool) -> DiagnosticStatus:
    """A mixed-model fit's diagnostic: FAIL if it did not converge, WARN if the verified
    optimum is on the boundary (singular), PASS otherwise — a singular fit is never PASS."""
    if not converged:
        return DiagnosticStatus.FAIL
    return DiagnosticStatus.WARN if singular else DiagnosticStatus.PASS


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One check of an analysis (convergence, enough visits, …) and what it found."""

    name: str
    status: DiagnosticStatus
    detail: str = ""


def diagnostics_frame(diagnostics: list[Diagnostic]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"check": d.name, "status": d.status.value, "detail": d.detail} for d in diagnostics],
        columns=["check", "status", "detail"],
    )


class _Logged(Protocol):
    @property
    def attrition(self) -> Attrition: ...

    @property
    def diagnostics(self) -> list[Diagnostic]: ...


class ResultFrames:
    """Mixin of the result classes: diagnostics and attrition as frames beside ``to_frame()``,
    so that a reader of the CSV files sees what the report's section shows."""

    __slots__ = ()

    def diagnostics_frame(self: _Logged) -> pd.DataFrame:
        """One row per diagnostic: check, status, detail."""
        return diagnostics_frame(self.diagnostics)

    def attrition_frame(self: _Logged) -> pd.DataFrame:
        """One row per inclusion rule: rule, removed, remaining."""
        return self.attrition.to_frame()


class AnalysisResult(Protocol):
    """What every analysis returns: a typed result that renders as a table and as JSON."""

    @property
    def settings(self) -> AnalysisSettings: ...

    @property
    def attrition(self) -> Attrition: ...

    @property
    def diagnostics(self) -> list[Diagnostic]: ...

    def to_frame(self) -> pd.DataFrame: ...

    def to_dict(self) -> dict[str, Any]: ...


def json_safe(value: Any) -> Any:
    """Turn numpy/pandas scalars, dates and NaN into plain JSON values (NaN → None)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A data frame as JSON-safe records."""
    return [json_safe(row) for row in frame.to_dict(orient="records")]


def save_result(result: AnalysisResult, directory: Path, name: str) -> None:
    """Write ``name``.json (the result), ``name``.settings.json, ``name``.csv and its
    ``name``.diagnostics.csv and ``name``.attrition.csv."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(
        json.dumps(json_safe(result.to_dict()), indent=2) + "\n", encoding="utf-8"
    )
    result.settings.save(directory / f"{name}.settings.json")
    result.to_frame().to_csv(directory / f"{name}.csv", index=False)
    diagnostics_frame(result.diagnostics).to_csv(directory / f"{name}.diagnostics.csv",
                                                 index=False)
    result.attrition.to_frame().to_csv(directory / f"{name}.attrition.csv", index=False)
