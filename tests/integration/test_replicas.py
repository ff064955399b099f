"""Two bridge replicas on one PostgreSQL ledger: one leads; a SIGKILL hands over cleanly."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.adapters.ledger import open_ledger
from bridge.domain.items import ListKind
from bridge.simulator import SimServer, SimState, generate
from tests.integration.conftest import BRIDGE, bridge_env

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

LEADER_TTL = 6.0


class Replica:
    """A `bridge run` process whose JSON log lines are read as they come."""

    def __init__(self, name: str, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.proc = subprocess.Popen([*BRIDGE, "run"], env=env, cwd=cwd, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.lines: queue.Queue[dict[str, object]] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except json.JSONDecodeError:
                self.lines.put({"event": "raw", "text": line})

    def wait_for(self, event: str, timeout: float, **match: object) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                entry = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(entry)
            if entry.get("event") == event and all(entry.get(k) == v for k, v in match.items()):
                return entry
        tail = [e.get("event") for e in self.seen[-15:]]
        raise AssertionError(f"{self.name}: no {event!r} within {timeout} s; last events {tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.stop()


def test_sigkill_of_the_leader_hands_over_without_loss_or_duplicates(
        postgres_url: str, tmp_path: Path, replicas: list[Replica]) -> None:
    state = SimState()
    generate(state, letters=800, seed=21)
    state.set_faults(latency_ms=25)
    with SimServer(state) as sim:
        def env(name: str) -> dict[str, str]:
            return bridge_env(sim, tmp_path / name, BRIDGE_LEDGER_URL=postgres_url,
                              BRIDGE_POLL_INTERVAL="1", BRIDGE_LEADER_TTL=str(LEADER_TTL))

        first = Replica("A", env("a"), tmp_path)
        replicas.append(first)
        first.wait_for("leader.elected", 60)
        second = Replica("B", env("b"), tmp_path)
        replicas.append(second)
        second.wait_for("leader.standby", 60)

        first.wait_for("page.stored", 60)  # in the middle of its first pass
        first.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.proc.wait(timeout=10)
        second.wait_for("leader.elected", LEADER_TTL + 10)
        handover = time.monotonic() - killed_at
        second.wait_for("sync.summary", 180, stopped=False, failures=0, push_left=0)
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(timeout=30) == 0

        print(f"hand-over after SIGKILL: {handover:.2f} s (lease ttl {LEADER_TTL} s)")
        assert handover <= LEADER_TTL + 3

        ledger = open_ledger(postgres_url)
        try:
            stored = {kind: {i.source_id for i in ledger.iter_items(kind)} for kind in ListKind}
            at_step3 = [row for row in ledger.list_cases() if row.step >= 3]
            outbox = ledger.outbox_entries()
        finally:
            ledger.close()
        year = max(int(y) for y in state.stats()["years"])
        assert stored[ListKind.SURAT] == {i["id_persuratan"] for i in state.letters(year)}
        assert stored[ListKind.DISPOSISI] == {i["id_disposisi"] for i in state.dispositions(year)}
        pushed = state.pushed()
        counts = pushed["counts_by_ref"]
        assert counts and max(counts.values()) == 1, "a push was sent twice"
        drafts = {draft["ref"] for draft in pushed["drafts"]}
        assert {f"sb-{year % 100:02d}-{row.surat_id}-invitation-4" for row in at_step3} <= drafts
        assert all(entry.state.value == "sent" for entry in outbox)
