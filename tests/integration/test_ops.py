"""Operations over real processes and a real simulated Sisumaker on loopback.

resync, quarantine and replay, ledger export, the work lease between concurrent commands,
the health and metrics server of ``bridge run``, secret redaction and the shape of the logs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.simulator import SimServer, SimState, generate
from bridge.simulator.state import TIMESTAMP_FORMAT
from tests.integration.conftest import BRIDGE, ROOT, SHAPES, bridge_env, run_bridge

pytestmark = pytest.mark.integration

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
AUTH_VALUE = re.compile(r"(?i)authori[sz]ation[\"']?\s*[:=]\s*[\"']?(?!<redacted>)[^\"'\s,}]+")
CURSOR_FIELDS = ("list", "year", "watermark", "last_page", "pass_id", "last_complete_pass_at",
                 "last_full_pass_at")
SUMMARY = re.compile(r"^resync: \d+ list pass\(es\), \d+ pages, (\d+) new, (\d+) changed, "
                     r"\d+ unchanged, \d+ quarantined$", re.MULTILINE)


# -- helpers ---------------------------------------------------------------------------------


def logs(stdout: str) -> list[dict[str, Any]]:
    """The JSON log lines among what a command printed (summaries are plain text)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def events(stdout: str, name: str) -> list[dict[str, Any]]:
    return [line for line in logs(stdout) if line["event"] == name]


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return done


def run_together(commands: list[list[str]], env: dict[str, str],
                 cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run independent bridge commands at the same time (each a real process)."""
    results: list[subprocess.CompletedProcess[str] | None] = [None] * len(commands)

    def one(index: int) -> None:
        results[index] = run_bridge(commands[index], env, cwd, timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def status(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(ok(run_bridge(["status", "--json"], env, cwd)).stdout)
    return report


def cursors(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(tuple(c[key] for key in CURSOR_FIELDS) for c in report["cursors"])


def export(env: dict[str, str], cwd: Path) -> list[dict[str, Any]]:
    done = ok(run_bridge(["ledger", "export"], env, cwd))
    return [json.loads(line) for line in done.stdout.splitlines()]


def ledger_item(data_dir: Path, kind: str, source_id: str) -> tuple[int, str] | None:
    """(version, payload) of one stored item, read straight from the SQLite file."""
    with contextlib.closing(sqlite3.connect(data_dir / "ledger.sqlite3")) as conn:
        row = conn.execute("SELECT version, payload FROM items WHERE kind = ? AND source_id = ?",
                           (kind, source_id)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def ledger_ids(data_dir: Path, kind: str) -> set[str]:
    with contextlib.closing(sqlite3.connect(data_dir / "ledger.sqlite3")) as conn:
        rows = conn.execute("SELECT source_id FROM items WHERE kind = ?", (kind,)).fetchall()
    return {str(row[0]) for row in rows}


def server_ids(state: SimState) -> tuple[set[str], set[str]]:
    letters = {item["id_persuratan"] for year in state.years for item in state.letters(year)}
    dispositions = {item["id_disposisi"] for year in state.years
                    for item in state.dispositions(year)}
    return letters, dispositions


def stamp(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("bridge: error:"), stderr
    return lines[0]


def plant_null_id(state: SimState, year: int, **fields: Any) -> None:
    """Serve one letter whose ``id_persuratan`` is null.

    The simulator's API refuses such a letter (its ids must be digits), so the broken row is
    planted in its table the way a damaged Sisumaker database would serve it.
    """
    letter_id = int(state.add_letter(year, **fields))
    with state._lock:
        table = state._year(year).letters
        table.get(letter_id, "")["id_persuratan"] = None
        table._json.pop(letter_id, None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Daemon:
    """``bridge run`` (or any long command) as a real process; its output is collected."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen([*BRIDGE, *args], env=env, cwd=cwd, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.out: list[str] = []
        self.err: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out),
                                        daemon=True),
                       threading.Thread(target=self._pump, args=(self.proc.stderr, self.err),
                                        daemon=True)]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def count(self, event: str) -> int:
        return sum(1 for line in list(self.out) if f'"event": "{event}"' in line)

    def wait_for(self, event: str, *, count: int = 1, timeout: float = 60) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None and self.count(event) < count:
                pytest.fail(f"bridge exited {self.proc.returncode} before {event}: "
                            f"{''.join(self.err)[-2000:]}")
            return self.count(event) >= count

        wait_until(seen, timeout, f"{count} x {event}")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pump in self._pumps:
            pump.join(10)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


