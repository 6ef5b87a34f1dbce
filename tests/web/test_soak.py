"""The soak benchmark in a short form: a served app on PostgreSQL under concurrent reads and
read-modify-write corrections gives no error, loses no accepted write, keeps its audit chain.
(The full run — 50 clients for 10 minutes — is in docs/reliability.md.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).parents[2] / "benchmarks" / "soak.py"


@pytest.mark.postgres
def test_a_short_soak_has_no_errors_and_loses_no_write(postgres_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SOAK), "--clients", "12", "--duration", "20", "--patients", "40",
         "--port", "8079", "--database", "alsrwe_soak_ci"],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["errors"] == 0, result["error_kinds"]
    assert result["requests"] > 100
    assert result["accepted_writes"] > 0
    assert result["audited_writes"] == result["accepted_writes"]
    assert result["audit_chain"] == "intact"
