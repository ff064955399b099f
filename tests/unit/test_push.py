"""Pushing the outbox exactly once, and what is pushed.

The Pusher runs over the real SisumakerClient against a respx-mocked Sisumaker that keeps the
notes and draft letters it is sent (so a duplicate shows as a second stored item), with a real
ledger (the shared fixture: an SQLite file, and PostgreSQL when it is there). Each scripted
answer says whether the server stored the item before the answer went wrong: "a response lost
to a timeout may still have created the letter".

The second half covers the IntentBuilder (the bodies rendered from mappings/push.toml) and the
errors of load_push_mapping.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import respx
from pydantic import SecretStr

from bridge.adapters.sisumaker.client import RetryPolicy, SisumakerClient
from bridge.config.profile import Profile
from bridge.config.push_mapping import PushMapping, load_push_mapping
from bridge.config.sop_mapping import SopMappings, load_sop_mappings
from bridge.domain.cases import Case, StepReached
from bridge.domain.invitations import InvitationStatus
from bridge.domain.items import Letter, YearDir
from bridge.domain.outbox import (
    OutboxEntry,
    OutboxIntent,
    OutboxState,
    PushAction,
    push_ref,
    ref_attempt,
)
from bridge.domain.records import CaseWrite
from bridge.errors import MappingError
from bridge.ports import Ledger
from bridge.services.intents import IntentBuilder
from bridge.services.push import Pusher, PushPolicy, PushReport
from bridge.simulator import SimState

BASE = "https://sisu.test"
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
DIR26 = "/surattangsel26"
NOTES_RE = r"^/surattangsel26/api/suratmasuk/(?P<surat_id>[^/]+)/tindaklanjut$"
LETTER_PATH = f"{DIR26}/api/suratkeluar"
LOOKUP_PATH = f"{DIR26}/api/suratkeluar/filter"
LOGIN_PATH = f"{DIR26}/api/auth"
REFUSAL = {"status": 0, "messages": "Tujuan tidak dikenal"}


def year_dir(year: int) -> YearDir:
    return YearDir(year, f"/surattangsel{year % 100:02d}")


# -- intents ---------------------------------------------------------------------------------


def note(surat_id: str = "88121", step: int = 1) -> OutboxIntent:
    ref = push_ref(2026, surat_id, PushAction.NOTE, step)
    body = {"status": "Dalam proses", "catatan": f"Langkah {step}: surat {surat_id}", "ref": ref}
    return OutboxIntent(ref, f"2026-{surat_id}", 2026, surat_id, PushAction.NOTE, step, body)


def invitation(surat_id: str = "88121") -> OutboxIntent:
    ref = push_ref(2026, surat_id, PushAction.INVITATION, 4)
    body = {
        "jenis_surat": "undangan", "tujuan": "Dinas Kesehatan",
        "perihal": "Undangan Rapat Pembahasan Pengembangan Sistem / Aplikasi",
        "isi": f"Menindaklanjuti surat Saudara ({surat_id})", "tgl_acara": "2026-12-29 09:00",
        "tempat": "Ruang Rapat Diskominfo", "penandatangan_jabatan": "Kepala Bidang PTIKP",
        "id_persuratan_rujukan": surat_id, "ref": ref,
    }  # fmt: skip
    return OutboxIntent(ref, f"2026-{surat_id}", 2026, surat_id, PushAction.INVITATION, 4, body)


INTENTS = {"note": note, "invitation": invitation}


# -- a respx Sisumaker that keeps what it is sent ----------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One scripted answer: whether the item is stored first, then what the client gets."""

    creates: bool = True
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raises: type[httpx.TransportError] | None = None


OK = Answer()