@contextlib.contextmanager
def daemon(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[Daemon]:
    running = Daemon(args, env, cwd)
    try:
        yield running
    finally:
        running.stop()


def current_year(state: SimState) -> int:
    return state.now().year


def far_full_sync_hour(state: SimState) -> str:
    """A BRIDGE_FULL_SYNC_HOUR twelve hours away, so no daily full pass starts mid-test."""
    return str((state.now().hour + 12) % 24)


# -- 1. resync --surat ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_resync_surat_reads_one_letter_again_and_leaves_the_cursors_alone(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=300, seed=21)
    year = current_year(sim_state)
    data = tmp_path / "data"
    env = bridge_env(sim, data, BRIDGE_FULL_SYNC_HOUR=far_full_sync_hour(sim_state))
    ok(run_bridge(["sync", "--once"], env, tmp_path))

    # An old letter (page 3 of 3) changes in place and gets a disposition dated near its own
    # date: far below the incremental pass's stop point.
    letter = sim_state.letters(year)[250]
    surat_id = letter["id_persuratan"]
    created = datetime.strptime(letter["tgl_dibuat"], TIMESTAMP_FORMAT)
    assert sim_state.now() - created > timedelta(days=2)
    sim_state.update_letter(year, surat_id, status_dibaca="1",
                            tgl_diterimaTU=stamp(created + timedelta(minutes=37)))
    added = sim_state.add_disposition(
        year, id_persuratan=surat_id, tgl_disposisi=stamp(created + timedelta(hours=3)),
        dari_jabatan="Kepala Dinas Komunikasi dan Informatika", kepada_jabatan="Kabid PTIKP",
        isi_disposisi="Mohon ditindaklanjuti sesuai SOP")

    ok(run_bridge(["sync", "--once"], env, tmp_path))  # incremental: sees neither
    assert (ledger_item(data, "surat", surat_id) or (0, ""))[0] == 1
    assert ledger_item(data, "disposisi", added) is None
    before = status(env, tmp_path)

    done = ok(run_bridge(["resync", "--surat", surat_id], env, tmp_path))
    summary = SUMMARY.search(done.stdout)
    assert summary is not None, done.stdout
    assert summary.groups() == ("1", "1")  # the disposition new, the letter changed
    assert re.search(r"^cases: \d+ derived", done.stdout, re.MULTILINE)
    version, payload = ledger_item(data, "surat", surat_id) or (0, "")
    assert version == 2 and '"status_dibaca":"1"' in payload
    stored = ledger_item(data, "disposisi", added)
    assert stored is not None and "Mohon ditindaklanjuti" in stored[1]

    after = status(env, tmp_path)
    assert cursors(after) == cursors(before)
    assert after["last_complete_pass_at"] == before["last_complete_pass_at"]
    assert after["items"]["disposisi"] == before["items"]["disposisi"] + 1

    unknown = run_bridge(["resync", "--surat", "987654"], env, tmp_path)
    assert unknown.returncode == 1
    assert "987654" in one_error_line(unknown.stderr)
    assert cursors(status(env, tmp_path)) == cursors(before)


# -- 2. resync --since / --until ----------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_resync_since_stores_old_items_an_incremental_pass_misses(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=300, seed=22)
    year = current_year(sim_state)
    data = tmp_path / "data"
    env = bridge_env(sim, data, BRIDGE_FULL_SYNC_HOUR=far_full_sync_hour(sim_state))
    ok(run_bridge(["sync", "--once"], env, tmp_path))

    old = sim_state.now() - timedelta(days=30)  # about 200 letters are newer: page 3
    letter = sim_state.add_letter(year, perihal="Permohonan Pengembangan Aplikasi Si-Pintar",
                                  asal_surat="Dinas Pendidikan", tgl_dibuat=stamp(old))
    disposition = sim_state.add_disposition(
        year, id_persuratan=letter, tgl_disposisi=stamp(old + timedelta(hours=2)),
        dari_jabatan="Sekretaris Dinas", kepada_jabatan="Kabid PTIKP", isi_disposisi="Proses")
    ok(run_bridge(["sync", "--once"], env, tmp_path))
    assert ledger_item(data, "surat", letter) is None
    assert ledger_item(data, "disposisi", disposition) is None
    before = status(env, tmp_path)

    since = (old - timedelta(days=1)).date().isoformat()
    done = ok(run_bridge(["resync", "--since", since], env, tmp_path))
    summary = SUMMARY.search(done.stdout)
    assert summary is not None and summary.group(1) == "2", done.stdout
    stored_letter = ledger_item(data, "surat", letter)
    stored_disposition = ledger_item(data, "disposisi", disposition)
    assert stored_letter is not None and stored_disposition is not None
    assert json.loads(stored_letter[1])["perihal"] == "Permohonan Pengembangan Aplikasi Si-Pintar"
    assert str(json.loads(stored_disposition[1])["id_persuratan"]) == letter  # alt: a number
    assert (stored_letter[0], stored_disposition[0]) == (1, 1)  # first seen by the resync
    assert cursors(status(env, tmp_path)) == cursors(before)

    # stderr is a pipe, not a terminal: progress comes as log lines, not as a bar.
    progress = events(done.stdout, "resync.progress")
    assert {line["list"].split()[0] for line in progress} == {"surat", "disposisi"}
    assert all(line["page"] >= 1 and line["items"] > 0 for line in progress)
    assert "\r" not in done.stderr

    today = sim_state.now().date()
    backwards, year_alone = run_together(
        [["resync", "--since", today.isoformat(), "--until",
          (today - timedelta(days=1)).isoformat()],
         ["resync", "--since", since, "--year", "26"]], env, tmp_path)
    assert backwards.returncode != 0
    line = one_error_line(backwards.stderr)
    assert "--until" in line and "--since" in line and "before" in line
    assert year_alone.returncode == 2
    assert "--year" in one_error_line(year_alone.stderr)
    assert cursors(status(env, tmp_path)) == cursors(before)


# -- 3. resync --full -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_resync_full_flags_what_the_server_removed(sim: SimServer, sim_state: SimState,
                                                  tmp_path: Path) -> None:
    generate(sim_state, letters=150, seed=23)
    year = current_year(sim_state)
    env = bridge_env(sim, tmp_path / "data")
    ok(run_bridge(["sync", "--once"], env, tmp_path))
    gone_letter = sim_state.letters(year)[120]["id_persuratan"]
    gone_disposition = sim_state.dispositions(year)[40]["id_disposisi"]
    sim_state.remove_letter(year, gone_letter)
    sim_state.remove_disposition(year, gone_disposition)

    done = ok(run_bridge(["resync", "--full"], env, tmp_path))
    assert SUMMARY.search(done.stdout), done.stdout
    assert re.search(r"^cases: \d+ derived, \d+ opened, \d+ changed, \d+ closed$", done.stdout,
                     re.MULTILINE)

    items = [doc for doc in export(env, tmp_path) if doc["type"] == "item"]
    missing = {(doc["list"], doc["source_id"]) for doc in items if doc["missing_since"]}
    assert missing == {("surat", gone_letter), ("disposisi", gone_disposition)}
    flagged = next(doc for doc in items if doc["source_id"] == gone_letter)
    assert datetime.fromisoformat(flagged["missing_since"]) > datetime.now(UTC) - timedelta(
        minutes=5)


