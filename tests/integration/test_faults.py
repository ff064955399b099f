"""The bridge under Sisumaker's faults, over real HTTP on loopback: it converges, exactly once.

For each fault the simulated Sisumaker can show (random 500/502/503, 429 with Retry-After,
connections dropped without an answer, truncated bodies, latency, tokens that expire or are
revoked in the middle of a pass, letters arriving or changing in place while a pass pages, a
year rollover) the bridge runs a few rounds with the fault on, then rounds without it until
one is clean. Then:

* the ledger holds exactly the server's items, id for id per list and year directory, each as
  the server now has it;
* its cases equal those of a second ledger synced once without faults (pushing off), the case
  set is the generator's request letters (plus those the test added), and steps 2 and 3 match
  the dispositions' employee ids;
* every push the cases imply is on the server exactly once (``counts_by_ref`` all 1), on the
  right letter in the right year directory, and the outbox shows it sent with the server's id.

In process (``bootstrap.build`` + ``Cycle.run_once``), so that a test can move the bridge's
clock and shorten the exponential backoff of retries (``initial`` 0.02 s instead of 0.5 s).
Retry-After handling is the shipped code in every test: its waits are never shortened. The
variants marked ``slow`` use the shipped backoff, or a list of 900 letters.

Two of them found bugs, since fixed: an undecodable body killed the cycle, and POSTs answered
after the client's timeout were sent twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog

from bridge.adapters.sisumaker.client import RetryPolicy
from bridge.bootstrap import Bridge, build
from bridge.config.push_mapping import load_push_mapping
from bridge.config.settings import load_settings
from bridge.domain.items import ListKind
from bridge.domain.outbox import OutboxState, PushAction, push_ref
from bridge.domain.records import PassMode
from bridge.services.cycle import Cycle, CycleReport
from bridge.services.intents import INVITATION_AFTER_STEP, INVITATION_STEP, NOTE_AFTER_INVITATION_STEP
from bridge.simulator import SimServer, SimState, generate
from bridge.simulator.data import _FRONT_OFFICE, _HEAD, _IT_HEAD
from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME, Page
from tests.integration.conftest import LIST_ENDPOINTS, PUSH_PREFIX, SHAPES, mappings_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
NOTE_STEPS = frozenset(load_push_mapping(MAPPINGS).notes.steps)
SENT_NOTE = load_push_mapping(MAPPINGS).notes.invitation_sent is not None
WIB = ZoneInfo("Asia/Jakarta")
STAMP = "%Y-%m-%d %H:%M:%S"
SURAT, DISPOSISI = ListKind.SURAT, ListKind.DISPOSISI
LETTER_LIST = "GET {dir}/api/suratmasuk/filter"
DISPOSITION_LIST = "GET {dir}/api/disposisi/filter"

LETTERS = 120
REQUEST_SHARE = 0.4
FAULT_ROUNDS = 3
FAULT_BUDGET_S = 30.0
CLEAN_ROUNDS = 12
CLEAN_BUDGET_S = 45.0
CLEAN_PAUSE_S = 0.5  # between rounds that are not clean yet, as the daemon's poll interval
FAST_BACKOFF = {"initial": 0.02, "maximum": 0.3}


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    """Errors only: a cycle over hundreds of cases logs thousands of lines (restored after)."""
    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    yield
    structlog.configure(**old)


# -- the world: a simulator with recorders and hooks -------------------------------------------


@dataclass
class Planned:
    """One contract request as the simulator saw it: when, and the 429 it drew, if any."""

    at: float
    retry_after: int | None


@dataclass
class World:
    """The simulated Sisumaker, what it was asked, and the request letters it holds."""

    state: SimState
    sim: SimServer
    tmp: Path
    requests: set[tuple[int, str]]
    hooks: list[Callable[[str], None]] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def faults_seen(self) -> Counter[str]:
        return Counter(self.state.stats()["faults"])


@contextmanager
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, seed: int, letters: int = LETTERS,
          years: list[int] | None = None, now: datetime | None = None,
          server_ahead_s: float = 0.0, shape: str = "contract") -> Iterator[World]:
    """A simulator with generated letters, serving on loopback, every request recorded.

    ``server_ahead_s``: the server's clock (token expiry) runs that much ahead of the bridge's.
    ``shape``: the deployment shape it serves; the bridge reads it with that shape's profile.
    """
    state = SimState(years=years, clock=lambda: time.time() + server_ahead_s)
    summary = generate(state, letters=letters, seed=seed, request_share=REQUEST_SHARE, now=now)
    requests = {(year, sid) for year, ids in summary.request_ids.items() for sid in ids}
    with SimServer(state, shape=shape) as sim:
        w = World(state, sim, tmp_path, requests)
        count_request, plan_faults, year_of_dir = (state.count_request, state.plan_faults,
                                                   state.year_of_dir)

        def counted(endpoint: str) -> None:
            count_request(endpoint)
            for hook in list(w.hooks):
                hook(endpoint)

        def planned(*, creates: bool) -> Any:
            at = time.monotonic()
            plan = plan_faults(creates=creates)
            with w.lock:
                w.planned.append(Planned(at, plan.retry_after))
            return plan

        def directory(path: str) -> int | None:
            with w.lock:
                w.dirs.append(path)
            return year_of_dir(path)

        monkeypatch.setattr(state, "count_request", counted)
        monkeypatch.setattr(state, "plan_faults", planned)
        monkeypatch.setattr(state, "year_of_dir", directory)
        yield w
        assert state.stats()["internal_errors"] == [], "the simulator (or a test hook) failed"


class Clock:
    """The bridge's sense of now for syncs and passes: real time moved by an offset."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)


