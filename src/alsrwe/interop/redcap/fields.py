"""Building blocks of REDCap instruments that alsrwe writes: fields, choices, ALSFRS-R items.

The ALSFRS-R items are radio fields whose choices are the scores with the short anchor
texts of :data:`alsrwe.domain.alsfrs.ITEMS` (4 = normal first, as the form reads); item 5 is
two fields, 5a and 5b, shown by branching logic on the gastrostomy question.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from alsrwe.domain.alsfrs import ITEMS, MAX_ITEM_SCORE
from alsrwe.interop.codes import ALSFRS_ITEM_CODES, LOINC, Status
from alsrwe.interop.redcap.dictionary import DictionaryField

DATE = "date_ymd"
_WORDS = {"csf": "CSF", "nfl": "NfL", "pnfh": "pNfH", "svc": "SVC", "fvc": "FVC",
          "hhd": "HHD", "niv": "NIV", "wbc": "WBC", "sod1": "SOD1", "iv": "IV"}


def value_label(value: str) -> str:
    """An alsrwe code as a choice label: ``csf_wbc_increased`` → "CSF WBC increased"."""
    words = [_WORDS.get(word, word) for word in value.split("_")]
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def text(name: str, form: str, label: str, validation: str = "", *, note: str = "",
         branching: str = "", minimum: str = "", maximum: str = "",
         kind: str = "text") -> DictionaryField:
    return DictionaryField(name=name, form=form, type=kind, label=label,
                           validation=validation, minimum=minimum, maximum=maximum, note=note,
                           branching=branching)


def choice(name: str, form: str, label: str, choices: Iterable[tuple[str, str]], *,
           kind: str = "radio", branching: str = "", note: str = "") -> DictionaryField:
    return DictionaryField(name=name, form=form, type=kind, label=label,
                           choices=tuple(choices), branching=branching, note=note)


def coded(values: Iterable[str], labels: Mapping[str, str] | None = None,
          ) -> tuple[tuple[str, str, str], ...]:
    """Values numbered 1, 2, … as (code, label, alsrwe value)."""
    return tuple((str(i), (labels or {}).get(v) or value_label(v), v)
                 for i, v in enumerate(values, 1))


def yesno(name: str, form: str, label: str, *, branching: str = "") -> DictionaryField:
    return DictionaryField(name=name, form=form, type="yesno", label=label,
                           branching=branching)


def loinc_annotation(item_code: str) -> str:
    """The verified LOINC code of an ALSFRS-R item as a field annotation (only 3 items have
    one, :data:`alsrwe.interop.codes.ALSFRS_ITEM_CODES`); empty for the others."""
    return "; ".join(f"LOINC {code.code}" for code in ALSFRS_ITEM_CODES[item_code]
                     if code.system == LOINC and code.status is Status.VERIFIED)


def alsfrs_items(form: str, names: Mapping[str, str], gastrostomy: str, *,
                 annotate: bool = False) -> list[DictionaryField]:
    """The 13 ALSFRS-R questions as radio fields named by ``names`` (item code → field);
    5a and 5b shown by the answer to ``gastrostomy`` (a yesno field); ``annotate`` writes
    an item's verified LOINC code into its field annotation."""
    fields = []
    for item in ITEMS:
        if item.code not in names:
            continue
        choices = [(str(s), item.anchors[s]) for s in range(MAX_ITEM_SCORE, -1, -1)]
        branching = {"q5a": f"[{gastrostomy}] = '0'",
                     "q5b": f"[{gastrostomy}] = '1'"}.get(item.code, "")
        number = item.code.removeprefix("q")
        field = choice(names[item.code], form, f"{number}. {item.label}", choices,
                       branching=branching)
        if annotate:
            field = replace(field, annotation=loinc_annotation(item.code))
        fields.append(field)
    return fields


def plain_number(cell: str) -> str:
    """A number as REDCap's number validation reads it: no exponent (``1e-05`` → 0.00001)."""
    if "e" not in cell.lower():
        return cell
    try:
        return format(Decimal(cell), "f")
    except InvalidOperation:
        return cell


__all__ = ["DATE", "alsfrs_items", "choice", "coded", "loinc_annotation", "plain_number", "text",
           "value_label", "yesno"]
