"""One presentation per analysis result, shared by the report and the web cohort page.

A presentation is what a reader sees of a result: a headline, figures (inline SVG) and tables,
each table marked whether it shows per-patient rows (pseudonyms), plus the attrition and the
diagnostics every result carries. The report shows all of it; the cohort page, which is
aggregate only, leaves the per-patient tables out. :data:`ANALYSES` lists the analyses in
reading order, so that both show the same analyses, in the same order, with the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd

from alsrwe.analytics.analyses.carriers import CarrierResult, carrier_surveillance
from alsrwe.analytics.analyses.early_delayed import EarlyDelayedResult, early_vs_delayed
from alsrwe.analytics.analyses.nfl import NflResult, assay_label, kind_label, nfl_response
from alsrwe.analytics.analyses.observed_expected import observed_vs_expected
from alsrwe.analytics.analyses.progression import BOUNDED_RATIO, ProgressionResult, progression
from alsrwe.analytics.analyses.responders import (
    CLASSES,
    RespondersResult,
    class_labels,
    responders,
)
from alsrwe.analytics.analyses.results import (
    AnalysisError,
    AnalysisResult,
    DiagnosticStatus,
    diagnostics_frame,
)
from alsrwe.analytics.analyses.safety import SafetyResult, safety_incidence
from alsrwe.analytics.analyses.subgroups import SubgroupResult, subgroups
from alsrwe.analytics.analyses.survival import SurvivalResult, survival
from alsrwe.analytics.analyses.survival_estimators import KaplanMeier
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.cohort.design import months_between, progression_table, treatment_starts
from alsrwe.analytics.cohort.schema import CohortError
from alsrwe.analytics.report.figures import (
    ReportFigure,
    carrier_courses,
    change_waterfall,
    forest_plot,
    group_strips,
    interval_dots,
    paired_rates,
    ratios_by_window,
    spaghetti,
    survival_curves,
)
from alsrwe.analytics.report.formatting import number
from alsrwe.analytics.report.present_expected import present_observed_expected
from alsrwe.analytics.report.presentation_parts import Presentation, ResultTable

R = TypeVar("R", bound=AnalysisResult)


@dataclass(frozen=True, slots=True)
class Analysis(Generic[R]):
    """An analysis as shown: ``name`` names its files, its anchor and its field of the report's
    settings; ``run(cohort, settings)`` uses the analysis' defaults when settings is None."""

    name: str
    title: str
    run: Callable[[Cohort, Any], R]
    present: Callable[[R, Cohort], Presentation]


@dataclass(frozen=True, slots=True)
class Outcome:
    """An analysis run on a cohort: its result and presentation, or why it was refused."""

    analysis: Analysis[Any]
    result: AnalysisResult | None = None
    presentation: Presentation | None = None
    refused: str = ""


def evaluate(analysis: Analysis[R], cohort: Cohort, settings: Any = None) -> Outcome:
    """Run and present ``analysis``; a refusal (the data cannot support it) is an outcome too."""
    try:
        result = analysis.run(cohort, settings)
    except (AnalysisError, CohortError) as error:
        return Outcome(analysis, refused=str(error))
    return Outcome(analysis, result, analysis.present(result, cohort))


def _presentation(result: AnalysisResult, headline: str = "",
                  figures: Iterable[ReportFigure] = (),
                  tables: Iterable[ResultTable] = ()) -> Presentation:
    return Presentation(headline, tuple(figures), tuple(tables), result.attrition.to_frame(),
                        diagnostics_frame(result.diagnostics))


# --- figures drawn from the cohort ---------------------------------------------------------


def alsfrs_spaghetti(cohort: Cohort, drug: str) -> ReportFigure:
    """ALSFRS-R totals of treated patients against months from their first dose."""
    table = progression_table(cohort, drug=drug)
    frame = table.filter(table.start_date.notnull()).select("patient_id", "t", "total").execute()
    n = frame["patient_id"].nunique()
    return spaghetti(frame, key="progression-alsfrs", caption=(
        f"ALSFRS-R total (0–48, higher is better) of the {n} treated patients with a rating, "
        f"one line per patient, against months from the first dose of {drug} (dashed line)."),
        x="t", y="total", title="ALSFRS-R of treated patients",
                     xlabel="months from first dose", ylabel="ALSFRS-R total (0-48)",
                     mark_zero="first dose")


