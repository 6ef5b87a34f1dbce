"""Benchmark `alsrwe analyze`: the whole cohort report, in a fresh process each run.

    .venv/bin/python benchmarks/bench_report.py --patients 300 --repeat 5

A seeded synthetic registry of the demo's shape (``alsrwe demo``: 3 sites, ``--patients``
patients, 40 carriers per 300) is created once in a temporary SQLite file; then ``alsrwe
analyze`` writes the report into a new folder ``--repeat`` times. Wall seconds of each run,
start-up included, and the median, min and max are printed as JSON. Record results, with the
command and date, in docs/benchmarks.md ("Everyday speed").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALSRWE = Path(sys.executable).with_name("alsrwe")


def demo_registry(folder: Path, patients: int) -> str:
    """The URL of a new SQLite demo registry in ``folder`` (40 carriers per 300 patients)."""
    url = f"sqlite:///{folder / 'bench.db'}"
    subprocess.run([str(ALSRWE), "demo", "--database", url, "--patients", str(patients),
                    "--carriers", str(max(1, patients * 40 // 300))],
                   check=True, capture_output=True)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = demo_registry(Path(scratch), args.patients)
        runs = []
        for run in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([str(ALSRWE), "analyze", "--database", url, "--out",
                            str(Path(scratch) / f"report{run}")], check=True,
                           capture_output=True)
            runs.append(time.perf_counter() - start)
    print(json.dumps({"patients": args.patients, "runs": [round(r, 2) for r in runs],
                      "median_s": round(statistics.median(runs), 2),
                      "min_s": round(min(runs), 2), "max_s": round(max(runs), 2)}))


if __name__ == "__main__":
    main()
