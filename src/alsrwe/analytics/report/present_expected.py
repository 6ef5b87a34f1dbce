"""The presentation of observed vs expected (ΔFRS, PRO-ACT, ENCALS) for the report and the
cohort page: a headline with the numbers and the caveat, two figures, and the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from alsrwe.analytics.analyses.observed_expected import ObservedExpectedResult
from alsrwe.analytics.analyses.results import diagnostics_frame
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.report.figures import ReportFigure, render
from alsrwe.analytics.report.formatting import number
from alsrwe.analytics.report.presentation_parts import Presentation, ResultTable


def _headline(result: ObservedExpectedResult) -> str:
    parts = []
    if result.comparisons and result.comparisons[0].n:
        c = result.comparisons
        parts.append(
            f"ALSFRS-R on {result.settings.drug}, {c[0].n} patients: observed "
            f"{number(c[0].observed_mean, 2)} points/month vs ΔFRS-expected "
            f"{number(c[0].expected_mean, 2)} ({number(c[0].percent_slower)}% slower) and vs "
            f"PRO-ACT {number(c[1].expected_mean, 2)} ({number(c[1].percent_slower)}% slower), "
            "without CIs")
    if result.events is not None:
        e = result.events
        parts.append(
            f"ENCALS composite from the first dose, {len(result.survival_patients)} patients: "
            f"{e.observed} events observed vs {number(e.expected, 1)} expected, O/E "
            f"{number(e.ratio, 2)} ({100 * e.level:.0f}% exact Poisson CI "
            f"{number(e.lower, 2)}–{number(e.upper, 2)})")
    return "; ".join(parts) + f". Caveat: {result.caveat}."


def survival_figure(result: ObservedExpectedResult) -> ReportFigure | None:
    """Observed Kaplan–Meier vs the ENCALS-expected (Ederer I) curve, months from first dose."""
    km, events = result.observed_curve, result.events
    if km is None or events is None:
        return None
    figure = Figure(figsize=(7, 4))
    axis = figure.subplots()
    table = pd.concat([pd.DataFrame({"time": [0.0], "survival": [1.0], "lower": [1.0],
                                     "upper": [1.0]}), km.table], ignore_index=True)
    axis.step(table["time"], table["survival"], where="post", color="#1f5f8b",
              label="observed (Kaplan–Meier)")
    axis.fill_between(table["time"], table["lower"], table["upper"], step="post",
                      color="#1f5f8b", alpha=0.15)
    curve = result.expected_curve
    axis.plot(curve["months"], curve["expected_survival"], color="#b03a2e", linestyle="--",
              label="ENCALS-expected (Ederer I)")
    axis.set(title="event-free survival from the first dose: observed vs ENCALS",
             xlabel="months from first dose", ylabel="event-free probability", ylim=(0, 1.02))
    axis.legend(frameon=False)
    axis.grid(alpha=0.3)
    caption = (
        f"Kaplan–Meier estimate (with its {100 * km.level:.0f}% band) of survival without the "
        "ENCALS composite (NIV > 23 h/day, tracheostomy or death; no ventilator hours are "
        "recorded, so here death or tracheostomy) from the first dose, against the "
        "ENCALS-expected curve: the mean of the patients' predicted curves conditional on "
        "being event-free at the first dose (Ederer I), in months; "
        f"{km.n} patients, {events.observed} observed and {number(events.expected, 1)} "
        "expected events. All patients are drawn.")
    return render(figure, "observed-expected-survival", caption)


def rates_figure(result: ObservedExpectedResult) -> ReportFigure | None:
    """Each patient's observed on-treatment rate against ΔFRS and the PRO-ACT reference."""
    rates = result.rates
    if rates.empty:
        return None
    figure = Figure(figsize=(5.2, 4.8))
    axis = figure.subplots()
    axis.scatter(rates["delta_frs"], rates["observed_rate_per_month"], s=14, alpha=0.7,
                 color="#1f5f8b", label="vs ΔFRS at first dose")
    axis.scatter(rates["pro_act_rate_per_month"], rates["observed_rate_per_month"], s=14,
                 alpha=0.7, marker="x", color="#b03a2e", label="vs PRO-ACT 0.99")
    values = pd.concat([rates["delta_frs"], rates["observed_rate_per_month"],
                        rates["pro_act_rate_per_month"]])
    low, high = float(min(values.min(), 0.0)), float(values.max())
    axis.plot([low, high], [low, high], color="grey", linewidth=1, label="observed = expected")
    axis.set(title="rate of decline: observed vs expected",
             xlabel="expected, points/month", ylabel="observed on treatment, points/month")
    axis.legend(frameon=False)
    axis.grid(alpha=0.3)
    caption = (
        "Rate of ALSFRS-R decline (points/month, positive = decline) of each of the "
        f"{len(rates)} included patients: observed on treatment (−OLS slope of the totals "
        f"from the first dose) against two expectations, ΔFRS at the first dose (dots) and "
        f"the PRO-ACT mean {result.settings.reference_rate_per_month:g} (crosses); points "
        "below the grey identity line declined slower than expected. All patients are drawn.")
    return render(figure, "observed-expected-rates", caption)


def curves_table(result: ObservedExpectedResult, every_months: float = 6.0) -> pd.DataFrame:
    """Observed (Kaplan–Meier, with limits) and expected event-free survival every 6 months."""
    km, curve = result.observed_curve, result.expected_curve
    columns = ["months", "observed", "lower", "upper", "expected"]
    if km is None or curve.empty:
        return pd.DataFrame(columns=columns)
    months = np.arange(0.0, float(curve["months"].max()) + 1e-9, every_months)
    observed = km.survival_at(list(months))
    expected = np.interp(months, curve["months"], curve["expected_survival"])
    return pd.DataFrame({"months": months, "observed": observed["survival"],
                         "lower": observed["lower"], "upper": observed["upper"],
                         "expected": expected})[columns]


def present_observed_expected(result: ObservedExpectedResult, cohort: Cohort) -> Presentation:
    """Headline, the two figures, the cohort estimates and the per-patient tables."""
    figures = [f for f in (survival_figure(result), rates_figure(result)) if f is not None]
    tables = [ResultTable("cohort estimates (rates in points/month; O/E with exact Poisson CI)",
                          result.to_frame()),
              ResultTable("event-free survival from the first dose every 6 months: observed "
                          f"(Kaplan–Meier, {100 * result.settings.level:g}% limits) and "
                          "ENCALS-expected (Ederer I)",
                          curves_table(result)),
              ResultTable("ALSFRS-R rates per patient (points/month)", result.rates,
                          per_patient=True),
              ResultTable("ENCALS predictors, follow-up (months) and expected events per "
                          "patient", result.survival_patients, per_patient=True)]
    return Presentation(_headline(result), tuple(figures), tuple(tables),
                        result.attrition_frame(), diagnostics_frame(result.diagnostics))


__all__ = ["curves_table", "present_observed_expected", "rates_figure", "survival_figure"]