def nfl_spaghetti(cohort: Cohort, drug: str, kind: str) -> ReportFigure:
    """Values of one NfL kind of treated patients against months from their first dose."""
    values = cohort.table("measurements")
    values = values.filter(values.kind == kind)
    starts = treatment_starts(cohort, drug)
    joined = values.join(starts, "patient_id")
    frame = joined.select("patient_id", "value",
                          t=months_between(joined.date, joined.start_date)).execute()
    n = frame["patient_id"].nunique()
    return spaghetti(frame, key="nfl-course", caption=(
        f"{kind_label(kind)} (pg/mL, log scale) of the {n} treated patients with a value, one "
        "line per "
        f"patient, against months from the first dose of {drug} (dashed line)."),
        x="t", y="value", title=f"{kind_label(kind)} of treated patients",
                     xlabel="months from first dose", ylabel="pg/mL (log scale)",
                     log_y=True, mark_zero="first dose")


# --- one presentation per result -----------------------------------------------------------


def present_progression(result: ProgressionResult, cohort: Cohort) -> Presentation:
    low, high = result.percent_slower_ci
    level = f"{100 * result.settings.level:g}%"
    unbounded = any(d.name == BOUNDED_RATIO and d.status is DiagnosticStatus.FAIL
                    for d in result.diagnostics)
    ci = (f"{level} CI not reported: the mean expected rate does not exclude zero, so the "
          "ratio is unbounded" if unbounded else
          f"{level} CI {number(low)}% to {number(high)}%, {result.ci_method}")
    lmm = "" if result.lmm is None else (
        f" Sensitivity analysis, no CI (piecewise mixed model with an additive change of slope, "
        f"biased towards zero under a proportional effect): {number(result.lmm.percent_slower)}%"
        " slower.")
    headline = (
        f"Primary answer to “how much slower than expected”: ALSFRS-R declined "
        f"{number(result.percent_slower)}% slower than expected ({ci}) in "
        f"{result.n_included} patients, 1 − Σ observed / Σ expected rate of decline: observed "
        f"{number(result.observed_rate_per_month, 2)} vs expected "
        f"({result.settings.expected.replace('_', ' ')}) "
        f"{number(result.expected_rate_per_month, 2)} points/month.{lmm}")
    included = result.patients[result.patients["included"]]
    figures = [alsfrs_spaghetti(cohort, result.settings.drug),
               paired_rates(included, key="progression-rates", caption=(
                   f"Rate of ALSFRS-R decline (points/month, positive = decline) of the "
                   f"{len(included)} included patients: expected "
                   f"({result.settings.expected.replace('_', ' ')}) against observed on "
                   "treatment; points below the grey identity line declined slower than "
                   "expected."),
                            before="expected_rate_per_month", after="observed_rate_per_month",
                            title="rate of decline: expected vs on treatment")]
    tables = [ResultTable("cohort estimates", result.to_frame()),
              ResultTable("per patient", result.patients, per_patient=True)]
    return _presentation(result, headline, figures, tables)


CLASS_COLOURS = {"improved": "#2e8b57", "stabilized": "#1f5f8b", "progressed": "#c0392b"}


def present_responders(result: RespondersResult, cohort: Cohort) -> Presentation:
    s, n, k = result.settings, result.n_classified, result.stabilized_or_improved
    labels = class_labels(s)
    counts = ", ".join(f"{labels[c]} {result.counts[c]}" for c in CLASSES)
    headline = (
        f"{k} of {n} treated patients ({number(100 * k / n)}%) improved or were stable over "
        f"the {s.window_months:g} months from the first dose of {s.drug}: {counts}; change in "
        f"the ALSFRS-R total (0–48, higher is better) between the assessments within "
        f"± {s.tolerance_days} days of the first dose and of month {s.window_months:g}")
    patients = result.patients.assign(label=result.patients["class"].map(labels))
    figure = change_waterfall(
        patients, key="responders-waterfall", caption=(
            f"Change in ALSFRS-R total (points, positive = better) from the first dose to month "
            f"{s.window_months:g} of each of the {n} classified patients (one bar each, sorted, "
            f"no sampling), coloured by class; the dashed lines separate the classes: "
            f"{labels['improved']}, {labels['stabilized']}, {labels['progressed']}."),
        change="change", group="label", colours={labels[c]: CLASS_COLOURS[c] for c in CLASSES},
        cuts=(s.improved_points - 0.5, -(s.stable_points - 0.5)),
        title=f"ALSFRS-R change over {s.window_months:g} months of {s.drug}",
        ylabel="change in ALSFRS-R total (points)")
    tables = [ResultTable("patients per class", result.to_frame()),
              ResultTable("per patient", result.patients_frame(), per_patient=True)]
    return _presentation(result, headline, [figure], tables)


