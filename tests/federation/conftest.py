"""A simulated network: one synthetic cohort split into 10 sites of 3–60 patients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.federation.coordinator import Coordinator
from alsrwe.federation.network import load_coordinator
from alsrwe.federation.rules import DisclosureRules
from alsrwe.federation.simulate import build_network, split_frames
from alsrwe.federation.site import Site
from alsrwe.federation.transport import LocalTransport
from alsrwe.synth import CohortParams, generate_cohort

SIZES = [3, 8, 12, 20, 25, 30, 40, 45, 55, 60]
NAMES = [f"site{i + 1:02d}" for i in range(len(SIZES))]


def synthetic_parts() -> list[dict[str, pd.DataFrame]]:
    """The cohort (most patients treated, visits every two months) split into the sites."""
    params = CohortParams(seed=7, n_patients=sum(SIZES), n_carriers=0, as_of=date(2026, 6, 1),
                          treatment_share=0.9, visit_interval_days=60,
                          treatment_available_from=date(2022, 1, 1))
    return split_frames(generate_cohort(params).tables(), SIZES, seed=1)


def union_cohort(parts: Sequence[dict[str, pd.DataFrame]], sites: Sequence[str]) -> Cohort:
    """The named sites' data in one place: what a centralised analysis would see."""
    chosen = [parts[NAMES.index(s)] for s in sites]
    names = {name for part in chosen for name in part}
    return Cohort.from_frames({n: pd.concat([p[n] for p in chosen if n in p], ignore_index=True)
                               for n in names})


class Network:
    """Folders, in-process sites and a coordinator over a local transport."""

    def __init__(self, root: Path, parts: list[dict[str, pd.DataFrame]],
                 rules: DisclosureRules | None = None) -> None:
        self.parts = parts
        self.coordinator_dir, self.site_dirs = build_network(root, parts, names=NAMES,
                                                             rules=rules)
        self.sites = [Site(d) for d in self.site_dirs]
        keys, manifest = load_coordinator(self.coordinator_dir)
        self.coordinator = Coordinator(keys, manifest, LocalTransport(self.sites))

    def site(self, name: str) -> Site:
        return self.sites[NAMES.index(name)]


@pytest.fixture(scope="session")
def parts() -> list[dict[str, pd.DataFrame]]:
    return synthetic_parts()


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory,
            parts: list[dict[str, pd.DataFrame]]) -> Network:
    return Network(tmp_path_factory.mktemp("network"), parts)
