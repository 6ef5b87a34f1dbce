"""Benchmark the synthetic cohort generator: rows per table, seconds and peak RSS.

    .venv/bin/python benchmarks/bench_synth.py --patients 10000 100000 1000000

Each size runs in a fresh process so that peak RSS belongs to that size alone. Record results,
with the command and date, in docs/benchmarks.md ("Synthetic cohort generator").
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _measure(n_patients: int, carriers_per_patient: float, seed: int) -> dict[str, object]:
    from alsrwe.synth import CohortParams, generate_cohort

    params = CohortParams(
        seed=seed, n_patients=n_patients, n_carriers=int(n_patients * carriers_per_patient)
    )
    cpu_start = time.process_time()
    start = time.perf_counter()
    cohort = generate_cohort(params)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    rows = {name: len(frame) for name, frame in cohort.tables().items()}
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "patients": n_patients,
        "carriers": params.n_carriers,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "rows": rows,
        "total_rows": sum(rows.values()),
        "peak_rss_mib": round(peak_kib / 1024),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--carriers-per-patient", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = _measure(args.patients[0], args.carriers_per_patient, args.seed)
        print(json.dumps(result))
        return
    for n in args.patients:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--patients", str(n),
             "--carriers-per-patient", str(args.carriers_per_patient), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        result = json.loads(out.stdout)
        rows = result["rows"]
        assert isinstance(rows, dict)
        print(f"patients={n:>9,} carriers={result['carriers']:>7,} "
              f"seconds={result['seconds']:>7} cpu={result['cpu_seconds']:>7} "
              f"peak_rss={result['peak_rss_mib']:>6} MiB "
              f"total_rows={result['total_rows']:,}")  # fmt: skip
        for name, count in rows.items():
            print(f"    {name:<16} {count:>12,}")


if __name__ == "__main__":
    main()
