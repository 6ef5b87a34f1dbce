"""ALSFRS-R: items, totals, domains, King's and MiToS staging, ΔFRS (docs/domain-rules.md §1-2).

Items, anchors and domains: Cedarbaum et al., J Neurol Sci 1999;169:13-21 (docs/domain-rules.md
§1.1). Staging and ΔFRS follow the conventions 1-4 of docs/domain-rules.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from numbers import Integral

from alsrwe.domain.errors import ScoreError

__all__ = [
    "DAYS_PER_MONTH",
    "PROGRESSION_BANDS",
    "DEATH_STAGE",
    "DOMAIN_ITEMS",
    "ITEMS",
    "ITEM_COLUMNS",
    "ITEM_COUNT",
    "KINGS_STAGES",
    "MAX_ITEM_SCORE",
    "MAX_TOTAL",
    "AlsfrsItem",
    "AlsfrsR",
    "AssessmentSource",
    "delta_frs",
    "item_definitions",
    "kings_stage",
    "mitos_stage",
    "stages",
]

DAYS_PER_MONTH = 365.25 / 12
"""One month in days (30.4375), as in the ENCALS reference code (domain-rules, convention 1)."""

DOMAIN_ITEMS: dict[str, tuple[int, ...]] = {
    "bulbar": (1, 2, 3),
    "fine_motor": (4, 5, 6),
    "gross_motor": (7, 8, 9),
    "respiratory": (10, 11, 12),
}
"""The four ALSFRS-R domains and their item numbers (calcmd ALSFRS-R page; domain-rules §1.1)."""

ITEM_COUNT = 12
ITEM_COLUMNS: tuple[str, ...] = tuple(f"q{i}" for i in range(1, ITEM_COUNT + 1))
"""The twelve item columns q1 … q12 of a stored or exchanged rating (q5 holds 5a or 5b)."""
MAX_ITEM_SCORE = 4
MAX_TOTAL = ITEM_COUNT * MAX_ITEM_SCORE

KINGS_STAGES = ("0", "1", "2", "3", "4A", "4B")
"""Every value ``kings_stage`` can return; stage 5 (death) comes from the milestone, not items."""
DEATH_STAGE = "5"
"""King's and MiToS stage 5 is death (Roche et al. 2012; Chiò et al. 2015): it is read from the
death milestone, never from the items (conventions 3-4)."""


class AssessmentSource(StrEnum):
    """Who rated the ALSFRS-R: the clinic, or the patient through a self-report link."""

    CLINIC = "clinic"
    SELF = "self"


@dataclass(frozen=True, slots=True)
class AlsfrsItem:
    """One ALSFRS-R question with its answer texts, for forms and error messages.

    ``anchors[score]`` is the answer text for that score (0 = worst, 4 = normal).
    Texts are the short anchors of the table in docs/domain-rules.md §1.1 (Cedarbaum et al.
    1999; Supplementary Box 1), not the full wording of the licensed form.
    """

    code: str
    number: int
    label: str
    anchors: tuple[str, str, str, str, str]

    @property
    def title(self) -> str:
        """How messages name the item, e.g. "item 5b (cutting food and handling utensils, ...)"."""
        return f"item {self.code.removeprefix('q')} ({self.label.lower()})"


def _item(code: str, number: int, label: str, *anchors_4_to_0: str) -> AlsfrsItem:
    """Build an item from anchors written as in the source table, from 4 (normal) down to 0."""
    a4, a3, a2, a1, a0 = anchors_4_to_0
    return AlsfrsItem(code, number, label, (a0, a1, a2, a3, a4))


ITEMS: tuple[AlsfrsItem, ...] = (
    _item("q1", 1, "Speech", "Normal speech", "Detectable speech disturbance",
          "Intelligible with repeating", "Speech combined with non-vocal communication",
          "Loss of useful speech"),
    _item("q2", 2, "Salivation", "Normal", "Slight excess of saliva; may have night-time drooling",
          "Moderate excess of saliva; minimal drooling", "Marked excess of saliva; some drooling",
          "Marked drooling; needs constant tissue"),
    _item("q3", 3, "Swallowing", "Normal eating", "Early eating problems; occasional choking",
          "Dietary consistency changes", "Needs supplemental tube feeding",
          "NPO (exclusively parenteral or enteral feeding)"),
    _item("q4", 4, "Handwriting", "Normal", "Slow or sloppy; all words legible",
          "Not all words legible", "Can grip pen but cannot write", "Cannot grip pen"),
    _item("q5a", 5, "Cutting food and handling utensils, without gastrostomy", "Normal",
          "Slow or clumsy; no help needed", "Cuts most foods; some help needed",
          "Food must be cut by someone; still feeds slowly", "Needs to be fed"),
    _item("q5b", 5, "Cutting food and handling utensils, with gastrostomy", "Normal",
          "Clumsy but all manipulations independent",
          "Some help needed with closures and fasteners",
          "Provides minimal assistance to caregiver", "Unable to do any aspect of the task"),
    _item("q6", 6, "Dressing and hygiene", "Normal",
          "Independent self-care with effort or decreased efficiency",
          "Intermittent assistance or substitute methods", "Needs attendant for self-care",
          "Total dependence"),
    _item("q7", 7, "Turning in bed and adjusting bed clothes", "Normal",
          "Slow or clumsy; no help needed", "Can turn alone but with great difficulty",
          "Can initiate, but cannot turn or adjust sheets alone", "Helpless"),
    _item("q8", 8, "Walking", "Normal", "Early ambulation difficulties", "Walks with assistance",
          "Non-ambulatory functional movement only", "No purposeful leg movement"),
    _item("q9", 9, "Climbing stairs", "Normal", "Slow", "Mild unsteadiness or fatigue",
          "Needs assistance", "Cannot do"),
    _item("q10", 10, "Dyspnea", "None", "Occurs when walking",
          "Occurs with eating, bathing or dressing", "Occurs at rest (sitting or lying)",
          "Significant difficulty; considering mechanical respiratory support"),
    _item("q11", 11, "Orthopnea", "None",
          "Some difficulty sleeping due to shortness of breath; no more than two pillows",
          "Needs more than two pillows to sleep", "Can only sleep sitting up", "Unable to sleep"),
    _item("q12", 12, "Respiratory insufficiency", "None", "Intermittent BiPAP (NIPPV)",
          "Continuous BiPAP at night", "Continuous BiPAP night and day",
          "Invasive mechanical ventilation (intubation or tracheostomy)"),
)
"""All 13 ALSFRS-R questions (1-4, 5a, 5b, 6-12); exactly one of 5a/5b is scored per visit."""


def item_definitions(gastrostomy: bool = False) -> tuple[AlsfrsItem, ...]:
    """The 12 questions asked at one visit: item 5 is 5b with a gastrostomy, else 5a (§1.1)."""
    skipped = "q5a" if gastrostomy else "q5b"
    return tuple(item for item in ITEMS if item.code != skipped)


def _check_item(item: AlsfrsItem, value: object) -> int:
    allowed = f"must be a whole number from 0 to {MAX_ITEM_SCORE} (4 = normal)"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ScoreError(item.code, f"{item.title} {allowed}; got {value!r}")
    score = int(value)  # numpy and other integer types arrive from data frames
    if not 0 <= score <= MAX_ITEM_SCORE:
        raise ScoreError(item.code, f"{item.title} {allowed}; got {score}")
    return score


@dataclass(frozen=True, slots=True)
class AlsfrsR:
    """One ALSFRS-R assessment: 12 item scores in question order, item 5 as 5a or 5b.

    ``gastrostomy`` True means item 5 was scored on the 5b scale; which scale was used is
    itself the gastrostomy indicator that King's staging needs (docs/domain-rules.md §1.1).
    Construction validates, so every instance is a legal assessment.
    """

    items: tuple[int, ...]
    gastrostomy: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.gastrostomy, bool):
            raise ScoreError("gastrostomy", f"must be True (item 5b) or False (item 5a); "
                                            f"got {self.gastrostomy!r}")
        if not isinstance(self.items, tuple):
            raise ScoreError("items", f"items must be a tuple (use AlsfrsR.from_items); "
                                      f"got {type(self.items).__name__}")
        if len(self.items) != ITEM_COUNT:
            raise ScoreError("items", f"ALSFRS-R has exactly {ITEM_COUNT} items (1-12, item 5 "
                                      f"as 5a or 5b), each 0-{MAX_ITEM_SCORE}; "
                                      f"got {len(self.items)}")
        for definition, value in zip(item_definitions(self.gastrostomy), self.items, strict=True):
            _check_item(definition, value)

    @classmethod
    def from_items(cls, items: Sequence[int], gastrostomy: bool = False) -> AlsfrsR:
        """Validate 12 item scores (item 5 on the 5b scale when ``gastrostomy``) into a score."""
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise ScoreError("items", f"ALSFRS-R needs a sequence of {ITEM_COUNT} item scores; "
                                      f"got {items!r}")
        plain = tuple(int(v) if isinstance(v, Integral) and not isinstance(v, bool) else v
                      for v in items)
        return cls(plain, gastrostomy)

    def item(self, number: int) -> int:
        """The score of item ``number`` (1-12, as numbered on the form; 5 is 5a or 5b)."""
        if not 1 <= number <= ITEM_COUNT:
            raise ScoreError("item", f"ALSFRS-R items are numbered 1-{ITEM_COUNT}; got {number}")
        return self.items[number - 1]

    @property
    def total(self) -> int:
        """Sum of the 12 items, 0-48 (48 = normal)."""
        return sum(self.items)

    def domain(self, name: str) -> int:
        """Sum of one domain's items (see :data:`DOMAIN_ITEMS`), 0-12."""
        return sum(self.items[n - 1] for n in DOMAIN_ITEMS[name])

    @property
    def bulbar(self) -> int:
        """Bulbar domain, items 1-3 (0-12; calcmd ALSFRS-R page via docs/domain-rules.md §1.1)."""
        return self.domain("bulbar")

    @property
    def fine_motor(self) -> int:
        """Fine-motor domain, items 4-6 (0-12)."""
        return self.domain("fine_motor")

    @property
    def gross_motor(self) -> int:
        """Gross-motor domain, items 7-9 (0-12)."""
        return self.domain("gross_motor")

    @property
    def respiratory(self) -> int:
        """Respiratory domain, items 10-12 (0-12)."""
        return self.domain("respiratory")


