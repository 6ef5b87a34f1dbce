"""Ten sites in ten processes give the pooled analyses of the union of their patients.

One synthetic cohort is split into ten sites of very unequal size; each site runs as its own
``alsrwe federate`` process (an HTTP server, or a watcher of an exchange folder), and the
coordinator's pooled mixed model, "% slower", Kaplan–Meier and Cox fits are compared with the
same analyses of the participating sites' patients in one place (and Cox with lifelines).
Every single masked answer the coordinator received is checked to be unreadable on its own.

The sites keep the default disclosure rules; the cohort is the one of ``conftest``.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxTimeVaryingFitter

from alsrwe.analytics.analyses.progression import ProgressionSettings, lmm_rows, progression
from alsrwe.analytics.analyses.safety import safety_incidence
from alsrwe.analytics.analyses.subgroups import SubgroupSettings, subgroups
from alsrwe.analytics.analyses.survival import SurvivalSettings, time_varying_spells
from alsrwe.analytics.analyses.survival_estimators import kaplan_meier
from alsrwe.analytics.cohort.cohort import Cohort
from alsrwe.analytics.lmm import fit_lmm
from alsrwe.federation import secure_sum
from alsrwe.federation.coordinator import Coordinator
from alsrwe.federation.network import load_coordinator
from alsrwe.federation.pooled import (
    PooledCoxResult,
    PooledKm,
    PooledLmm,
    PooledProgression,
    pooled_cox,
    pooled_km,
    pooled_lmm,
    pooled_progression,
)
from alsrwe.federation.pooled_summaries import PooledResult, pooled_safety, pooled_subgroups
from alsrwe.federation.protocol import (
    Answer,
    LmmSpec,
    Request,
    SurvivalSpec,
    decode_message,
    encode_message,
)
from alsrwe.federation.rules import DisclosureRules
from alsrwe.federation.simulate import build_network
from alsrwe.federation.site_data import (
    LocalData,
    cox_vector,
    km_vector,
    lmm_sums,
    lmm_totals,
    local_data,
    progression_moments,
)
from alsrwe.federation.survival_sums import Grid, coarsen
from alsrwe.federation.transport import FileTransport, HttpTransport, Transport

pytestmark = pytest.mark.xdist_group("federation-processes")

ALSRWE = Path(sys.executable).with_name("alsrwe")
SIZES = [3, 8, 12, 20, 25, 30, 40, 45, 55, 60]
NAMES = [f"site{i + 1:02d}" for i in range(len(SIZES))]
RULES = DisclosureRules()
REL = 1e-8


class Recording:
    """The transport, noting every request with the raw answers to it."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.requests: dict[tuple[str, int, str], Request] = {}

    def exchange(self, request: Request, data: bytes, sites: Sequence[str]) -> dict[str, bytes]:
        self.requests[(request.analysis.id, request.round, request.step)] = request
        return self.inner.exchange(request, data, sites)


