"""Review band and operators' decisions as real processes, after a real sync of the simulator.

``bridge case explain``, ``bridge review [accept|reject]``, ``bridge case open|dismiss``:
each decision is stored in the ledger, holds across another sync (cases derived again),
shows in the case's history and ``bridge ledger export``; a waiting letter gets no push and a
dismissed case's unsent pushes are cancelled while what was sent is listed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.simulator import SimServer, SimState
from tests.integration.conftest import bridge_env, run_bridge

pytestmark = pytest.mark.integration

REQUEST = "Permohonan Pembutan Aplikasi Antrian Puskesmas"  # a typo in a key word
REPLY = "Tanggapan atas Surat Permohonan Pembuatan Aplikasi Antrian Puskesmas"
DOUBTFUL = "Dinas Sosial - Pembuatan Aplikasi Pendataan Lansia"  # act and object, no request
PLAIN = "Undangan Halal Bihalal"


@dataclass
class World:
    """The simulator and a ledger after one ``bridge sync --once``."""

    state: SimState
    sim: SimServer
    env: dict[str, str]
    cwd: Path
    year: int
    ids: dict[str, str]

    def run(self, *args: str, ok: bool = True) -> Any:
        done = run_bridge(list(args), self.env, self.cwd)
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def json_lines(self, *args: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.run(*args).stdout.splitlines()]

    def case_id(self, name: str) -> str:
        return f"{self.year}-{self.ids[name]}"

    def pushes(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.json_lines("outbox", "--json")
                if line["case_id"] == self.case_id(name)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = SimState()
    year = state.now().year
    stamp = state.now().strftime("%Y-%m-%d %H:%M:%S")
    ids = {name: state.add_letter(year, perihal=subject, asal_surat="Dinas Kesehatan",
                                  tgl_dibuat=stamp)
           for name, subject in (("request", REQUEST), ("reply", REPLY),
                                 ("doubtful", DOUBTFUL), ("plain", PLAIN))}
    cwd = tmp_path_factory.mktemp("review_cli")
    with SimServer(state) as sim:
        env = bridge_env(sim, cwd / "data")
        done = run_bridge(["sync", "--once"], env, cwd)
        assert done.returncode == 0, done.stderr
        yield World(state, sim, env, cwd, year, ids)


def test_explain_shows_the_fuzzy_reading_the_score_and_the_verdict(world: World) -> None:
    out = world.run("case", "explain", world.ids["request"]).stdout
    assert "normalised: permohonan pengembangan aplikasi antrian puskesmas" in out
    assert "'pembutan' as 'pembuatan' (typo, 1 edit)" in out
    assert "verdict: request" in out and "standing: case" in out
    with_year = world.run("case", "explain", world.ids["request"], "--year",
                          str(world.year % 100)).stdout
    assert with_year == out
    doc = json.loads(world.run("case", "explain", world.case_id("reply"), "--json").stdout)
    assert doc["recognition"]["verdict"] == "none"
    assert doc["recognition"]["score"] == 0
    assert doc["recognition"]["excluded_by"]["matched"] == "tanggapan"
    assert doc["standing"] == "no case"


def test_a_doubtful_letter_waits_for_review_without_a_push(world: World) -> None:
    queue = world.json_lines("review", "--json")
    waiting = {line["case_id"]: line for line in queue}
    assert set(waiting) == {world.case_id("doubtful")}
    entry = waiting[world.case_id("doubtful")]
    assert entry["perihal"] == DOUBTFUL and entry["asal_surat"] == "Dinas Kesehatan"
    assert entry["score"] == 0.6 and "nothing for 'intent'" in entry["why"]
    assert world.pushes("doubtful") == []
    assert world.state.notes(world.year, world.ids["doubtful"]) == []
    # the request was pushed its step-1 note; cases --json carries the score
    cases = {c["case_id"]: c for c in world.json_lines("cases", "--json")}
    assert set(cases) == {world.case_id("request")}
    assert cases[world.case_id("request")]["score"] == 0.9
    assert [p["state"] for p in world.pushes("request")] == ["sent"]


def test_decisions_hold_across_a_sync_and_dismissal_lists_what_was_sent(world: World) -> None:
    doubtful, request = world.case_id("doubtful"), world.case_id("request")
    accepted = world.run("review", "accept", doubtful, "--by", "rina", "--reason",
                         "asks for an application").stdout
    assert f"{doubtful}: accept by rina: asks for an application; a case now" in accepted
    assert world.json_lines("review", "--json") == []
    assert [p["state"] for p in world.pushes("doubtful")] == ["pending"]  # queued, not sent yet

    dismissed = world.run("case", "dismiss", doubtful, "--by", "budi", "--reason",
                          "duplicate of another letter").stdout
    assert "pushes cancelled (never sent):" in dismissed
    assert [p["state"] for p in world.pushes("doubtful")] == ["cancelled"]

    dismissed = world.run("case", "dismiss", request, "--by", "budi").stdout
    assert "already sent, NOT recalled" in dismissed and f"sb-{world.year % 100}-" in dismissed

    # read both letters again: their cases are derived again, in new processes
    for name in ("doubtful", "request"):
        world.run("resync", "--surat", world.ids[name])
    world.run("sync", "--once")
    cases = {c["case_id"] for c in world.json_lines("cases", "--json")}
    assert doubtful not in cases and request not in cases
    assert world.json_lines("review", "--json") == []
    assert [p["state"] for p in world.pushes("doubtful")] == ["cancelled"]
    assert world.state.notes(world.year, world.ids["doubtful"]) == []

    shown = json.loads(world.run("case", doubtful, "--json").stdout)
    kinds = [(h["kind"], h["description"]) for h in shown["history"]]
    assert ("decision", "accept by rina: asks for an application") in kinds
    assert ("decision", "dismiss by budi: duplicate of another letter") in kinds

    opened = world.run("case", "open", world.ids["reply"], "--by", "sari", "--reason",
                       "really a new request").stdout
    assert "a case now" in opened
    exported = [json.loads(line) for line in world.run("ledger", "export").stdout.splitlines()]
    decisions = [(d["case_id"], d["action"], d["by"]) for d in exported if d["type"] == "decision"]
    assert decisions == [(doubtful, "accept", "rina"), (doubtful, "dismiss", "budi"),
                         (request, "dismiss", "budi"), (world.case_id("reply"), "open", "sari")]
    case = next(d for d in exported if d["type"] == "case")
    assert case["case_id"] == world.case_id("reply")
    assert case["reason"] == "open by sari: really a new request"


def test_bad_decisions_are_refused_with_a_reason(world: World) -> None:
    done = world.run("review", "accept", world.case_id("plain"), "--by", "rina", ok=False)
    assert done.returncode == 1 and "not waiting for review" in done.stderr
    done = world.run("case", "open", world.ids["plain"], ok=False)
    assert done.returncode == 2 and "--by NAME" in done.stderr
    done = world.run("case", "explain", "999999", ok=False)
    assert done.returncode == 1 and "no letter '999999'" in done.stderr
    done = world.run("case", "dismiss", world.case_id("plain"), "--by", "x", ok=False)
    assert done.returncode == 1 and "no case; nothing to dismiss" in done.stderr
