"""`alsrwe federate`: set up a federated network, answer its requests, run pooled analyses.

The coordinator and each site run these commands on their own machines (docs/federation.md):
``init`` makes a folder with keys and prints the public card to exchange (and its
fingerprint, to compare by phone), ``manifest`` signs the network, ``join`` pins it at a site.
A site then answers requests one file at a time (``answer``, for e-mail and air gaps), by
watching a shared exchange folder (``answer --watch``) or over HTTP (``serve``); the
coordinator runs the analyses (``run``) and a site reads what left it (``log``).

Startup stays light: the federation modules (pandas, cryptography, …) are imported inside
the commands that use them.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from alsrwe.cli.common import app, err, error_line, out, user_errors
from alsrwe.domain.errors import DomainError

if TYPE_CHECKING:
    from alsrwe.federation.protocol import Request
    from alsrwe.federation.site import Site

federate = typer.Typer(
    help="Federated analyses: pooled results across clinics whose patient data stay home.",
    no_args_is_help=True,
)
app.add_typer(federate, name="federate")

ANALYSES = ("lmm", "progression", "subgroups", "responders", "nfl", "early_delayed",
            "observed_expected", "km", "cox", "safety", "carriers")
"""The pooled report's analyses, in the local report's order (federation.report.KINDS)."""


class Role(StrEnum):
    coordinator = "coordinator"
    site = "site"


class AnalysisChoice(StrEnum):
    lmm = "lmm"
    progression = "progression"
    subgroups = "subgroups"
    responders = "responders"
    nfl = "nfl"
    early_delayed = "early_delayed"
    observed_expected = "observed_expected"
    km = "km"
    cox = "cox"
    safety = "safety"
    carriers = "carriers"
    all = "all"


def _usage(field: str, rule: str) -> DomainError:
    return DomainError(field, rule, code="federation.cli.usage")


# --- setting the network up ---------------------------------------------------------------


@federate.command()
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A new folder.")],
    role: Annotated[Role, typer.Option(help="Who keeps this folder.")],
    name: Annotated[str, typer.Option(help="The participant's name in the network.")],
    coordinator_card: Annotated[Path | None, typer.Option(
        "--coordinator-card", help="A site: the coordinator's card.json it was given.")] = None,
    database: Annotated[str | None, typer.Option(
        "--database", help="A site: SQLAlchemy URL of its registry.")] = None,
    csv_dir: Annotated[Path | None, typer.Option(
        "--csv-dir", help="A site: or a folder of tidy CSV tables.")] = None,
    min_patients: Annotated[int | None, typer.Option(
        "--min-patients", help="A site: fewer patients in an analysis and it declines.")] = None,
) -> None:
    """Create a coordinator's or a site's folder with new keys; print the card to exchange."""
    with user_errors():
        from alsrwe.federation import network

        if role is Role.coordinator:
            given = [flag for flag, value in (("--coordinator-card", coordinator_card),
                                              ("--database", database), ("--csv-dir", csv_dir),
                                              ("--min-patients", min_patients))
                     if value is not None]
            if given:
                raise _usage(given[0], "is for a site, not for the coordinator")
            pair = network.init_coordinator(directory, name)
        else:
            if coordinator_card is None:
                raise _usage("--coordinator-card", "a site needs the card of the coordinator "
                                                   "it will answer (its keys/card.json)")
            if (database is None) == (csv_dir is None):
                raise _usage("data", "a site needs one source of data: --database URL or "
                                     "--csv-dir DIR")
            if csv_dir is not None and not csv_dir.is_dir():
                raise _usage("--csv-dir", f"{csv_dir} is not a folder")
            from alsrwe.federation.rules import DisclosureRules

            rules = DisclosureRules() if min_patients is None else DisclosureRules(
                min_patients=min_patients)
            pair = network.init_site(directory, name, coordinator_card, database=database,
                                     csv_dir=str(csv_dir.resolve()) if csv_dir else None,
                                     rules=rules)
        card = directory / "keys" / "card.json"
        out.print(f"{role.value} [bold]{escape(name)}[/bold] in {escape(str(directory))}")
        out.print(f"card: {escape(str(card))}")
        out.print(f"fingerprint: [bold]{pair.card().fingerprint()}[/bold] (compare it with "
                  "the other side out of band before trusting the card)")


@federate.command()
def manifest(
    coordinator_dir: Annotated[Path, typer.Argument(metavar="COORD_DIR")],
    network_name: Annotated[str, typer.Option("--network", help="The network's name.")],
    site_card: Annotated[list[Path], typer.Option(
        "--site-card", help="A site's card.json (once per site).")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the manifest.")],
) -> None:
    """Sign the network's manifest: the coordinator and every site's card."""
    with user_errors():
        from alsrwe.federation.network import issue_manifest

        if out_file.exists():
            raise _usage("--out", f"{out_file} exists; a manifest is never written over")
        signed = issue_manifest(coordinator_dir, network_name, site_card, out_file)
        cards = signed.site_cards()
    out.print(f"manifest of network [bold]{escape(signed.network)}[/bold] with "
              f"{len(cards)} sites in {escape(str(out_file))}")
    for site_name, card in sorted(cards.items()):
        out.print(f"  {escape(site_name)}  {card.fingerprint()}")


@federate.command()
def join(
    site_dir: Annotated[Path, typer.Argument(metavar="SITE_DIR")],
    manifest_file: Annotated[Path, typer.Argument(metavar="MANIFEST")],
) -> None:
    """Check the manifest against the coordinator's card and pin it at this site."""
    with user_errors():
        from alsrwe.federation.network import join as join_network

        signed = join_network(site_dir, manifest_file)
    out.print(f"joined network [bold]{escape(signed.network)}[/bold] "
              f"({len(signed.sites)} sites)")