def _nfl_headline(result: NflResult) -> str:
    s, level = result.settings, f"{result.settings.level:.0%}"
    shown = result.windows[result.windows["n"] > 0]
    last = shown.iloc[-1]
    text = (f"{result.label}: {result.attrition.remaining} treated patients had a baseline and "
            f"a value within ± {s.tolerance_days} days of a follow-up week; at week "
            f"{int(last['week'])} ({int(last['n'])} patients) the geometric mean ratio to "
            f"baseline was {number(last['gmr'], 2)} ({level} CI {number(last['lower'], 2)}–"
            f"{number(last['upper'], 2)}; {number(last['gmr_percent_change'])}%)")
    model = result.mixed_model
    if model is None:
        return text + "; the mixed model could not be fitted"
    return text + (
        f"; mixed model on the {model.n_patients} patients with a baseline and a value after "
        f"dose 1 up to week {max(s.weeks)} + {s.tolerance_days} days: mean ratio per month "
        f"{number(model.ratio_per_month, 3)} ({level} CI {number(model.lower, 3)}–"
        f"{number(model.upper, 3)}; below 1 = falling)")


def present_nfl(result: NflResult, cohort: Cohort) -> Presentation:
    s, level = result.settings, f"{result.settings.level:.0%}"
    weeks = ", ".join(f"{w:g}" for w in s.weeks)
    ratios = ratios_by_window(
        result.patients, result.windows, key="nfl-ratios", caption=(
            f"{result.label} as a ratio to baseline (value / baseline, log scale; below 1 = "
            f"lower than at baseline) at weeks {weeks} of {s.drug}: one grey line per patient "
            f"(all {result.attrition.remaining} patients with a baseline and a value within "
            f"± {s.tolerance_days} days of a week), and the geometric mean ratio with its "
            f"{level} t interval per week (black)."),
        title=f"{result.label}: ratio to baseline", ylabel="ratio to baseline (log scale)")
    course = nfl_spaghetti(cohort, s.drug, s.kind)
    table = ResultTable("geometric mean ratio to baseline by week", result.to_frame())
    return _presentation(result, _nfl_headline(result), [ratios, course], [table])


def present_early_delayed(result: EarlyDelayedResult, cohort: Cohort) -> Presentation:
    s, d, level = result.settings, result.difference, f"{result.settings.level:.0%}"
    groups = result.group_summary()
    mean = groups.set_index("group")["mean"]
    headline = (
        f"From the first dose to week {s.week:g} the ALSFRS-R total changed by "
        f"{number(mean['early'], 1)} points in {d.n_early} early starters (first dose "
        f"≤ {s.delay_months_cutoff:g} months after {s.reference}) and by "
        f"{number(mean['delayed'], 1)} points in {d.n_delayed} delayed starters; difference "
        f"early minus delayed {number(d.estimate, 2)} points ({level} Welch CI "
        f"{number(d.lower, 2)} to {number(d.upper, 2)}; positive = the early group declined "
        "less)")
    if result.lmm_difference is not None:
        m = result.lmm_difference
        headline += (f"; sensitivity analysis, no CI (mixed model assuming one slope "
                     f"variance in both groups): {number(m.estimate, 2)} points")
    headline += "; not randomised: the groups differ in more than the start"
    labels = groups.assign(label=[
        f"{'early' if g == 'early' else 'delayed'} start\n"
        f"{'≤' if g == 'early' else '>'} {s.delay_months_cutoff:g} months\nafter {s.reference}"
        f"\nn = {k}"
        for g, k in zip(groups["group"], groups["n"], strict=True)])
    patients = result.patients.assign(
        group=result.patients["early"].map({True: "early", False: "delayed"}))
    figure = group_strips(
        patients, labels, key="early-delayed-change", caption=(
            f"ALSFRS-R change (points, positive = better) from the first dose to week "
            f"{s.week:g} (assessments within ± {s.tolerance_days} days) of each of the "
            f"{d.n_early + d.n_delayed} compared patients (dots, no sampling): early start = "
            f"first dose ≤ {s.delay_months_cutoff:g} months after {s.reference} "
            f"(n = {d.n_early}), delayed start = later (n = {d.n_delayed}); black diamonds: "
            f"group mean with its {level} t interval. The difference reported is early minus "
            "delayed."),
        group="group", value="change", title=f"ALSFRS-R change to week {s.week:g}",
        ylabel="change in ALSFRS-R total (points)")
    by_group = pd.DataFrame({
        "group": groups["label"], "patients": groups["n"],
        "mean ALSFRS-R change (points)": groups["mean"],
        f"{level} CI lower": groups["lower"], f"{level} CI upper": groups["upper"]})
    tables = [ResultTable("estimates (early minus delayed)", result.to_frame()),
              ResultTable(f"mean ALSFRS-R change to week {s.week:g} by group", by_group)]
    return _presentation(result, headline, [figure], tables)