def open_bridge(w: World, name: str, years: tuple[int, ...], *, push: bool = True,
                clock: Clock | None = None, shipped_backoff: bool = False,
                **settings: Any) -> Bridge:
    """The bridge as `bridge run` wires it, over its own ledger in tmp/name."""
    values: dict[str, Any] = {
        "sisumaker_url": w.sim.url, "sisumaker_username": DEFAULT_USERNAME,
        "sisumaker_password": DEFAULT_PASSWORD, "data_dir": w.tmp / name, "log_format": "json",
        "years": years, "push_enabled": push,
        "mappings_dir": mappings_for(w.sim.shape, w.tmp),
    }
    values.setdefault("push_resend_after", 0.3)  # the simulator answers in milliseconds
    values.update(settings)
    bridge = build(load_settings(**values))
    client = bridge.client()
    if not shipped_backoff:
        client._retry = RetryPolicy(max_attempts=bridge.settings.http_max_attempts,
                                    retry_after_cap=bridge.settings.retry_after_cap, **FAST_BACKOFF)
    if clock is not None:
        bridge.poller()._now = clock
        bridge.sync_service()._now = clock
    return bridge


# -- rounds ----------------------------------------------------------------------------------


def fault_rounds(cycle: Cycle, *, rounds: int = FAULT_ROUNDS, budget: float = FAULT_BUDGET_S,
                 pause: float = 0.0) -> list[CycleReport]:
    """A few rounds with the fault on; bounded in count and in time."""
    reports = []
    deadline = time.monotonic() + budget
    for _ in range(rounds):
        if time.monotonic() > deadline:
            break
        reports.append(cycle.run_once())
        if pause:
            time.sleep(pause)
    return reports


def is_clean(bridge: Bridge, report: CycleReport) -> bool:
    push = report.push
    return (report.ok and push is not None and push.deferred == 0 and push.failed == 0
            and not bridge.ledger.outbox_due() and not bridge.ledger.dirty_cases(1))


def until_clean(bridge: Bridge, cycle: Cycle) -> int:
    """Rounds without faults until one syncs every list and leaves nothing to push."""
    deadline = time.monotonic() + CLEAN_BUDGET_S
    last: CycleReport | None = None
    for number in range(1, CLEAN_ROUNDS + 1):
        last = cycle.run_once()
        if is_clean(bridge, last):
            return number
        if time.monotonic() > deadline:
            break
        time.sleep(CLEAN_PAUSE_S)
    failed = [(e.intent.ref, e.state.value, e.last_error) for e in bridge.ledger.outbox_entries()
              if e.state is not OutboxState.SENT]
    pytest.fail(f"no clean round after the faults: sync failures "
                f"{last.sync.failures if last else None}, push {last.push if last else None}, "
                f"outbox not sent {failed[:5]}")


# -- what the ledger must hold ---------------------------------------------------------------


def case_docs(bridge: Bridge) -> dict[str, dict[str, Any]]:
    """Every case document, less what only says how late it is against the wall clock."""
    docs = {}
    for row in bridge.ledger.list_cases():
        doc = row.document
        doc.pop("overdue")
        doc.pop("overdue_steps")
        # The drafted invitation (pushing on) moves the step-4 deadline to a working day
        # after the drafting; the reference ledger (pushing off) has no draft.
        doc.pop("invitation", None)
        if doc.get("next_step") == 4:
            doc.pop("next_deadline")
        docs[row.case_id] = doc
    return docs