# --- a site answering -----------------------------------------------------------------------


def _status_of(body: bytes) -> str:
    from alsrwe.federation.protocol import Answer, decode_message

    answer = decode_message(Answer, body)
    return answer.status + (f" ({answer.code})" if answer.code else "")


def _exchange_target(request: Path, site_name: str) -> Path | None:
    """EXCH/answers/SITE/NAME.json for a request at EXCH/requests/NAME.json, else None."""
    if request.parent.name != "requests":
        return None
    return request.parent.parent / "answers" / site_name / request.name


@contextmanager
def _stop_on_signals() -> Iterator[list[bool]]:
    """A flag set by SIGTERM or SIGINT; the loop finishes its answer and stops."""
    stop = [False]

    def handler(signum: int, frame: FrameType | None) -> None:
        stop[0] = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _addressed_elsewhere(data: bytes, site_name: str) -> bool:
    """A later round whose roster leaves this site out (it declined): not its business."""
    from alsrwe.federation.errors import FederationError
    from alsrwe.federation.protocol import Request, decode_message

    try:
        request: Request = decode_message(Request, data)
    except FederationError:
        return False  # let the site reject (and log) it
    return request.step != "enrol" and site_name not in request.roster


def _watch(site: Site, exchange: Path, poll: float) -> int:
    """Answer every request in EXCH/requests without an answer of this site, until stopped."""
    from alsrwe.federation.errors import FederationError
    from alsrwe.federation.transport import write_atomically

    requests, answers = exchange / "requests", exchange / "answers" / site.name
    handled: set[str] = set()
    count = 0
    with _stop_on_signals() as stop:
        while not stop[0]:
            names = sorted(p.name for p in requests.glob("*.json")
                           if not p.name.startswith(".")) if requests.is_dir() else []
            for name in names:
                if stop[0]:
                    break
                if name in handled:
                    continue
                handled.add(name)
                target = answers / name
                if target.exists():
                    continue
                data = (requests / name).read_bytes()
                if _addressed_elsewhere(data, site.name):
                    continue
                try:
                    body = site.answer_bytes(data)
                except FederationError as error:
                    error_line(f"{name}: rejected: {error}")
                    continue
                write_atomically(target, body)
                count += 1
                err.print(f"{escape(name)}: {_status_of(body)}", highlight=False)
            if not stop[0]:
                time.sleep(poll)
    return count


