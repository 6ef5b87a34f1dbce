"""``alsrwe serve --workers 2``: worker processes sharing the port, and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from alsrwe.store.db import make_engine, migrate


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, set[int]]:
    """``alsrwe serve --workers 2`` on a free port, once both workers run and it answers."""
    url = f"sqlite:///{tmp_path / 'alsrwe.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    port = _free_port()
    command = [str(Path(sys.executable).with_name("alsrwe")), "serve", "--port", str(port),
               "--workers", "2", "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, env={**os.environ, "ALSRWE_DATABASE_URL": url})
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "the server stopped"
        assert time.monotonic() < deadline, "the server did not start within 60 s"
        workers = {p for p in _children(server.pid) if "resource_tracker" not in _cmdline(p)}
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code
        except httpx.HTTPError:
            answer = None
        if len(workers) == 2 and answer == 200:
            return server, port, workers
        time.sleep(0.2)


def test_two_workers_serve_the_port_and_stop_together(tmp_path: Path) -> None:
    server, port, workers = _start(tmp_path)
    try:
        for _ in range(20):  # fresh connections, spread over both workers by the kernel
            assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert not any(Path(f"/proc/{p}").exists() for p in workers)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_a_worker_that_dies_ends_the_service_with_an_error(tmp_path: Path) -> None:
    server, _, workers = _start(tmp_path)
    try:
        first, *others = sorted(workers)
        os.kill(first, signal.SIGKILL)
        assert server.wait(timeout=30) == 1
        assert not any(Path(f"/proc/{p}").exists() for p in others)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alsrwe.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(Path(sys.executable).with_name("alsrwe")), "serve", "--port", str(port),
             "--workers", "2"],
            env={**os.environ, "ALSRWE_DATABASE_URL": url}, capture_output=True, text=True,
            timeout=60)
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