def reference_cases(w: World, years: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """The cases of a second ledger synced once, without faults, with pushing off."""
    reference = open_bridge(w, "reference", years, push=False)
    try:
        report = reference.cycle().run_once(mode=PassMode.FULL)
        assert report.ok, report.sync.failures
        return case_docs(reference)
    finally:
        reference.close()


def assert_items_match_server(w: World, bridge: Bridge, years: tuple[int, ...]) -> None:
    for year in years:
        for kind, items, key in ((SURAT, w.state.letters(year), "id_persuratan"),
                                 (DISPOSISI, w.state.dispositions(year), "id_disposisi")):
            server = {item[key]: w.sim.served(item) for item in items}
            stored = {item.source_id: item for item in bridge.ledger.iter_items(kind, year)}
            assert set(stored) == set(server), (
                f"{kind.value} {year}: missing {sorted(set(server) - set(stored))[:10]}, "
                f"extra {sorted(set(stored) - set(server))[:10]}")
            stale = [sid for sid, item in server.items() if json.loads(stored[sid].payload) != item]
            assert stale == [], f"{kind.value} {year}: stored versions behind the server: {stale[:10]}"
            assert all(item.missing_since is None for item in stored.values())
    held = {item.year for kind in ListKind for item in bridge.ledger.iter_items(kind)}
    assert held <= set(years)
    assert bridge.ledger.quarantine_count() == 0


def truth_steps(w: World, year: int, surat_id: str) -> set[int]:
    """Steps 2 and 3 as the dispositions' employee ids (not their typed titles) show them."""
    front = {role.pegawai_id for role in _FRONT_OFFICE}
    moves = {(d["dari_pegawai_id"], d["kepada_pegawai_id"]) for d in w.state.dispositions(year)
             if d["id_persuratan"] == surat_id}
    steps = set()
    if any(source in front and target == _HEAD.pegawai_id for source, target in moves):
        steps.add(2)
    if (_HEAD.pegawai_id, _IT_HEAD.pegawai_id) in moves:
        steps.add(3)
    return steps


def expected_pushes(bridge: Bridge) -> dict[str, tuple[int, str]]:
    """Every push the ledger's cases imply, ref -> (year, letter id): a note per step reached
    that push.toml words; past step 3 (letter known) the invitation, and once it is signed
    (step 4) the note that says so."""
    expected: dict[str, tuple[int, str]] = {}
    for row in bridge.ledger.list_cases():
        doc = row.document
        steps = {int(step) for step in doc["steps"]}
        where = (row.year, row.surat_id)
        for step in steps & NOTE_STEPS:
            expected[push_ref(row.year, row.surat_id, PushAction.NOTE, step)] = where
        if INVITATION_AFTER_STEP in steps and bridge.ledger.get_item(SURAT, row.year, row.surat_id):
            expected[push_ref(row.year, row.surat_id, PushAction.INVITATION, INVITATION_STEP)] = where
            if SENT_NOTE and NOTE_AFTER_INVITATION_STEP in steps:  # written once signed
                expected[push_ref(row.year, row.surat_id, PushAction.NOTE,
                                  NOTE_AFTER_INVITATION_STEP)] = where
    return expected


def assert_converged(w: World, bridge: Bridge, years: tuple[int, ...]) -> dict[str, Any]:
    """Items, cases and pushes are what the server and a clean derivation say."""
    assert_items_match_server(w, bridge, years)

    got = case_docs(bridge)
    want = reference_cases(w, years)
    assert set(got) == set(want), (f"cases only here {sorted(set(got) - set(want))[:10]}, "
                                   f"only in the clean ledger {sorted(set(want) - set(got))[:10]}")
    differ = [case_id for case_id in got if got[case_id] != want[case_id]]
    assert differ == [], f"cases that differ from a clean sync: {differ[:5]}: " + "; ".join(
        f"{got[c]} != {want[c]}" for c in differ[:2])
    cases = {(doc["year"], doc["surat_id"]) for doc in got.values()}
    assert cases == w.requests, (f"cases that are no request letter {sorted(cases - w.requests)[:10]}, "
                                 f"request letters without a case {sorted(w.requests - cases)[:10]}")
    wrong_steps = [(cid, sorted(int(s) for s in doc["steps"] if s in ("2", "3")),
                    sorted(truth_steps(w, doc["year"], doc["surat_id"])))
                   for cid, doc in got.items()
                   if {int(s) for s in doc["steps"]} & {2, 3} != truth_steps(w, doc["year"], doc["surat_id"])]
    assert wrong_steps == [], f"steps 2/3 against the dispositions: {wrong_steps[:10]}"

    pushed = w.state.pushed()
    counts = pushed["counts_by_ref"]
    assert counts, "nothing was pushed"
    assert "" not in counts and set(counts.values()) == {1}, (
        f"pushed twice: {sorted(ref for ref, n in counts.items() if n != 1)[:10]}")
    expected = expected_pushes(bridge)
    on_server: dict[str, tuple[int, str, str]] = {}
    for note in pushed["notes"]:
        on_server[note["ref"]] = (note["year"], str(note["id_persuratan"]), str(note["id_tindaklanjut"]))
    for draft in pushed["drafts"]:
        on_server[draft["ref"]] = (draft["year"], str(draft["id_persuratan_rujukan"]),
                                   str(draft["id_compose"]))
    missing = sorted(set(expected) - set(on_server))
    assert missing == [], f"pushes the cases imply, missing on the server: {missing[:10]}"
    unexpected = sorted(set(on_server) - set(expected))
    assert unexpected == [], f"pushes no case explains: {unexpected[:10]}"
    misplaced = sorted(ref for ref, where in expected.items() if on_server[ref][:2] != where)
    assert misplaced == [], f"pushes on the wrong letter or year: {misplaced[:10]}"
    drafts = {draft["ref"] for draft in pushed["drafts"]}
    notes = {note["ref"] for note in pushed["notes"]}
    for doc in got.values():
        year, sid = doc["year"], doc["surat_id"]
        if doc["step"] >= INVITATION_AFTER_STEP:
            assert push_ref(year, sid, PushAction.INVITATION, INVITATION_STEP) in drafts, doc["case_id"]
        for step in doc["steps"]:
            if int(step) in NOTE_STEPS:
                assert push_ref(year, sid, PushAction.NOTE, int(step)) in notes, (doc["case_id"], step)
    entries = bridge.ledger.outbox_entries()
    assert {entry.intent.ref for entry in entries} == set(on_server)
    not_sent = [(e.intent.ref, e.state.value, e.last_error) for e in entries
                if e.state is not OutboxState.SENT]
    assert not_sent == [], f"outbox entries not sent: {not_sent[:10]}"
    wrong_ids = [e.intent.ref for e in entries if e.remote_id != on_server[e.intent.ref][2]]
    assert wrong_ids == [], f"remote ids that are not the server's: {wrong_ids[:10]}"
    return {"cases": len(got), "at_step_3": sum(doc["step"] >= 3 for doc in got.values()),
            "pushes": len(counts)}


# -- items a test adds while the bridge pages --------------------------------------------------


def add_request(state: SimState, year: int, when: datetime, app: str = "Antrean Online") -> str:
    stamp = when.strftime(STAMP)
    return state.add_letter(year, perihal=f"Permohonan Pengembangan Aplikasi {app}",
                            asal_surat="Dinas Kesehatan", pengirim="Kepala Dinas Kesehatan",
                            nomor_surat=f"005/{when:%H%M%S}-Dinkes/XI/{year}",
                            tgl_dibuat=stamp, tgl_diterimaTU=stamp)


def add_other(state: SimState, year: int, when: datetime) -> str:
    stamp = when.strftime(STAMP)
    return state.add_letter(year, perihal="Undangan rapat koordinasi Satu Data Indonesia",
                            asal_surat="Bapelitbangda", tgl_dibuat=stamp, tgl_diterimaTU=stamp)


def dispose(state: SimState, year: int, surat_id: str, step: int, when: datetime) -> str:
    source, target, isi = ((_FRONT_OFFICE[0], _HEAD, "Mohon arahan Bapak.") if step == 2
                           else (_HEAD, _IT_HEAD, "Tindak lanjuti sesuai SOP"))
    return state.add_disposition(
        year, id_persuratan=surat_id, dari_pegawai_id=source.pegawai_id,
        dari_jabatan=source.titles[0], kepada_pegawai_id=target.pegawai_id,
        kepada_jabatan=target.titles[0], isi_disposisi=isi, tgl_disposisi=when.strftime(STAMP))


def years_of(state: SimState) -> tuple[int, ...]:
    return tuple(state.years)


# -- the faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """Options of SimState.set_faults, and bridge settings to run them with."""

    name: str
    options: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    seen: str = ""  # the stats()["faults"] counter that must have moved


SIMPLE_FAULTS = [
    # Two attempts per GET: some passes fail outright, not only single requests.
    Fault("5xx", {"error_rate": 0.25, "error_codes": [500, 502, 503]}, {"http_max_attempts": 2},
          seen="error"),
    Fault("dropped-connections", {"drop_rate": 0.2}, {"http_max_attempts": 2}, seen="drop"),
    Fault("truncated-bodies", {"truncate_rate": 0.25}, {"http_max_attempts": 3}, seen="truncate"),
    Fault("latency", {"latency_ms": 25.0}),
]


# The second deployment shape runs the faults that hit its paging and its write answers.
FAULT_SHAPES = [(fault, "contract") for fault in SIMPLE_FAULTS] + [
    (SIMPLE_FAULTS[0], "alt"), (SIMPLE_FAULTS[2], "alt")]


@pytest.mark.parametrize(("fault", "shape"), FAULT_SHAPES,
                         ids=[f"{f.name}-{s}" for f, s in FAULT_SHAPES])
def test_the_bridge_converges_after_the_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              fault: Fault, shape: str) -> None:
    seed = 4100 + SIMPLE_FAULTS.index(fault)
    with world(tmp_path, monkeypatch, seed=seed, shape=shape) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years, **fault.settings)
        try:
            cycle = bridge.cycle()
            w.state.set_faults(seed=seed, **fault.options)
            reports = fault_rounds(cycle)
            seen = w.faults_seen()
            w.state.set_faults()
            rounds = until_clean(bridge, cycle)
            figures = assert_converged(w, bridge, years)
        finally:
            bridge.close()
    print(f"\n{fault.name}: {len(reports)} fault rounds (ok {sum(r.ok for r in reports)}), "
          f"faults {dict(seen)}, clean after {rounds} more, {figures}")
    if fault.seen:
        assert seen[fault.seen] >= 5, f"the {fault.seen} fault hardly fired: {dict(seen)}"
    if fault.name == "truncated-bodies":
        # A cut answer to a POST hides a note the server made: found by its ref, not sent again.
        assert sum(r.push.found for r in reports if r.push) > 0