@federate.command()
def answer(
    site_dir: Annotated[Path, typer.Argument(metavar="SITE_DIR")],
    request: Annotated[Path | None, typer.Argument(
        metavar="REQUEST", help="A request file (or use --watch).")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the answer (default: the exchange folder's "
                      "answers/SITE/, or standard output).")] = None,
    watch: Annotated[Path | None, typer.Option(
        "--watch", metavar="EXCH", help="Answer every new request in EXCH/requests until "
                                        "stopped (SIGTERM, Ctrl-C).")] = None,
    poll: Annotated[float, typer.Option(min=0.001, help="Seconds between looks (--watch).")
                    ] = 0.05,
) -> None:
    """Answer one request file, or watch an exchange folder and answer every request."""
    with user_errors():
        if (request is None) == (watch is None):
            raise _usage("REQUEST", "give one request file or --watch EXCH")
        if watch is not None and out_file is not None:
            raise _usage("--out", "goes with one request file, not with --watch")
        from alsrwe.federation.site import Site
        from alsrwe.federation.transport import write_atomically

        site = Site(site_dir)
        if watch is not None:
            err.print(f"site {escape(site.name)} watching {escape(str(watch))} "
                      "(Ctrl-C stops it)", highlight=False)
            count = _watch(site, watch, poll)
            err.print(f"stopped after {count} answer(s)", highlight=False)
            return
        assert request is not None
        body = site.answer_bytes(request.read_bytes())
        target = out_file or _exchange_target(request, site.name)
        if target is None:
            sys.stdout.write(body.decode() + "\n")
            sys.stdout.flush()
            return
        write_atomically(target, body)
    out.print(f"{_status_of(body)}: answer in {escape(str(target))}")


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@federate.command()
def serve(
    site_dir: Annotated[Path, typer.Argument(metavar="SITE_DIR")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "warning",
) -> None:
    """Answer the coordinator's requests over HTTP (POST /federation/v1/answer)."""
    with user_errors():
        import uvicorn

        from alsrwe.web.federation_app import create_federation_app

        federation_app = create_federation_app(site_dir)
        out.print(f"federation site on [bold]http://{host}:{port}/[/bold] (Ctrl-C stops it)")
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again to
        # the handler that was there before it: let that one be a clean exit (status 0).
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, _exit_cleanly)
        uvicorn.run(federation_app, host=host, port=port, workers=1, log_level=log_level,
                    server_header=False)


# --- the coordinator running analyses ---------------------------------------------------------


