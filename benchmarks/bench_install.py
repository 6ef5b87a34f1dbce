"""Benchmark the light install: the size of ``.venv`` after ``make demo`` on a fresh clone.

    python3 benchmarks/bench_install.py [--rev REV]

Clones this repository's committed ``HEAD`` (or ``REV``) into a temporary folder, runs ``make demo
NO_SERVE=1`` there (install, demo registry, report) and prints as JSON: the virtualenv's
size without byte code and with the byte code Python wrote while the demo ran (as a user's
first run leaves it; ``PYTHONDONTWRITEBYTECODE`` is unset for the run), the wall seconds of
``make demo``, and the largest installed packages. pip's cache makes a second run faster than
the first download. Record results, with the command and date, in docs/benchmarks.md
("Everyday speed").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mib(*paths: Path, byte_code: bool = True) -> dict[str, int]:
    """Disk usage in MiB, as ``du -sm`` counts it (what a user sees), of each path."""
    options = [] if byte_code else ["--exclude=__pycache__"]
    lines = subprocess.run(["du", "-sm", *options, *map(str, paths)], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    return {Path(path).name: int(size) for size, path in (line.split("\t") for line in lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to install (default HEAD)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "alsrwe"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "--quiet", args.rev], cwd=clone, check=True)
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        start = time.perf_counter()
        subprocess.run(["make", "demo", "NO_SERVE=1"], cwd=clone, env=environment, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        venv = clone / ".venv"
        site = next(venv.glob("lib/python*/site-packages"))
        packages = _mib(*site.iterdir(), byte_code=False)
        largest = sorted(packages.items(), key=lambda item: -item[1])[:12]
        json.dump({"venv_mib_without_byte_code": _mib(venv, byte_code=False)[".venv"],
                   "venv_mib_after_demo": _mib(venv)[".venv"],
                   "make_demo_s": round(seconds, 1),
                   "largest_mib": dict(largest)}, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
