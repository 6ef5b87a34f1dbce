"""A site's summaries: counts and moments of the local report's other analyses.

Each runs the local analysis's own code on the site's registry (safety incidence, responders,
NfL windows, early vs delayed changes, progression's subgroups) and reduces its result to a
vector whose layout the analysis fixes (a vocabulary of terms, grades, classes, windows,
subgroup labels), so that the sites' vectors add up cell by cell. Every entry is a count or a
sum over patients: the coordinator, seeing only the total, computes what the local analysis
would compute on the union (``pooled_summaries``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from alsrwe.analytics.analyses.carriers import carrier_surveillance
from alsrwe.analytics.analyses.early_delayed import change_frame
from alsrwe.analytics.analyses.expected_events import ederer_curve
from alsrwe.analytics.analyses.nfl import nfl_response
from alsrwe.analytics.analyses.observed_expected import observed_vs_expected
from alsrwe.analytics.analyses.responders import CLASSES, responders
from alsrwe.analytics.analyses.safety import safety_incidence
from alsrwe.analytics.analyses.subgroups import (
    NOT_RECORDED,
    VARIABLES,
    included_with_baseline,
    subgroup_labels,
)
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.domain.alsfrs import PROGRESSION_BANDS
from alsrwe.domain.safety import AeTerm
from alsrwe.federation.errors import FederationError, Refused
from alsrwe.federation.protocol import (
    CarriersSpec,
    EarlyDelayedSpec,
    NflSpec,
    ObservedExpectedSpec,
    RespondersSpec,
    SafetySpec,
    Step,
    SubgroupsSpec,
    SummarySpec,
)
from alsrwe.federation.survival_sums import Grid, coarsen, km_counts

Tally = Callable[[Step, list[float]], np.ndarray]
"""A site's vector for one round of a summary analysis (its step and parameters)."""

SAFETY_STRATA: tuple[tuple[str, str], ...] = (
    ("all", "any"), ("serious", "not serious"), ("serious", "serious"),
    *(("grade", g) for g in ("1", "2", "3", "4", "5", "unknown")),
    *(("term", t.value) for t in AeTerm), ("term", "unknown"))
"""Every (stratum, value) of the safety table a site may have: two numbers each."""

CSF_ROWS = ("first dose (pre-treatment)", "later doses", "all doses")
CSF_COUNTS = ("lumbar_punctures", "with_wbc", "pleocytosis", "with_protein", "raised_protein")


def age_labels(cut: float) -> tuple[str, str]:
    """The two age subgroups at ``cut``, in the local analysis's words."""
    return f"< {cut:g} years", f"≥ {cut:g} years"


def subgroup_layout(cut: float) -> tuple[tuple[str, str], ...]:
    """Every (variable, label) of the subgroups table at an age cut: six moments each."""
    labels = {"SOD1 variant": ("A4V (p.Ala5Val)", "other variant"),
              "onset region": ("bulbar", "spinal", "other"),
              "age at first dose": age_labels(cut),
              "ΔFRS at first dose": PROGRESSION_BANDS}
    return tuple((v, label) for v in VARIABLES for label in (*labels[v], NOT_RECORDED))


def summary_data(cohort: Cohort, spec: SummarySpec) -> tuple[frozenset[str], int, Tally]:
    """The patients, the rows they rest on and the tally of ``spec`` at this site."""
    build: Callable[[Cohort, Any], tuple[frozenset[str], int, Tally]] = _BUILDERS[type(spec)]
    return build(cohort, spec)


def _one_round(vector: np.ndarray) -> Tally:
    return lambda _step, _params: vector


def included_cells(flags: list[float], cells: int) -> np.ndarray:
    """The 0/1 flags of a "sums" round as a mask over ``cells`` (Refused when malformed)."""
    if len(flags) != cells or any(f not in (0.0, 1.0) for f in flags):
        raise Refused("params", f"a sums round names each of its {cells} cells with 0 or 1",
                      code="federation.params.shape")
    return np.array(flags, dtype=bool)