_ENDPOINT_WORDS = {"composite": "death, tracheostomy or permanent ventilation",
                   "encals": "death, tracheostomy or NIV > 23 h/day", "death": "death"}


def _median(km: KaplanMeier, limits: bool = True) -> str:
    """"12.3 months (95% CI 9.8 to not reached; 30 events in 58)"; without the CI for a
    descriptive curve."""
    def shown(value: float) -> str:
        return "not reached" if pd.isna(value) else number(value, 1)
    median = "not reached" if pd.isna(km.median) else f"{number(km.median, 1)} months"
    ci = (f"{100 * km.level:g}% CI {shown(km.median_lower)} to {shown(km.median_upper)}; "
          if limits else "")
    return f"{median} ({ci}{km.events} events in {km.n})"


def _km_figure(curves: dict[str, KaplanMeier], at_risk: pd.DataFrame, *, key: str,
               caption: str, title: str, xlabel: str, bands: bool = True) -> ReportFigure:
    frame = pd.concat([km.table.assign(group=g) for g, km in curves.items()], ignore_index=True)
    if not bands:
        frame = frame.drop(columns=["lower", "upper"], errors="ignore")
    return survival_curves(frame, key=key, caption=caption, title=title, xlabel=xlabel,
                           at_risk=at_risk.rename(columns={"months": "time"}))


def _hazard_ratio(result: SurvivalResult) -> str:
    if result.cox is None:
        return "time-varying Cox model not fitted (see diagnostics)"
    hr, lower, upper = (float(v) for v in
                        result.cox.summary.loc["treated", ["hr", "lower", "upper"]].to_numpy(float))
    return (f"time-varying Cox HR of {result.settings.drug} {number(hr, 2)} "
            f"({100 * result.settings.level:g}% CI {number(lower, 2)}–{number(upper, 2)}; "
            "HR < 1 favours treatment)")


def present_survival(result: SurvivalResult, cohort: Cohort) -> Presentation:
    s = result.settings
    endpoint = _ENDPOINT_WORDS[s.endpoint]
    band = f"{100 * s.level:g}% confidence band"
    every = "numbers at risk under the axes, at the months marked on the axis"
    parts = [f"from {origin}: {_median(km)}" for origin, km in result.curves.items()]
    figures = []
    for origin, km in result.curves.items():
        entry = (" Patients enter the risk set at registry entry (delayed entry)."
                 if origin == "onset" else "")
        figures.append(_km_figure(
            {f"from {origin}": km}, result.at_risk[result.at_risk["origin"] == origin]
            .assign(group=f"from {origin}"), key=f"survival-{origin}".replace(" ", "-"),
            caption=(f"Kaplan–Meier estimate of survival without {endpoint} from {origin}, "
                     f"in months, with its {band}; n = {km.n} patients, {km.events} events; "
                     f"{every}.{entry}"),
            title=f"{s.endpoint} endpoint from {origin}", xlabel=f"months from {origin}"))
    sm = result.simon_makuch
    if sm is not None and sm.curves:
        parts.append(f"from {s.origin}, Simon–Makuch (descriptive): " + ", ".join(
            f"{g} {_median(km, limits=False)}" for g, km in sm.curves.items()))
        n = {g: km.n for g, km in sm.curves.items()}
        figures.append(_km_figure(
            sm.curves, sm.at_risk, key="survival-simon-makuch", caption=(
                f"Simon–Makuch estimate of survival without {endpoint} from {s.origin}, in "
                f"months, untreated vs treated with {s.drug}, descriptive (no confidence bands: "
                f"their coverage was measured at 42–90% where a group's risk set is small, "
                f"docs/validation.md; the time-varying Cox HR is the inference): treated patients "
                f"contribute untreated time before their first dose and treated time from it, "
                f"so the risk sets change over time (Simon & Makuch, Stat Med 1984); "
                f"{n.get('untreated', 0)} patients contribute untreated time and "
                f"{n.get('treated', 0)} treated time; registry entry is delayed entry; "
                f"{every}."),
            title=f"untreated vs treated from {s.origin} (Simon–Makuch)",
            xlabel=f"months from {s.origin}", bands=False))
    lm = result.landmark
    if lm is not None and lm.curves:
        n = {g: km.n for g, km in lm.curves.items()}
        test = "" if lm.logrank is None else f"; log-rank p = {number(lm.logrank.p, 3)}"
        figures.append(_km_figure(
            lm.curves, lm.at_risk, key="survival-landmark", caption=(
                f"Kaplan–Meier estimate of survival without {endpoint} from the "
                f"{s.landmark_months:g}-month landmark after {s.origin}, in months from the "
                f"landmark, with {band}s: the {lm.attrition.remaining} patients event-free and "
                f"in the registry at the landmark, grouped by whether treated with {s.drug} by "
                f"then ({n.get('treated', 0)} treated, {n.get('untreated', 0)} untreated; "
                f"patients who started later stay untreated){test}; {every}."),
            title=f"{s.landmark_months:g}-month landmark: treated by then vs not",
            xlabel="months from the landmark"))
    tables = [ResultTable("medians (months), log-rank tests and hazard ratios",
                          result.to_frame())]
    if lm is not None:
        tables.append(ResultTable(f"patients in the landmark analysis ({lm.origin})",
                                  lm.attrition.to_frame()))
    headline = ("Kaplan–Meier median event-free time " + "; ".join(parts) + "; "
                + _hazard_ratio(result))
    return _presentation(result, headline, figures, tables)