class FakeTime:
    """A monotonic clock that moves only when the client sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSisumaker:
    """Notes per letter and draft letters, stored as the contract says; scripted faults.

    ``events`` lists every request in order as (method, key, clock): the key is the ref for a
    POST and for a letter look-up, ``note:<surat_id>`` for a note look-up (the note list of a
    letter carries no ref in its URL).
    """

    def __init__(self, router: respx.MockRouter, fake_time: FakeTime) -> None:
        self._time = fake_time
        self.notes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.drafts: list[dict[str, Any]] = []
        self.events: list[tuple[str, str, float]] = []
        self.post_script: dict[str, list[Answer]] = defaultdict(list)
        self.lookup_script: dict[str, list[Answer]] = defaultdict(list)
        self.lookup_default: dict[str, Answer] = {}
        self.logins = 0
        self._note_ids = itertools.count(9001)
        self._compose_ids = itertools.count(50001)
        router.route(method="POST", path=LOGIN_PATH).mock(side_effect=self._login)
        router.route(method="POST", path__regex=NOTES_RE).mock(side_effect=self._post_note)
        router.route(method="GET", path__regex=NOTES_RE).mock(side_effect=self._list_notes)
        router.route(method="POST", path=LETTER_PATH).mock(side_effect=self._post_letter)
        router.route(method="GET", path=LOOKUP_PATH).mock(side_effect=self._find_letters)

    # what the server holds and saw

    def stored(self, ref: str) -> list[str]:
        """The ids of every stored note and draft carrying ``ref``."""
        ids = [n["id_tindaklanjut"] for notes in self.notes.values() for n in notes
               if n["ref"] == ref]
        return ids + [d["id_compose"] for d in self.drafts if d["ref"] == ref]

    def posts(self, ref: str) -> int:
        return sum(1 for method, key, _ in self.events if method == "POST" and key == ref)

    def trail(self, intent: OutboxIntent) -> list[str]:
        """The POSTs and look-ups of one intent, in order: ["POST", "GET", ...]."""
        key = lookup_key(intent)
        return [method for method, k, _ in self.events
                if (method == "POST" and k == intent.ref) or (method == "GET" and k == key)]

    def preload(self, intent: OutboxIntent) -> str:
        """Store the item as if a POST had reached the server before a crash; its id."""
        return self._store(intent.action, intent.surat_id, dict(intent.body))

    # handlers

    def _login(self, request: httpx.Request) -> httpx.Response:
        self.logins += 1
        now = int(time.time())
        token = jwt.encode({"username": "svc", "skpd_id": "12", "iat": now, "exp": now + 86400,
                            "jti": str(self.logins)}, "k" * 32, algorithm="HS256")
        return httpx.Response(200, json={"status": 1, "messages": "ok", "id_token": token})

    def _post_note(self, request: httpx.Request, surat_id: str) -> httpx.Response:
        return self._post(request, PushAction.NOTE, surat_id, "id_tindaklanjut")

    def _post_letter(self, request: httpx.Request) -> httpx.Response:
        return self._post(request, PushAction.INVITATION, "", "id_compose")

    def _post(self, request: httpx.Request, action: PushAction, surat_id: str,
              id_key: str) -> httpx.Response:
        assert request.headers.get("Authorization"), "a POST without the token"
        body = json.loads(request.content)
        ref = body["ref"]
        self.events.append(("POST", ref, self._time.now))
        script = self.post_script[ref]
        answer = script.pop(0) if script else OK
        remote_id = self._store(action, surat_id, body) if answer.creates else None
        return self._answer(request, answer, {"status": 1, id_key: remote_id})

    def _list_notes(self, request: httpx.Request, surat_id: str) -> httpx.Response:
        key = f"note:{surat_id}"
        self.events.append(("GET", key, self._time.now))
        return self._lookup(request, key, self.notes.get(surat_id, []))

    def _find_letters(self, request: httpx.Request) -> httpx.Response:
        ref = request.url.params["ref"]
        self.events.append(("GET", ref, self._time.now))
        return self._lookup(request, ref, [d for d in self.drafts if d["ref"] == ref])

    def _lookup(self, request: httpx.Request, key: str,
                items: list[dict[str, Any]]) -> httpx.Response:
        script = self.lookup_script[key]
        answer = script.pop(0) if script else self.lookup_default.get(key, OK)
        envelope = {"status": 1, "page": "1", "total_page": 1.0, "Filter by ": "semua",
                    "Total Surat": len(items), "data": [dict(item) for item in items]}
        return self._answer(request, answer, envelope)

    @staticmethod
    def _answer(request: httpx.Request, answer: Answer, success: dict[str, Any]) -> httpx.Response:
        if answer.raises is not None:
            raise answer.raises("scripted transport failure", request=request)
        if answer.status == 200 and answer.body is None:
            return httpx.Response(200, json=success, headers=answer.headers)
        body = answer.body if answer.body is not None else {"status": 0, "messages": "Gangguan"}
        return httpx.Response(answer.status, json=body, headers=answer.headers)

    def _store(self, action: PushAction, surat_id: str, body: dict[str, Any]) -> str:
        if action is PushAction.NOTE:
            note_id = str(next(self._note_ids))
            self.notes[surat_id].append({"id_tindaklanjut": note_id, "status": body["status"],
                                         "catatan": body["catatan"], "ref": body["ref"]})
            return note_id
        compose_id = str(next(self._compose_ids))
        self.drafts.append({"id_compose": compose_id, **body})
        return compose_id


def lookup_key(intent: OutboxIntent) -> str:
    return f"note:{intent.surat_id}" if intent.action is PushAction.NOTE else intent.ref


def assert_no_blind_repost(trail: list[str]) -> None:
    """Every POST after the first follows a look-up: never two POSTs in a row."""
    assert all(not (a == b == "POST") for a, b in itertools.pairwise(trail)), trail


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def server(fake_time: FakeTime) -> Iterator[FakeSisumaker]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield FakeSisumaker(router, fake_time)


@pytest.fixture
def client(profile: Profile, fake_time: FakeTime) -> Iterator[SisumakerClient]:
    api = SisumakerClient(
        base_url=BASE, username="svc-diskominfo", password=SecretStr("pw-sisu"), profile=profile,
        retry=RetryPolicy(max_attempts=3, retry_after_cap=60.0), sleep=fake_time.sleep,
        clock=fake_time.clock,
    )  # fmt: skip
    yield api
    api.close()


@pytest.fixture
def make_pusher(client: SisumakerClient, ledger: Ledger, push_mapping: PushMapping,
                profile: Profile, sop_mappings: SopMappings) -> Callable[..., Pusher]:
    drafts = make_builder(push_mapping, profile, sop_mappings, datetime(2026, 11, 26, tzinfo=UTC))

    def make(**options: Any) -> Pusher:
        # No wait before an in-doubt push is sent again, unless a test asks for one.
        options.setdefault("policy", PushPolicy(resend_after=timedelta(0)))
        return Pusher(client, ledger, year_dir, drafts=drafts, **options)

    return make


def entry_of(ledger: Ledger, intent: OutboxIntent) -> OutboxEntry:
    found = [e for e in ledger.outbox_entries() if e.intent.ref == intent.ref]
    assert len(found) == 1
    return found[0]


def enqueue(ledger: Ledger, *intents: OutboxIntent) -> None:
    assert ledger.enqueue(list(intents)) == len(intents)


# -- Pusher: the happy path ------------------------------------------------------------------


def test_each_intent_is_posted_once_and_a_second_run_sends_nothing(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    intents = [note("88121", 1), note("88121", 2), invitation("88121"), note("88122", 1)]
    enqueue(ledger, *intents)

    report = make_pusher().run()

    assert (report.sent, report.found, report.deferred, report.failed) == (4, 0, 0, 0)
    assert [method for method, _, _ in server.events] == ["POST"] * 4  # no look-up needed
    for intent in intents:
        stored = server.stored(intent.ref)
        assert len(stored) == 1 and server.posts(intent.ref) == 1
        entry = entry_of(ledger, intent)
        assert entry.state is OutboxState.SENT
        assert entry.remote_id == stored[0]
        assert entry.attempts == 1 and entry.sent_at is not None and entry.last_error is None
    # The server received the rendered bodies unchanged, on the right letter.
    assert [n["catatan"] for n in server.notes["88121"]] == [intents[0].body["catatan"],
                                                              intents[1].body["catatan"]]
    assert server.drafts == [{"id_compose": "50001", **intents[2].body}]
    assert server.logins == 1

    before = len(server.events)
    again = make_pusher().run()
    assert (again.sent, again.found, again.deferred) == (0, 0, 0)
    assert len(server.events) == before


def test_enqueue_is_idempotent_by_ref(ledger: Ledger) -> None:
    first = invitation()
    assert ledger.enqueue([first, note()]) == 2
    changed = OutboxIntent(first.ref, first.case_id, first.year, first.surat_id, first.action,
                           first.step, {**first.body, "tgl_acara": "2027-01-04 09:00"})
    assert ledger.enqueue([changed, note()]) == 0
    entries = ledger.outbox_entries()
    assert len(entries) == 2
    assert entry_of(ledger, first).intent.body == first.body  # the first body is kept


# -- Pusher: a POST whose outcome is unknown -------------------------------------------------


UNCERTAIN = [
    pytest.param(httpx.ReadTimeout, True, id="read-timeout-created"),
    pytest.param(httpx.ReadTimeout, False, id="read-timeout-not-created"),
    pytest.param(httpx.WriteTimeout, False, id="write-timeout-not-created"),
    pytest.param(httpx.RemoteProtocolError, True, id="dropped-created"),
    pytest.param(httpx.RemoteProtocolError, False, id="dropped-not-created"),
    pytest.param(httpx.ReadError, True, id="reset-created"),
    pytest.param(httpx.ConnectError, False, id="connect-error"),
]


@pytest.mark.parametrize("kind", INTENTS)
@pytest.mark.parametrize(("failure", "created"), UNCERTAIN)
def test_an_uncertain_post_is_looked_up_before_any_new_post(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        kind: str, failure: type[httpx.TransportError], created: bool) -> None:
    intent = INTENTS[kind]()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=created, raises=failure)]

    report = make_pusher().run()

    if created:
        # The server had it: the look-up finds it and nothing is sent again.
        assert server.trail(intent) == ["POST", "GET"]
        assert (report.sent, report.found) == (0, 1)
    else:
        # Nothing there yet, but a slow POST may still land: no second POST in this round.
        assert server.trail(intent) == ["POST", "GET"]
        assert (report.sent, report.deferred) == (0, 1)
        assert entry_of(ledger, intent).state is OutboxState.IN_DOUBT
        report = make_pusher().run()  # the next round looks up again, then sends
        assert server.trail(intent) == ["POST", "GET", "GET", "POST"]
        assert (report.sent, report.found) == (1, 0)
    stored = server.stored(intent.ref)
    assert len(stored) == 1, f"{len(stored)} items on the server for {intent.ref}"
    entry = entry_of(ledger, intent)
    assert entry.state is OutboxState.SENT
    assert entry.remote_id == stored[0]
    assert entry.attempts == (1 if created else 2)


@pytest.mark.parametrize("kind", INTENTS)
@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("created", [True, False], ids=["created", "not-created"])
def test_a_5xx_on_post_is_looked_up_never_blindly_posted_again(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        kind: str, status: int, created: bool) -> None:
    intent = INTENTS[kind]()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=created, status=status)]

    make_pusher().run()
    if not created:  # in doubt until a later round: the 5xx may hide a POST still landing
        assert server.trail(intent) == ["POST", "GET"]
        assert entry_of(ledger, intent).state is OutboxState.IN_DOUBT
        make_pusher().run()

    assert len(server.stored(intent.ref)) == 1
    assert server.trail(intent) == (["POST", "GET"] if created
                                    else ["POST", "GET", "GET", "POST"])
    entry = entry_of(ledger, intent)
    assert entry.state is OutboxState.SENT and entry.remote_id == server.stored(intent.ref)[0]


def test_a_post_failing_every_time_is_deferred_in_doubt_and_looked_up_next_round(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    intent = invitation()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=False, status=503)] * 3

    report = make_pusher().run()

    for _ in range(2):  # one POST per round, each followed by a look-up
        make_pusher().run()
    trail = server.trail(intent)
    assert trail == ["POST", "GET", "GET", "POST", "GET", "GET", "POST", "GET"]
    assert_no_blind_repost(trail)
    assert report.deferred == 1 and report.sent == 0
    entry = entry_of(ledger, intent)
    assert entry.state is OutboxState.IN_DOUBT  # in doubt: the next round looks it up first
    assert entry.attempts == 3 and "503" in (entry.last_error or "")

    make_pusher().run()
    assert server.trail(intent)[8:] == ["GET", "POST"]
    assert len(server.stored(intent.ref)) == 1
    assert entry_of(ledger, intent).state is OutboxState.SENT


def test_a_post_answer_without_an_id_is_looked_up(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    intent = note()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=True, body={"status": 1})]

    make_pusher().run()

    assert server.trail(intent) == ["POST", "GET"]
    assert entry_of(ledger, intent).remote_id == server.stored(intent.ref)[0]


# -- Pusher: 429 and refusals ----------------------------------------------------------------


@pytest.mark.parametrize("kind", INTENTS)
def test_429_with_retry_after_waits_then_posts_again_without_a_look_up(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        fake_time: FakeTime, kind: str) -> None:
    intent = INTENTS[kind]()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [
        Answer(creates=False, status=429, headers={"Retry-After": "7"},
               body={"status": 0, "messages": "Terlalu banyak permintaan"}),
    ]

    make_pusher().run()

    assert server.trail(intent) == ["POST", "POST"]  # 429 means not taken: nothing to look up
    posts = [at for method, key, at in server.events if method == "POST" and key == intent.ref]
    assert posts[1] - posts[0] >= 7.0  # the client's clock moved only by sleeping
    assert 7.0 in fake_time.sleeps
    assert len(server.stored(intent.ref)) == 1
    entry = entry_of(ledger, intent)
    assert entry.state is OutboxState.SENT and entry.attempts == 2


@pytest.mark.parametrize("status", [400, 404, 422, 200])
def test_a_refused_push_fails_with_the_servers_message_and_holds_up_nothing(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        status: int) -> None:
    refused = invitation("88121")
    others = [note("88121", 1), note("88122", 1), invitation("88122")]
    enqueue(ledger, refused, *others)  # the refused one first: it must not block the rest
    server.post_script[refused.ref] = [Answer(creates=False, status=status, body=REFUSAL)]

    report = make_pusher().run()

    assert server.trail(refused) == ["POST"]  # a refusal is final: no look-up, no retry
    assert server.stored(refused.ref) == []
    entry = entry_of(ledger, refused)
    assert entry.state is OutboxState.FAILED
    assert "Tujuan tidak dikenal" in (entry.last_error or "")
    assert entry.remote_id is None
    for other in others:
        assert entry_of(ledger, other).state is OutboxState.SENT
        assert len(server.stored(other.ref)) == 1
    assert (report.failed, report.sent) == (1, 3)

    make_pusher().run()  # a failed push waits for an operator: it is not due any more
    assert server.trail(refused) == ["POST"]


# -- Pusher: crash points, as the ledger is left behind --------------------------------------


@pytest.mark.parametrize("kind", INTENTS)
def test_crash_after_the_intent_was_committed_before_any_post(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        kind: str) -> None:
    intent = INTENTS[kind]()
    enqueue(ledger, intent)
    entry = entry_of(ledger, intent)
    assert (entry.state, entry.attempts) == (OutboxState.PENDING, 0)

    make_pusher().run()

    assert server.trail(intent) == ["POST"]  # nothing could have been sent: no look-up
    assert entry_of(ledger, intent).state is OutboxState.SENT


@pytest.mark.parametrize("kind", INTENTS)
def test_crash_while_sending_and_the_server_has_it(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        kind: str) -> None:
    intent = INTENTS[kind]()
    enqueue(ledger, intent)
    assert ledger.mark_sending(entry_of(ledger, intent).id)  # then the POST, then kill -9
    remote_id = server.preload(intent)

    report = make_pusher().run()

    assert server.trail(intent) == ["GET"]  # looked up, and not sent again
    assert server.stored(intent.ref) == [remote_id]
    entry = entry_of(ledger, intent)
    assert (entry.state, entry.remote_id, entry.attempts) == (OutboxState.SENT, remote_id, 1)
    assert report.found == 1 and report.sent == 0


@pytest.mark.parametrize("kind", INTENTS)
def test_crash_while_sending_and_the_server_lacks_it(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        kind: str) -> None:
    intent = INTENTS[kind]()
    enqueue(ledger, intent)
    assert ledger.mark_sending(entry_of(ledger, intent).id)

    make_pusher().run()

    assert server.trail(intent) == ["GET", "POST"]
    stored = server.stored(intent.ref)
    assert len(stored) == 1
    entry = entry_of(ledger, intent)
    assert (entry.state, entry.remote_id) == (OutboxState.SENT, stored[0])


@pytest.mark.parametrize("kind", INTENTS)
def test_a_failing_look_up_sends_nothing_and_leaves_the_push_in_doubt(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        kind: str) -> None:
    intent = INTENTS[kind]()
    other = note("88200", 1)
    enqueue(ledger, intent, other)
    assert ledger.mark_sending(entry_of(ledger, intent).id)
    server.lookup_default[lookup_key(intent)] = Answer(status=503)

    report = make_pusher().run()

    assert server.trail(intent) == ["GET"] * 3  # the client's 3 attempts, then it gives up
    assert server.posts(intent.ref) == 0 and server.stored(intent.ref) == []
    entry = entry_of(ledger, intent)
    assert entry.state is OutboxState.IN_DOUBT
    assert "look-up failed" in (entry.last_error or "")
    assert report.deferred == 1
    assert entry_of(ledger, other).state is OutboxState.SENT  # not held up

    # The server comes back, and it had the item after all: found, never sent twice.
    del server.lookup_default[lookup_key(intent)]
    remote_id = server.preload(intent)
    make_pusher().run()
    assert server.posts(intent.ref) == 0
    assert entry_of(ledger, intent).remote_id == remote_id


def test_a_timeout_then_a_failing_look_up_does_not_post_again(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    intent = invitation()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=True, raises=httpx.ReadTimeout)]
    server.lookup_default[intent.ref] = Answer(status=503)

    make_pusher().run()

    assert server.trail(intent) == ["POST", "GET", "GET", "GET"]
    assert len(server.stored(intent.ref)) == 1
    assert entry_of(ledger, intent).state is OutboxState.IN_DOUBT


def test_a_push_is_given_up_after_too_many_attempts_without_a_last_blind_post(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    intent = note()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=False, status=503)] * 10
    policy = PushPolicy(posts_per_round=1, give_up_after=2, resend_after=timedelta(0))

    make_pusher(policy=policy).run()
    make_pusher(policy=policy).run()
    assert server.trail(intent) == ["POST", "GET", "GET", "POST", "GET"]
    make_pusher(policy=policy).run()

    assert server.trail(intent) == ["POST", "GET", "GET", "POST", "GET", "GET"]
    entry = entry_of(ledger, intent)
    assert entry.state is OutboxState.FAILED
    assert "gave up after 2 attempts" in (entry.last_error or "")


# -- Pusher: an operator's retry, and the drafts it watches ------------------------------------------------


@pytest.mark.parametrize("server_has_it", [False, True], ids=["server-lacks", "server-has"])
def test_a_requeued_failed_push_is_looked_up_first(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher],
        server_has_it: bool) -> None:
    intent = invitation()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=False, status=422, body=REFUSAL)]
    make_pusher().run()
    entry = entry_of(ledger, intent)
    assert entry.state is OutboxState.FAILED
    preloaded = server.preload(intent) if server_has_it else None

    # What `bridge outbox retry ID` does, once the cause is fixed.
    assert ledger.requeue(entry.id)
    requeued = ledger.outbox_entry(entry.id)
    assert requeued is not None and requeued.state is OutboxState.IN_DOUBT
    make_pusher().push(requeued, PushReport())

    assert server.trail(intent) == (["POST", "GET"] if server_has_it
                                    else ["POST", "GET", "POST"])
    stored = server.stored(intent.ref)
    assert len(stored) == 1
    after = entry_of(ledger, intent)
    assert (after.state, after.remote_id) == (OutboxState.SENT, stored[0])
    if preloaded is not None:
        assert after.remote_id == preloaded
    assert not ledger.requeue(entry.id)  # only a failed push can be requeued


def watched(ledger: Ledger) -> list[tuple[int, str, str, str | None]]:
    """(year, letter id, ref, remote id) of each draft waiting for its signer."""
    return [(year, surat_id, inv.ref, inv.remote_id)
            for year, surat_id, inv in ledger.waiting_invitations()]


def test_an_invitation_sent_is_watched_from_the_moment_it_is_recorded_as_sent(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    inv = invitation()
    enqueue(ledger, note("88121", 3), inv)
    open_case_row(ledger, "88121")

    report = make_pusher().run()

    assert (report.sent, report.drafted) == (2, 1)  # the note is no draft
    assert entry_of(ledger, inv).state is OutboxState.SENT
    assert watched(ledger) == [(2026, "88121", inv.ref, "50001")]
    # The case is derived again with its draft (the step-4 deadline moves).
    assert (2026, "88121") in ledger.dirty_cases()


def test_an_invitation_found_by_its_look_up_is_watched_too(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    inv = invitation()
    enqueue(ledger, inv)
    open_case_row(ledger, "88121")
    assert ledger.mark_sending(entry_of(ledger, inv).id)
    remote_id = server.preload(inv)

    report = make_pusher().run()

    assert (report.found, report.drafted) == (1, 1)
    assert watched(ledger) == [(2026, "88121", inv.ref, remote_id)]
    assert server.posts(inv.ref) == 0


def open_case_row(ledger: Ledger, surat_id: str) -> None:
    """A stored case for the letter (only the drafts of open cases are watched)."""
    ledger.save_cases([CaseWrite(2026, surat_id, make_case(surat_id=surat_id), (),
                                 datetime(2026, 11, 26, tzinfo=UTC))])


# -- IntentBuilder -----------------------------------------------------------------------------


WIB_OFFSET = timedelta(hours=7)
PERIHAL = "Permohonan Pengembangan Aplikasi SIMPUS"
NOMOR = "005/1234-Dinkes/XI/2026"


@pytest.fixture(scope="module")
def sop_mappings() -> SopMappings:
    return load_sop_mappings(MAPPINGS)


@pytest.fixture(scope="module")
def push_mapping(sop_mappings: SopMappings) -> PushMapping:
    return load_push_mapping(MAPPINGS, max_meeting_days=sop_mappings.sop.working_days(5))


def make_builder(push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings,
                 now: datetime) -> IntentBuilder:
    return IntentBuilder(push_mapping, profile.push, sop_mappings.sop, sop_mappings.calendar,
                         now=lambda: now)


def make_case(*, steps: tuple[int, ...] = (1, 2, 3), surat_id: str = "88121", year: int = 2026,
              perihal: str = PERIHAL, asal_surat: str = "Dinas Kesehatan") -> Case:
    start = datetime(2026, 11, 26, 2, 14, tzinfo=UTC)
    actors = {1: asal_surat, 2: "Subbag Umum dan Kepegawaian", 3: "Kepala Dinas"}
    reached = {n: StepReached(start + timedelta(hours=3 * (n - 1)), actors[n],
                              f"surat:{surat_id}" if n == 1 else f"disposisi:{300000 + n}")
               for n in steps}
    return Case(case_id=f"{year}-{surat_id}", year=year, surat_id=surat_id, perihal=perihal,
                asal_surat=asal_surat, registered_at=start, step=max(steps), steps=reached,
                next_step=max(steps) + 1, next_deadline=None, overdue=False, overdue_steps=(),
                anomalies=(), reason="request")


def make_letter(surat_id: str = "88121", *, nomor: str = NOMOR) -> Letter:
    # 20:30 UTC on 25 November is 03:30 WIB on 26 November: the letter's date is the 26th.
    return Letter(id=surat_id, created_at=datetime(2026, 11, 25, 20, 30, tzinfo=UTC),
                  asal_surat="Dinas Kesehatan", perihal=PERIHAL, nomor_surat=nomor)


def the_invitation(intents: list[OutboxIntent]) -> OutboxIntent:
    found = [i for i in intents if i.action is PushAction.INVITATION]
    assert len(found) == 1
    return found[0]


DRAFTED_TUESDAY = datetime(2026, 12, 22, 8, 0, tzinfo=UTC)  # 15:00 WIB, Tue 22 Dec 2026


def test_invitation_body_has_the_contract_fields(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    builder = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    inv = the_invitation(builder.for_case(make_case(), make_letter()))

    assert (inv.action, inv.step, inv.year, inv.surat_id, inv.case_id) == (
        PushAction.INVITATION, 4, 2026, "88121", "2026-88121")
    assert inv.ref == "sb-26-88121-invitation-4"
    body = inv.body
    assert set(body) == {"jenis_surat", "tujuan", "perihal", "isi", "tgl_acara", "tempat",
                         "penandatangan_jabatan", "id_persuratan_rujukan", "ref"}
    assert body["jenis_surat"] == "undangan"
    assert body["tujuan"] == "Dinas Kesehatan"
    assert body["perihal"] == "Undangan Rapat Pembahasan Pengembangan Sistem / Aplikasi"
    assert body["tgl_acara"] == "2026-12-29 09:00"
    assert body["tempat"] == push_mapping.invitation.place
    assert "Jl. Maruga" in body["tempat"]
    assert body["penandatangan_jabatan"] == push_mapping.invitation.signer
    assert "Persandian" in body["penandatangan_jabatan"]
    assert body["id_persuratan_rujukan"] == "88121"
    assert body["ref"] == inv.ref
    # The simulated server, which validates drafts as the contract says, takes it.
    state = SimState(years=[2026])
    state.add_draft(2026, body)
    assert state.drafts(2026, inv.ref)[0]["tgl_acara"] == "2026-12-29 09:00"


def test_invitation_body_cites_the_request_letter(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    builder = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    isi = the_invitation(builder.for_case(make_case(), make_letter())).body["isi"]

    assert f'nomor {NOMOR} tanggal 26 November 2026 perihal "{PERIHAL}"' in isi
    assert "Selasa, 29 Desember 2026" in isi
    assert "09.00 WIB" in isi
    assert push_mapping.invitation.place in isi
    assert "${" not in isi


@pytest.mark.parametrize(
    ("now", "drafted_on", "expected"),
    [
        # Tue 22 Dec, 15:00 WIB: Wed 23 (1); 24 cuti bersama, 25 Christmas, weekend; Mon 28
        # (2); Tue 29 (3).
        (DRAFTED_TUESDAY, date(2026, 12, 22), "2026-12-29 09:00"),
        # 18:30 UTC on the 22nd is 01:30 WIB on Wed 23: the local day counts.
        (datetime(2026, 12, 22, 18, 30, tzinfo=UTC), date(2026, 12, 23), "2026-12-30 09:00"),
        # Drafted on a Saturday: Mon 28, Tue 29, Wed 30.
        (datetime(2026, 12, 26, 3, 0, tzinfo=UTC), date(2026, 12, 26), "2026-12-30 09:00"),
        # Tue 29 Dec: Wed 30, Thu 31; 1 Jan New Year and the weekend; Mon 4 Jan 2027.
        (datetime(2026, 12, 29, 2, 0, tzinfo=UTC), date(2026, 12, 29), "2027-01-04 09:00"),
    ],
)
def test_the_meeting_is_on_a_working_day_n_working_days_after_drafting(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings, now: datetime,
        drafted_on: date, expected: str) -> None:
    calendar = sop_mappings.calendar
    builder = make_builder(push_mapping, profile, sop_mappings, now)
    body = the_invitation(builder.for_case(make_case(), make_letter())).body

    assert body["tgl_acara"] == expected
    meeting = datetime.strptime(body["tgl_acara"], "%Y-%m-%d %H:%M")
    assert meeting.weekday() < 5
    assert calendar.holiday_name(meeting.date()) is None
    assert calendar.is_working_day(meeting.date())
    assert (now + WIB_OFFSET).date() == drafted_on
    days = push_mapping.invitation.meeting_after_working_days
    assert days == 3
    assert calendar.working_days_between(drafted_on, meeting.date()) == days
    assert (meeting.hour, meeting.minute) == (9, 0)


def test_meeting_days_and_hour_come_from_the_mapping(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    changed = push_mapping.model_copy(update={"invitation": push_mapping.invitation.model_copy(
        update={"meeting_after_working_days": 5, "meeting_time": clock_time(13, 30)})})
    builder = make_builder(changed, profile, sop_mappings, DRAFTED_TUESDAY)
    body = the_invitation(builder.for_case(make_case(), make_letter())).body
    # Wed 23, Mon 28, Tue 29, Wed 30, Thu 31.
    assert body["tgl_acara"] == "2026-12-31 13:30"
    assert "13.30 WIB" in body["isi"]


HOSTILE = "<script>alert(1)</script> ${asal_surat} {{7*7}} \x1b[31mmerah \u202eevil"
HOSTILE_INERT = ("&lt;script&gt;alert(1)&lt;/script&gt; ${asal_surat} {{7*7}} "
                 "\\x1b[31mmerah \\u202eevil")


def test_a_hostile_subject_is_inserted_inert(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    builder = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    intents = builder.for_case(make_case(perihal=HOSTILE), make_letter())
    isi = the_invitation(intents).body["isi"]
    step1 = next(i for i in intents if i.action is PushAction.NOTE and i.step == 1)
    catatan = step1.body["catatan"]

    for text in (isi, catatan):
        assert HOSTILE_INERT in text
        assert "<script>" not in text
        assert "\x1b" not in text and "\u202e" not in text
        assert "49" not in text  # {{7*7}} is not evaluated
    # ${asal_surat} inside the subject stays literal text: it is not filled in a second time.
    assert "Dinas Kesehatan" not in isi
    assert catatan.count("Dinas Kesehatan") == 1  # the note's own ${asal_surat}, once


def test_a_hostile_agency_name_is_inert_in_the_addressee(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    builder = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    hostile = '<img src=x onerror="alert(1)">\u202e${perihal}'
    inv = the_invitation(builder.for_case(make_case(asal_surat=hostile), make_letter()))
    assert inv.body["tujuan"] == '&lt;img src=x onerror="alert(1)"&gt;\\u202e${perihal}'


def test_refs_are_deterministic_per_case_action_and_step(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings,
        ledger: Ledger) -> None:
    monday = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    week_later = make_builder(push_mapping, profile, sop_mappings,
                              DRAFTED_TUESDAY + timedelta(days=7))
    first = monday.for_case(make_case(), make_letter())
    second = week_later.for_case(make_case(), make_letter())

    refs = [i.ref for i in first]
    assert refs == ["sb-26-88121-note-1", "sb-26-88121-note-2", "sb-26-88121-note-3",
                    "sb-26-88121-invitation-4"]
    assert [i.ref for i in second] == refs  # derived again later: the same refs
    assert all(i.body["ref"] == i.ref for i in [*first, *second])
    assert the_invitation(first).body != the_invitation(second).body  # another meeting day
    assert ledger.enqueue(first) == 4
    assert ledger.enqueue(second) == 0  # so a re-derivation never queues a second push

    other_letter = monday.for_case(make_case(surat_id="88122"), make_letter("88122"))
    other_year = monday.for_case(make_case(year=2025), make_letter())
    assert not {i.ref for i in other_letter} & set(refs)
    assert not {i.ref for i in other_year} & set(refs)
    assert push_ref(2026, "88121", PushAction.NOTE, 4) not in refs


def test_only_reached_steps_get_notes_and_only_step_3_with_a_letter_an_invitation(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    builder = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    at_step_2 = builder.for_case(make_case(steps=(1, 2)), make_letter())
    assert [(i.action, i.step) for i in at_step_2] == [(PushAction.NOTE, 1), (PushAction.NOTE, 2)]
    no_letter = builder.for_case(make_case(), None)
    assert [i.action for i in no_letter] == [PushAction.NOTE] * 3
    gap = builder.for_case(make_case(steps=(1, 3)), make_letter())
    assert [(i.action, i.step) for i in gap] == [
        (PushAction.NOTE, 1), (PushAction.NOTE, 3), (PushAction.INVITATION, 4)]


def signed(case: Case, builder: IntentBuilder, *, nomor: str = "005/731-PTIKP/2026") -> Case:
    """The case once its invitation (drafted by ``builder``) is signed: step 4 reached."""
    inv = the_invitation(builder.for_case(case, make_letter()))
    entry = OutboxEntry(1, inv, OutboxState.SENT, 1, "50017", None, DRAFTED_TUESDAY,
                        DRAFTED_TUESDAY, DRAFTED_TUESDAY)
    waiting = builder.invitation_record(entry, "50017")
    at = DRAFTED_TUESDAY + timedelta(hours=2)
    invitation = replace(waiting, status=InvitationStatus.SIGNED, nomor_surat=nomor,
                         signed_at=at)
    steps = {**case.steps, 4: StepReached(at, "Kepala Bidang", "suratkeluar:50017")}
    return replace(case, steps=steps, step=4, next_step=5, invitation=invitation)


def test_the_step_4_note_is_written_when_the_invitation_is_signed_not_when_drafted(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    builder = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    case, letter = make_case(), make_letter()
    drafted = builder.for_case(case, letter)
    assert push_ref(2026, "88121", PushAction.NOTE, 4) not in {i.ref for i in drafted}
    waiting = replace(case, invitation=builder.invitation_record(
        OutboxEntry(1, the_invitation(drafted), OutboxState.SENT, 1, "50017", None,
                    DRAFTED_TUESDAY, DRAFTED_TUESDAY, DRAFTED_TUESDAY), "50017"))
    assert [i.ref for i in builder.for_case(waiting, letter)] == [i.ref for i in drafted]

    after = builder.for_case(signed(case, builder), letter)
    notes = [i for i in after if (i.action, i.step) == (PushAction.NOTE, 4)]
    assert len(notes) == 1
    note = notes[0]
    assert note.ref == "sb-26-88121-note-4" == note.body["ref"]
    text = note.body["catatan"]
    assert text.startswith("Langkah 4:")
    assert "005/731-PTIKP/2026" in text and "50017" in text
    assert "Selasa, 22 Desember 2026 pukul 17.00 WIB" in text  # signed 10:00 UTC = 17:00 WIB
    assert "Selasa, 29 Desember 2026" in text and "09.00" in text  # the meeting
    assert push_mapping.invitation.place in text
    # The same invitation ref, whatever the state: nothing is queued twice.
    assert the_invitation(after).ref == the_invitation(drafted).ref


def test_a_draft_sent_again_after_a_return_has_a_new_ref(
        push_mapping: PushMapping, profile: Profile, sop_mappings: SopMappings) -> None:
    builder = make_builder(push_mapping, profile, sop_mappings, DRAFTED_TUESDAY)
    again = builder.invitation(make_case(), make_letter(), attempt=2)
    assert again.ref == "sb-26-88121-invitation-4-r2" == again.body["ref"]
    assert ref_attempt(again.ref) == 2
    assert ref_attempt("sb-26-88121-invitation-4") == 1
    entry = OutboxEntry(7, again, OutboxState.SENT, 1, "50020", None, DRAFTED_TUESDAY,
                        DRAFTED_TUESDAY, DRAFTED_TUESDAY)
    record = builder.invitation_record(entry, "50020")
    assert (record.attempt, record.remote_id, record.status) == (2, "50020",
                                                                 InvitationStatus.WAITING)
    assert record.meeting_at is not None and record.meeting_at.isoformat().startswith(
        "2026-12-29T09:00:00+07")


# -- load_push_mapping errors ----------------------------------------------------------------


@pytest.fixture
def mapping_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    target.mkdir()
    shutil.copy(MAPPINGS / "push.toml", target / "push.toml")
    return target


def edit(directory: Path, old: str, new: str) -> Path:
    path = directory / "push.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_shipped_push_mapping_loads(sop_mappings: SopMappings) -> None:
    mapping = load_push_mapping(MAPPINGS, max_meeting_days=sop_mappings.sop.working_days(5))
    assert mapping.invitation.meeting_after_working_days <= 7
    assert set(mapping.notes.steps) == {1, 2, 3}


@pytest.mark.parametrize(
    ("old", "new", "key", "unknown", "valid"),
    [
        ('to = "${asal_surat}"', 'to = "${asal}"', "invitation.to", "${asal}",
         "surat_id, nomor_surat, tanggal_surat, perihal, asal_surat, tanggal_rapat, jam_rapat, "
         "tempat, penandatangan"),
        ("nomor ${nomor_surat} tanggal", "nomor ${nomor} tanggal", "invitation.body", "${nomor}",
         "tanggal_surat"),
        ("Kepala Dinas pada ${waktu}", "Kepala Dinas pada ${jam}", "notes.steps", "${jam}",
         "surat_id, nomor_surat, perihal, asal_surat, langkah, nama_langkah, waktu, aktor, "
         "tenggat_berikut, langkah_berikut"),
        ("(nomor draf ${id_compose})", "(nomor draf ${penandatangan})", "notes.invitation_sent",
         "${penandatangan}", "id_compose, tanggal_rapat, jam_rapat, tempat"),
    ],
)
def test_an_unknown_placeholder_names_the_file_the_key_and_the_valid_ones(
        mapping_dir: Path, old: str, new: str, key: str, unknown: str, valid: str) -> None:
    path = edit(mapping_dir, old, new)
    with pytest.raises(MappingError) as caught:
        load_push_mapping(mapping_dir)
    message = str(caught.value)
    assert str(path) in message
    assert f"{key}:" in message
    assert f"unknown placeholder {unknown}" in message
    assert valid in message


def test_a_step_note_error_names_the_step(mapping_dir: Path) -> None:
    edit(mapping_dir, "Kepala Bidang PTIKP pada ${waktu}", "Kepala Bidang PTIKP pada ${jam}")
    with pytest.raises(MappingError, match=r"step 3: unknown placeholder \$\{jam\}"):
        load_push_mapping(mapping_dir)


def test_a_meeting_beyond_the_presentation_allowance_is_refused(mapping_dir: Path) -> None:
    path = edit(mapping_dir, "meeting_after_working_days = 3", "meeting_after_working_days = 8")
    with pytest.raises(MappingError) as caught:
        load_push_mapping(mapping_dir, max_meeting_days=7)
    message = str(caught.value)
    assert str(path) in message
    assert "invitation.meeting_after_working_days" in message
    assert re.search(r"\b8\b", message) and re.search(r"\b7 working days\b", message)
    assert "step 5" in message

    edit(mapping_dir, "meeting_after_working_days = 8", "meeting_after_working_days = 7")
    assert load_push_mapping(mapping_dir, max_meeting_days=7).invitation \
        .meeting_after_working_days == 7


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('kind = "undangan"', 'kind = "undangan"\nwarna = "merah"', "invitation.warna"),
        ('status = "Dalam proses"', 'status = "Dalam proses"\nstatuss = "x"', "notes.statuss"),
    ],
)
def test_an_unknown_key_is_refused(mapping_dir: Path, old: str, new: str, key: str) -> None:
    path = edit(mapping_dir, old, new)
    with pytest.raises(MappingError) as caught:
        load_push_mapping(mapping_dir)
    assert f"{path}: {key}: unknown key" in str(caught.value)


def test_outbox_counts_after_a_mixed_run(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    refused, ok, doubtful = invitation("1"), note("2"), note("3")
    enqueue(ledger, refused, ok, doubtful)
    server.post_script[refused.ref] = [Answer(creates=False, status=422, body=REFUSAL)]
    server.post_script[doubtful.ref] = [Answer(creates=False, status=503)] * 3
    make_pusher().run()
    counts = ledger.outbox_counts()
    assert counts == {OutboxState.PENDING: 0, OutboxState.IN_DOUBT: 1, OutboxState.SENT: 1,
                      OutboxState.FAILED: 1, OutboxState.CANCELLED: 0}
    assert Counter(m for m, _, _ in server.events) == Counter({"POST": 3, "GET": 1})


def test_an_in_doubt_push_waits_before_it_is_sent_again(
        server: FakeSisumaker, ledger: Ledger, make_pusher: Callable[..., Pusher]) -> None:
    intent = note()
    enqueue(ledger, intent)
    server.post_script[intent.ref] = [Answer(creates=False, raises=httpx.ReadTimeout)]
    patient = PushPolicy(resend_after=timedelta(minutes=5))
    make_pusher(policy=patient).run()
    report = make_pusher(policy=patient).run()  # right after: only a look-up, no POST
    assert server.trail(intent) == ["POST", "GET", "GET"]
    assert report.deferred == 1 and report.sent == 0
    later = datetime.now(UTC) + timedelta(minutes=6)
    make_pusher(policy=patient, now=lambda: later).run()
    assert server.trail(intent) == ["POST", "GET", "GET", "GET", "POST"]
    assert entry_of(ledger, intent).state is OutboxState.SENT