# -- 4. quarantine and replay -----------------------------------------------------------------


def test_quarantine_lists_reasons_and_replay_stores_what_a_fixed_mapping_reads(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=40, seed=24)
    year = current_year(sim_state)
    now = sim_state.now()
    yesterday = sim_state.add_letter(year, perihal="Undangan rapat", tgl_dibuat="kemarin")
    slashed = sim_state.add_letter(year, perihal="Permohonan aplikasi",
                                   tgl_dibuat=now.strftime("%d/%m/%Y %H:%M"))
    plant_null_id(sim_state, year, perihal="Surat tanpa nomor", tgl_dibuat=stamp(now))
    env = bridge_env(sim, tmp_path / "data")
    ok(run_bridge(["sync", "--once"], env, tmp_path))

    def quarantined(environment: dict[str, str]) -> list[dict[str, Any]]:
        done = ok(run_bridge(["quarantine", "--json"], environment, tmp_path))
        return [json.loads(line) for line in done.stdout.splitlines()]

    entries = quarantined(env)
    by_id = {entry["source_id"]: entry for entry in entries}
    assert set(by_id) == {yesterday, slashed, None}
    assert "kemarin" in by_id[yesterday]["reason"] and "tgl_dibuat" in by_id[yesterday]["reason"]
    assert "tgl_dibuat" in by_id[slashed]["reason"]
    assert "id_persuratan" in by_id[None]["reason"] and "null" in by_id[None]["reason"]
    assert all(entry["list"] == "surat" and entry["year"] == year for entry in entries)

    # The operator learns Sisumaker writes "DD/MM/YYYY HH:MM" too and adds it to a copy.
    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    profile = mappings / "sisumaker.toml"
    head, section, tail = profile.read_text(encoding="utf-8").partition(
        "[lists.surat.date_formats]")
    assert section, "the profile has no [lists.surat.date_formats]"
    fixed_tail = tail.replace('created_at = [', 'created_at = ["%d/%m/%Y %H:%M", ', 1)
    assert fixed_tail != tail
    profile.write_text(head + section + fixed_tail, encoding="utf-8")
    loaded = tomllib.loads(profile.read_text(encoding="utf-8"))["lists"]
    assert "%d/%m/%Y %H:%M" in loaded["surat"]["date_formats"]["created_at"]
    assert "%d/%m/%Y %H:%M" not in loaded["disposisi"]["date_formats"]["created_at"]
    fixed_env = {**env, "BRIDGE_MAPPINGS_DIR": str(mappings)}

    replay = ok(run_bridge(["quarantine", "replay", "--all"], fixed_env, tmp_path))
    assert "replayed 3: 1 now stored, 2 still quarantined" in replay.stdout

    left = {entry["source_id"]: entry for entry in quarantined(fixed_env)}
    assert set(left) == {yesterday, None}
    assert "null" in left[None]["reason"] and "kemarin" in left[yesterday]["reason"]
    items = {(doc["list"], doc["source_id"]): doc for doc in export(env, tmp_path)
             if doc["type"] == "item"}
    assert ("surat", slashed) in items
    assert items[("surat", slashed)]["payload"]["perihal"] == "Permohonan aplikasi"
    assert ("surat", yesterday) not in items

    unknown = run_bridge(["quarantine", "replay", "987654"], fixed_env, tmp_path)
    assert unknown.returncode == 1
    assert "987654" in one_error_line(unknown.stderr)


