"""`alsrwe federate`: setting a network up by hand, clear refusals, answering request files."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alsrwe.cli import app
from alsrwe.federation.keys import read_card
from alsrwe.federation.ledger import Ledger
from alsrwe.federation.network import load_coordinator
from alsrwe.federation.protocol import (
    Analysis,
    Answer,
    Request,
    SurvivalSpec,
    check_signature,
    decode_message,
    encode_message,
    sign,
)
from alsrwe.federation.site import Site
from alsrwe.federation.transport import request_name, write_atomically

runner = CliRunner()
SITES = ("north", "south", "east")


def _ok(*args: str) -> str:
    result = runner.invoke(app, ["federate", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _fails(*args: str) -> str:
    result = runner.invoke(app, ["federate", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three tidy CSV folders of 20 synthetic patients each."""
    from alsrwe.federation.simulate import split_frames
    from alsrwe.interop.tidy_csv import write_frames
    from alsrwe.synth import CohortParams, generate_cohort

    frames = generate_cohort(CohortParams(seed=11, n_patients=60, n_carriers=0,
                                          as_of=date(2026, 6, 1))).tables()
    root = tmp_path_factory.mktemp("data")
    folders = []
    for name, part in zip(SITES, split_frames(frames, [20, 20, 20], seed=2), strict=True):
        write_frames(part, root / name)
        folders.append(root / name)
    return folders


def _network(tmp_path: Path, data: list[Path]) -> tuple[Path, dict[str, Path]]:
    coordinator = tmp_path / "coord"
    shown = _ok("init", str(coordinator), "--role", "coordinator", "--name", "hub")
    card = coordinator / "keys" / "card.json"
    assert str(card) in shown.replace("\n", "")
    assert read_card(card).fingerprint() in shown
    sites = {}
    for name, folder in zip(SITES, data, strict=True):
        sites[name] = tmp_path / name
        shown = _ok("init", str(sites[name]), "--role", "site", "--name", name,
                    "--coordinator-card", str(card), "--csv-dir", str(folder))
        assert read_card(sites[name] / "keys" / "card.json").fingerprint() in shown
    manifest = tmp_path / "network.json"
    cards = [a for s in sites.values() for a in ("--site-card", str(s / "keys" / "card.json"))]
    shown = _ok("manifest", str(coordinator), "--network", "trial", *cards, "--out",
                str(manifest))
    assert "3 sites" in shown
    for site in sites.values():
        assert "joined network trial" in _ok("join", str(site), str(manifest))
        assert (site / "network.json").read_bytes() == manifest.read_bytes()
    return coordinator, sites


def _enrol_request(coordinator: Path) -> Request:
    keys, manifest = load_coordinator(coordinator)
    request = Request(network=manifest.network, round=0, step="enrol",
                      analysis=Analysis(id=uuid.uuid4().hex, spec=SurvivalSpec(kind="km")))
    return sign(request, keys)


def test_init_manifest_join_round_trip(tmp_path: Path, data: list[Path]) -> None:
    coordinator, sites = _network(tmp_path, data)
    config = json.loads((sites["north"] / "site.json").read_text())
    assert config["name"] == "north" and Path(config["csv_dir"]).is_absolute()
    assert config["rules"]["min_patients"] == 5
    assert (coordinator / "network.json").exists()


def test_min_patients_is_kept_in_the_sites_rules(tmp_path: Path, data: list[Path]) -> None:
    _ok("init", str(tmp_path / "c"), "--role", "coordinator", "--name", "hub")
    _ok("init", str(tmp_path / "s"), "--role", "site", "--name", "s", "--coordinator-card",
        str(tmp_path / "c" / "keys" / "card.json"), "--csv-dir", str(data[0]),
        "--min-patients", "8")
    assert json.loads((tmp_path / "s" / "site.json").read_text())["rules"]["min_patients"] == 8
    assert "min_patients" in _fails("init", str(tmp_path / "t"), "--role", "site", "--name",
                                    "t", "--coordinator-card",
                                    str(tmp_path / "c" / "keys" / "card.json"),
                                    "--csv-dir", str(data[0]), "--min-patients", "1")