@pytest.mark.parametrize("shape", SHAPES)
def test_truncated_answers_to_posts_are_found_by_ref_not_sent_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    """Every POST answer cut in half: the note or draft exists, the bridge cannot read its id.

    The alt shape finds them in its paged note list and by the ref in the draft's path.
    """
    with world(tmp_path, monkeypatch, seed=4150, letters=60, shape=shape) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years)
        try:
            cycle = bridge.cycle()

            def cut_posts(endpoint: str) -> None:
                w.state.set_faults(truncate_rate=1.0 if endpoint.startswith(PUSH_PREFIX[shape]) else 0.0)

            w.hooks.append(cut_posts)
            reports = fault_rounds(cycle, rounds=2)
            w.hooks.clear()
            w.state.set_faults()
            until_clean(bridge, cycle)
            figures = assert_converged(w, bridge, years)
        finally:
            bridge.close()
    found = sum(r.push.found for r in reports if r.push)
    assert found >= figures["pushes"] // 2, (found, figures)


def assert_retry_after_honoured(w: World) -> int:
    """No request reached the server before the Retry-After of an earlier 429 had elapsed."""
    with w.lock:
        planned = sorted(w.planned, key=lambda p: p.at)
    limits = [(p.at, p.at + p.retry_after) for p in planned if p.retry_after]
    early = []
    for sent_at, until in limits:
        early.extend(round(until - p.at, 3) for p in planned if sent_at < p.at < until)
    assert early == [], f"requests sent before Retry-After elapsed (seconds early): {early[:10]}"
    return len(limits)