# -- 5. ledger export -------------------------------------------------------------------------


def test_ledger_export_writes_typed_json_lines_matching_status(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=120, seed=25)
    sim_state.add_letter(current_year(sim_state), perihal="Tanggal rusak",
                         tgl_dibuat="0000-00-00 00:00:00")
    env = bridge_env(sim, tmp_path / "data")
    ok(run_bridge(["sync", "--once"], env, tmp_path))
    report = status(env, tmp_path)

    done = ok(run_bridge(["ledger", "export"], env, tmp_path))
    lines = done.stdout.splitlines()
    docs = [json.loads(line) for line in lines]
    kinds = [doc["type"] for doc in docs]
    assert set(kinds) == {"item", "case", "outbox", "quarantine"}
    assert kinds.count("item") == sum(report["items"].values())
    assert kinds.count("quarantine") == report["quarantined"] == 1
    for kind in ("surat", "disposisi"):
        assert sum(1 for doc in docs if doc["type"] == "item" and doc["list"] == kind) \
            == report["items"][kind]
    assert all(isinstance(doc["payload"], dict) for doc in docs if doc["type"] == "item")

    target = tmp_path / "out" / "ledger.jsonl"
    target.parent.mkdir()
    to_file = ok(run_bridge(["ledger", "export", "-o", str(target)], env, tmp_path))
    written = target.read_text(encoding="utf-8").splitlines()
    assert sorted(written) == sorted(lines)
    assert f"wrote {len(lines)} lines" in to_file.stderr
    assert not any(line.startswith("{") and '"type"' in line for line in to_file.stdout.splitlines())