class CellTally:
    """Cells of moments, each with its patient count first: round 1 ("totals") sends only the
    counts; round 2 ("sums") the moments of the cells the coordinator keeps — those whose pooled
    count reached its minimum — and zeros for the others, so that a cell resting on one or two
    patients of the network never shows their values (docs/federation.md)."""

    def __init__(self, cells: np.ndarray) -> None:
        self.cells = cells

    def __call__(self, step: Step, params: list[float]) -> np.ndarray:
        if step == "totals":
            return self.cells[:, 0].copy()
        keep = included_cells(params, len(self.cells))
        return np.where(keep[:, None], self.cells, 0.0).ravel()


def _ids(frame: pd.DataFrame) -> frozenset[str]:
    return frozenset(frame["patient_id"].astype(str))


def _safety(cohort: Cohort, spec: SafetySpec) -> tuple[frozenset[str], int, Tally]:
    result = safety_incidence(cohort, spec.settings)
    r = result.rates
    cells = {(str(a), str(b)): (int(e), int(n)) for a, b, e, n in zip(
        r["stratum"], r["value"], r["events"].to_numpy(np.int64),
        r["patients"].to_numpy(np.int64), strict=True)}
    unknown = sorted(set(cells) - set(SAFETY_STRATA))
    if unknown:
        raise FederationError("adverse_events", f"has values outside the protocol's "
                              f"vocabulary: {unknown}", code="federation.site.vocabulary")
    csf = result.csf.set_index("doses").loc[list(CSF_ROWS), list(CSF_COUNTS)]
    flags = csf.to_numpy(np.float64)
    vector = [float(result.exposure["days"].sum()), float(len(result.exposure))]
    vector += [float(x) for cell in SAFETY_STRATA for x in cells.get(cell, (0, 0))]
    vector += flags.ravel().tolist()
    punctures = int(flags[-1, 0])  # all doses' lumbar punctures
    return _ids(result.exposure), max(punctures, len(result.exposure)), \
        _one_round(np.array(vector))


def _responders(cohort: Cohort, spec: RespondersSpec) -> tuple[frozenset[str], int, Tally]:
    result = responders(cohort, spec.settings)
    vector = np.array([float(result.counts[k]) for k in CLASSES])
    return _ids(result.patients), 2 * len(result.patients), _one_round(vector)


def _nfl(cohort: Cohort, spec: NflSpec) -> tuple[frozenset[str], int, Tally]:
    s = spec.settings
    result = nfl_response(cohort, s)
    w = result.patients
    cells = []
    for week in s.weeks:
        part = w[w["week"] == week]
        logs = np.log(part["ratio"].to_numpy(np.float64))
        cells.append([float(logs.size), float(logs.sum()), float(logs @ logs),
                      float((part["value"] < s.threshold_pg_ml).sum()),
                      float((part["baseline"] < s.threshold_pg_ml).sum())])
    rows = len(w) + w["patient_id"].nunique()  # window values and the baselines they divide
    return _ids(w), rows, CellTally(np.array(cells))


def _early_delayed(cohort: Cohort, spec: EarlyDelayedSpec) -> tuple[frozenset[str], int, Tally]:
    frame, _ = change_frame(cohort, spec.settings)
    cells = []
    for early in (True, False):
        x = frame.loc[frame["early"] == early, "change"].to_numpy(np.float64)
        cells.append([float(x.size), float(x.sum()), float(x @ x)])
    return _ids(frame), 2 * len(frame), CellTally(np.array(cells))


OBSERVED_EXPECTED = ("n_rates", "sum_observed", "sum_delta_frs", "sum_pro_act", "n_survival",
                     "observed_events", "expected_events")
"""The head of the observed-vs-expected vector; then the Ederer I sums at ``curve_months``,
then the observed Kaplan–Meier counts (2 × horizon)."""