def test_429_with_retry_after_is_waited_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, monkeypatch, seed=4201, letters=80) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years)
        try:
            cycle = bridge.cycle()
            w.state.set_faults(seed=4201, rate_limit_rate=0.05, retry_after=1)
            fault_rounds(cycle)
            w.state.set_faults()
            until_clean(bridge, cycle)
            limited = assert_retry_after_honoured(w)
            assert_converged(w, bridge, years)
        finally:
            bridge.close()
    assert limited >= 3, f"only {limited} 429 answers: the fault hardly fired"


def test_429_with_retry_after_over_the_cap_fails_fast_and_never_calls_early(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, monkeypatch, seed=4202, letters=80) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years, retry_after_cap=1)
        try:
            cycle = bridge.cycle()
            w.state.set_faults(seed=4202, rate_limit_rate=0.05, retry_after=3)
            reports = fault_rounds(cycle, pause=0.5)
            w.state.set_faults()
            until_clean(bridge, cycle)
            limited = assert_retry_after_honoured(w)
            assert_converged(w, bridge, years)
        finally:
            bridge.close()
    assert limited >= 1
    failures = [f for r in reports for f in r.sync.failures]
    assert any("over the cap" in f or "Retry-After" in f for f in failures), failures[:5]


@pytest.mark.parametrize(("server_ahead_s", "shape"), [(0.0, "contract"), (3.0, "contract"),
                                                       (0.0, "alt")],
                         ids=["expiry-seen-by-the-client", "server-clock-ahead",
                              "expires-in-alt"])
def test_tokens_expiring_in_the_middle_of_a_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 server_ahead_s: float, shape: str) -> None:
    """Two-second tokens, renewed only once expired (margin 0), over rounds that last longer.

    With the server's clock ahead, a token dies before its ``exp`` says to the bridge: the
    server answers 401 and the bridge must log in again and repeat the request (a POST too:
    a 401 means nothing was created).
    """
    with world(tmp_path, monkeypatch, seed=4301, letters=160, server_ahead_s=server_ahead_s,
               shape=shape) as w:
        years = years_of(w.state)
        w.state.configure(token_ttl=2)
        bridge = open_bridge(w, "bridge", years, token_refresh_margin=0)
        try:
            cycle = bridge.cycle()
            w.state.set_faults(latency_ms=8.0)
            fault_rounds(cycle, pause=1.0)
            w.state.set_faults()
            w.state.configure(token_ttl=30 * 86400)
            until_clean(bridge, cycle)
            figures = assert_converged(w, bridge, years)
        finally:
            bridge.close()
    stats = w.state.stats()
    print(f"\ntoken-expiry (server ahead {server_ahead_s} s): 401 answers "
          f"{stats['responses'].get('401')}, tokens issued {stats['tokens_issued']}, {figures}")
    assert stats["tokens_issued"] >= 5, "no token expired in the middle of a round"
    if server_ahead_s:
        assert stats["responses"].get("401", 0) >= 2, stats["responses"]


