"""Benchmark the exact federated mixed model (``pooled_lmm``): wall time and bytes exchanged.

    .venv/bin/python benchmarks/bench_federation.py --sites 10 --patients 1000 --repeat 3
    .venv/bin/python benchmarks/bench_federation.py --sites 100 --patients 10000 --repeat 1

Every site is a real site folder (keys, pinned manifest, ``site.json``, ledger) answering
through the real ``Site.answer_bytes``: signatures, disclosure rules, the ledger (with its
fsync per entry) and pairwise masks are the code a clinic runs. The sites live in this
process behind ``LocalTransport``, which hands each site the exact bytes of the request and
returns the exact bytes of its answer that HTTP would carry (no network time, no HTTP
headers). Generating a million patients with the registry synthesiser takes too long, so
each site's mixed-model rows are simulated directly (a random intercept and slope per
patient, a visit every 2-3 months for 1-4 years, a change of slope at a start per patient)
and the site's ``local_data`` is replaced by its ``LocalData`` computed from those rows with
``sufficient_stats``; everything after that is unchanged.

Reported: rounds, wall time of ``pooled_lmm`` (median of ``--repeat`` runs on one network),
bytes sent and received by the coordinator, peak RSS after the federated runs, the fit of
the concatenated rows in one place (``fit_lmm``) with its time and the largest relative
difference of the fixed effects, and where the federated time goes (one instrumented run).
``--profile`` prints cProfile's top functions of one more run. Only synthetic data.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import math
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast
from unittest import mock

import numpy as np
import pandas as pd

from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.lmm import fit_lmm, sufficient_stats
from alsrwe.analytics.lmm.result import LmmResult
from alsrwe.federation import coordinator as coordinator_module
from alsrwe.federation import keys as keys_module
from alsrwe.federation import ledger as ledger_module
from alsrwe.federation import secure_sum
from alsrwe.federation import site as site_module
from alsrwe.federation.coordinator import Coordinator
from alsrwe.federation.network import (
    init_coordinator,
    init_site,
    issue_manifest,
    join,
    load_coordinator,
)
from alsrwe.federation.pooled import PooledLmm, pooled_lmm
from alsrwe.federation.protocol import LmmSpec
from alsrwe.federation.site import Site
from alsrwe.federation.site_data import LocalData, local_data
from alsrwe.federation.transport import Answerer, LocalTransport

Y, FIXED, GROUP, SLOPE = "total", ["t", "t_post"], "patient_id", "t"
ID_STRIDE = 10_000_000  # patient ids are site × stride + i: unique over the network


def simulate_site(site: int, patients: int, seed: int) -> pd.DataFrame:
    """One site's mixed-model rows: total = 40 + b0 + slope·t + effect·t_post + noise."""
    rng = np.random.default_rng([seed, site])
    interval = rng.uniform(2.0, 3.0, patients)  # months between visits
    follow = rng.uniform(12.0, 48.0, patients)  # months of follow-up
    visits = np.floor(follow / interval).astype(np.int64) + 1
    start = rng.uniform(0.3, 0.7, patients) * follow  # treatment start, months
    b0 = rng.normal(0.0, 4.0, patients)
    slope = rng.normal(-0.9, 0.35, patients)  # points per month before treatment
    effect = 0.45  # points per month less decline on treatment
    who = np.repeat(np.arange(patients), visits)
    first = np.cumsum(visits) - visits
    k = np.arange(who.size) - np.repeat(first, visits)
    t = k * interval[who] + rng.uniform(-0.25, 0.25, who.size) * (k > 0)
    t_post = np.maximum(t - start[who], 0.0)
    total = 40.0 + b0[who] + slope[who] * t + effect * t_post + rng.normal(0.0, 1.5, who.size)
    return pd.DataFrame({GROUP: site * ID_STRIDE + who, "t": t, "t_post": t_post, Y: total})


class HeldData:
    """Stands in for a site's cohort: ``local_data`` of it is the precomputed LocalData."""

    def __init__(self, data: LocalData) -> None:
        self.data = data


