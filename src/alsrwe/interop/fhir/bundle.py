"""Bundles of alsrwe's resources: a collection, a transaction (PUT by id) or a searchset.

A transaction PUTs each resource at its deterministic id (``Patient/BER-0017``), so a FHIR
server that receives the same export twice updates, never duplicates. The ``fullUrl`` is the
resource's address under alsrwe's canonical base. No timestamp: the same registry gives the
same bytes. The resources are validated when built (:func:`~.validate.validated`), the
Bundle around them here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alsrwe.interop.codes import ALSRWE_BASE
from alsrwe.interop.fhir.validate import validated

KINDS = ("collection", "transaction", "searchset")


def bundle_of(resources: Sequence[dict[str, Any]], kind: str = "collection") -> dict[str, Any]:
    """The resources as a Bundle of ``kind`` (collection, transaction or searchset)."""
    if kind not in KINDS:
        raise ValueError(f"a Bundle of alsrwe's is a {', '.join(KINDS)}, not {kind!r}")
    entries = []
    for resource in resources:
        url = f"{resource['resourceType']}/{resource['id']}"
        entry: dict[str, Any] = {"fullUrl": f"{ALSRWE_BASE}/{url}"}
        if kind == "searchset":
            entry["search"] = {"mode": "match"}
        elif kind == "transaction":
            entry["request"] = {"method": "PUT", "url": url}
        entries.append(entry)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": kind}
    if kind == "searchset":
        bundle["total"] = len(entries)
    if entries:
        bundle["entry"] = entries
    shell = validated(bundle)  # the resources themselves were validated when built
    for entry, resource in zip(shell.get("entry", []), resources, strict=True):
        entry["resource"] = resource
        for key in ("search", "request"):
            if key in entry:
                entry[key] = entry.pop(key)  # the specification's order: after the resource
    return shell


__all__ = ["KINDS", "bundle_of"]