@contextmanager
def _processes(commands: list[list[str]], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    logs.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    try:
        for i, command in enumerate(commands):
            with (logs / f"{i}.out").open("wb") as out, (logs / f"{i}.err").open("wb") as err:
                started.append(subprocess.Popen(command, stdout=out, stderr=err))
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60.0  # exiting takes seconds on a loaded machine
        for process in started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(urls: dict[str, str], processes: list[subprocess.Popen[bytes]],
                  logs: Path, timeout: float = 600.0) -> dict[str, dict[str, str]]:
    deadline = time.monotonic() + timeout
    health: dict[str, dict[str, str]] = {}
    while len(health) < len(urls):
        for i, (name, url) in enumerate(urls.items()):
            if name in health:
                continue
            if processes[i].poll() is not None:
                pytest.fail(f"{name} stopped: {(logs / f'{i}.err').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/federation/v1/health", timeout=2) as r:
                    health[name] = json.loads(r.read())
            except (urllib.error.URLError, OSError):
                pass
        if time.monotonic() > deadline:
            pytest.fail(f"sites not up within {timeout} s: {sorted(set(urls) - set(health))}")
        time.sleep(0.1)
    return health


# --- the references: the same analyses of the union in one place -----------------------------


def _union(parts: list[dict[str, pd.DataFrame]], roster: Sequence[str]) -> Cohort:
    chosen = [parts[NAMES.index(name)] for name in roster]
    tables = {t for part in chosen for t in part}
    return Cohort.from_frames({t: pd.concat([p[t] for p in chosen if t in p], ignore_index=True)
                               for t in tables})


def _check_enrolment(roster: list[str], refusals: dict[str, str], survival: bool) -> None:
    assert "site01" not in roster and "site01" in refusals
    if survival:  # every site but the 3-patient one has enough patients with spells
        assert "federation.rule.min_patients" in refusals["site01"]
        assert roster == NAMES[1:]
    assert len(roster) >= 3 and set(roster) | set(refusals) == set(NAMES)


def _check_lmm(result: PooledLmm, parts: list[dict[str, pd.DataFrame]]) -> None:
    e = result.enrolment
    _check_enrolment(e.roster, e.refusals, survival=False)
    rows = lmm_rows(_union(parts, e.roster), ProgressionSettings(lmm_sensitivity=False))
    reference = fit_lmm(rows, "total", ["t", "t_post"], "patient_id", "t")
    fit = result.fit
    assert fit.converged and (fit.n_obs, fit.n_groups) == (reference.n_obs, reference.n_groups)
    assert fit.n_groups == e.total_patients
    for term, value in reference.fixed.items():
        assert fit.fixed[term] == pytest.approx(value, rel=REL), term
        assert fit.se[term] == pytest.approx(reference.se[term], rel=REL), term
    for name in ("sd_intercept", "sd_slope", "sd_residual", "criterion"):
        assert getattr(fit, name) == pytest.approx(getattr(reference, name), rel=REL), name


def _check_progression(result: PooledProgression, parts: list[dict[str, pd.DataFrame]]) -> None:
    e = result.enrolment
    _check_enrolment(e.roster, e.refusals, survival=False)
    reference = progression(_union(parts, e.roster), ProgressionSettings(lmm_sensitivity=False))
    assert result.result.n == e.total_patients
    assert result.result.estimate == pytest.approx(reference.percent_slower, rel=REL)
    assert (result.result.lower, result.result.upper) == pytest.approx(
        reference.percent_slower_ci, rel=REL)


def _check_summaries(coordinator: Coordinator, parts: list[dict[str, pd.DataFrame]]) -> None:
    """Two of the one-round summaries: safety (one round) and subgroups (two)."""
    safety = pooled_safety(coordinator)
    reference = safety_incidence(_union(parts, safety.enrolment.roster))
    pd.testing.assert_frame_equal(safety.to_frame(), reference.to_frame(), rtol=REL,
                                  check_dtype=False)
    groups: PooledResult[Any] = pooled_subgroups(coordinator)
    local = subgroups(_union(parts, groups.enrolment.roster),
                      SubgroupSettings(age_cut_years=groups.result.age_cut_years))
    pd.testing.assert_frame_equal(groups.result.to_frame(), local.to_frame(), rtol=REL,
                                  check_dtype=False)


def _coarse_union(parts: list[dict[str, pd.DataFrame]], roster: Sequence[str]) -> pd.DataFrame:
    spells = time_varying_spells(_union(parts, roster), SurvivalSettings())
    return coarsen(spells, Grid(1.0))


def _check_km(result: PooledKm, parts: list[dict[str, pd.DataFrame]]) -> None:
    e = result.enrolment
    _check_enrolment(e.roster, e.refusals, survival=True)
    coarse = _coarse_union(parts, e.roster)
    per = coarse.groupby("patient_id").agg(entry=("entry", "min"), stop=("stop", "max"),
                                           event=("event", "max"))
    assert len(per) == e.total_patients
    local = kaplan_meier(per["stop"] * 1.0, per["event"], per["entry"] * 1.0)
    merged = local.table.merge(result.curve.table, on="time", suffixes=("", "_pooled"))
    assert len(merged) == len(local.table) and local.events > 10
    assert (merged["at_risk"] == merged["at_risk_pooled"]).all()
    assert (merged["events"] == merged["events_pooled"]).all()
    for column in ("survival", "se", "lower", "upper"):
        np.testing.assert_allclose(merged[f"{column}_pooled"], merged[column], rtol=REL)
    extra = result.curve.table[~result.curve.table["time"].isin(local.table["time"])]
    assert (extra["events"] == 0).all()


def _check_cox(result: PooledCoxResult, parts: list[dict[str, pd.DataFrame]]) -> None:
    e = result.enrolment
    _check_enrolment(e.roster, e.refusals, survival=True)
    coarse = _coarse_union(parts, e.roster)
    frame = coarse.rename(columns={"patient_id": "id", "entry": "start"})
    fitter = CoxTimeVaryingFitter()
    fitter.fit(frame[["id", "start", "stop", "event", "treated"]], id_col="id",
               event_col="event", start_col="start", stop_col="stop",
               fit_options={"precision": 1e-14, "r_precision": 1e-15, "max_steps": 500})
    cox = result.cox
    assert cox.converged and cox.events == int(coarse["event"].sum())
    assert cox.coef[0] == pytest.approx(fitter.params_["treated"], rel=REL)
    assert cox.se[0] == pytest.approx(fitter.standard_errors_["treated"], rel=REL)


# --- no single site's sum reached the coordinator -----------------------------------------------


def _plain(data: LocalData, request: Request) -> np.ndarray:
    """What the site summed for this round, before masking, computed here."""
    spec, params = request.analysis.spec, request.params
    if isinstance(spec, LmmSpec):
        return lmm_totals(data) if request.step == "totals" else lmm_sums(data, spec.reml,
                                                                          params)
    if isinstance(spec, SurvivalSpec):
        return km_vector(data, spec) if spec.kind == "km" else cox_vector(data, spec, params)
    if data.tally is not None:  # a one-round summary (subgroups: two)
        return data.tally(request.step, params)
    return progression_moments(data)


def _check_masked(coordinator: Coordinator, recording: Recording,
                  parts: list[dict[str, pd.DataFrame]]) -> dict[str, int]:
    """Each answered vector alone is unlike its site's plain vector; their sum is the sum of
    the plain vectors. Returns the number of masked answers checked per kind."""
    cohorts: dict[str, Cohort] = {}
    data: dict[tuple[str, str], LocalData] = {}
    rounds: dict[tuple[str, int, str], dict[str, tuple[list[int], np.ndarray]]] = {}
    checked: dict[str, int] = {}
    for body in coordinator.received:
        answer = decode_message(Answer, body)
        if answer.status != "answered":
            assert answer.status in ("accepted", "refused") and not answer.vector
            continue
        key = (answer.analysis_id, answer.round, answer.step)
        request = recording.requests[key]
        if answer.site not in cohorts:
            cohorts[answer.site] = Cohort.from_frames(parts[NAMES.index(answer.site)])
        if (answer.site, answer.analysis_id) not in data:
            data[answer.site, answer.analysis_id] = local_data(cohorts[answer.site],
                                                               request.analysis.spec)
        plain = _plain(data[answer.site, answer.analysis_id], request)
        masked = secure_sum.unpack(answer.vector, answer.length)
        alone = secure_sum.decode(masked)
        assert alone.shape == plain.shape
        assert not np.isclose(alone, plain, rtol=1e-6, atol=0.0).any(), key
        rounds.setdefault(key, {})[answer.site] = (masked, plain)
        kind = request.analysis.spec.kind
        checked[kind] = checked.get(kind, 0) + 1
    for round_key, by_site in rounds.items():
        assert sorted(by_site) == sorted(recording.requests[round_key].roster)
        total = secure_sum.decode(secure_sum.aggregate([m for m, _ in by_site.values()]))
        expected = np.sum([p for _, p in by_site.values()], axis=0)
        np.testing.assert_allclose(total, expected, rtol=1e-9, atol=1e-9)
    return checked


def _network(root: Path, parts: list[dict[str, pd.DataFrame]]) -> tuple[Path, list[Path]]:
    return build_network(root, parts, rules=RULES)


# --- (a) over HTTP ------------------------------------------------------------------------------


def test_ten_site_servers_give_the_pooled_analyses_of_the_union(
        tmp_path: Path, parts: list[dict[str, pd.DataFrame]]) -> None:
    coordinator_dir, site_dirs = _network(tmp_path, parts)
    ports = [_free_port() for _ in site_dirs]
    commands = [[str(ALSRWE), "federate", "serve", str(d), "--port", str(p)]
                for d, p in zip(site_dirs, ports, strict=True)]
    urls = {name: f"http://127.0.0.1:{p}" for name, p in zip(NAMES, ports, strict=True)}
    with _processes(commands, tmp_path / "logs") as processes:
        health = _wait_healthy(urls, processes, tmp_path / "logs")
        assert health == {name: {"site": name, "network": "sim"} for name in NAMES}
        keys, manifest = load_coordinator(coordinator_dir)
        recording = Recording(HttpTransport(urls))
        coordinator = Coordinator(keys, manifest, recording)
        _check_lmm(pooled_lmm(coordinator), parts)
        _check_progression(pooled_progression(coordinator), parts)
        _check_km(pooled_km(coordinator), parts)
        _check_cox(pooled_cox(coordinator), parts)
        _check_summaries(coordinator, parts)
        checked = _check_masked(coordinator, recording, parts)
        assert set(checked) == {"lmm", "progression", "km", "cox", "safety", "subgroups"}
        assert checked["km"] == 9 and checked["lmm"] > 10 * 3
        _check_forged_request_is_forbidden(urls["site05"], coordinator, recording)
        assert all(p.poll() is None for p in processes)
    assert [p.returncode for p in processes] == [0] * len(processes)


def _check_forged_request_is_forbidden(url: str, coordinator: Coordinator,
                                       recording: Recording) -> None:
    request = next(iter(recording.requests.values()))
    forged = json.loads(encode_message(request.model_copy(update={"signature": ""})))
    forged["signature"] = "A" * 86 + "=="
    post = urllib.request.Request(url + "/federation/v1/answer", method="POST",
                                  data=json.dumps(forged).encode())
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(post, timeout=10)
    with caught.value:  # its socket
        assert caught.value.code == 403
        body: dict[str, Any] = json.loads(caught.value.read())
    assert body["code"] == "federation.signature.invalid" and body["field"] == "signature"
    # a declared 2 MB body is refused before it is read (the body is never sent here)
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("POST", "/federation/v1/answer")
        connection.putheader("Content-Length", str(2 << 20))
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    del coordinator


# --- (b) by files in an exchange folder -----------------------------------------------------------


def test_ten_site_watchers_of_an_exchange_folder_give_the_same(
        tmp_path: Path, parts: list[dict[str, pd.DataFrame]]) -> None:
    coordinator_dir, site_dirs = _network(tmp_path, parts)
    exchange = tmp_path / "exchange"
    commands = [[str(ALSRWE), "federate", "answer", str(d), "--watch", str(exchange),
                 "--poll", "0.02"] for d in site_dirs]
    with _processes(commands, tmp_path / "logs") as processes:
        keys, manifest = load_coordinator(coordinator_dir)
        recording = Recording(FileTransport(exchange, timeout=600.0))
        coordinator = Coordinator(keys, manifest, recording)
        _check_progression(pooled_progression(coordinator), parts)
        _check_km(pooled_km(coordinator), parts)
        _check_lmm(pooled_lmm(coordinator), parts)
        checked = _check_masked(coordinator, recording, parts)
        assert set(checked) == {"lmm", "progression", "km"}
        assert all(p.poll() is None for p in processes)
    assert [p.returncode for p in processes] == [0] * len(processes)  # SIGTERM: a clean stop
    # a site that declined saw the later rounds but was not asked them: it answered none
    answered = {p.name for p in (exchange / "answers" / "site01").iterdir()}
    assert answered and all(name.endswith("-0000-enrol.json") for name in answered)