def _rate_words(row: pd.Series) -> str:
    return (f"{number(row['rate_per_100py'], 1)} per 100 patient-years "
            f"({number(row['lower'], 1)}–{number(row['upper'], 1)})")


def present_subgroups(result: SubgroupResult, cohort: Cohort) -> Presentation:
    s, overall = result.settings, result.overall
    level = f"{100 * s.level:g}%"
    headline = (
        f"{number(overall.estimate)}% slower than expected overall ({level} CI "
        f"{number(overall.lower)}% to {number(overall.upper)}%; {overall.n} patients); "
        f"{len(result.rows)} subgroups, those under {s.min_patients} patients without an "
        "estimate; intervals not adjusted for multiplicity")
    frame = result.to_frame()
    rows = frame.assign(
        label=[("all included patients" if v == "all" else f"{v}: {g}")
               for v, g in zip(frame["variable"], frame["subgroup"], strict=True)],
        overall=frame["variable"] == "all")
    age = ("the cohort median" if s.age_cut_years is None else "a fixed cut") + \
        f" of {result.age_cut_years:g} years"
    figure = forest_plot(rows, key="subgroups-forest", caption=(
        f"% slower than expected (100·(1 − mean observed / mean expected rate of ALSFRS-R "
        f"decline); expected = {s.progression.expected.replace('_', ' ')}) with {level} "
        f"intervals ({overall.method}), overall (red) and per subgroup of the {overall.n} "
        "included "
        f"patients, with n per row; age at first dose split at {age}; ΔFRS bands are the "
        "Ambulanzpartner ALS-PR bands (points/month); subgroups under "
        f"{s.min_patients} patients are shown without an estimate (\"too few\"). The "
        "dashed line at 0 is no slowing. Subgroup intervals are not adjusted for "
        "multiplicity."),
        title="% slower than expected by subgroup", xlabel="% slower than expected",
        null=0.0, null_label="no slowing")
    tables = [ResultTable("% slower than expected by subgroup", frame),
              ResultTable("subgroups per patient", result.patients, per_patient=True)]
    return _presentation(result, headline, [figure], tables)


