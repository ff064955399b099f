"""Helpers for the kill tests of the outbox, and a bridge that kills itself at a chosen point.

Run as ``python -m tests.integration.kill_harness POINT`` (with the usual BRIDGE_* settings and
the repository on PYTHONPATH), it runs one ``sync --once`` round as the CLI does, and sends
itself SIGKILL at POINT, on the first invitation it pushes:

* ``before-post``: marked ``in_doubt``, before the POST leaves;
* ``after-post``: the server created the draft and answered; the answer is not recorded yet;
* ``after-sent``: the invitation is recorded as sent; the "Langkah 4" note it implies is not
  queued yet.

Nothing is caught: SIGKILL cannot be, and that is the point.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.adapters.ledger.case_json import case_from_document
from bridge.adapters.ledger.sqlite import SqliteLedger
from bridge.bootstrap import build
from bridge.config.push_mapping import load_push_mapping
from bridge.config.settings import load_settings
from bridge.domain.items import ListKind
from bridge.domain.outbox import PushAction, push_ref
from bridge.logs import configure_logging
from bridge.services.intents import INVITATION_AFTER_STEP, INVITATION_STEP, NOTE_AFTER_INVITATION_STEP

ROOT = Path(__file__).resolve().parents[2]
POINTS = ("before-post", "after-post", "after-sent")

def harness_command(point: str) -> list[str]:
    """The command line that runs one round and kills itself at ``point``."""
    if point not in POINTS:
        raise ValueError(f"unknown crash point {point!r}; valid: {', '.join(POINTS)}")
    return [sys.executable, "-m", "tests.integration.kill_harness", point]


def harness_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the repository on PYTHONPATH, so ``tests`` can be imported."""
    paths = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


