"""The inbound sync over real HTTP against the simulated Sisumaker, as a real process too."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.bootstrap import build
from bridge.config.settings import load_settings
from bridge.domain.items import ListKind
from bridge.simulator import SimServer, SimState, generate
from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME
from tests.integration.conftest import (
    BRIDGE,
    LIST_ENDPOINTS,
    SHAPES,
    bridge_env,
    mappings_for,
    run_bridge,
)

pytestmark = pytest.mark.integration


def in_process(sim: SimServer, tmp_path: Path):
    settings = load_settings(
        sisumaker_url=sim.url, sisumaker_username=DEFAULT_USERNAME,
        sisumaker_password=DEFAULT_PASSWORD, data_dir=tmp_path, log_format="json",
        mappings_dir=mappings_for(sim.shape, tmp_path),
    )
    return build(settings)


def server_ids(state: SimState, year: int) -> tuple[set[str], set[str]]:
    letters = {item["id_persuratan"] for item in state.letters(year)}
    dispositions = {item["id_disposisi"] for item in state.dispositions(year)}
    return letters, dispositions


def ledger_ids(bridge, kind: ListKind) -> set[str]:
    return {item.source_id for item in bridge.ledger.iter_items(kind)}


@pytest.mark.parametrize("shape", SHAPES)
def test_first_sync_holds_exactly_the_servers_items_and_an_idle_pass_costs_one_request(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=450, seed=3)
    year = max(int(y) for y in sim_state.stats()["years"])
    bridge = in_process(sim, tmp_path)
    try:
        service = bridge.sync_service()
        report = service.run_once()
        assert report.ok, report.failures
        letters, dispositions = server_ids(sim_state, year)
        assert ledger_ids(bridge, ListKind.SURAT) == letters
        assert ledger_ids(bridge, ListKind.DISPOSISI) == dispositions

        sim_state.reset_stats()
        idle = service.run_once()
        counts = sim_state.request_counts()
        assert idle.ok and idle.result.new == 0 and idle.result.changed == 0
        assert [counts.get(endpoint, 0) for endpoint in LIST_ENDPOINTS[sim.shape]] == [1, 1]
    finally:
        bridge.close()


@pytest.mark.parametrize("shape", SHAPES)
def test_new_and_changed_letters_are_picked_up_by_the_next_pass(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=120, seed=4)
    year = max(int(y) for y in sim_state.stats()["years"])
    bridge = in_process(sim, tmp_path)
    try:
        service = bridge.sync_service()
        assert service.run_once().ok
        newest = sim_state.letters(year)[0]
        sim_state.update_letter(year, newest["id_persuratan"], status_dibaca="1",
                                tgl_diterimaTU="2026-11-28 10:00:00")
        added = sim_state.add_letter(year, perihal="Permohonan Pengembangan Aplikasi E-Arsip",
                                     asal_surat="Dinas Perpustakaan", tgl_dibuat=_now_local())
        report = service.run_once()
        assert report.ok
        assert report.result.new == 1 and report.result.changed == 1
        item = bridge.ledger.get_item(ListKind.SURAT, year, str(added))
        assert item is not None and "E-Arsip" in item.payload
        changed = bridge.ledger.get_item(ListKind.SURAT, year, newest["id_persuratan"])
        assert changed is not None and changed.version == 2
    finally:
        bridge.close()


def test_fractional_total_page_and_string_page_are_read(sim: SimServer, sim_state: SimState,
                                                        tmp_path: Path) -> None:
    sim_state.configure(fractional_total_page=True)
    generate(sim_state, letters=250, seed=5)
    year = max(int(y) for y in sim_state.stats()["years"])
    bridge = in_process(sim, tmp_path)
    try:
        assert bridge.sync_service().run_once().ok
        assert ledger_ids(bridge, ListKind.SURAT) == server_ids(sim_state, year)[0]
    finally:
        bridge.close()


@pytest.mark.parametrize("shape", SHAPES)
def test_cli_sync_once_then_status_json(sim: SimServer, sim_state: SimState,
                                        tmp_path: Path) -> None:
    summary = generate(sim_state, letters=150, seed=6)
    env = bridge_env(sim, tmp_path / "data")
    started = datetime.now(UTC)
    done = run_bridge(["sync", "--once"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert lines, "no log line"
    for line in lines:
        assert {"timestamp", "level", "event"} <= line.keys()
        assert line["timestamp"].endswith("Z")
    passes = [line for line in lines if line["event"] == "pass.completed"]
    assert {(p["list"], p["year_dir"]) for p in passes} >= {("surat", "/surattangsel26"),
                                                           ("disposisi", "/surattangsel26")}
    assert all("duration_s" in p and "pages" in p for p in passes)
    assert any(line["event"] == "sync.summary" for line in lines)

    status = run_bridge(["status", "--json"], env, tmp_path)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    by_year = summary.by_year
    assert report["items"] == {"surat": sum(v[0] for v in by_year.values()),
                               "disposisi": sum(v[1] for v in by_year.values())}
    assert report["quarantined"] == 0
    assert started <= datetime.fromisoformat(report["last_complete_pass_at"]) <= datetime.now(UTC)
    assert {c["list"] for c in report["cursors"]} == {"surat", "disposisi"}
    assert all(c["watermark"] for c in report["cursors"])


@pytest.mark.parametrize("shape", SHAPES)
def test_quarantined_items_do_not_stop_the_sync(sim: SimServer, sim_state: SimState,
                                                tmp_path: Path) -> None:
    generate(sim_state, letters=30, seed=7)
    year = max(int(y) for y in sim_state.stats()["years"])
    bad = sim_state.add_letter(year, perihal="<script>alert(1)</script>", tgl_dibuat=_now_local())
    sim_state.update_letter(year, bad, tgl_dibuat="0000-00-00 00:00:00")
    env = bridge_env(sim, tmp_path / "data")
    done = run_bridge(["sync", "--once"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    status = json.loads(run_bridge(["status", "--json"], env, tmp_path).stdout)
    assert status["quarantined"] == 1
    assert status["items"]["surat"] == 30
    warnings = [json.loads(line) for line in done.stdout.splitlines()
                if '"item.quarantined"' in line]
    assert warnings and "0000-00-00" in warnings[0]["reason"]


def test_wrong_password_fails_with_one_line_and_never_prints_it(sim: SimServer,
                                                               tmp_path: Path) -> None:
    secret = "Sangat-Rahasia-42"
    env = bridge_env(sim, tmp_path / "data", BRIDGE_SISUMAKER_PASSWORD=secret)
    done = run_bridge(["sync", "--once"], env, tmp_path)
    assert done.returncode == 1
    assert secret not in done.stdout + done.stderr
    error_lines = done.stderr.strip().splitlines()
    assert len(error_lines) == 1 and error_lines[0].startswith("bridge: error:")
    assert "refused" in error_lines[0]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BRIDGE_SISUMAKER_URL", "", "BRIDGE_SISUMAKER_URL is not set"),
        ("BRIDGE_POLL_INTERVAL", "sering", "BRIDGE_POLL_INTERVAL"),
        ("BRIDGE_LEDGER_URL", "mysql://db/x", "BRIDGE_LEDGER_URL"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line(sim: SimServer, tmp_path: Path, variable,
                                                    value, expected) -> None:
    env = bridge_env(sim, tmp_path / "data", **{variable: value})
    done = run_bridge(["sync", "--once"], env, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr


def test_help_explains_every_command(tmp_path: Path) -> None:
    for command in ([], ["sync"], ["run"], ["status"], ["probe"]):
        done = subprocess.run([*BRIDGE, *command, "--help"], capture_output=True, text=True,
                              check=False, timeout=60)
        assert done.returncode == 0
        assert "usage: bridge" in done.stdout
    top = subprocess.run([*BRIDGE, "--help"], capture_output=True, text=True, check=False,
                         timeout=60).stdout
    for word in ("sync", "run", "status", "probe", "BRIDGE_SISUMAKER_URL"):
        assert word in top


def test_sigterm_in_the_middle_of_a_pass_exits_0_with_whole_pages(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=3000, dispositions=0, seed=8)
    sim_state.set_faults(latency_ms=60)
    env = bridge_env(sim, tmp_path / "data")
    proc = subprocess.Popen([*BRIDGE, "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        for line in proc.stdout:  # wait until at least one page is stored
            if '"page.stored"' in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert '"shutdown.requested"' in out and '"daemon.stopped"' in out
    with sqlite3.connect(tmp_path / "data" / "ledger.sqlite3") as conn:
        stored = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        watermark = conn.execute("SELECT watermark FROM cursors WHERE kind='surat'").fetchone()
    assert 0 < stored < 3000
    assert stored % 100 == 0  # whole pages of 100 only
    assert watermark is None or watermark[0] is None  # the pass did not complete


def _now_local() -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%d %H:%M:%S")


def test_demo_runs_against_the_built_in_simulator(tmp_path: Path) -> None:
    env = {key: value for key, value in __import__("os").environ.items()
           if not key.startswith("BRIDGE_")}
    env.update(BRIDGE_DATA_DIR=str(tmp_path / "data"), BRIDGE_LOG_LEVEL="WARNING")
    done = subprocess.run([*BRIDGE, "demo", "--letters", "80"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "simulated Sisumaker at http://127.0.0.1:" in done.stdout
    assert "pass 3:" in done.stdout
    # Between passes the clock moves a working day ahead: the simulated signer answers.
    assert re.search(r"^pass 2: .* invitations \d+ looked up, [1-9]\d* signed", done.stdout, re.M)
    assert re.search(r"^idle round: \d+ requests \(2 list requests, \d+ invitation look-ups\)$",
                     done.stdout, re.M)
    assert re.search(r"^\d+ of \d+ cases OVERDUE", done.stdout, re.M)
    assert re.search(r"^invitations: .*\d+ signed on time", done.stdout, re.M)
    assert (tmp_path / "data" / "demo" / "ledger.sqlite3").exists()