def kings_stage(score: AlsfrsR) -> str:
    """King's clinical stage estimated from ALSFRS-R items: "0"-"3", "4A" or "4B".

    Balendra et al., ALS FTD 2014, as settled by convention 3 of docs/domain-rules.md (§2.1):
    regions involved are bulbar (item 1, 2 or 3 < 4), upper limb (item 4 < 4, or item 5 < 4
    when scored as 5a) and lower limb (item 8 < 4). When item 5 was scored on the 5b
    (gastrostomy) scale it does not count towards upper-limb involvement; only 5a does.
    4B (respiratory failure: item 10 = 0 or item 12 < 4) takes precedence over 4A
    (gastrostomy, i.e. 5b scored); otherwise the stage is the number of regions involved,
    "0" when none (e.g. a presymptomatic carrier). Stage 5 (death) comes from the milestone.
    """
    if score.item(10) == 0 or score.item(12) < MAX_ITEM_SCORE:
        return "4B"
    if score.gastrostomy:
        return "4A"
    item5a_involved = not score.gastrostomy and score.item(5) < MAX_ITEM_SCORE
    regions = (
        any(score.item(n) < MAX_ITEM_SCORE for n in (1, 2, 3)),
        score.item(4) < MAX_ITEM_SCORE or item5a_involved,
        score.item(8) < MAX_ITEM_SCORE,
    )
    return str(sum(regions))


