"""``bridge cases`` and ``bridge case`` as real processes, after a real sync of the simulator.

The simulator's generator labels which letters ask for an application (GenerationSummary
.request_ids) and walks them through SOP steps 1-3 with employee ids that do not depend on
how the job titles are typed; the cases the bridge prints are checked against that truth.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.simulator import GenerationSummary, SimServer, SimState, generate
from bridge.simulator.data import _FRONT_OFFICE, _HEAD, _IT_HEAD, _OTHER_DIVISIONS
from tests.integration.conftest import bridge_env, run_bridge

pytestmark = pytest.mark.integration

HOSTILE = "Permohonan Pengembangan Aplikasi \x1b[31mMERAH\u202e<script>"
HOSTILE_FROM = "Dinas \x1b]0;pwned\x07Kesehatan\u2066"
LINE_FIELDS = {"case_id", "year", "surat_id", "perihal", "asal_surat", "step", "steps",
               "next_deadline", "overdue", "anomalies"}


@dataclass
class Synced:
    """A simulator after one ``bridge sync --once`` into a ledger."""

    state: SimState
    summary: GenerationSummary
    hostile: tuple[int, str]
    env: dict[str, str]
    cwd: Path
    synced_before: datetime
    synced_after: datetime

    def bridge(self, *args: str) -> Any:
        return run_bridge(list(args), self.env, self.cwd)

    def cases(self, *args: str) -> list[dict[str, Any]]:
        done = self.bridge("cases", "--json", *args)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    state = SimState()
    summary = generate(state, letters=400, seed=31)
    now = state.now()
    hostile_id = state.add_letter(now.year, perihal=HOSTILE, asal_surat=HOSTILE_FROM,
                                  tgl_dibuat=now.strftime("%Y-%m-%d %H:%M:%S"))
    cwd = tmp_path_factory.mktemp("cases_cli")
    with SimServer(state) as sim:
        env = bridge_env(sim, cwd / "data", BRIDGE_PUSH_ENABLED="false")
        before = datetime.now(UTC)
        done = run_bridge(["sync", "--once"], env, cwd)
        after = datetime.now(UTC)
        assert done.returncode == 0, done.stderr
        summary_lines = [json.loads(line) for line in done.stdout.splitlines()
                         if '"sync.summary"' in line]
        assert summary_lines and summary_lines[-1]["cases_opened"] > 0
        yield Synced(state, summary, (now.year, hostile_id), env, cwd, before, after)


# --- bridge cases --json -------------------------------------------------------------------------


def test_every_line_is_a_json_case_with_the_documented_fields(synced: Synced) -> None:
    cases = synced.cases()
    assert cases
    assert len({c["case_id"] for c in cases}) == len(cases)
    for case in cases:
        assert case.keys() >= LINE_FIELDS, case
        assert case["case_id"] == f"{case['year']}-{case['surat_id']}"
        assert isinstance(case["year"], int) and isinstance(case["surat_id"], str)
        assert isinstance(case["step"], int) and not isinstance(case["step"], bool)
        assert isinstance(case["overdue"], bool)
        assert isinstance(case["anomalies"], list)
        assert all(isinstance(code, str) for code in case["anomalies"])
        assert isinstance(case["steps"], dict) and case["steps"]
        for number, at in case["steps"].items():
            assert number.isdigit() and 1 <= int(number) <= 3
            assert datetime.fromisoformat(at).tzinfo is not None
        assert case["step"] == max(int(n) for n in case["steps"])
        if case["next_deadline"] is not None:
            deadline = datetime.fromisoformat(case["next_deadline"])
            assert deadline.tzinfo is not None
            # overdue was decided during the sync, against the clock of that moment
            if case["overdue"]:
                assert deadline < synced.synced_after
            else:
                assert deadline > synced.synced_before
        else:
            assert case["overdue"] is False


def test_the_cases_are_exactly_the_simulators_request_letters(synced: Synced) -> None:
    cases = synced.cases()
    got = {(c["year"], c["surat_id"]) for c in cases}
    want = {(year, surat_id) for year, ids in synced.summary.request_ids.items() for surat_id in ids}
    want.add(synced.hostile)  # the hostile subject asks for an application too
    false_positives = sorted(got - want)
    false_negatives = sorted(want - got)
    precision = len(got & want) / len(got)
    recall = len(got & want) / len(want)
    print(f"recognition against the simulator's labels: {len(want)} requests, {len(got)} cases, "
          f"precision {precision:.4f}, recall {recall:.4f}")

    def subjects(keys: list[tuple[int, str]]) -> list[str]:
        return [f"{year}-{sid}: {synced.state.letter(year, sid)['perihal']!r}" for year, sid in keys]

    assert got == want, (f"decoys taken for requests: {subjects(false_positives)}; "
                         f"requests missed: {subjects(false_negatives)}")


def test_the_steps_match_the_simulated_dispositions(synced: Synced) -> None:
    """Steps 2 and 3 and the other-division anomaly, judged by employee ids, not titles."""
    front_office = {role.pegawai_id for role in _FRONT_OFFICE}
    others = {role.pegawai_id for role in _OTHER_DIVISIONS}
    mismatches = []
    for case in synced.cases():
        moves = {(d["dari_pegawai_id"], d["kepada_pegawai_id"])
                 for d in synced.state.dispositions(case["year"])
                 if d["id_persuratan"] == case["surat_id"]}
        expected = {
            "step 2": any(f in front_office and t == _HEAD.pegawai_id for f, t in moves),
            "step 3": (_HEAD.pegawai_id, _IT_HEAD.pegawai_id) in moves,
            "other division": any(f == _HEAD.pegawai_id and t in others for f, t in moves),
        }
        shown = {
            "step 2": "2" in case["steps"],
            "step 3": "3" in case["steps"],
            "other division": "disposed_to_other_division" in case["anomalies"],
        }
        if shown != expected:
            mismatches.append((case["case_id"], expected, shown))
    assert mismatches == []
    steps = {case["step"] for case in synced.cases()}
    assert steps == {1, 2, 3}, "the generated data should hold cases at every visible step"


def test_step_filter_lists_exactly_the_cases_at_that_step(synced: Synced) -> None:
    every = synced.cases()
    for step in (1, 2, 3):
        at_step = synced.cases("--step", str(step))
        assert at_step, f"no case at step {step}"
        assert all(case["step"] == step for case in at_step)
        assert {c["case_id"] for c in at_step} == {c["case_id"] for c in every if c["step"] == step}
    assert synced.cases("--step", "9") == []


def test_overdue_filter_lists_exactly_the_overdue_cases(synced: Synced) -> None:
    every = synced.cases()
    overdue = synced.cases("--overdue")
    assert overdue and len(overdue) < len(every), "need overdue and on-time cases to tell apart"
    assert all(case["overdue"] is True for case in overdue)
    assert {c["case_id"] for c in overdue} == {c["case_id"] for c in every if c["overdue"]}
    both = synced.cases("--overdue", "--step", "3")
    assert {c["case_id"] for c in both} == {c["case_id"] for c in every
                                            if c["overdue"] and c["step"] == 3}


# --- the table, one case, errors -----------------------------------------------------------------


def test_the_table_shows_a_hostile_subject_inert(synced: Synced) -> None:
    year, surat_id = synced.hostile
    done = synced.bridge("cases")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert "\x07" not in done.stdout and "\u2066" not in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith(f"{year}-{surat_id} ")]
    assert len(rows) == 1, done.stdout[-2000:]
    assert "MERAH" in rows[0] and "\\x1b" in rows[0]  # shown as a visible escape, not run
    assert done.stdout.splitlines()[-1] == f"{len(synced.cases())} case(s)"

    one = synced.bridge("case", f"{year}-{surat_id}")
    assert one.returncode == 0, one.stderr
    assert "MERAH" in one.stdout
    for raw in ("\x1b", "\u202e", "\x07", "\u2066"):
        assert raw not in one.stdout
    # the JSON keeps the text itself, escaped by JSON
    line = json.loads(synced.bridge("case", f"{year}-{surat_id}", "--json").stdout)
    assert line["perihal"] == HOSTILE and line["asal_surat"] == HOSTILE_FROM


def test_one_case_shows_its_steps_and_history(synced: Synced) -> None:
    case = next(c for c in synced.cases("--step", "3") if not c["anomalies"])
    done = synced.bridge("case", case["case_id"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"case {case['case_id']}: ")
    assert "history:" in out
    history = out.split("history:", 1)[1]
    assert "opened" in history and "step_reached step 3" in history

    detail = json.loads(synced.bridge("case", case["case_id"], "--json").stdout)
    assert detail["case_id"] == case["case_id"] and detail["step"] == 3
    reached = [h for h in detail["history"] if h["kind"] == "step_reached"]
    sources = [h["source"] for h in reached]
    # one sync: the case was opened with its three steps, each once, each from its own item
    assert sorted(sources) == sorted(r["source"] for r in detail["step_details"].values())
    assert sources[0] == f"surat:{case['surat_id']}"
    assert all(s.startswith("disposisi:") for s in sources[1:]) and len(sources) == 3
    for source in sources[1:]:
        assert source in history
        disposition = synced.state.disposition(case["year"], source.removeprefix("disposisi:"))
        assert disposition["id_persuratan"] == case["surat_id"]
    # Pushing is off: the case's pushes are queued with it, and none is sent.
    refs = sorted(p["ref"] for p in detail["pushes"])
    prefix = f"sb-{case['year'] % 100:02d}-{case['surat_id']}-"
    assert f"{prefix}invitation-4" in refs and f"{prefix}note-3" in refs
    assert {(p["state"], p["remote_id"]) for p in detail["pushes"]} == {("pending", None)}


def test_an_unknown_case_exits_1_with_one_line_on_stderr(synced: Synced) -> None:
    done = synced.bridge("case", "2026-999999999")
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bridge: error:")
    assert "2026-999999999" in lines[0]
