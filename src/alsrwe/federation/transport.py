"""How requests reach the sites and answers come back: in process, by files, or over HTTP.

All three carry the same bytes (``protocol``); none of them is trusted for anything but
delivery, since requests are signed by the coordinator and answers by the sites.

* ``FileTransport``: the coordinator writes ``requests/NAME.json`` in an exchange folder and
  waits for ``answers/SITE/NAME.json`` from each site (written by ``alsrwe federate answer``,
  by hand for e-mail and air gaps, or by ``--watch`` on a shared folder).
* ``HttpTransport``: POST to each site's ``/federation/v1/answer`` (``alsrwe federate
  serve``), the sites in parallel.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from alsrwe.federation.errors import FederationError
from alsrwe.federation.protocol import Request

ANSWER_PATH = "/federation/v1/answer"


class Answerer(Protocol):
    @property
    def name(self) -> str: ...

    def answer_bytes(self, data: bytes) -> bytes: ...


class Transport(Protocol):
    def exchange(self, request: Request, data: bytes,
                 sites: Sequence[str]) -> dict[str, bytes]: ...


class LocalTransport:
    """Sites in this process (tests, simulations)."""

    def __init__(self, sites: Sequence[Answerer]) -> None:
        self.sites = {s.name: s for s in sites}

    def exchange(self, request: Request, data: bytes, sites: Sequence[str]) -> dict[str, bytes]:
        return {name: self.sites[name].answer_bytes(data) for name in sites}


def request_name(request: Request) -> str:
    """The file name of a request (and of its answers) in an exchange folder."""
    return f"{request.analysis.id}-{request.round:04d}-{request.step}.json"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary name, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class FileTransport:
    """Requests and answers as files in an exchange folder."""

    def __init__(self, folder: Path, timeout: float = 600.0, poll: float = 0.02) -> None:
        self.folder, self.timeout, self.poll = folder, timeout, poll

    def exchange(self, request: Request, data: bytes, sites: Sequence[str]) -> dict[str, bytes]:
        name = request_name(request)
        write_atomically(self.folder / "requests" / name, data)
        deadline = time.monotonic() + self.timeout
        pending = {s: self.folder / "answers" / s / name for s in sites}
        out: dict[str, bytes] = {}
        while pending:
            for site, path in list(pending.items()):
                if path.exists():
                    out[site] = path.read_bytes()
                    del pending[site]
            if pending:
                if time.monotonic() > deadline:
                    raise FederationError("answers", f"no answer to {name} from "
                                                     f"{', '.join(sorted(pending))} within "
                                                     f"{self.timeout:g} s",
                                          code="federation.transport.timeout")
                time.sleep(self.poll)
        return out


class HttpTransport:
    """POST each request to the sites' servers, in parallel."""

    def __init__(self, urls: Mapping[str, str], timeout: float = 120.0) -> None:
        self.urls, self.timeout = dict(urls), timeout
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(32, len(self.urls))))

    def _post(self, site: str, data: bytes) -> bytes:
        url = self.urls[site].rstrip("/") + ANSWER_PATH
        req = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            raise FederationError("answers", f"{site} answered HTTP {error.code}: {detail}",
                                  code="federation.transport.http") from error
        except (urllib.error.URLError, OSError) as error:
            raise FederationError("answers", f"{site} at {url} cannot be reached: {error}",
                                  code="federation.transport.unreachable") from error

    def exchange(self, request: Request, data: bytes, sites: Sequence[str]) -> dict[str, bytes]:
        missing = [s for s in sites if s not in self.urls]
        if missing:
            raise FederationError("urls", f"no address for {', '.join(missing)}",
                                  code="federation.transport.address")
        futures = {s: self._pool.submit(self._post, s, data) for s in sites}
        return {s: f.result() for s, f in futures.items()}


__all__ = ["ANSWER_PATH", "Answerer", "FileTransport", "HttpTransport", "LocalTransport",
           "Transport", "request_name", "write_atomically"]
