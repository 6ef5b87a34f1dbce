"""Benchmark the light install: the size of ``.venv`` after ``make demo`` on a fresh clone.

    python3 benchmarks/bench_install.py

Clones this repository's committed ``HEAD`` into a temporary folder, runs ``make demo
NO_SERVE=1`` there (install, demo registry, report) and prints as JSON: the virtualenv's
size without byte code and with the byte code Python wrote while the demo ran (as a user's
first run leaves it; ``PYTHONDONTWRITEBYTECODE`` is unset for the run), the wall seconds of
``make demo``, and the largest installed packages. pip's cache makes a second run faster than
the first download. Record results, with the command and date, in docs/benchmarks.md
("Everyday speed").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _size(path: Path, *, byte_code: bool = True) -> int:
    return sum(p.stat().st_size for p in path.rglob("*")
               if p.is_file() and not p.is_symlink()
               and (byte_code or "__pycache__" not in p.parts))


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "alsrwe"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        start = time.perf_counter()
        subprocess.run(["make", "demo", "NO_SERVE=1"], cwd=clone, env=environment, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        venv = clone / ".venv"
        site = next(venv.glob("lib/python*/site-packages"))
        packages = sorted(((_size(p, byte_code=False) if p.is_dir() else p.stat().st_size, p.name)
                           for p in site.iterdir()), reverse=True)
        mib = 1024 * 1024
        json.dump({"venv_mib_without_byte_code": round(_size(venv, byte_code=False) / mib),
                   "venv_mib_after_demo": round(_size(venv) / mib),
                   "make_demo_s": round(seconds, 1),
                   "largest_mib": {name: round(size / mib, 1) for size, name in packages[:12]}},
                  sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
