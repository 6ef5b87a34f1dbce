"""Running the web app (``alsrwe serve``): one process, or several sharing the port.

With ``workers > 1`` each worker process opens its own listening socket on the same port
with ``SO_REUSEPORT``, so the kernel spreads new connections evenly over the workers.
uvicorn's own ``--workers`` shares one socket instead, and whichever worker wakes first
accepts every pending connection: 50 clients connecting at once were split 42/8 or 43/7
between two workers in the load benchmark, leaving one core idle while the other queued.

The parent only starts the workers and waits. Told to stop (SIGTERM, Ctrl-C), it stops them
all and exits 0. When a worker ends by itself, the others are stopped and the parent exits 1,
so a process manager (systemd, a container runtime) sees the service fail and restarts it,
rather than it running on with fewer workers.

Behind a TLS reverse proxy (docs/deployment.md), the proxy's ``X-Forwarded-Proto`` and
``X-Forwarded-For`` are believed from the addresses in ``settings.forwarded_allow_ips``
(``ALSRWE_FORWARDED_ALLOW_IPS``, passed to uvicorn as its ``forwarded_allow_ips``), and from
the loopback addresses only when it is unset.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
from types import FrameType

import uvicorn

from alsrwe.domain.errors import Conflict
from alsrwe.store.db import current_revision, head_revision, make_engine
from alsrwe.web.app import create_app
from alsrwe.web.settings import WebSettings

BACKLOG = 2048
"""Pending connections per listening socket (uvicorn's default)."""


class DatabaseNotReady(Conflict):
    """The database schema is not at the revision this version of alsrwe needs."""


def check_schema(settings: WebSettings) -> None:
    """Raise DatabaseNotReady when the schema is not at this version's revision."""
    engine = make_engine(settings.database_url)
    try:
        found, wanted = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    if found != wanted:
        raise DatabaseNotReady(
            f"the database is at schema revision {found or 'none'}, not {wanted}: "
            f"run `alsrwe init` to create or upgrade it"
        )


def _config(settings: WebSettings, access_log: bool, log_level: str,
            host: str = "127.0.0.1", port: int = 8000) -> uvicorn.Config:
    return uvicorn.Config(create_app(settings), host=host, port=port, proxy_headers=True,
                          forwarded_allow_ips=settings.forwarded_allow_ips,
                          server_header=False, access_log=access_log, log_level=log_level)


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, settings: WebSettings, access_log: bool,
            log_level: str) -> None:
    sock = _listening_socket(host, port)
    server = uvicorn.Server(_config(settings, access_log, log_level))
    server.run(sockets=[sock])


def serve(host: str, port: int, settings: WebSettings, *, workers: int = 1,
          access_log: bool = True, log_level: str = "info") -> None:
    """Serve the app until interrupted; ``workers`` processes share the port.

    Raises DatabaseNotReady when the schema is not at this version's revision (run
    ``alsrwe init`` first), rather than failing on the first request, and OSError when the
    port cannot be bound. A port is shared only by processes that all ask for it: a server
    started without ``SO_REUSEPORT`` makes the bind fail here.
    """
    check_schema(settings)
    if workers <= 1:
        uvicorn.Server(_config(settings, access_log, log_level, host=host, port=port)).run()
        return
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("several workers need SO_REUSEPORT (Linux, BSD, macOS)")
    _listening_socket(host, port).close()  # fail here, once, if the port is taken
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port, settings, access_log, log_level),
                        name=f"alsrwe-web-{n}")
        for n in range(workers)
    ]

    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        for process in processes:
            if process.is_alive() and signum != signal.SIGINT:  # Ctrl-C reaches them already
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.start()
    first: list[multiprocessing.process.BaseProcess] = []
    try:
        ended = multiprocessing.connection.wait([p.sentinel for p in processes])
        first = [p for p in processes if p.sentinel in ended]
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
    if not stopping:  # a worker ended by itself: say so, and end as a failed service
        codes = ", ".join(str(p.exitcode) for p in first)
        sys.exit(f"a web worker stopped (exit code {codes}); the other workers were stopped")


__all__ = ["DatabaseNotReady", "check_schema", "serve"]
