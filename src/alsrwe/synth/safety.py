"""Adverse events of treated patients at label-like rates.

Serious neurological events (myelitis, radiculitis, aseptic meningitis, papilledema / raised
intracranial pressure) occur in ``serious_neuro_ae_share`` of treated patients, split 4:2:2:2:2 as
in Lovett et al. (12 events: 4 myelitis, 2 radiculitis, 2 aseptic meningitis, 4 intracranial
hypertension and/or papilledema; all but one resolved; none fatal) — docs/domain-rules.md §3.2. The
common
adverse reactions (pain, fatigue, arthralgia, CSF WBC increased, myalgia; ≥10% in the label) and
the other listed ones get per-patient probabilities that are **alsrwe assumptions** (the label's
percentages were NOT FOUND). "CSF WBC increased" is reported only for patients whose CSF WBC
actually rises (Sabatelli, §5). Deaths on treatment are sometimes reported as a grade-5 ``other``
event, not related (VALOR/OLE: no death judged tofersen-related, §3.2). Grade 5 ⇔ outcome fatal.
Post-lumbar puncture headaches (procedure-related, not related to the drug) begin 0-5 days after
the first dose, as the ICHD-3 definition and the rulebook require (§3.2, §11.2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alsrwe.synth.encoding import NO_DAY, IntArray, categorical, dates
from alsrwe.synth.parameters import CohortParams
from alsrwe.synth.population import Population

TERMS = (
    "myelitis", "radiculitis", "papilledema", "raised_intracranial_pressure", "aseptic_meningitis",
    "pain", "fatigue", "arthralgia", "csf_wbc_increased", "myalgia", "csf_protein_increased",
    "musculoskeletal_stiffness", "neuralgia", "other", "post_lumbar_puncture_headache",
    "procedural_pain",
)  # fmt: skip
OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal",
            "unknown")  # fmt: skip
ACTIONS = ("none", "interrupted", "withdrawn", "not_applicable", "unknown")
TERM_TEXTS = ("respiratory failure (disease progression)",)

# term → (probability per treated patient over follow-up, probability related); assumptions.
_COMMON = {
    "pain": (0.25, 0.5), "fatigue": (0.20, 0.5), "arthralgia": (0.15, 0.5),
    "myalgia": (0.12, 0.5), "csf_protein_increased": (0.08, 1.0),
    "musculoskeletal_stiffness": (0.05, 0.5), "neuralgia": (0.05, 0.5),
    # procedure-related, not drug-related; within 5 days of a dose (ICHD-3 7.2.1, §3.2)
    "post_lumbar_puncture_headache": (0.20, 0.0),
}  # fmt: skip
_AFTER_DOSE = ("post_lumbar_puncture_headache",)
"""Terms whose onset follows the first dose by 0-5 days, so that a lumbar puncture precedes it
(the first dose is always given, :func:`alsrwe.synth.dosing.schedule_doses`)."""
_CSF_WBC_REPORTED = 0.35  # share of CSF-inflamed patients with an AE report (assumption)
_SERIOUS_SPLIT = {"myelitis": 4, "radiculitis": 2, "aseptic_meningitis": 2, "papilledema": 2,
                  "raised_intracranial_pressure": 2}  # fmt: skip
_FATAL_REPORTED = 0.3  # deaths on treatment also reported as a grade-5 AE (assumption)


def _draw_events(
    pop: Population, params: CohortParams, rng: np.random.Generator
) -> dict[str, IntArray]:
    treated = np.flatnonzero(pop.treated)
    terms = list(_COMMON)
    probs = np.array([_COMMON[t][0] for t in terms])
    hit = rng.random((treated.size, len(terms))) < probs
    row, col = np.nonzero(hit)
    person, term = treated[row], np.array([TERMS.index(t) for t in terms])[col]
    related = rng.random(row.size) < np.array([_COMMON[t][1] for t in terms])[col]
    serious = np.zeros(row.size, dtype=bool)

    wbc = treated[pop.csf_inflamed[treated] & (rng.random(treated.size) < _CSF_WBC_REPORTED)]
    neuro = treated[rng.random(treated.size) < params.serious_neuro_ae_share]
    split = np.array(list(_SERIOUS_SPLIT.values()), dtype=np.float64)
    neuro_term = np.array([TERMS.index(t) for t in _SERIOUS_SPLIT])[
        np.searchsorted(np.cumsum(split / split.sum()), rng.random(neuro.size), side="right")
    ]
    person = np.concatenate([person, wbc, neuro])
    term = np.concatenate([term, np.full(wbc.size, TERMS.index("csf_wbc_increased")), neuro_term])
    related = np.concatenate([related, np.ones(wbc.size + neuro.size, dtype=bool)])
    serious = np.concatenate([serious, np.zeros(wbc.size, bool), np.ones(neuro.size, bool)])
    start, end = pop.treat_start[person], pop.end[person]
    u = rng.random(person.size)
    onset = start + np.floor(u * (end - start + 1)).astype(np.int64)
    after_dose = np.isin(term, [TERMS.index(t) for t in _AFTER_DOSE])
    onset = np.where(after_dose, np.minimum(start + np.floor(u * 6).astype(np.int64), end), onset)
    return {"person": person, "term": term, "related": related.astype(np.int64),
            "serious": serious.astype(np.int64), "onset": onset}  # fmt: skip


def _outcomes(
    events: dict[str, IntArray], pop: Population, rng: np.random.Generator
) -> dict[str, IntArray]:
    n = events["person"].size
    serious = events["serious"] == 1
    grade = np.where(serious, 3, np.where(rng.random(n) < 0.7, 1, 2))
    duration = 1 + rng.exponential(np.where(serious, 60.0, 14.0)).astype(np.int64)
    resolved = events["onset"] + duration
    resolves = ~serious | (rng.random(n) < 11 / 12)  # Lovett: all but one resolved
    in_time = resolves & (resolved <= pop.end[events["person"]])
    outcome = np.where(in_time, OUTCOMES.index("recovered"),
                       np.where(resolves, OUTCOMES.index("recovering"),
                                OUTCOMES.index("not_recovered")))  # fmt: skip
    action = np.where(serious & (rng.random(n) < 0.5), ACTIONS.index("interrupted"), 0)
    text = np.full(n, -1)  # only the fatal events below are "other" with a text
    return {"grade": grade, "outcome": outcome, "resolved": np.where(in_time, resolved, NO_DAY),
            "action": action, "text": text}  # fmt: skip


def _fatal(pop: Population, rng: np.random.Generator) -> dict[str, IntArray]:
    dying = np.flatnonzero(pop.treated & (pop.death != NO_DAY))
    person = dying[rng.random(dying.size) < _FATAL_REPORTED]
    onset = np.maximum(pop.treat_start[person], pop.end[person] - rng.integers(0, 15, person.size))
    n = person.size
    return {
        "person": person, "term": np.full(n, TERMS.index("other")), "onset": onset,
        "related": np.zeros(n, np.int64), "serious": np.ones(n, np.int64),
        "grade": np.full(n, 5), "outcome": np.full(n, OUTCOMES.index("fatal")),
        "resolved": np.full(n, NO_DAY), "action": np.full(n, ACTIONS.index("not_applicable")),
        "text": np.zeros(n, np.int64),
    }  # fmt: skip


def adverse_events_frame(
    pop: Population, params: CohortParams, ids: pd.Index, rng: np.random.Generator
) -> pd.DataFrame:
    """The ``adverse_events`` table, one row per (patient, onset_date, term)."""
    events = _draw_events(pop, params, rng)
    events |= _outcomes(events, pop, rng)
    fatal = _fatal(pop, rng)
    cols = {k: np.concatenate([events[k], fatal[k]]) for k in fatal}
    order = np.lexsort((cols["term"], cols["onset"], cols["person"]))
    cols = {k: v[order] for k, v in cols.items()}
    dup = np.zeros(order.size, dtype=bool)
    same = [cols[k][1:] == cols[k][:-1] for k in ("person", "onset", "term")]
    dup[1:] = same[0] & same[1] & same[2]
    cols = {k: v[~dup] for k, v in cols.items()}
    return pd.DataFrame(
        {
            "patient_id": categorical(cols["person"], ids),
            "onset_date": dates(cols["onset"]),
            "term": categorical(cols["term"], TERMS),
            "grade": cols["grade"].astype(np.int8),
            "serious": cols["serious"].astype(np.int8),
            "related": cols["related"].astype(np.int8),
            "outcome": categorical(cols["outcome"], OUTCOMES),
            "resolved_date": dates(cols["resolved"]),
            "term_text": categorical(cols["text"], TERM_TEXTS),
            "action": categorical(cols["action"], ACTIONS),
        },
        copy=False,
    )


__all__ = ["ACTIONS", "OUTCOMES", "TERMS", "adverse_events_frame"]
