"""A simulated network: one synthetic cohort split into sites, each with its own folder.

For the tests, the benchmark and a demonstration: the union of the sites is the whole
synthetic cohort, so every pooled analysis can be compared with the same analysis of the
union in one place. Only synthetic people.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alsrwe.federation.network import init_coordinator, init_site, issue_manifest, join
from alsrwe.federation.rules import DisclosureRules


def split_frames(frames: dict[str, pd.DataFrame], sizes: Sequence[int],
                 seed: int = 0, *, spread_carriers: bool = False) -> list[dict[str, pd.DataFrame]]:
    """The tidy tables split by patient into sites of ``sizes`` patients with ALS (carriers
    and any patients left over go to the last site; with ``spread_carriers`` the carriers are
    dealt to the sites in proportion to ``sizes``); every row keeps its patient."""
    patients = frames["patients"]
    ids = patients.loc[patients["status"] == "patient", "patient_id"].astype(str).to_numpy()
    if sum(sizes) > len(ids):
        raise ValueError(f"the cohort has {len(ids)} patients, the sites need {sum(sizes)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(ids)
    owner: dict[str, int] = {}
    start = 0
    for site, size in enumerate(sizes):
        owner.update(dict.fromkeys(order[start:start + size], site))
        start += size
    if spread_carriers:
        carriers = rng.permutation(patients.loc[patients["status"] == "carrier", "patient_id"]
                                   .astype(str).to_numpy())
        shares = np.cumsum(sizes) / sum(sizes)
        for rank, carrier in enumerate(carriers):
            owner[carrier] = int(np.searchsorted(shares, (rank + 0.5) / len(carriers)))
    last = len(sizes) - 1
    out: list[dict[str, pd.DataFrame]] = [{} for _ in sizes]
    for name, frame in frames.items():
        if "patient_id" not in frame.columns:
            continue
        site_of = frame["patient_id"].astype(str).map(owner).fillna(last).astype(int)
        for site in range(len(sizes)):
            out[site][name] = frame[site_of.to_numpy() == site].reset_index(drop=True)
    return out


def build_network(root: Path, site_frames: Sequence[dict[str, pd.DataFrame]], *,
                  network: str = "sim", rules: DisclosureRules | None = None,
                  names: Sequence[str] | None = None) -> tuple[Path, list[Path]]:
    """Folders for a coordinator and one site per frame set (tidy CSV data), joined."""
    from alsrwe.interop.tidy_csv import write_frames  # noqa: PLC0415 - only for simulations

    coordinator = root / "coordinator"
    init_coordinator(coordinator, "coordinator")
    names = list(names or [f"site{i + 1:02d}" for i in range(len(site_frames))])
    site_dirs = []
    for name, frames in zip(names, site_frames, strict=True):
        data = root / "data" / name
        write_frames(frames, data)
        site = root / name
        init_site(site, name, coordinator / "keys" / "card.json", csv_dir=str(data),
                  rules=rules)
        site_dirs.append(site)
    manifest = root / "network.json"
    issue_manifest(coordinator, network, [d / "keys" / "card.json" for d in site_dirs], manifest)
    for site in site_dirs:
        join(site, manifest)
    return coordinator, site_dirs


__all__ = ["build_network", "split_frames"]