def _local_data(original: Callable[..., LocalData]) -> Callable[..., LocalData]:
    def held_local_data(cohort: Any, spec: Any) -> LocalData:
        return cohort.data if isinstance(cohort, HeldData) else original(cohort, spec)
    return held_local_data


def site_data(rows: pd.DataFrame) -> LocalData:
    """What ``site_data._lmm_data`` returns for these rows (3 fixed effects + 4 = 7)."""
    stats = sufficient_stats(rows, Y, FIXED, GROUP, SLOPE)
    ids = frozenset(rows[GROUP].unique().astype(str))
    return LocalData(patients=ids, rows=len(rows), parameters=len(FIXED) + 1 + 4, stats=stats)


def build(root: Path, n_sites: int, held: list[LocalData]) -> Coordinator:
    """Real folders for a coordinator and the sites, joined; sites answer from ``held``."""
    coordinator_dir = root / "coordinator"
    init_coordinator(coordinator_dir, "coordinator")
    empty = root / "empty"
    empty.mkdir()
    dirs = [root / f"site{i + 1:03d}" for i in range(n_sites)]
    for d in dirs:
        init_site(d, d.name, coordinator_dir / "keys" / "card.json", csv_dir=str(empty))
    manifest = root / "network.json"
    issue_manifest(coordinator_dir, "bench", [d / "keys" / "card.json" for d in dirs], manifest)
    for d in dirs:
        join(d, manifest)
    sites = [Site(d, cohort=cast(Cohort, HeldData(data))) for d, data in zip(dirs, held,
                                                                            strict=True)]
    keys, signed = load_coordinator(coordinator_dir)
    # Site.name is a read-only property where Answerer declares an attribute
    return Coordinator(keys, signed, LocalTransport(cast(list[Answerer], sites)))


# --- where the time goes -----------------------------------------------------------------

# (module, attribute, bucket): the coarse steps of a round; none of them calls another.
_STEPS = [
    (site_module, "lmm_sums", "site: sums over patients"),
    (site_module, "lmm_totals", "site: sums over patients"),
    (secure_sum, "mask", "site: masking (secure_sum.mask)"),
    (keys_module.KeyPair, "pair_seed", "site: pair seeds (X25519 + HKDF)"),
    (secure_sum, "encode", "site: fixed-point encode / pack"),
    (secure_sum, "pack", "site: fixed-point encode / pack"),
    (site_module, "sign", "signing (Ed25519)"),
    (coordinator_module, "sign", "signing (Ed25519)"),
    (site_module, "check_signature", "verifying signatures"),
    (coordinator_module, "check_signature", "verifying signatures"),
    (site_module, "encode_message", "JSON encode / decode (pydantic)"),
    (coordinator_module, "encode_message", "JSON encode / decode (pydantic)"),
    (site_module, "decode_message", "JSON encode / decode (pydantic)"),
    (coordinator_module, "decode_message", "JSON encode / decode (pydantic)"),
    (ledger_module.Ledger, "record", "ledger: append (incl. fsync)"),
    (ledger_module.Ledger, "entries", "ledger: re-read and parse"),
    (ledger_module.Ledger, "digests", "ledger: patient digests"),
    (secure_sum, "unpack", "coordinator: unpack / add / decode"),
    (secure_sum, "aggregate", "coordinator: unpack / add / decode"),
    (secure_sum, "decode", "coordinator: unpack / add / decode"),
]