def test_tokens_revoked_between_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, monkeypatch, seed=4302, letters=160) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years)
        counter = Counter[str]()

        def revoke(endpoint: str) -> None:
            counter[endpoint] += 1
            if (endpoint in (LETTER_LIST, DISPOSITION_LIST) and counter[endpoint] % 3 == 2) or (
                    endpoint.startswith("POST {dir}/api/surat") and counter[endpoint] % 17 == 5):
                w.state.revoke_tokens()

        try:
            cycle = bridge.cycle()
            w.hooks.append(revoke)
            fault_rounds(cycle)
            w.hooks.clear()
            until_clean(bridge, cycle)
            assert_converged(w, bridge, years)
        finally:
            bridge.close()
    stats = w.state.stats()
    assert stats["responses"].get("401", 0) >= 5, stats["responses"]
    assert stats["tokens_issued"] >= 5


@pytest.mark.parametrize("shape", SHAPES)
def test_new_letters_and_dispositions_arriving_while_a_pass_pages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    with world(tmp_path, monkeypatch, seed=4401, letters=260, shape=shape) as w:
        years = years_of(w.state)
        year = max(years)
        bridge = open_bridge(w, "bridge", years)
        added: list[str] = []
        counter = Counter[str]()
        LETTER_LIST, DISPOSITION_LIST = LIST_ENDPOINTS[shape]  # noqa: N806

        def arrive(endpoint: str) -> None:
            counter[endpoint] += 1
            now = w.state.now()
            if endpoint == LETTER_LIST and len(added) < 30:
                if counter[endpoint] % 3:
                    added.append(add_request(w.state, year, now))
                    w.requests.add((year, added[-1]))
                else:
                    add_other(w.state, year, now)
            elif endpoint == DISPOSITION_LIST and added:
                surat_id = added[counter[endpoint] % len(added)]
                steps = truth_steps(w, year, surat_id)
                if 2 not in steps:
                    dispose(w.state, year, surat_id, 2, now)
                elif 3 not in steps:
                    dispose(w.state, year, surat_id, 3, now)

        try:
            cycle = bridge.cycle()
            w.hooks.append(arrive)
            reports = fault_rounds(cycle, rounds=4)
            w.hooks.clear()
            until_clean(bridge, cycle)
            figures = assert_converged(w, bridge, years)
        finally:
            bridge.close()
    print(f"\narrivals: {len(added)} request letters added while paging, {figures}")
    assert len(added) >= 5
    assert sum(r.sync.result.unchanged for r in reports) > 0
    assert all(r.ok for r in reports), [r.sync.failures for r in reports]


def test_letters_changed_in_place_while_a_pass_pages(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, monkeypatch, seed=4501, letters=260) as w:
        years = years_of(w.state)
        year = max(years)
        clock = Clock()
        bridge = open_bridge(w, "bridge", years, clock=clock)
        newest = [item["id_persuratan"] for item in w.state.letters(year)[:60]]
        deep = [item["id_persuratan"] for item in w.state.letters(year)[150:200]]
        others = [sid for sid in newest if (year, sid) not in w.requests]
        changed_new: set[str] = set()
        counter = Counter[str]()

        def change(endpoint: str) -> None:
            counter[endpoint] += 1
            n = counter[endpoint]
            stamp = w.state.now().strftime(STAMP)
            if endpoint == LETTER_LIST:
                target = newest[n % len(newest)]
                w.state.update_letter(year, target, tgl_diterimaTU=stamp, status_dibaca="1")
                changed_new.add(target)
                w.state.update_letter(year, deep[n % len(deep)], status_dibaca="1",
                                      tgl_diterimaTU=stamp)
                if n == 2 and others:  # a letter re-typed into a request
                    w.state.update_letter(year, others[0],
                                          perihal="Permohonan Pengembangan Aplikasi Bank Sampah")
                    w.requests.add((year, others[0]))
            elif endpoint == DISPOSITION_LIST:
                newest_disposition = w.state.dispositions(year)[n % 20]
                w.state.update_disposition(year, newest_disposition["id_disposisi"],
                                           status_baca="1")

        try:
            cycle = bridge.cycle()
            w.hooks.append(change)
            reports = fault_rounds(cycle)
            w.hooks.clear()
            until_clean(bridge, cycle)
            # Changes on the first page are read by every incremental pass.
            assert sum(r.sync.result.changed for r in reports) > 0
            for sid in changed_new:
                stored = bridge.ledger.get_item(SURAT, year, sid)
                assert stored is not None and json.loads(stored.payload) == w.sim.served(
                    w.state.letter(year, sid))
            # Deeper ones wait for the day's full pass: the next night, after BRIDGE_FULL_SYNC_HOUR.
            tomorrow = (clock().astimezone(WIB) + timedelta(days=1)).replace(hour=3, minute=0)
            clock.set(tomorrow)
            nightly = cycle.run_once()
            assert nightly.ok
            assert {p.mode for p in nightly.sync.passes} == {PassMode.FULL}
            assert nightly.sync.result.changed > 0
            until_clean(bridge, cycle)
            figures = assert_converged(w, bridge, years)
        finally:
            bridge.close()
    print(f"\nchanged in place: {len(changed_new)} newest letters, {figures}")