# -- 6. concurrency under the work lease ------------------------------------------------------


def test_resync_and_sync_wait_for_a_running_daemon_and_nothing_is_pushed_twice(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=150, seed=26)
    sim_state.set_faults(latency_ms=30)
    year = current_year(sim_state)
    data = tmp_path / "data"
    env = bridge_env(sim, data, BRIDGE_POLL_INTERVAL="1")
    with daemon(["run"], env, tmp_path) as running:
        running.wait_for("page.stored")  # its first round holds the work lease now
        commands = [subprocess.Popen([*BRIDGE, *args], env=env, cwd=tmp_path, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
                    for args in (["resync", "--full"], ["sync", "--once"])]
        try:
            now = sim_state.now()
            for n in range(3):
                sim_state.add_letter(year, perihal=f"Permohonan Pengembangan Aplikasi Nomor {n}",
                                     asal_surat="Dinas Perhubungan", tgl_dibuat=stamp(now))
            outputs = [command.communicate(timeout=90) for command in commands]
        finally:
            for command in commands:
                if command.poll() is None:
                    command.kill()
                    command.communicate()
        for command, (_out, err) in zip(commands, outputs, strict=True):
            assert command.returncode == 0, err
        assert SUMMARY.search(outputs[0][0])
        rounds = running.count("sync.summary")
        running.wait_for("sync.summary", count=rounds + 1)  # a round after both commands
        assert running.stop() == 0

    counts = sim_state.pushed()["counts_by_ref"]
    assert counts, "nothing was pushed"
    assert {ref: n for ref, n in counts.items() if n != 1} == {}
    letters, dispositions = server_ids(sim_state)
    assert ledger_ids(data, "surat") == letters
    assert ledger_ids(data, "disposisi") == dispositions

    # Under the lease no two passes (of any process) ever ran at the same time.
    with contextlib.closing(sqlite3.connect(data / "ledger.sqlite3")) as conn:
        passes = conn.execute("SELECT pass_id, started_at, finished_at FROM passes "
                              "ORDER BY started_at").fetchall()
        leases = conn.execute("SELECT COUNT(*) FROM leases WHERE name = 'work'").fetchone()[0]
    assert len({row[0] for row in passes}) >= 3
    for (_, _, finished), (_, started, _) in itertools.pairwise(passes):
        assert datetime.fromisoformat(started) >= datetime.fromisoformat(finished)
    assert leases == 0  # every holder let go


# -- 7. health and metrics -------------------------------------------------------------------


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str,
          **labels: str) -> float:
    return sum(value for found, value in samples.get(name, [])
               if all(found.get(k) == v for k, v in labels.items()))


def probe(port: int, path: str) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code
    except httpx.TransportError:
        return None