def present_safety(result: SafetyResult, cohort: Cohort) -> Presentation:
    s, level = result.settings, f"{result.settings.level:.0%}"
    rates = result.rates.assign(label=result.to_frame()["category"])
    every = rates[rates["stratum"] == "all"].iloc[0]
    serious = rates[(rates["stratum"] == "serious") & (rates["value"] == "serious")]
    n = result.attrition.remaining
    headline = (
        f"{int(every['events'])} adverse events in {int(every['patients'])} of {n} treated "
        f"patients over {number(result.person_years, 1)} patient-years of {s.drug} exposure: "
        f"{_rate_words(every)}, {level} exact Poisson CIs")
    if not serious.empty:
        headline += f"; serious: {int(serious.iloc[0]['events'])}, {_rate_words(serious.iloc[0])}"
    terms = rates[rates["stratum"] == "term"].sort_values(["rate_per_100py", "label"],
                                                          ascending=[False, True])
    shown = pd.concat([rates[rates["stratum"] == "all"].assign(label="any adverse event"),
                       serious.assign(label="serious adverse events"), terms])
    shown = shown.assign(label=[f"{label} ({int(k)})"
                                for label, k in zip(shown["label"], shown["events"], strict=True)])
    window = ("up to the end of exposure" if s.on_treatment_only
              else "on or after the first dose (also after stopping)")
    figure = interval_dots(
        shown, key="safety-incidence", caption=(
            f"Adverse events per 100 patient-years of {s.drug} exposure (log scale) with exact "
            f"Poisson {level} confidence intervals: all events, serious events and each term "
            f"that occurred (number of events in brackets), over "
            f"{number(result.person_years, 1)} patient-years in {n} treated patients (all "
            f"patients, no sampling); events with onset {window}."),
        label="label", estimate="rate_per_100py", lower="lower", upper="upper",
        title="incidence of adverse events", xlabel="events per 100 patient-years (log scale)",
        log_x=True)
    tables = [ResultTable("incidence per 100 patient-years", result.to_frame()),
              ResultTable("CSF findings at lumbar punctures", result.csf_frame())]
    return _presentation(result, headline, [figure], tables)


def present_carriers(result: CarrierResult, cohort: Cohort) -> Presentation:
    s, carriers = result.settings, result.carriers
    n, flagged = len(carriers), int(carriers["triggered"].sum())
    above, single = int(carriers["above_reference"].sum()), int((carriers["n_values"] < 2).sum())
    assay = assay_label(result.assay)
    headline = (
        f"{flagged} of {n} presymptomatic carriers with plasma NfL ({assay}) met the trigger, "
        f"{result.trigger_rule}; {above} had a value above the age-specific upper reference "
        f"limit (Simrén 2022); {single} had a single value, on which the trigger cannot be "
        "met")
    hits = carriers.loc[carriers["triggered"], ["patient_id", "first_trigger_date"]]
    values = result.values.assign(day=pd.to_datetime(result.values["date"]))
    triggers = values.merge(hits.assign(day=pd.to_datetime(hits["first_trigger_date"])),
                            on=["patient_id", "day"])
    figure = carrier_courses(
        result.values, triggers, key="carriers-nfl", caption=(
            f"Plasma NfL (pg/mL, {assay}) of the {n} carriers, one line per carrier, against "
            f"years from each carrier's first value; dashed line: the trigger level "
            f"({s.level_pg_ml:g} pg/mL); red crosses: the first value meeting the trigger (a "
            f"rise of ≥ {s.rise_pg_ml:g} pg/mL from the first value to ≥ {s.level_pg_ml:g} "
            "pg/mL)."),
        level=s.level_pg_ml, title="plasma NfL of presymptomatic carriers",
        xlabel="years from the first value", ylabel="plasma NfL (pg/mL)")
    return _presentation(result, headline, [figure],
                         [ResultTable("carriers", result.to_frame(), per_patient=True)])


ANALYSES: tuple[Analysis[Any], ...] = (
    Analysis("progression", "Progression before and on treatment", progression,
             present_progression),
    Analysis("subgroups", "Subgroups: % slower than expected", subgroups, present_subgroups),
    Analysis("responders", "Responders", responders, present_responders),
    Analysis("nfl_response", "Neurofilament light chain response", nfl_response, present_nfl),
    Analysis("early_vs_delayed", "Early vs delayed start", early_vs_delayed,
             present_early_delayed),
    Analysis("observed_expected", "Observed vs expected: ΔFRS, PRO-ACT and ENCALS",
             observed_vs_expected, present_observed_expected),
    Analysis("survival", "Survival without death, tracheostomy or permanent ventilation",
             survival, present_survival),
    Analysis("safety", "Safety", safety_incidence, present_safety),
    Analysis("carriers", "Presymptomatic carriers: NfL surveillance", carrier_surveillance,
             present_carriers),
)
"""Every analysis of the report and the cohort page, in reading order, with default settings."""


__all__ = ["ANALYSES", "Analysis", "Outcome", "Presentation", "ResultTable", "alsfrs_spaghetti",
           "evaluate", "nfl_spaghetti"]