class Rollover:
    """The turn of 2025 into 2026 as Sisumaker shows it, one event per bridge round."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.state = w.state
        # The December request letters, by the SOP step they stand at (1 or 2; 3 is done).
        self.at_step: dict[int, list[str]] = {1: [], 2: []}
        for year, sid in sorted(w.requests):
            steps = truth_steps(w, year, sid)
            if 3 not in steps:
                self.at_step[2 if 2 in steps else 1].append(sid)

    def rounds(self) -> list[tuple[datetime, Callable[[], None], set[str]]]:
        """(the bridge's local time, what happens just before, the directories it must poll)."""
        y25, both = {"/surattangsel25"}, {"/surattangsel25", "/surattangsel26"}
        return [
            (datetime(2025, 12, 20, 11, 0), lambda: None, y25),
            (datetime(2025, 12, 31, 16, 0), self.last_day_of_december, y25),
            # 1 January: 2026's directory is not offered yet, so 2025's stands in for it.
            (datetime(2026, 1, 1, 8, 0), self.new_year_before_the_directory, y25),
            (datetime(2026, 1, 2, 10, 0), self.the_new_directory, both),
            (datetime(2026, 1, 5, 10, 0), self.first_week_of_january, both),
            # Past BRIDGE_PREVIOUS_YEAR_WEEKS (6), 2025 is still polled: it holds cases not
            # yet at step 4 (still waiting for a disposition or the signature).
            (datetime(2026, 2, 20, 10, 0), self.late_february, both),
        ]

    def request(self, year: int, when: datetime, app: str) -> str:
        sid = add_request(self.state, year, when, app)
        self.w.requests.add((year, sid))
        return sid

    def last_day_of_december(self) -> None:
        late = datetime(2025, 12, 31, 15, 0)
        sid = self.request(2025, late, "Bank Sampah")
        dispose(self.state, 2025, sid, 2, late + timedelta(minutes=30))
        self.at_step[2].append(sid)

    def new_year_before_the_directory(self) -> None:
        for sid in self.at_step[2][:2]:
            dispose(self.state, 2025, sid, 3, datetime(2026, 1, 1, 7, 30))

    def the_new_directory(self) -> None:
        self.state.add_year(2026)
        jan2 = datetime(2026, 1, 2, 9, 0)
        for n, sid in enumerate(self.at_step[2][2:]):
            dispose(self.state, 2025, sid, 3, jan2 + timedelta(minutes=n))
        for n, sid in enumerate(self.at_step[1]):
            dispose(self.state, 2025, sid, 2, jan2 + timedelta(minutes=30 + n))
        for n in range(3):
            sid = self.request(2026, jan2 + timedelta(minutes=5 + n), "SIMPUS")
            dispose(self.state, 2026, sid, 2, jan2 + timedelta(hours=1, minutes=n))

    def first_week_of_january(self) -> None:
        jan5 = datetime(2026, 1, 5, 8, 0)
        for n, sid in enumerate(self.at_step[1]):
            dispose(self.state, 2025, sid, 3, jan5 + timedelta(minutes=n))
        add_other(self.state, 2026, jan5)

    def late_february(self) -> None:
        self.request(2026, datetime(2026, 2, 19, 9, 0), "e-Kinerja")


def test_a_year_rollover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """December letters get their dispositions in January; 2026's directory appears on Jan 2.

    Years come from /api/auth/domain and the bridge's date (no BRIDGE_YEARS); no nightly full
    pass (BRIDGE_FULL_SYNC_HOUR unset), so everything after the first round is incremental.
    """
    with world(tmp_path, monkeypatch, seed=4601, years=[2025], now=datetime(2025, 12, 19, 10, 0)) as w:
        rollover = Rollover(w)
        assert len(rollover.at_step[1]) >= 2 and len(rollover.at_step[2]) >= 3, rollover.at_step
        clock = Clock()
        bridge = open_bridge(w, "bridge", (), clock=clock, full_sync_hour=None)
        polled = []
        try:
            cycle = bridge.cycle()
            for moment, event, expected in rollover.rounds():
                event()
                clock.set(moment.replace(tzinfo=WIB))
                with w.lock:
                    w.dirs.clear()
                report = cycle.run_once()
                assert report.ok, (moment, report.sync.failures)
                with w.lock:
                    polled.append((moment, set(w.dirs), expected))
            until_clean(bridge, cycle)
            figures = assert_converged(w, bridge, (2025, 2026))
            docs = case_docs(bridge)
        finally:
            bridge.close()
    wrong = [(f"{moment:%Y-%m-%d}", sorted(got), sorted(want)) for moment, got, want in polled
             if got != want]
    assert wrong == [], f"directories polled, against those expected: {wrong}"
    january = [doc["case_id"] for doc in docs.values() if doc["year"] == 2025
               and "3" in doc["steps"] and doc["steps"]["3"]["at"].startswith("2026-01")]
    assert len(january) >= 5, january
    print(f"\nrollover: {figures}, December cases reaching step 3 in January: {len(january)}")


def test_everything_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """5xx, drops, truncation, 429, latency and lost POST answers together, while letters arrive."""
    with world(tmp_path, monkeypatch, seed=4701, letters=140) as w:
        years = years_of(w.state)
        year = max(years)
        bridge = open_bridge(w, "bridge", years)
        added: list[str] = []

        def arrive(endpoint: str) -> None:
            if endpoint == LETTER_LIST and len(added) < 10:
                added.append(add_request(w.state, year, w.state.now(), "SIMRS"))
                w.requests.add((year, added[-1]))

        try:
            cycle = bridge.cycle()
            w.hooks.append(arrive)
            w.state.set_faults(seed=4701, error_rate=0.1, drop_rate=0.05, truncate_rate=0.1,
                               rate_limit_rate=0.01, retry_after=1, latency_ms=3.0,
                               post_timeout_after_create_rate=0.1, post_timeout_action="drop")
            fault_rounds(cycle)
            w.hooks.clear()
            seen = w.faults_seen()
            w.state.set_faults()
            until_clean(bridge, cycle)
            assert_retry_after_honoured(w)
            figures = assert_converged(w, bridge, years)
        finally:
            bridge.close()
    print(f"\neverything at once: faults {dict(seen)}, {figures}")
    assert {"error", "drop", "truncate", "post_timeout"} <= set(seen), dict(seen)


def test_an_undecodable_body_fails_one_pass_not_the_cycle(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, monkeypatch, seed=4801, letters=30) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years, http_max_attempts=2)
        letter_page = w.state.letter_page

        def poisoned(*args: Any, **kwargs: Any) -> Page:
            page = letter_page(*args, **kwargs)
            huge = b'{"id_persuratan":"1","tgl_dibuat":"2026-11-20 08:00:00","n":' + b"9" * 5000 + b"}"
            return Page([*page.fragments, huge], page.total + 1)

        monkeypatch.setattr(w.state, "letter_page", poisoned)
        try:
            report = bridge.cycle().run_once()
            assert not report.ok
            assert {p.kind for p in report.sync.passes} == {DISPOSISI}
        finally:
            bridge.close()