def test_run_serves_health_readiness_and_prometheus_metrics(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=60, seed=27)
    sim_state.add_letter(current_year(sim_state), perihal="x", tgl_dibuat="kemarin")
    sim_state.set_faults(error_rate=1.0, error_codes=[503])  # nothing completes yet
    port = free_port()
    env = bridge_env(sim, tmp_path / "data", BRIDGE_METRICS_PORT=str(port),
                     BRIDGE_METRICS_HOST="127.0.0.1", BRIDGE_POLL_INTERVAL="1",
                     BRIDGE_HTTP_MAX_ATTEMPTS="2")
    with daemon(["run"], env, tmp_path) as running:
        wait_until(lambda: probe(port, "/healthz") == 200, 30, "/healthz")
        assert probe(port, "/readyz") == 503
        wait_until(lambda: total(scrape(port), "bridge_errors_total") >= 1, 30,
                   "an error counted")
        failing = scrape(port)
        assert total(failing, "bridge_http_retries_total") >= 1
        assert probe(port, "/readyz") == 503
        not_ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).text
        assert "not ready" in not_ready

        sim_state.set_faults()
        wait_until(lambda: probe(port, "/readyz") == 200, 30, "/readyz 200")
        wait_until(lambda: total(scrape(port), "bridge_passes_total", result="complete") >= 2,
                   30, "a complete round counted")
        samples = scrape(port)
        assert running.stop() == 0

    # The ledger's own view, after the daemon stopped (its last rounds changed nothing: no
    # fault, no new item since the scrape).
    shown = run_bridge(["cases", "--json"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    cases = [json.loads(line) for line in shown.stdout.splitlines()]
    overdue = sum(1 for case in cases if case["overdue"])
    assert 0 < overdue < len(cases)  # the generated letters hold both kinds
    letters, dispositions = server_ids(sim_state)
    for name in ("bridge_passes_total", "bridge_items_read_total", "bridge_pages_read_total",
                 "bridge_errors_total", "bridge_http_retries_total", "bridge_quarantine_items",
                 "bridge_cases", "bridge_cases_overdue", "bridge_outbox",
                 "bridge_invitations_returned",
                 "bridge_last_successful_pass_timestamp_seconds"):
        assert name in samples, f"{name} missing from /metrics"
    assert total(samples, "bridge_items_read_total", list="surat") == len(letters)
    assert total(samples, "bridge_items_read_total", list="disposisi") == len(dispositions)
    assert total(samples, "bridge_pages_read_total") >= 2
    assert total(samples, "bridge_errors_total") >= 1
    assert total(samples, "bridge_quarantine_items") == 1
    assert all("step" in labels for labels, _ in samples["bridge_cases"])
    assert total(samples, "bridge_cases") == len(cases)
    assert all("state" in labels for labels, _ in samples["bridge_outbox"])
    assert total(samples, "bridge_outbox", state="sent") > 0
    assert total(samples, "bridge_cases_overdue") == overdue
    last = total(samples, "bridge_last_successful_pass_timestamp_seconds")
    assert abs(last - time.time()) < 120


def test_a_busy_metrics_port_stops_start_up_with_one_line(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bridge_env(sim, tmp_path / "data", BRIDGE_METRICS_PORT=str(port),
                         BRIDGE_METRICS_HOST="127.0.0.1")
        done = run_bridge(["run", "--max-syncs", "1"], env, tmp_path, timeout=60)
    assert done.returncode == 2
    assert "BRIDGE_METRICS_PORT" in one_error_line(done.stderr)
    assert sim_state.request_counts() == {}  # it stopped before polling anything


# -- 8. secret redaction ----------------------------------------------------------------------

SECRET = "Tangsel-Kunci-8831"


def assert_no_secret(text: str, password: str = SECRET) -> None:
    assert password not in text
    assert JWT.search(text) is None, JWT.search(text)
    assert AUTH_VALUE.search(text) is None, AUTH_VALUE.search(text)


def test_debug_logs_never_show_the_password_or_a_token(tmp_path: Path) -> None:
    state = SimState(password=SECRET)
    generate(state, letters=40, seed=28)
    with SimServer(state) as sim:
        env = bridge_env(sim, tmp_path / "data", BRIDGE_SISUMAKER_PASSWORD=SECRET,
                         BRIDGE_LOG_LEVEL="DEBUG", BRIDGE_POLL_INTERVAL="1")
        # 429s with Retry-After: 0 retry at once; a few 5xx back off for real.
        state.set_faults(rate_limit_rate=0.3, retry_after=0, error_rate=0.05, seed=7)
        once = run_bridge(["sync", "--once"], env, tmp_path)
        # Six attempts per request nearly always outlast the faults; if a list still failed,
        # the summary says so and the exit status is 1, never anything else.
        [summary] = events(once.stdout, "sync.summary")
        assert once.returncode == (1 if summary["failures"] else 0), once.stderr
        assert events(once.stdout, "http.retry"), "no retry happened: the test proves nothing"
        assert events(once.stdout, "auth.login")
        state.set_faults()

        with daemon(["run"], env, tmp_path) as running:
            running.wait_for("sync.summary")
            assert state.revoke_tokens() > 0
            state.set_faults(rate_limit_rate=0.2, retry_after=0, seed=3)
            running.wait_for("auth.token_rejected")
            running.wait_for("sync.summary", count=2)
            assert running.stop() == 0
        assert '"level": "debug"' in running.stdout

        state.set_faults()
        wrong = "Salah-Sandi-5512"
        refused = run_bridge(["sync", "--once"],
                             {**env, "BRIDGE_SISUMAKER_PASSWORD": wrong}, tmp_path)
        assert refused.returncode == 1
    assert_no_secret(once.stdout + once.stderr)
    assert_no_secret(running.stdout + running.stderr)
    assert_no_secret(refused.stdout + refused.stderr, wrong)
    assert SECRET not in refused.stdout + refused.stderr


def test_the_password_is_scrubbed_even_when_the_server_echoes_it(tmp_path: Path) -> None:
    state = SimState(password=SECRET)
    generate(state, letters=5, seed=29)
    # Data that happens to carry the password lands in a log line (the quarantine reason).
    state.add_letter(current_year(state), perihal="salah ketik", tgl_dibuat=SECRET)
    with SimServer(state) as sim:
        env = bridge_env(sim, tmp_path / "data", BRIDGE_SISUMAKER_PASSWORD=SECRET)
        done = ok(run_bridge(["sync", "--once"], env, tmp_path))
    assert events(done.stdout, "item.quarantined")
    assert SECRET not in done.stdout + done.stderr


# -- 9. logs for operations --------------------------------------------------------------------


def check_log_line(line: dict[str, Any]) -> None:
    assert {"timestamp", "level", "event"} <= line.keys(), line
    assert line["timestamp"].endswith("Z"), line
    moment = datetime.fromisoformat(line["timestamp"])
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=10)
    assert line["level"] in {"debug", "info", "warning", "error"}


def test_sync_logs_carry_what_operations_needs(sim: SimServer, sim_state: SimState,
                                               tmp_path: Path) -> None:
    generate(sim_state, letters=80, seed=30)
    sim_state.add_letter(current_year(sim_state), perihal="x", tgl_dibuat="kemarin")
    env = bridge_env(sim, tmp_path / "data", BRIDGE_POLL_INTERVAL="1")
    done = ok(run_bridge(["sync", "--once"], env, tmp_path))
    raw = done.stdout.splitlines()
    lines = [json.loads(line) for line in raw]  # every stdout line is a JSON log line
    assert lines
    for line in lines:
        check_log_line(line)
    passes = [line for line in lines if line["event"].startswith(("pass.", "page."))]
    assert {line["event"] for line in passes} >= {"pass.completed", "page.stored"}
    assert all(line.get("pass_id") for line in passes)
    assert len({line["pass_id"] for line in passes}) == 1
    cases = [line for line in lines
             if line["event"].startswith(("case.", "sla.")) or line["event"] == "push.sent"]
    assert any(line["event"] == "case.opened" for line in cases)
    assert all(line.get("case_id") and line.get("surat_id") for line in cases)
    assert sum(1 for line in lines if line["event"] == "sync.summary") == 1
    warning = events(done.stdout, "item.quarantined")
    assert warning and warning[0]["level"] == "warning" and "next" in warning[0]

    rounds = ok(run_bridge(["run", "--max-syncs", "2"], env, tmp_path))
    summaries = events(rounds.stdout, "sync.summary")
    assert len(summaries) == 2
    assert len({line["pass_id"] for line in summaries}) == 2

    sim_state.set_faults(error_rate=1.0, error_codes=[503])
    failing = run_bridge(["sync", "--once"],
                         {**env, "BRIDGE_HTTP_MAX_ATTEMPTS": "1",
                          "BRIDGE_YEARS": str(current_year(sim_state))}, tmp_path)
    assert failing.returncode == 1
    failed = logs(failing.stdout)
    for line in failed:
        check_log_line(line)
    errors = [line for line in failed if line["level"] == "error"]
    assert any(line["event"] == "pass.failed" for line in errors)
    for line in errors:
        assert line.get("reason") and line.get("next"), line
    assert sum(1 for line in failed if line["event"] == "sync.summary") == 1
    assert one_error_line(failing.stderr)