def _observed_expected(cohort: Cohort,
                       spec: ObservedExpectedSpec) -> tuple[frozenset[str], int, Tally]:
    result = observed_vs_expected(cohort, spec.settings)
    rates, rows = result.rates, result.survival_patients
    vector = [float(len(rates)), float(rates["observed_rate_per_month"].sum()),
              float(rates["delta_frs"].sum()), float(rates["pro_act_rate_per_month"].sum()),
              float(len(rows)), float(rows["event"].sum()),
              float(rows["expected_events"].sum())]
    months = np.array(spec.curve_months)
    if len(rows):
        vector += (len(rows) * ederer_curve(rows["t0_months"].tolist(), rows["lp"].tolist(),
                                            months)).tolist()
        spells = rows.assign(entry=0.0, stop=rows["follow_up_months"])
        coarse = coarsen(spells[["patient_id", "entry", "stop", "event"]], Grid(spec.grid_months))
        vector += km_counts(coarse, spec.horizon).ravel().tolist()
    else:
        vector += [0.0] * (months.size + 2 * spec.horizon)
    patients = _ids(rates) | _ids(rows)
    return patients, int(rates["n_on"].sum()) + len(rows), _one_round(np.array(vector))


CARRIER_COUNTS = ("carriers", "with_follow_up", "triggered", "above_reference")


def _carriers(cohort: Cohort, spec: CarriersSpec) -> tuple[frozenset[str], int, Tally]:
    result = carrier_surveillance(cohort, spec.settings)
    c = result.carriers
    vector = np.array([float(len(c)), float((c["n_values"] >= 2).sum()),
                       float(c["triggered"].sum()), float(c["above_reference"].sum())])
    return _ids(c), len(result.values), _one_round(vector)


def moments(o: np.ndarray, e: np.ndarray) -> list[float]:
    """n, Σo, Σe, Σo², Σe², Σoe of paired observed and expected rates."""
    return [float(o.size), float(o.sum()), float(e.sum()), float(o @ o), float(e @ e),
            float(o @ e)]


class SubgroupTally:
    """Round 1 ("counts"): n, Σ age and n with an age (the pooled mean is the default cut);
    then, at the cut the coordinator sends, the cells' counts ("totals") and the six moments
    of the cells it keeps ("sums"), as :class:`CellTally`."""

    def __init__(self, cohort: Cohort, spec: SubgroupsSpec) -> None:
        base, self.included, self.baseline = included_with_baseline(cohort, spec.settings)
        chosen = base.patients[base.patients["included"]]
        self.rows = int(chosen["n_pre"].sum() + chosen["n_on"].sum())  # the assessments
        ages = self.included.merge(self.baseline, on="patient_id", how="left")[
            "age_at_first_dose"].astype(np.float64)
        self.ages = ages[ages.notna()].to_numpy(np.float64)

    def __call__(self, step: Step, params: list[float]) -> np.ndarray:
        if step == "counts":
            return np.array([float(len(self.included)), float(self.ages.sum()),
                             float(self.ages.size)])
        return CellTally(self.at_cut(params[0]))(step, params[1:])

    def at_cut(self, cut: float) -> np.ndarray:
        """The moments of all included patients, then of each subgroup of the layout."""
        labelled = subgroup_labels(self.included, self.baseline, cut)
        o = labelled["observed_rate_per_month"].to_numpy(np.float64)
        e = labelled["expected_rate_per_month"].to_numpy(np.float64)
        out = [moments(o, e)]
        for variable, label in subgroup_layout(cut):
            chosen = (labelled[variable] == label).to_numpy(bool)
            out.append(moments(o[chosen], e[chosen]))
        return np.array(out)

    def between(self, a: float, b: float) -> int:
        """Patients whose age group differs between cuts ``a`` and ``b``."""
        low, high = min(a, b), max(a, b)
        return int(((self.ages >= low) & (self.ages < high)).sum())


def _subgroups(cohort: Cohort, spec: SubgroupsSpec) -> tuple[frozenset[str], int, Tally]:
    tally = SubgroupTally(cohort, spec)
    return _ids(tally.included), tally.rows, tally


_BUILDERS: dict[type, Callable[[Cohort, Any], tuple[frozenset[str], int, Tally]]] = {
    SafetySpec: _safety, RespondersSpec: _responders, NflSpec: _nfl,
    EarlyDelayedSpec: _early_delayed, ObservedExpectedSpec: _observed_expected,
    CarriersSpec: _carriers, SubgroupsSpec: _subgroups}


__all__ = ["CARRIER_COUNTS", "CSF_COUNTS", "CSF_ROWS", "OBSERVED_EXPECTED", "SAFETY_STRATA",
           "CellTally", "SubgroupTally", "Tally", "age_labels", "included_cells", "moments",
           "subgroup_layout", "summary_data"]