def start(command: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start a bridge process writing its output to ``log`` (a file: a full pipe would stall it)."""
    with log.open("wb") as out:
        return subprocess.Popen(command, env=dict(env), cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process if it still runs, and reap it (a zombie would still hold its lease)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


# -- what the server should hold --------------------------------------------------------------


@dataclass
class Verdict:
    """Expected refs against what the server and the outbox hold."""

    expected: dict[str, tuple[int, str, PushAction]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    server_ids: dict[str, list[str]] = field(default_factory=dict)
    misplaced: list[str] = field(default_factory=list)
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases_at_invitation: int = 0
    cases: int = 0

    @property
    def duplicates(self) -> dict[str, int]:
        """Refs the server holds more than once (or without a ref at all)."""
        dups = {ref: n for ref, n in self.counts.items() if n > 1}
        if self.counts.get(""):
            dups[""] = self.counts[""]
        return dups

    @property
    def missing(self) -> list[str]:
        """Expected refs the server does not hold."""
        return sorted(ref for ref in self.expected if self.counts.get(ref, 0) == 0)

    def describe(self, refs: list[str]) -> list[str]:
        """Each ref with its outbox state, for a failure message."""
        described = []
        for ref in refs[:10]:
            line = self.outbox.get(ref)
            where = (f"{line['state']}, attempts {line['attempts']}, {line['last_error']}"
                     if line else "not in the outbox")
            described.append(f"{ref} ({where})")
        return described

    @property
    def unexpected(self) -> list[str]:
        """Refs the server holds that no case explains."""
        return sorted(ref for ref in self.counts if ref not in self.expected)


def expected_pushes(ledger_path: Path, mappings: Path) -> tuple[dict[str, tuple[int, str, PushAction]],
                                                                int, int]:
    """Every push the ledger's cases imply: ref -> (year, surat_id, action); and case counts.

    A note per step reached that push.toml words; for a case past step 3 whose letter is known,
    the invitation and the note that follows it.
    """
    mapping = load_push_mapping(mappings)
    ledger = SqliteLedger(ledger_path)
    expected: dict[str, tuple[int, str, PushAction]] = {}
    at_invitation = 0
    try:
        rows = ledger.list_cases()
        for row in rows:
            case = case_from_document(row.document)
            for step in case.steps:
                if step in mapping.notes.steps:
                    ref = push_ref(case.year, case.surat_id, PushAction.NOTE, step)
                    expected[ref] = (case.year, case.surat_id, PushAction.NOTE)
            letter = ledger.get_item(ListKind.SURAT, case.year, case.surat_id)
            if INVITATION_AFTER_STEP in case.steps and letter is not None:
                at_invitation += 1
                ref = push_ref(case.year, case.surat_id, PushAction.INVITATION, INVITATION_STEP)
                expected[ref] = (case.year, case.surat_id, PushAction.INVITATION)
                if (mapping.notes.invitation_sent is not None
                        and NOTE_AFTER_INVITATION_STEP in case.steps):  # written once signed
                    ref = push_ref(case.year, case.surat_id, PushAction.NOTE,
                                   NOTE_AFTER_INVITATION_STEP)
                    expected[ref] = (case.year, case.surat_id, PushAction.NOTE)
    finally:
        ledger.close()
    return expected, at_invitation, len(rows)


def judge(pushed: Mapping[str, Any], ledger_path: Path, mappings: Path,
          outbox: list[dict[str, Any]]) -> Verdict:
    """Compare the simulator's ``state.pushed()`` with what the ledger's cases imply."""
    expected, at_invitation, cases = expected_pushes(ledger_path, mappings)
    verdict = Verdict(expected=expected, counts=Counter(pushed["counts_by_ref"]),
                      outbox={line["ref"]: line for line in outbox},
                      cases_at_invitation=at_invitation, cases=cases)
    for item in pushed["notes"]:
        ref = str(item.get("ref") or "")
        verdict.server_ids.setdefault(ref, []).append(str(item["id_tindaklanjut"]))
        want = expected.get(ref)
        if want is not None and (want[0], want[1]) != (item["year"], str(item["id_persuratan"])):
            verdict.misplaced.append(ref)
    for item in pushed["drafts"]:
        ref = str(item.get("ref") or "")
        verdict.server_ids.setdefault(ref, []).append(str(item["id_compose"]))
        want = expected.get(ref)
        if want is not None and (want[0], want[1]) != (item["year"],
                                                       str(item["id_persuratan_rujukan"])):
            verdict.misplaced.append(ref)
    return verdict


def outbox_lines(stdout: str) -> list[dict[str, Any]]:
    """The JSON lines of ``bridge outbox --json``."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


# -- the self-killing bridge ------------------------------------------------------------------


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap_post(original: Callable[..., str], point: str) -> Callable[..., str]:
    def post(*args: Any) -> str:
        if point == "before-post":
            _die()
        remote_id = original(*args)
        if point == "after-post":
            _die()
        return remote_id

    return post


def main(argv: list[str]) -> int:
    """One ``sync --once`` round that SIGKILLs itself at the crash point on an invitation."""
    (point,) = argv
    if point not in POINTS:
        raise SystemExit(f"unknown crash point {point!r}; valid: {', '.join(POINTS)}")
    settings = load_settings()
    configure_logging(fmt="json", level=settings.log_level)
    bridge = build(settings)
    try:
        cycle = bridge.cycle()
        pusher = cycle.pusher_for_retry()
        client = bridge.client()
        if point in ("before-post", "after-post"):
            client.post_letter = _wrap_post(client.post_letter, point)  # type: ignore[method-assign]
        else:
            # Killed the moment the invitation's "sent" (and its watch) is committed.
            ledger = bridge.ledger
            mark_sent = ledger.mark_sent

            def killed_after(entry_id: int, remote_id: str, **draft: Any) -> None:
                mark_sent(entry_id, remote_id, **draft)
                if draft.get("draft") is not None:
                    _die()

            ledger.mark_sent = killed_after  # type: ignore[method-assign]
        assert pusher is not None
        cycle.run_once()
    finally:
        bridge.close()
    print("kill_harness: no invitation was pushed, so no crash", flush=True)
    return 3


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
