"""Exactly once through SIGKILL: the bridge is killed again and again while it pushes.

A simulated Sisumaker runs in the test process with many cases at step 3 (so many notes and
invitations to push) and some latency, so that kills land in the middle of pushes. ``bridge
sync --once`` is started as a real process on the same data directory again and again and
killed with SIGKILL a random 0.05-1.5 s (seeded) after its first log line (even rounds: the kill
may land while pages are read, cases derived or pushes sent) or after its first push (odd
rounds: the first full pass and the cases take several rounds, and a kill must land in the
middle of the pushes); its start-up is skipped, since a kill there tests nothing. A last round
runs to completion without faults; then every ref the server holds must be there exactly once,
every push the cases imply must be there, and ``bridge outbox --json`` must show everything
sent.

``BRIDGE_KILL_TEST_KILLS`` sets the number of kills (default 12, for CI).
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.simulator import SimServer, SimState, generate
from tests.integration.conftest import BRIDGE, bridge_env, run_bridge
from tests.integration.kill_harness import (
    Verdict,
    harness_command,
    harness_env,
    judge,
    kill,
    outbox_lines,
    start,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
KILLS = int(os.environ.get("BRIDGE_KILL_TEST_KILLS", "12"))
# Enough pushes that the kills keep landing in the middle of them: about 4 per letter at 20 ms.
LETTERS = max(300, 25 * KILLS)
REQUEST_SHARE = 0.5
LATENCY_MS = 20.0
WAIT_RANGE = (0.05, 1.5)
# Every loop is bounded in time as well as in count.
LOOP_BUDGET_S = 20.0 + 3.0 * KILLS
FINAL_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Variant:
    """Faults during the first part of the kill loop (latency always; cleared at the end)."""

    name: str
    faults: dict[str, object]
    env: dict[str, str]


PLAIN = Variant("kills", {}, {})
# The server creates the note or draft, then drops the connection: a lost response.
DROP = Variant("kills+post-timeout-drop",
               {"post_timeout_after_create_rate": 0.3, "post_timeout_action": "drop"}, {})
# The server creates it, then answers only after the client's timeout.
SLEEP = Variant("kills+post-timeout-sleep",
                {"post_timeout_after_create_rate": 0.2, "post_timeout_action": "sleep",
                 "post_timeout_sleep_ms": 1500.0},
                {"BRIDGE_HTTP_TIMEOUT": "0.5"})
VARIANTS = [
    pytest.param(PLAIN, "contract", id=PLAIN.name),
    pytest.param(DROP, "contract", id=DROP.name),
    pytest.param(SLEEP, "contract", id=SLEEP.name, marks=pytest.mark.slow),  # not in default CI
    # The second deployment shape: its write answers, paged note list and ref-in-path look-up.
    pytest.param(DROP, "alt", id=f"{DROP.name}-alt"),
]


@dataclass
class LoopResult:
    """What the kill loop did."""

    rounds: int = 0
    kills: int = 0
    kills_during_push: int = 0
    finished_before_kill: int = 0
    pushed_while_faulted: bool = False
    seconds: float = 0.0


PUSH_LINE = '"push.'  # any push event: push.sent, push.found, push.deferred, ...


def wait_until_up(proc: subprocess.Popen[bytes], log: Path, marker: str | None = None,
                  timeout: float = 30.0) -> None:
    """Wait for the first log line (or the first holding ``marker``): Python's start-up alone
    takes a good part of a second here, and a kill during it tests nothing; the random wait
    counts from when the bridge is at work."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if (log.stat().st_size > 0 if marker is None
                else marker in log.read_text(encoding="utf-8", errors="replace")):
            return
        time.sleep(0.005)


def kill_loop(env: dict[str, str], workdir: Path, state: SimState, variant: Variant,
              seed: int) -> LoopResult:
    rng = random.Random(seed)
    result = LoopResult()
    started = time.monotonic()
    faults_until = (KILLS + 1) // 2  # the variant's faults for the first half of the rounds
    state.set_faults(latency_ms=LATENCY_MS, seed=seed, **variant.faults)
    for round_no in range(KILLS):
        if time.monotonic() - started > LOOP_BUDGET_S:
            break
        if round_no == faults_until:
            state.set_faults(latency_ms=LATENCY_MS, seed=seed)
        log = workdir / f"round-{round_no:03d}.log"
        proc = start([*BRIDGE, "sync", "--once"], env, workdir, log)
        try:
            wait_until_up(proc, log, PUSH_LINE if round_no % 2 else None)
            proc.wait(timeout=rng.uniform(*WAIT_RANGE))
        except subprocess.TimeoutExpired:
            kill(proc)
            result.kills += 1
            killed = True
        else:
            result.finished_before_kill += 1
            killed = False
        finally:
            kill(proc)
        pushed = PUSH_LINE in log.read_text(encoding="utf-8", errors="replace")
        result.kills_during_push += int(killed and pushed)
        result.pushed_while_faulted |= pushed and round_no < faults_until
        result.rounds += 1
    result.seconds = time.monotonic() - started
    return result


