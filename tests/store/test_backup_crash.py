"""Crash safety: `alsrwe backup` and `alsrwe restore` killed (SIGKILL) at random moments.

After every kill the backup FILE is absent or a complete, valid backup (never partial), and a
restore target is untouched or a complete restored registry (SQLite: ``PRAGMA
integrity_check`` clean and the row counts of one of the two; PostgreSQL: the row counts of
one of the two).

Python's start-up (~2 s of imports) would swallow most kills at a random moment of the whole
run, so each kill is aimed at the work itself: the test waits for the command's first
temporary file (the backup's staging folder beside FILE, the restore's staged file beside a
SQLite target or its payload folder under ``TMPDIR``), then kills at a random moment within
1.5 x the time an uninterrupted run takes from there until its temporaries are gone. The
process group is killed, so a running pg_dump or pg_restore dies with it.

``ALSRWE_CRASH_KILLS`` (default 52) is the number of kills over the four cases (two backends,
two commands); CI can lower it. ``ALSRWE_CRASH_SEED`` replays a run's moments.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.pool import NullPool

from alsrwe.interop.tidy_csv import write_frames
from alsrwe.store.backup import create_backup, restore_backup
from alsrwe.store.backup.archive import BackupArchive
from alsrwe.store.backup.snapshot import row_counts
from alsrwe.store.db import make_engine, migrate, unit_of_work
from alsrwe.store.reads.audit_log import verify_chain
from alsrwe.synth import CohortParams, generate_cohort
from tests.conftest import BACKENDS, _empty_postgres_schema
from tests.store.test_backup import TODAY, extra_postgres_database, populate

KILLS = int(os.environ.get("ALSRWE_CRASH_KILLS", "52"))
PER_CASE = max(1, math.ceil(KILLS / 4))
SEED = int(os.environ.get("ALSRWE_CRASH_SEED", str(random.SystemRandom().randrange(10**6))))
ALSRWE = str(Path(sys.executable).with_name("alsrwe"))
POLL_S = 0.002


class Command:
    """One `alsrwe` command line, and where its first temporary file shows that work began."""

    def __init__(self, args: list[str], watch: Path, prefix: str) -> None:
        self.args, self.watch, self.prefix = args, watch, prefix
        self.work_s = 0.0
        self.env = {**os.environ, "TMPDIR": str(watch)}

    def _started(self) -> bool:
        return any(name.startswith(self.prefix) for name in os.listdir(self.watch))

    def _start(self, extra: list[str]) -> tuple[subprocess.Popen[bytes], bool]:
        """Start it; wait until its work begins (False: it ended first)."""
        process = subprocess.Popen([ALSRWE, *self.args, *extra], env=self.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
        while not self._started():
            if process.poll() is not None:
                return process, False
            time.sleep(POLL_S)
        return process, True

    def calibrate(self) -> None:
        """One uninterrupted run: it succeeds, and how long its work takes (until its
        temporary files are gone: the rename is done; what follows is Python's exit)."""
        process, started = self._start([])
        began = time.monotonic()
        while self._started() and process.poll() is None:
            time.sleep(POLL_S)
        self.work_s = max(time.monotonic() - began, 0.01)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0 and started, stderr.decode()

    def kill_at_random(self, rng: random.Random, extra: list[str]) -> bool:
        """Run it and SIGKILL its process group during its work; False if it ended first."""
        process, started = self._start(extra)
        if started:
            time.sleep(rng.uniform(0, 1.5 * self.work_s))
        running = process.poll() is None
        if running:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        return running


def kill_repeatedly(command: Command, check: Callable[[int], str],
                    prepare: Callable[[int], list[str]] = lambda _: []) -> Counter[str]:
    """PER_CASE kills (a run that ended before its kill does not count), each then checked."""
    rng = random.Random(f"{SEED}-{command.args[0]}-{command.prefix}")
    outcomes: Counter[str] = Counter()
    attempts = 0
    while outcomes["kills"] < PER_CASE and attempts < 4 * PER_CASE:
        attempts += 1
        if command.kill_at_random(rng, prepare(attempts)):
            outcomes["kills"] += 1
            outcomes[check(attempts)] += 1
        else:
            outcomes["ended before its kill"] += 1
    assert outcomes["kills"] == PER_CASE, f"seed {SEED}: {outcomes}"
    print(f"\n{command.args[0]} {command.args[-1].split(':')[0]} (seed {SEED}, work "
          f"{command.work_s:.2f} s): {dict(outcomes)}")
    return outcomes


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crash-cohort")
    write_frames(generate_cohort(CohortParams(seed=11, n_patients=60, n_carriers=5,
                                              as_of=TODAY)).tables(), folder)
    return folder


@pytest.fixture
def registry(backend: str, engine: Engine, cohort: Path) -> str:
    populate(engine, cohort)
    return engine.url.render_as_string(hide_password=False)


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return row_counts(connection) if inspect(connection).get_table_names() else {}
    finally:
        engine.dispose()


def _intact_sqlite(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_backup_leaves_no_partial_file(registry: str, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    file = folder / "registry.backup"
    command = Command(["backup", str(file), "--database", registry], folder, f".{file.name}.")
    command.calibrate()
    before: dict[int, str | None] = {}

    def sha(path: Path) -> str:
        with BackupArchive(path) as archive:  # complete: the payload matches its sha256
            archive.extract_payload(tmp_path / "payload")
        (tmp_path / "payload").unlink()
        return archive.manifest.payload_sha256

    reference = tmp_path / "reference.backup"
    shutil.copyfile(file, reference)

    def prepare(attempt: int) -> list[str]:
        file.unlink(missing_ok=True)
        if attempt % 2 == 0:  # every other run writes over an older backup of that name
            shutil.copyfile(reference, file)
        before[attempt] = sha(file) if file.exists() else None
        return []

    def check(attempt: int) -> str:
        for leftover in folder.iterdir():  # besides FILE, only a killed run's temporaries
            assert leftover == file or leftover.name.startswith(f".{file.name}."), leftover
        if not file.exists():
            assert before[attempt] is None, f"seed {SEED}: the previous backup is gone"
            return "no file"
        if sha(file) == before[attempt]:
            return "the older backup, complete"
        return "the new backup, complete"

    kill_repeatedly(command, check, prepare)
    if registry.startswith("sqlite"):
        _intact_sqlite(Path(registry.removeprefix("sqlite:///")))
    engine = make_engine(registry)
    try:
        with unit_of_work(engine, read_only=True) as session:
            assert verify_chain(session) is None  # the registry's trail survived every kill
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_crash_target(postgres_url: str) -> Iterator[str]:
    with extra_postgres_database("crash") as url:
        yield url


@pytest.fixture
def restore_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'target' / 'restored.db'}"
    url: str = request.getfixturevalue("postgres_crash_target")
    return url


def _reset(url: str, old_backup: Path | None) -> None:
    """The target before a run: absent (SQLite) or empty, or holding the old registry."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(exist_ok=True)
        for leftover in path.parent.iterdir():  # the target and a killed run's temporaries
            leftover.unlink()
    else:
        _empty_postgres_schema(url)
    if old_backup is not None:
        restore_backup(old_backup, url)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_restore_leaves_the_target_untouched_or_complete(
        registry: str, restore_target: str, tmp_path: Path) -> None:
    file, old = tmp_path / "registry.backup", tmp_path / "old.backup"
    new_counts = create_backup(registry, file).snapshot.row_counts
    _reset(restore_target, None)  # the old registry: a new, empty one on the same backend
    engine = make_engine(restore_target)
    migrate(engine)
    engine.dispose()
    old_counts = create_backup(restore_target, old).snapshot.row_counts
    assert new_counts != old_counts
    sqlite = restore_target.startswith("sqlite")
    target = Path(restore_target.removeprefix("sqlite:///"))
    watch = target.parent if sqlite else tmp_path / "tmp"
    watch.mkdir(exist_ok=True)
    command = Command(["restore", str(file), "--database", restore_target], watch,
                      f".{target.name}.restore-" if sqlite else "alsrwe-restore-")
    _reset(restore_target, None)
    command.calibrate()

    def prepare(attempt: int) -> list[str]:
        with_old = attempt % 2 == 0  # every other run replaces the old registry
        _reset(restore_target, old if with_old else None)
        return ["--replace"] if with_old else []

    def check(attempt: int) -> str:
        with_old = attempt % 2 == 0
        if sqlite and not target.exists():
            assert not with_old, f"seed {SEED}: the old registry is gone"
            return "untouched (no file)"
        if sqlite:
            _intact_sqlite(target)
        counts = _counts(restore_target)
        if counts == new_counts:
            return "complete restore"
        if with_old:
            assert counts == old_counts, f"seed {SEED}: {counts}"
            return "untouched (the old registry)"
        assert counts == {}, f"seed {SEED}: {counts}"
        return "untouched (empty)"

    kill_repeatedly(command, check, prepare)
