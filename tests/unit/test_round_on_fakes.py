"""The round's services over hand-written fakes of their ports: no database, no HTTP.

The case tracker, the pusher and the cycle speak only to the small ports of bridge/ports.py;
here they run over the in-memory fakes of tests/fakes.py, so what each decides is seen
without SQL. The SQL stores keep their own tests (test_ledger, test_speed_paths, ...) on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.config.profile import Profile
from bridge.config.push_mapping import load_push_mapping
from bridge.config.sop_mapping import SopMappings, load_sop_mappings
from bridge.domain.items import Disposition, Letter
from bridge.domain.outbox import OutboxState, PushAction
from bridge.domain.records import CaseInputs
from bridge.services.cycle import WORK_LEASE, Cycle
from bridge.services.intents import IntentBuilder
from bridge.services.invitations import InvitationWatcher
from bridge.services.lease import Lease
from bridge.services.push import Pusher, PushPolicy
from bridge.services.sync import SyncReport
from bridge.services.tracking import CaseTracker
from tests.conftest import MAPPINGS
from tests.fakes import Y26, FakeCaseStore, FakeLeases, FakeOutbox, FakeSisumaker

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=WIB)
REQUEST = Letter(id="1001", created_at=datetime(2026, 11, 23, 8, 0, tzinfo=WIB),
                 asal_surat="Dinas Kesehatan", perihal="Permohonan Pengembangan Aplikasi SIMPUS",
                 nomor_surat="005/1234-Dinkes/XI/2026",
                 received_at=datetime(2026, 11, 23, 8, 30, tzinfo=WIB))
DISPOSED = (
    Disposition(id="9001", surat_id="1001", created_at=datetime(2026, 11, 23, 9, 0, tzinfo=WIB),
                dari_jabatan="Subbag Umum dan Kepegawaian",
                kepada_jabatan="Kepala Dinas Komunikasi dan Informatika", isi="Mohon arahan"),
    Disposition(id="9002", surat_id="1001", created_at=datetime(2026, 11, 23, 10, 0, tzinfo=WIB),
                dari_jabatan="Kepala Dinas Komunikasi dan Informatika",
                kepada_jabatan="Kabid PTIKP", isi="Tindak lanjuti"),
)
PREFIX = "sb-26-1001-"


@pytest.fixture(scope="module")
def mappings() -> SopMappings:
    return load_sop_mappings(MAPPINGS)


@pytest.fixture
def builder(mappings: SopMappings, profile: Profile) -> IntentBuilder:
    push = load_push_mapping(MAPPINGS, max_meeting_days=mappings.sop.working_days(5))
    return IntentBuilder(push, profile.push, mappings.sop, mappings.calendar, now=lambda: NOW)


def tracker_on(cases: FakeCaseStore, mappings: SopMappings,
               builder: IntentBuilder) -> CaseTracker:
    return CaseTracker(cases, mappings, intents=builder, now=lambda: NOW)


def test_a_request_is_saved_with_every_push_it_needs_in_one_write(
        mappings: SopMappings, builder: IntentBuilder) -> None:
    cases = FakeCaseStore()
    cases.put(CaseInputs(2026, "1001", letter=REQUEST, dispositions=DISPOSED))

    report = tracker_on(cases, mappings, builder).run()

    assert (report.derived, report.opened) == (1, 1)
    [[write]] = cases.saved  # one batch, one write: the case and its pushes together
    assert write.case is not None and write.case.step == 3
    refs = [intent.ref for intent in write.intents]
    assert refs == [f"{PREFIX}note-{n}" for n in (1, 2, 3)] + [f"{PREFIX}invitation-4"]
    assert cases.dirty == []


def test_a_letter_that_is_no_request_is_saved_without_a_case_or_a_push(
        mappings: SopMappings, builder: IntentBuilder) -> None:
    cases = FakeCaseStore()
    plain = Letter(id="1002", created_at=REQUEST.created_at, perihal="Undangan rapat koordinasi")
    cases.put(CaseInputs(2026, "1002", letter=plain))

    tracker_on(cases, mappings, builder).run()

    [[write]] = cases.saved
    assert (write.case, write.intents, write.hold) == (None, (), False)


def test_deriving_again_unchanged_inputs_asks_for_the_same_pushes_by_the_same_refs(
        mappings: SopMappings, builder: IntentBuilder) -> None:
    cases = FakeCaseStore()
    outbox = FakeOutbox()
    cases.outbox = outbox
    tracker = tracker_on(cases, mappings, builder)
    cases.put(CaseInputs(2026, "1001", letter=REQUEST, dispositions=DISPOSED))
    tracker.run()
    cases.mark_cases_dirty([(2026, "1001")])

    report = tracker.run()

    assert (report.derived, report.opened, report.changed) == (1, 0, 0)
    assert len(outbox.entries) == 4  # the same refs again: nothing new is queued


def make_cycle(cases: FakeCaseStore, outbox: FakeOutbox, api: FakeSisumaker,
               mappings: SopMappings, builder: IntentBuilder, *, pushing: bool) -> Cycle:
    pusher = (Pusher(api, outbox, lambda year: Y26, drafts=builder,
                     policy=PushPolicy(resend_after=timedelta(0)))
              if pushing else None)
    watcher = InvitationWatcher(api, outbox, lambda year: Y26, now=lambda: NOW)
    return Cycle(outbox, None, tracker_on(cases, mappings, builder), pusher,  # type: ignore[arg-type]
                 Lease(FakeLeases(), WORK_LEASE, timedelta(minutes=1)), watcher=watcher)


def test_a_round_sends_each_push_once_and_watches_the_draft_it_sent(
        mappings: SopMappings, builder: IntentBuilder) -> None:
    outbox = FakeOutbox()
    cases = FakeCaseStore(outbox=outbox)
    outbox.cases = cases
    api = FakeSisumaker()
    cycle = make_cycle(cases, outbox, api, mappings, builder, pushing=True)
    cases.put(CaseInputs(2026, "1001", letter=REQUEST, dispositions=DISPOSED))

    report = cycle.run_with(lambda: SyncReport(pass_id="p1"))

    assert report.push is not None and (report.push.sent, report.push.drafted) == (4, 1)
    assert [body["ref"] for body in api.posted] == (
        [f"{PREFIX}note-{n}" for n in (1, 2, 3)] + [f"{PREFIX}invitation-4"])
    assert {e.state for e in outbox.entries.values()} == {OutboxState.SENT}
    [(year, surat_id, draft)] = outbox.waiting_invitations()
    assert (year, surat_id, draft.ref) == (2026, "1001", f"{PREFIX}invitation-4")
    # The same round derived the case again with its draft: step 4's deadline now runs.
    case = cases.case(2026, "1001")
    assert case is not None and case.invitation is not None and case.invitation.ref == draft.ref

    again = cycle.run_with(lambda: SyncReport(pass_id="p2"))

    assert again.push is not None and again.push.sent == 0
    assert len(api.posted) == 4


def test_with_pushing_off_the_round_queues_the_pushes_and_sends_nothing(
        mappings: SopMappings, builder: IntentBuilder) -> None:
    outbox = FakeOutbox()
    cases = FakeCaseStore(outbox=outbox)
    api = FakeSisumaker()
    cycle = make_cycle(cases, outbox, api, mappings, builder, pushing=False)
    cases.put(CaseInputs(2026, "1001", letter=REQUEST, dispositions=DISPOSED))

    report = cycle.run_with(lambda: SyncReport(pass_id="p1"))

    assert report.push is None and api.posted == []
    queued = sorted((e.intent.action, e.state) for e in outbox.entries.values())
    assert queued == sorted([(PushAction.NOTE, OutboxState.PENDING)] * 3
                            + [(PushAction.INVITATION, OutboxState.PENDING)])