def test_posts_answered_after_the_timeout_are_not_sent_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating POSTs take 300 ms before the server works on them; the bridge waits 200 ms."""
    with world(tmp_path, monkeypatch, seed=4902, letters=10) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years, http_timeout=0.2, http_max_attempts=2)

        def slow_creates(endpoint: str) -> None:
            creating = endpoint.startswith("POST {dir}/api/surat")
            w.state.set_faults(latency_ms=300.0 if creating else 0.0)

        try:
            cycle = bridge.cycle()
            w.hooks.append(slow_creates)
            fault_rounds(cycle, rounds=2)
            w.hooks.clear()
            w.state.set_faults()
            time.sleep(0.5)  # the server finishes the POSTs it was still working on
            until_clean(bridge, cycle)
            assert_converged(w, bridge, years)
        finally:
            bridge.close()


# -- longer variants -------------------------------------------------------------------------


@pytest.mark.slow
def test_5xx_with_the_shipped_backoff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, monkeypatch, seed=4901, letters=120) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years, shipped_backoff=True)
        try:
            cycle = bridge.cycle()
            w.state.set_faults(seed=4901, error_rate=0.3, drop_rate=0.05, truncate_rate=0.05)
            fault_rounds(cycle, rounds=3, budget=150)
            w.state.set_faults()
            until_clean(bridge, cycle)
            assert_converged(w, bridge, years)
        finally:
            bridge.close()


@pytest.mark.slow
@pytest.mark.parametrize("fault", SIMPLE_FAULTS, ids=lambda f: f.name)
def test_a_larger_list_under_the_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       fault: Fault) -> None:
    seed = 4950 + SIMPLE_FAULTS.index(fault)
    with world(tmp_path, monkeypatch, seed=seed, letters=900) as w:
        years = years_of(w.state)
        bridge = open_bridge(w, "bridge", years)
        try:
            cycle = bridge.cycle()
            w.state.set_faults(seed=seed, **fault.options)
            fault_rounds(cycle, rounds=5, budget=180)
            w.state.set_faults()
            until_clean(bridge, cycle)
            assert_converged(w, bridge, years)
        finally:
            bridge.close()