class _Recording:
    """A transport that notes, per analysis, its kind, rounds, roster and refusals."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.runs: dict[str, dict[str, Any]] = {}

    def exchange(self, request: Request, data: bytes, sites: Sequence[str]) -> dict[str, bytes]:
        from alsrwe.federation.protocol import Answer, decode_message

        raw: dict[str, bytes] = self.inner.exchange(request, data, sites)
        run = self.runs.setdefault(request.analysis.id, {
            "kind": request.analysis.spec.kind, "rounds": 0, "patients": 0, "sites": [],
            "declined": {}})
        run["rounds"] += 1
        if request.step == "enrol":
            for site, body in sorted(raw.items()):
                reply = decode_message(Answer, body)
                if reply.status == "accepted":
                    run["sites"].append(site)
                    run["patients"] += reply.patients or 0
                else:
                    run["declined"][site] = reply.code
        return raw


def _summary(run: dict[str, Any]) -> str:
    declined = ", ".join(f"{s} ({c})" for s, c in sorted(run["declined"].items()))
    return (f"{run['kind']}: {len(run['sites'])} sites, {run['patients']} patients, "
            f"{run['rounds']} rounds" + (f"; declined: {declined}" if declined else ""))


def _site_urls(sites: Sequence[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for item in sites:
        name, sep, url = item.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise _usage("--site", f"{item!r} is not NAME=URL (an http:// or https:// URL)")
        urls[name] = url
    return urls


@federate.command()
def run(
    coordinator_dir: Annotated[Path, typer.Argument(metavar="COORD_DIR")],
    exchange: Annotated[Path | None, typer.Option(
        "--exchange", metavar="DIR", help="An exchange folder the sites watch.")] = None,
    site: Annotated[list[str] | None, typer.Option(
        "--site", metavar="NAME=URL", help="A site's server (once per site).")] = None,
    analysis: Annotated[AnalysisChoice, typer.Option(help="Which analysis.")] = (
        AnalysisChoice.all),
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder of the report (default: COORD_DIR/reports).")] = None,
    timeout: Annotated[float | None, typer.Option(
        min=0.1, help="Seconds to wait for the sites in each round.")] = None,
) -> None:
    """Run pooled analyses over the network and write their report."""
    with user_errors():
        if (exchange is None) == (not site):
            raise _usage("--exchange", "give an exchange folder or the sites' --site NAME=URL")
        from alsrwe.federation.coordinator import Coordinator
        from alsrwe.federation.network import load_coordinator
        from alsrwe.federation.report import write_report
        from alsrwe.federation.transport import FileTransport, HttpTransport

        inner: FileTransport | HttpTransport
        if exchange is not None:
            inner = FileTransport(exchange) if timeout is None else FileTransport(
                exchange, timeout=timeout)
        else:
            urls = _site_urls(site or [])
            inner = HttpTransport(urls) if timeout is None else HttpTransport(
                urls, timeout=timeout)
        keys, signed = load_coordinator(coordinator_dir)
        recording = _Recording(inner)
        coordinator = Coordinator(keys, signed, recording)
        kinds = list(ANALYSES) if analysis is AnalysisChoice.all else [analysis.value]
        report, sections = write_report(coordinator, kinds,
                                        out_dir or coordinator_dir / "reports")
    out.print(f"report: [bold]{escape(str(report))}[/bold]", soft_wrap=True)
    for summary in recording.runs.values():
        out.print(escape(_summary(summary)), highlight=False, soft_wrap=True)
    failed = [s for s in sections if s.error]
    for section in failed:
        err.print(f"{section.kind}: not computed: {escape(section.error)}", highlight=False)
    if failed and len(failed) == len(sections):
        raise typer.Exit(1)


# --- what left a site -------------------------------------------------------------------------


@federate.command()
def log(
    site_dir: Annotated[Path, typer.Argument(metavar="SITE_DIR")],
    last: Annotated[int, typer.Option("--last", min=1, help="Show the last N entries.")] = 50,
) -> None:
    """The site's ledger: every request it received and what it answered."""
    with user_errors():
        if not (site_dir / "site.json").is_file():
            raise _usage("SITE_DIR", f"{site_dir} is not a site folder (no site.json)")
        if not (site_dir / "ledger.jsonl").exists():
            out.print("no request received yet")
            return
        from alsrwe.federation.ledger import Ledger

        entries = Ledger(site_dir).entries()
    table = Table()
    for column in ("time", "analysis", "kind", "round", "step", "status", "code"):
        table.add_column(column, overflow="fold")  # a narrow terminal wraps, never cuts
    for entry in entries[-last:]:
        cells = {**entry, "analysis_id": str(entry.get("analysis_id", ""))[:8]}
        table.add_row(*(escape(str(cells.get(key, ""))) for key in (
            "time", "analysis_id", "kind", "round", "step", "status", "code")))
    out.print(table)
    out.print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} in the ledger")