def mitos_stage(score: AlsfrsR) -> int:
    """MiToS stage 0-4: the number of functional domains lost (Chiò et al., JNNP 2015, Table 1).

    Per docs/domain-rules.md §2.2 and convention 4: movement lost if item 8 ≤ 1 or item 6 ≤ 1;
    swallowing if item 3 ≤ 1; communication if item 1 ≤ 1 AND item 4 ≤ 1 (the JNNP table,
    not the OR of some public R code); breathing if item 10 ≤ 1 or item 12 ≤ 2.
    Stage 5 (death) comes from the milestone.
    """
    lost = (
        score.item(8) <= 1 or score.item(6) <= 1,
        score.item(3) <= 1,
        score.item(1) <= 1 and score.item(4) <= 1,
        score.item(10) <= 1 or score.item(12) <= 2,
    )
    return sum(lost)


def delta_frs(total: int, onset: date, assessed: date) -> float:
    """ΔFRS in points per month since symptom onset: (48 − total) / months; positive = decline.

    Kimura et al., Neurology 2006, with months of 365.25/12 days as in the ENCALS reference code
    (docs/domain-rules.md §1.2, conventions 1-2).
    """
    if isinstance(total, bool) or not isinstance(total, Integral) or not 0 <= total <= MAX_TOTAL:
        raise ScoreError("total", f"ALSFRS-R total must be a whole number from 0 to {MAX_TOTAL}; "
                                  f"got {total!r}")
    total = int(total)
    if assessed <= onset:
        raise ScoreError("assessed", f"the assessment date ({assessed.isoformat()}) must be after "
                                     f"symptom onset ({onset.isoformat()}) to compute ΔFRS")
    months = (assessed - onset).days / DAYS_PER_MONTH
    return (MAX_TOTAL - total) / months


PROGRESSION_BANDS = ("< 0.5", "0.5–1.0", "> 1.0")
"""The ALS progression-rate bands of the Ambulanzpartner network, points/month: slower below
0.5, intermediate 0.5 to 1.0 (both inclusive), faster above 1.0 (docs/domain-rules.md §9.6)."""


def progression_band(rate: float) -> str:
    """The band of :data:`PROGRESSION_BANDS` of a rate of decline (points/month, e.g. ΔFRS)."""
    if not math.isfinite(rate):
        raise ScoreError("rate", f"{rate!r} is not a finite rate of decline")
    slower, intermediate, faster = PROGRESSION_BANDS
    return slower if rate < 0.5 else intermediate if rate <= 1.0 else faster


def stages(score: AlsfrsR | None, died: bool) -> tuple[str | None, str | None]:
    """(King's stage, MiToS stage) as shown for a patient: :data:`DEATH_STAGE` for both once the
    patient died, otherwise from the latest rating (``None`` when there is none)."""
    if died:
        return DEATH_STAGE, DEATH_STAGE
    if score is None:
        return None, None
    return kings_stage(score), str(mitos_stage(score))