@contextlib.contextmanager
def timed_steps(out: dict[str, float]) -> Iterator[None]:
    """Add each step's seconds to ``out`` (and os.fsync's, inside the ledger's append)."""
    def wrap(fn: Callable[..., Any], bucket: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                out[bucket] = out.get(bucket, 0.0) + time.perf_counter() - start
        return timed

    with contextlib.ExitStack() as stack:
        for owner, name, bucket in _STEPS:
            stack.enter_context(mock.patch.object(owner, name, wrap(getattr(owner, name),
                                                                   bucket)))
        stack.enter_context(mock.patch.object(os, "fsync",
                                              wrap(os.fsync, "  of which os.fsync")))
        yield


def run(coordinator: Coordinator) -> tuple[PooledLmm, float]:
    start = time.perf_counter()
    pooled = pooled_lmm(coordinator, LmmSpec())
    return pooled, time.perf_counter() - start


def max_rel(fit: LmmResult, central: LmmResult) -> float:
    return max(abs(fit.fixed[t] - central.fixed[t]) / abs(central.fixed[t])
               for t in central.fixed)


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--patients", type=int, default=1000, help="patients per site")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="cProfile one more run")
    parser.add_argument("--breakdown-in-timed-run", action="store_true",
                        help="time the steps within the (last) timed run instead of a run "
                             "of its own (for a network that takes minutes per run)")
    parser.add_argument("--no-central", action="store_true",
                        help="skip the fit of the concatenated rows")
    args = parser.parse_args()

    start = time.perf_counter()
    held = [site_data(simulate_site(i, args.patients, args.seed)) for i in range(args.sites)]
    n_rows = sum(d.rows for d in held)
    print(f"simulated {args.sites} sites: {n_rows:,} rows in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory() as scratch, \
            mock.patch("alsrwe.federation.site.local_data", _local_data(local_data)):
        coordinator = build(Path(scratch), args.sites, held)
        steps: dict[str, float] = {}
        inside = args.breakdown_in_timed_run
        runs = [run(coordinator) for _ in range(args.repeat - inside)]
        with timed_steps(steps):
            extra = run(coordinator)
        if inside:
            runs.append(extra)
        instrumented = extra[1]
        pooled = runs[-1][0]
        peak_federated = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        profile_text = ""
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(run, coordinator)
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
            profile_text = text.getvalue()
    enrolment, fit = pooled.enrolment, pooled.fit
    seconds = [s for _, s in runs]

    central_s, rel = math.nan, math.nan
    if not args.no_central:
        del held
        rows = pd.concat([simulate_site(i, args.patients, args.seed)
                          for i in range(args.sites)], ignore_index=True)
        start = time.perf_counter()
        central = fit_lmm(rows, Y, FIXED, GROUP, SLOPE)
        central_s = time.perf_counter() - start
        rel = max_rel(fit, central)
        assert central.n_obs == fit.n_obs == n_rows and central.n_groups == fit.n_groups
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    print("| sites | patients | rows | rounds | pooled_lmm s | sent | received "
          "| peak RSS (federated / with central) | central fit_lmm s "
          "| max rel. diff. fixed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    what = f"median of {len(seconds)}" if len(seconds) > 1 else "1 run"
    print(f"| {args.sites} | {fit.n_groups:,} | {n_rows:,} | {enrolment.rounds} "
          f"| {statistics.median(seconds):.2f} ({what}) | {enrolment.bytes_sent / 1024:,.0f} KiB "
          f"| {enrolment.bytes_received / 1024:,.0f} KiB | {_mib(peak_federated)} / {_mib(peak)} "
          f"| {central_s:.2f} | {rel:.1e} |")
    per = enrolment.rounds * args.sites
    print(f"\nruns (s): {', '.join(f'{s:.2f}' for s in seconds)}; bytes per round per site: "
          f"sent {enrolment.bytes_sent / per:,.0f}, received {enrolment.bytes_received / per:,.0f}"
          f"; converged {fit.converged}; fixed {dict(fit.fixed)}")
    which = "the last timed run" if args.breakdown_in_timed_run else "a run of its own"
    print(f"\nsteps timed in {which}: {instrumented:.2f} s")
    for bucket, s in sorted(steps.items(), key=lambda kv: -kv[1]):
        if not bucket.startswith("  "):
            print(f"  {bucket:<40} {s:8.2f} s  {100 * s / instrumented:5.1f} %")
        if bucket.startswith("ledger: append") and "  of which os.fsync" in steps:
            fsync = steps["  of which os.fsync"]
            print(f"  {'  of which os.fsync':<40} {fsync:8.2f} s  "
                  f"{100 * fsync / instrumented:5.1f} %")
    rest = instrumented - sum(s for b, s in steps.items() if not b.startswith("  "))
    print(f"  {'rest (optimiser, requests, transport)':<40} {rest:8.2f} s  "
          f"{100 * rest / instrumented:5.1f} %")
    if profile_text:
        print("\ncProfile of one run (by own time):\n" + profile_text)


if __name__ == "__main__":
    main()