def test_clear_refusals_when_setting_up(tmp_path: Path, data: list[Path]) -> None:
    _ok("init", str(tmp_path / "c"), "--role", "coordinator", "--name", "hub")
    card = str(tmp_path / "c" / "keys" / "card.json")
    shown = _fails("init", str(tmp_path / "s"), "--role", "site", "--name", "s",
                   "--csv-dir", str(data[0]))
    assert "--coordinator-card: a site needs the card of the coordinator" in shown
    assert not (tmp_path / "s").exists()
    shown = _fails("init", str(tmp_path / "s"), "--role", "site", "--name", "s",
                   "--coordinator-card", card)
    assert "data: a site needs one source of data" in shown
    assert "already holds federation keys" in _fails(
        "init", str(tmp_path / "c"), "--role", "coordinator", "--name", "hub")
    _ok("init", str(tmp_path / "s"), "--role", "site", "--name", "s", "--coordinator-card",
        card, "--csv-dir", str(data[0]))
    assert "already holds federation keys" in _fails(
        "init", str(tmp_path / "s"), "--role", "site", "--name", "s", "--coordinator-card",
        card, "--csv-dir", str(data[0]))
    assert "is a site's card" in _fails(
        "init", str(tmp_path / "s2"), "--role", "site", "--name", "s2", "--coordinator-card",
        str(tmp_path / "s" / "keys" / "card.json"), "--csv-dir", str(data[0]))
    assert "--csv-dir: is for a site" in _fails(
        "init", str(tmp_path / "c2"), "--role", "coordinator", "--name", "hub",
        "--csv-dir", str(data[0]))


def test_join_refuses_a_manifest_of_another_coordinator(tmp_path: Path,
                                                        data: list[Path]) -> None:
    _, sites = _network(tmp_path / "a", data)
    _ok("init", str(tmp_path / "rogue"), "--role", "coordinator", "--name", "hub")
    forged = tmp_path / "forged.json"
    cards = [a for s in sites.values() for a in ("--site-card", str(s / "keys" / "card.json"))]
    _ok("manifest", str(tmp_path / "rogue"), "--network", "trial", *cards, "--out", str(forged))
    before = (sites["north"] / "network.json").read_bytes()
    shown = _fails("join", str(sites["north"]), str(forged))
    assert "manifest: names another coordinator" in shown
    assert (sites["north"] / "network.json").read_bytes() == before
    assert "exists" in _fails("manifest", str(tmp_path / "rogue"), "--network", "x", *cards,
                              "--out", str(forged))


def test_answer_a_request_file_into_the_exchange_and_to_stdout(tmp_path: Path,
                                                               data: list[Path]) -> None:
    coordinator, sites = _network(tmp_path, data)
    request = _enrol_request(coordinator)
    path = tmp_path / "exch" / "requests" / request_name(request)
    path.parent.mkdir(parents=True)
    path.write_bytes(encode_message(request))
    shown = _ok("answer", str(sites["north"]), str(path))
    written = tmp_path / "exch" / "answers" / "north" / request_name(request)
    assert "accepted" in shown and written.exists()
    reply = decode_message(Answer, written.read_bytes())
    check_signature(reply, read_card(sites["north"] / "keys" / "card.json"))
    assert (reply.site, reply.analysis_id, reply.status) == ("north", request.analysis.id,
                                                            "accepted")
    assert reply.patients is not None and 5 <= reply.patients <= 20  # those with spells
    # a request outside an exchange folder: the answer goes to standard output
    loose = tmp_path / "loose.json"
    loose.write_bytes(encode_message(_enrol_request(coordinator)))
    result = runner.invoke(app, ["federate", "answer", str(sites["south"]), str(loose)])
    assert result.exit_code == 0, result.output
    assert decode_message(Answer, result.stdout.strip()).site == "south"
    # the ledger shows both
    log = _ok("log", str(sites["north"]), "--last", "5")
    assert request.analysis.id[:8] in log and request.analysis.id[:9] not in log
    assert "accepted" in log and "km" in log


