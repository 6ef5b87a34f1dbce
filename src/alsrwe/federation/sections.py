"""The pooled report's sections: each pooled analysis with its summary, method and tables.

One builder per analysis, in the local report's order (``KINDS``); each runs its pooled
analysis on the coordinator and words the result as the local report would, saying what is
not pooled (per-patient rows, medians, models fitted per patient).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from alsrwe.analytics.report.figures import survival_curves
from alsrwe.analytics.report.present_expected import survival_figure
from alsrwe.federation.coordinator import Coordinator, Enrolment
from alsrwe.federation.errors import FederationError
from alsrwe.federation.pooled import (
    pooled_cox,
    pooled_km,
    pooled_lmm,
    pooled_progression,
)
from alsrwe.federation.pooled_summaries import (
    pooled_carriers,
    pooled_early_delayed,
    pooled_nfl,
    pooled_observed_expected,
    pooled_responders,
    pooled_safety,
    pooled_subgroups,
)
from alsrwe.federation.protocol import ObservedExpectedSpec

KINDS = ("lmm", "progression", "subgroups", "responders", "nfl", "early_delayed",
         "observed_expected", "km", "cox", "safety", "carriers")
_TITLES = {"lmm": "ALSFRS-R before and on tofersen: pooled piecewise mixed model",
           "progression": "\u201c% slower than expected\u201d, pooled",
           "subgroups": "Subgroups: \u201c% slower than expected\u201d",
           "responders": "Responders",
           "nfl": "Neurofilament light chain response",
           "early_delayed": "Early vs delayed start",
           "observed_expected": "Observed vs expected: \u0394FRS, PRO-ACT and ENCALS",
           "carriers": "Presymptomatic carriers: NfL surveillance",
           "safety": "Safety: adverse events per 100 patient-years and CSF at lumbar puncture",
           "km": "Time from onset to death, tracheostomy or permanent ventilation (pooled "
                 "Kaplan\u2013Meier)",
           "cox": "Tofersen as a time-varying covariate: pooled Cox model"}


@dataclass
class Section:
    kind: str
    title: str
    summary: str
    method: str
    tables: dict[str, pd.DataFrame]
    figure_svg: str = ""
    enrolment: Enrolment | None = None
    error: str = ""
    shown: dict[str, pd.DataFrame] | None = None  # what the page shows, if not every row


def _fmt(x: float, digits: int = 2) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def _lmm(coordinator: Coordinator) -> Section:
    r = pooled_lmm(coordinator)
    f = r.fit
    table = f.to_frame()
    summary = (f"Pre-treatment slope {_fmt(r.pre_slope)} and on-treatment slope "
               f"{_fmt(r.on_slope)} points/month ({_fmt(r.percent_slower, 0)}% slower; a "
               f"sensitivity analysis), {f.n_groups} patients, {f.n_obs} assessments.")
    method = (f"total ~ t + t_post + (1 + t | patient), {'REML' if f.reml else 'ML'}, fitted "
              f"from sums over patients added up across {len(r.enrolment.roster)} sites in "
              f"{r.enrolment.rounds} rounds; identical to fitting the pooled rows in one place "
              f"(converged: {f.converged}, singular: {f.singular}). No BLUPs: they are per "
              "patient and stay at the sites.")
    return Section("lmm", _TITLES["lmm"], summary, method, {"estimates": table},
                   enrolment=r.enrolment)


def _progression(coordinator: Coordinator) -> Section:
    r = pooled_progression(coordinator)
    p = r.result
    summary = (f"{_fmt(p.estimate, 0)}% slower than expected (95% CI {_fmt(p.lower, 0)} to "
               f"{_fmt(p.upper, 0)}), {p.n} patients; mean observed {_fmt(r.observed_rate)} "
               f"vs expected {_fmt(r.expected_rate)} points/month.")
    method = ("1 − Σ observed / Σ expected on-treatment rate of decline (expected: the "
              "patient's own pre-treatment slope), Fieller's interval, from n, Σo, Σe, Σo², "
              "Σe², Σoe added up across the sites in one round.")
    table = pd.DataFrame([{"estimate": p.estimate, "lower": p.lower, "upper": p.upper,
                           "patients": p.n, "method": p.method}])
    return Section("progression", _TITLES["progression"], summary, method,
                   {"percent_slower": table}, enrolment=r.enrolment)


def _km(coordinator: Coordinator) -> Section:
    r = pooled_km(coordinator)
    km = r.curve
    summary = (f"Median {_fmt(km.median, 0)} months from onset (95% CI "
               f"{_fmt(km.median_lower, 0)} to {_fmt(km.median_upper, 0)}), {km.n} patients, "
               f"{km.events} events.")
    method = ("Kaplan–Meier with delayed entry at registry entry, on a grid of 1-month "
              "intervals (first entry floored, later times ceiled), from numbers at risk and "
              "events per interval added up across the sites in one round.")
    curve = km.table.assign(group="all patients")
    every = curve[curve["time"] % 12 == 0][["group", "time", "at_risk"]]
    figure = survival_curves(curve, key="pooled-km", caption=summary, title="",
                             xlabel="months from onset", at_risk=every)
    return Section("km", _TITLES["km"], summary, method, {"curve": km.table},
                   figure_svg=figure.svg, enrolment=r.enrolment,
                   shown={"curve": km.table[km.table["time"] % 12 == 0].reset_index(drop=True)})


def _cox(coordinator: Coordinator) -> Section:
    r = pooled_cox(coordinator)
    frame = r.cox.to_frame()
    hr, lower, upper = (float(frame[c].iloc[0]) for c in ("hr", "lower", "upper"))
    summary = (f"Hazard ratio of tofersen {_fmt(hr)} (95% CI {_fmt(lower)} to {_fmt(upper)}), "
               f"{r.cox.events} events.")
    method = ("Cox model with tofersen as a time-varying covariate (no immortal time), "
              "delayed entry, Efron ties on the 1-month grid, by Newton–Raphson: each "
              f"iteration one round of risk-set sums ({r.enrolment.rounds} rounds in all).")
    return Section("cox", _TITLES["cox"], summary, method, {"hazard_ratios": frame},
                   enrolment=r.enrolment)


def _subgroups(coordinator: Coordinator) -> Section:
    r = pooled_subgroups(coordinator)
    g = r.result
    estimated = g.rows[g.rows["note"] != "too few"]
    summary = (f"{_fmt(g.overall.estimate, 0)}% slower than expected overall ({g.overall.n} "
               f"patients); {len(estimated)} of {len(g.rows)} subgroups with an estimate, from "
               f"{_fmt(estimated['estimate'].min(), 0)}% to "
               f"{_fmt(estimated['estimate'].max(), 0)}%." if len(estimated) else
               f"{_fmt(g.overall.estimate, 0)}% slower than expected overall; every subgroup "
               f"has fewer than {g.settings.min_patients} patients.")
    cut = ("set in the analysis" if g.settings.age_cut_years is not None else
           "the pooled mean age at the first dose in whole years (a median is not a sum: it "
           "would need every patient's age)")
    method = (f"Fieller's interval per subgroup from its n, Σo, Σe, Σo², Σe², Σoe added up "
              f"across the sites; age cut {g.age_cut_years:g} years, {cut}. Subgroups of fewer "
              f"than {g.settings.min_patients} patients have no estimate; intervals are not "
              "adjusted for multiplicity.")
    return Section("subgroups", _TITLES["subgroups"], summary, method,
                   {"subgroups": g.to_frame()}, enrolment=r.enrolment)


def _responders(coordinator: Coordinator) -> Section:
    r = pooled_responders(coordinator)
    res = r.result
    summary = (f"{res.stabilized_or_improved} of {res.n_classified} patients stabilised or "
               f"improved over {res.settings.window_months:g} months "
               f"({_fmt(100 * res.stabilized_or_improved / res.n_classified, 0)}%).")
    method = ("ALSFRS-R change from the assessment nearest the first dose to the one nearest "
              f"month {res.settings.window_months:g} (each ± {res.settings.tolerance_days} "
              "days), classified at each site; the patients per class added up across the "
              "sites in one round.")
    return Section("responders", _TITLES["responders"], summary, method,
                   {"classes": res.to_frame()}, enrolment=r.enrolment)


def _nfl(coordinator: Coordinator) -> Section:
    r = pooled_nfl(coordinator)
    res = r.result
    last = res.windows.iloc[-1]
    summary = (f"{res.label}: geometric mean change {_fmt(last['gmr_percent_change'], 0)}% at "
               f"week {int(last['week'])} ({int(last['n'])} patients; 95% CI "
               f"{_fmt((last['lower'] - 1) * 100, 0)} to {_fmt((last['upper'] - 1) * 100, 0)}%).")
    method = ("Per window, the geometric mean ratio to baseline with its t interval from n, "
              "Σ log ratio and Σ log ratio² added up across the sites (one platform for every "
              "site); the windows' counts first, then the sums of windows of at least 3 "
              "patients. Not pooled: the median change (a median is not a sum) and the "
              "log-scale mixed model.")
    return Section("nfl", _TITLES["nfl"], summary, method, {"windows": res.to_frame()},
                   enrolment=r.enrolment)


def _early_delayed(coordinator: Coordinator) -> Section:
    r = pooled_early_delayed(coordinator)
    d, s = r.result.difference, r.result.settings
    summary = (f"ALSFRS-R change to week {s.week:g}: early − delayed {_fmt(d.estimate, 1)} "
               f"points (95% CI {_fmt(d.lower, 1)} to {_fmt(d.upper, 1)}), {d.n_early} early "
               f"and {d.n_delayed} delayed starters.")
    method = ("Welch's t interval from each group's n, Σ change and Σ change² added up across "
              "the sites (the groups' counts first, then their sums, each group having at "
              "least 3 patients); groups are confounded by whatever made the start early (no "
              "randomisation). Not pooled: the mixed-model sensitivity and the NfL ratio.")
    tables = {"groups": r.groups if r.groups is not None else pd.DataFrame(),
              "difference": r.result.to_frame()}
    return Section("early_delayed", _TITLES["early_delayed"], summary, method, tables,
                   enrolment=r.enrolment)


def _observed_expected(coordinator: Coordinator) -> Section:
    spec = ObservedExpectedSpec()
    r = pooled_observed_expected(coordinator, spec)
    res = r.result
    parts = [f"{_fmt(c.percent_slower, 0)}% slower than {c.reference} ({c.n} patients)"
             for c in res.comparisons]
    if res.events is not None:
        e = res.events
        parts.append(f"O/E {_fmt(e.ratio)} (95% CI {_fmt(e.lower)} to {_fmt(e.upper)}; "
                     f"{e.observed} observed, {_fmt(e.expected, 1)} expected events)")
    summary = "; ".join(parts) + "."
    method = ("Mean observed on-treatment rate against ΔFRS at the first dose and the PRO-ACT "
              "mean, from the sums of the rates; ENCALS-expected events (O/E, exact Poisson "
              "interval, E fixed) and the Ederer I curve from the sums over patients of their "
              "predicted conditional survival; the observed Kaplan–Meier from the first dose on "
              f"a {spec.grid_months:g}-month grid (first entry floored, "
              "later times ceiled). All in one round. " + res.caveat + ".")
    figure = survival_figure(res)
    return Section("observed_expected", _TITLES["observed_expected"], summary, method,
                   {"estimates": res.to_frame()},
                   figure_svg=figure.svg if figure is not None else "", enrolment=r.enrolment)


def _safety(coordinator: Coordinator) -> Section:
    r = pooled_safety(coordinator)
    rates = r.rates.iloc[0]
    summary = (f"{int(rates['events'])} adverse events in {r.patients} treated patients over "
               f"{_fmt(r.person_years, 1)} patient-years: {_fmt(rates['rate_per_100py'], 1)} "
               f"per 100 patient-years (95% CI {_fmt(rates['lower'], 1)} to "
               f"{_fmt(rates['upper'], 1)}).")
    method = ("Events from the first dose to the end of exposure (last dose + "
              f"{r.settings.exposure_tail_days} days, death or last contact) per stratum and "
              "the exposure days added up across the sites in one round; exact Poisson "
              "(Garwood) limits. CSF flags: lumbar punctures with a white cell count or "
              "protein, and those above the limits, added up likewise.")
    return Section("safety", _TITLES["safety"], summary, method,
                   {"incidence": r.to_frame(), "csf": r.csf_frame()}, enrolment=r.enrolment)


def _carriers(coordinator: Coordinator) -> Section:
    r = pooled_carriers(coordinator)
    c = r.counts
    summary = (f"{c['triggered']} of {c['carriers']} carriers with plasma NfL met the trigger; "
               f"{c['above_reference']} had a value above the age-specific limit.")
    method = (f"Plasma NfL on {r.assay} only (platforms are never pooled). Each site flags its "
              f"carriers by the local rules ({r.trigger_rule}); the carriers per flag are added "
              "up across the sites in one round. Per-carrier rows stay at the sites.")
    return Section("carriers", _TITLES["carriers"], summary, method,
                   {"surveillance": r.to_frame()}, enrolment=r.enrolment)


_RUNNERS: dict[str, Callable[[Coordinator], Section]] = {
    "lmm": _lmm, "progression": _progression, "subgroups": _subgroups,
    "responders": _responders, "nfl": _nfl, "early_delayed": _early_delayed,
    "observed_expected": _observed_expected, "km": _km, "cox": _cox, "safety": _safety,
    "carriers": _carriers}


def run_sections(coordinator: Coordinator, kinds: Sequence[str]) -> list[Section]:
    """Run each pooled analysis; one that cannot run is reported with the reason."""
    unknown = [k for k in kinds if k not in _RUNNERS]
    if unknown:
        raise FederationError("analysis", f"unknown analyses {unknown}; choose from {KINDS}",
                              code="federation.report.kind")
    sections = []
    for kind in kinds:
        try:
            sections.append(_RUNNERS[kind](coordinator))
        except FederationError as error:
            sections.append(Section(kind, _TITLES[kind], "", "", {}, error=str(error)))
    return sections


__all__ = ["KINDS", "Section", "run_sections"]