def final_round(env: dict[str, str], workdir: Path, state: SimState) -> None:
    state.set_faults()  # no faults, no latency
    time.sleep(1.5)  # past BRIDGE_PUSH_RESEND_AFTER, so in-doubt pushes may be sent again
    done = run_bridge(["sync", "--once"], env, workdir, timeout=FINAL_TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def verdict_after(state: SimState, env: dict[str, str], workdir: Path, data: Path) -> Verdict:
    shown = run_bridge(["outbox", "--json"], env, workdir)
    assert shown.returncode == 0, shown.stderr
    return judge(state.pushed(), data / "ledger.sqlite3", MAPPINGS, outbox_lines(shown.stdout))


def assert_exactly_once(verdict: Verdict) -> None:
    missing = verdict.missing
    assert verdict.duplicates == {}, f"duplicates on the server: {verdict.duplicates}"
    assert missing == [], f"pushes missing on the server: {verdict.describe(missing)}"
    assert verdict.unexpected == [], f"pushes no case explains: {verdict.unexpected}"
    assert verdict.misplaced == [], f"pushes on the wrong letter: {verdict.misplaced}"
    lines = list(verdict.outbox.values())
    not_sent = [(line["ref"], line["state"], line["last_error"]) for line in lines
                if line["state"] != "sent"]
    assert not_sent == [], f"outbox entries not sent: {not_sent[:10]}"
    assert set(verdict.outbox) == set(verdict.expected)
    wrong_id = [line["ref"] for line in lines
                if [line["remote_id"]] != verdict.server_ids.get(line["ref"])]
    assert wrong_id == [], f"remote ids that are not the server's: {wrong_id[:10]}"


@pytest.mark.parametrize(("variant", "shape"), VARIANTS)
def test_sigkill_while_pushing_never_duplicates_nor_loses_a_push(tmp_path: Path,
                                                                  variant: Variant,
                                                                  shape: str) -> None:
    seed = 20261129 + sum(map(ord, variant.name))
    state = SimState()
    generate(state, letters=LETTERS, seed=seed, request_share=REQUEST_SHARE)
    data = tmp_path / "data"
    with SimServer(state, shape=shape) as sim:
        env = bridge_env(sim, data, **variant.env)
        loop = kill_loop(env, tmp_path, state, variant, seed)
        post_timeouts = state.stats().get("faults", {}).get("post_timeout", 0)
        final_round(env, tmp_path, state)
        verdict = verdict_after(state, env, tmp_path, data)
        print(f"\npush-kill [{variant.name}]: kills={loop.kills}/{KILLS} "
              f"(during pushes {loop.kills_during_push}, rounds finished before the kill "
              f"{loop.finished_before_kill}, {loop.seconds:.1f} s), post-timeout faults="
              f"{post_timeouts}, cases={verdict.cases}, cases at step 3="
              f"{verdict.cases_at_invitation}, refs on server={len(verdict.counts)}, "
              f"expected={len(verdict.expected)}, duplicates={len(verdict.duplicates)}, "
              f"missing={len(verdict.missing)}")
        assert_exactly_once(verdict)

        # An idle round afterwards pushes nothing more.
        before = dict(state.pushed()["counts_by_ref"])
        again = run_bridge(["sync", "--once"], env, tmp_path, timeout=FINAL_TIMEOUT_S)
        assert again.returncode == 0, again.stderr
        assert state.pushed()["counts_by_ref"] == before

    assert verdict.cases_at_invitation >= 20, "too few cases at step 3 to test anything"
    assert loop.kills >= min(KILLS, 3)
    # The odd rounds wait for their first push before the random wait, and far more pushes
    # are due than all rounds together can send (about 600 at 20 ms each, at most 1.5 s a
    # round), so each odd round is killed while it pushes: half the rounds, a quarter asked.
    assert loop.kills_during_push >= max(1, loop.rounds // 4), (
        f"only {loop.kills_during_push} of {loop.kills} kills landed while pushing")
    if variant.faults and loop.pushed_while_faulted:
        assert post_timeouts > 0, "the post-timeout fault never fired"


CRASH_POINTS = [
    pytest.param("before-post", "contract", id="before-post"),
    pytest.param("after-post", "contract", id="after-post"),
    pytest.param("after-sent", "contract", id="after-sent-before-follow-up-note"),
    # The draft made but its answer lost: found again by the ref in the alt shape's path.
    pytest.param("after-post", "alt", id="after-post-alt"),
]


@pytest.mark.parametrize(("point", "shape"), CRASH_POINTS)
def test_a_kill_at_each_crash_point_of_an_invitation(tmp_path: Path, point: str,
                                                     shape: str) -> None:
    state = SimState()
    generate(state, letters=80, seed=7, request_share=0.5)
    data = tmp_path / "data"
    with SimServer(state, shape=shape) as sim:
        env = bridge_env(sim, data)
        proc = start(harness_command(point), harness_env(env), tmp_path, tmp_path / "crash.log")
        try:
            code = proc.wait(timeout=120)
        finally:
            kill(proc)
        crash_log = (tmp_path / "crash.log").read_text(encoding="utf-8", errors="replace")
        assert code == -9, crash_log[-3000:]  # it died by SIGKILL at the crash point
        drafts_at_crash = len(state.pushed()["drafts"])
        assert drafts_at_crash == (0 if point == "before-post" else 1)

        final_round(env, tmp_path, state)
        verdict = verdict_after(state, env, tmp_path, data)
        assert verdict.cases_at_invitation >= 1
        assert_exactly_once(verdict)