def test_answer_refuses_a_tampered_request_and_logs_it(tmp_path: Path,
                                                       data: list[Path]) -> None:
    coordinator, sites = _network(tmp_path, data)
    message = json.loads(encode_message(_enrol_request(coordinator)))
    message["analysis"]["spec"]["horizon_months"] = 24.0  # changed after signing
    path = tmp_path / "exch" / "requests" / "tampered.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(message))
    shown = _fails("answer", str(sites["east"]), str(path))
    assert "signature: is not a valid signature of 'hub'" in shown
    assert not (tmp_path / "exch" / "answers").exists()
    entries = Ledger(sites["east"]).entries()
    assert [e["status"] for e in entries] == ["rejected"]
    assert entries[0]["code"] == "federation.signature.invalid"
    shown_log = _ok("log", str(sites["east"]))  # a narrow terminal folds the code's column
    assert "rejected" in shown_log and "1 entry in the ledger" in shown_log
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert "is not a valid Request" in _fails("answer", str(sites["east"]), str(garbage))
    assert [e["status"] for e in Ledger(sites["east"]).entries()] == ["rejected", "rejected"]


def test_answer_needs_one_request_or_watch_and_log_needs_a_site(tmp_path: Path,
                                                                data: list[Path]) -> None:
    _, sites = _network(tmp_path, data)
    assert "give one request file or --watch" in _fails("answer", str(sites["north"]))
    assert "no request received yet" in _ok("log", str(sites["north"]))
    assert "is not a site folder" in _fails("log", str(tmp_path))
    assert not (tmp_path / "ledger.key").exists()


def test_run_needs_one_transport(tmp_path: Path, data: list[Path]) -> None:
    coordinator, _ = _network(tmp_path, data)
    assert "give an exchange folder or the sites'" in _fails("run", str(coordinator))
    pytest.importorskip("alsrwe.federation.report")
    assert "is not NAME=URL" in _fails("run", str(coordinator), "--site", "north")


def test_run_over_an_exchange_folder_writes_the_report_and_a_summary(
        tmp_path: Path, data: list[Path]) -> None:
    pytest.importorskip("alsrwe.federation.report")
    coordinator, sites = _network(tmp_path, data)
    exchange = tmp_path / "exch"
    stop = threading.Event()

    def answer_files() -> None:  # the sites, in this process (the CLI's watcher is tested
        answerers = [Site(d) for d in sites.values()]  # in processes in test_processes.py)
        while not stop.is_set():
            for request in sorted((exchange / "requests").glob("*.json")):
                for site in answerers:
                    target = exchange / "answers" / site.name / request.name
                    if not target.exists():
                        write_atomically(target, site.answer_bytes(request.read_bytes()))
            stop.wait(0.02)

    worker = threading.Thread(target=answer_files, daemon=True)
    worker.start()
    try:
        shown = _ok("run", str(coordinator), "--exchange", str(exchange), "--analysis", "km",
                    "--out", str(tmp_path / "report"), "--timeout", "120")
    finally:
        stop.set()
        worker.join(30)
    report = re.search(r"report: (\S+)", shown)
    assert report is not None and Path(report.group(1)).is_file()
    assert re.search(r"km: 3 sites, \d+ patients, 2 rounds", shown)


def test_the_cli_offers_every_analysis_of_the_pooled_report() -> None:
    from alsrwe.cli.federate import ANALYSES, AnalysisChoice
    from alsrwe.federation.sections import KINDS

    assert ANALYSES == KINDS  # the CLI keeps its own copy so as not to import the federation
    assert {c.value for c in AnalysisChoice} == {*KINDS, "all"}
