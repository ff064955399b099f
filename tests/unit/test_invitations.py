"""Step 4 from Sisumaker: signed and returned invitations, deadlines, the watcher, the years.

The decision logic (derive_case with an invitation) runs on the shipped mapping files; the
watcher runs over a real ledger (SQLite file, and PostgreSQL where the local server answers)
with the hand-written fake Sisumaker of tests/fakes.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from structlog.testing import capture_logs

from bridge.adapters.ledger.case_json import case_document, case_from_document
from bridge.config.profile import Profile
from bridge.config.push_mapping import load_push_mapping
from bridge.config.sop_mapping import SopMappings, load_sop_mappings
from bridge.domain.cases import INVITATION_RETURNED, Case, derive_case, diff_cases
from bridge.domain.invitations import DraftStatus, Invitation, InvitationStatus
from bridge.domain.items import Disposition, Letter, ListKind, YearDir
from bridge.domain.outbox import OutboxState
from bridge.domain.records import CaseWrite, PassMode
from bridge.errors import BridgeError, RetriableApiError
from bridge.metrics import LedgerCollector
from bridge.ports import Ledger
from bridge.services.cycle import WORK_LEASE, Cycle, CycleReport
from bridge.services.intents import IntentBuilder
from bridge.services.invitations import InvitationWatcher
from bridge.services.lease import Lease
from bridge.services.parse import ItemParser
from bridge.services.poll import ListPoller, PollConfig
from bridge.services.push import Pusher
from bridge.services.resend import resend_returned
from bridge.services.status import status_report
from bridge.services.sync import SyncConfig, SyncReport, SyncService
from bridge.services.tracking import CaseTracker
from bridge.services.years import plan_years
from tests.conftest import MAPPINGS
from tests.fakes import Y26, FakeSisumaker, disposition, letter

WIB = ZoneInfo("Asia/Jakarta")
FRONT_OFFICE = "Subbag Umum dan Kepegawaian"
HEAD = "Kepala Dinas Komunikasi dan Informatika"
IT_HEAD = "Kabid PTIKP"
REF = "sb-26-88121-invitation-4"


@cache
def mappings() -> SopMappings:
    return load_sop_mappings(MAPPINGS)


def wib(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in November/December 2026 (no holiday from Mon 23 Nov to Fri 4 Dec)."""
    month = 11 if day >= 20 else 12
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


def eod(day: int) -> datetime:
    """The end of a working day, when deadlines fall."""
    return wib(day, 23, 59).replace(second=59)


def at_step_3() -> tuple[Letter, list[Disposition]]:
    """A request reaching step 3 on Monday 23 November 2026 at 10:00."""
    letter = Letter(id="88121", created_at=wib(23, 8).replace(tzinfo=None),
                    received_at=wib(23, 8, 30).replace(tzinfo=None), asal_surat="Dinas Kesehatan",
                    perihal="Permohonan Pengembangan Aplikasi SIMPUS")
    return letter, [
        Disposition(id="1", surat_id="88121", created_at=wib(23, 9).replace(tzinfo=None),
                    dari_jabatan=FRONT_OFFICE, kepada_jabatan=HEAD, isi="Mohon arahan"),
        Disposition(id="2", surat_id="88121", created_at=wib(23, 10).replace(tzinfo=None),
                    dari_jabatan=HEAD, kepada_jabatan=IT_HEAD, isi="Tindaklanjuti"),
    ]


def draft(drafted: datetime, **changes: object) -> Invitation:
    base = Invitation(ref=REF, attempt=1, remote_id="50017", status=InvitationStatus.WAITING,
                      drafted_at=drafted, meeting_at=wib(1, 9), place="Ruang Rapat",
                      signer="Kepala Bidang PTIKP")
    return replace(base, **changes)  # type: ignore[arg-type]


def derive(now: datetime, invitation: Invitation | None) -> Case:
    m = mappings()
    letter, dispositions = at_step_3()
    case = derive_case(2026, letter, dispositions, recogniser=m.recogniser, sop=m.sop,
                       calendar=m.calendar, now=now, invitation=invitation)
    assert case is not None
    return case


# -- the decision logic ------------------------------------------------------------------------


def test_without_a_draft_step_4_is_due_one_working_day_after_step_3_as_before() -> None:
    case = derive(wib(25, 9), None)
    assert (case.step, case.next_step) == (3, 4)
    assert case.next_deadline == eod(24)
    assert case.overdue and case.overdue_steps == (4,)


def test_a_waiting_draft_is_due_one_working_day_after_it_was_drafted_not_after_step_3() -> None:
    # Found and drafted three days after step 3 (a first run): the signer is not late yet.
    drafted = wib(26, 11)
    waiting = derive(wib(27, 9), draft(drafted))
    assert waiting.step == 3 and waiting.next_deadline == eod(27)
    assert not waiting.overdue and waiting.overdue_steps == ()
    assert derive(wib(28, 0, 30), draft(drafted)).overdue  # still unsigned after its day


def test_a_signed_invitation_is_step_4_at_the_signing_time_with_its_number() -> None:
    signed = draft(wib(23, 11), status=InvitationStatus.SIGNED, nomor_surat="005/731-PTIKP/2026",
                   signed_at=wib(24, 10))
    case = derive(wib(30, 9), signed)
    assert case.step == 4
    assert case.steps[4].at == wib(24, 10) and case.steps[4].source == "suratkeluar:50017"
    assert case.invitation is not None and case.invitation.nomor_surat == "005/731-PTIKP/2026"
    # The meeting day of the invitation is step 5's due date.
    assert (case.next_step, case.next_deadline) == (5, eod(1))
    assert not case.overdue and case.overdue_steps == ()
    assert derive(wib(2, 0, 30), signed).overdue_steps == (5,)
    # The document keeps it all: re-derivation from the ledger gives the same case.
    assert case_from_document(json.loads(json.dumps(case_document(case)))) == case


def test_a_late_signature_is_on_record_after_the_step_is_done() -> None:
    late = draft(wib(23, 11), status=InvitationStatus.SIGNED, nomor_surat="005/9",
                 signed_at=wib(26, 10))
    case = derive(wib(27, 9), late)
    assert case.step == 4 and not case.overdue
    assert case.overdue_steps == (4,)


def test_a_returned_invitation_is_an_anomaly_with_the_reason_and_stays_due() -> None:
    reason = "Mohon perbaiki tanggal rapat"
    returned = draft(wib(23, 11), status=InvitationStatus.RETURNED, reason=reason,
                     returned_at=wib(23, 15))
    before = derive(wib(23, 14), draft(wib(23, 11)))
    case = derive(wib(25, 9), returned)
    assert case.step == 3 and INVITATION_RETURNED in case.anomalies
    assert case.invitation is not None and case.invitation.reason == reason
    assert case.overdue  # nothing was sent again within the day
    described = [c.describe() for c in diff_cases(before, case)]
    assert any(reason in line for line in described)
    assert any("anomaly_raised invitation_returned" in line for line in described)
    # A new draft (under a new ref) clears the anomaly and is due from its own drafting.
    again = derive(wib(25, 9), draft(wib(25, 8), ref=REF + "-r2", attempt=2))
    assert INVITATION_RETURNED not in again.anomalies and not again.overdue


# -- the watcher over a real ledger ---------------------------------------------------------------


def stored_case(year: int, surat_id: str, step: int) -> Case:
    """A bare case at ``step``, as a test stores it."""
    return Case(f"{year}-{surat_id}", year, surat_id, None, None, None, step, {}, None, None,
                False, (), (), "test")


def open_case(ledger: Ledger, surat_id: str, step: int = 3) -> None:
    ledger.save_cases([CaseWrite(2026, surat_id, stored_case(2026, surat_id, step), (), wib(23))])


def watcher(api: FakeSisumaker, ledger: Ledger) -> InvitationWatcher:
    return InvitationWatcher(api, ledger, lambda year: YearDir(year, "/surattangsel26"),
                             now=lambda: wib(24, 12))


def test_the_watcher_records_a_signature_and_a_return_once_and_then_asks_no_more(
        ledger: Ledger) -> None:
    for surat_id in ("1", "2", "3"):
        open_case(ledger, surat_id)
        ledger.record_invitation(2026, surat_id, draft(wib(23, 11), ref=f"sb-26-{surat_id}-inv"))
    assert ledger.dirty_cases() == [(2026, "1"), (2026, "2"), (2026, "3")]
    for surat_id in ("1", "2", "3"):  # derived meanwhile: the dirty marks are cleared
        open_case(ledger, surat_id)
    assert ledger.dirty_cases() == []
    api = FakeSisumaker(drafts={
        "sb-26-1-inv": DraftStatus("50017", InvitationStatus.SIGNED, "005/1-PTIKP/2026",
                                   wib(24, 10)),
        "sb-26-2-inv": DraftStatus("50018", InvitationStatus.RETURNED, reason="Tujuan salah"),
        "sb-26-3-inv": DraftStatus("50019", InvitationStatus.WAITING),
    })
    with capture_logs() as logs:
        report = watcher(api, ledger).run()
    assert (report.checked, report.signed, report.returned) == (3, 1, 1)
    assert sorted(api.looked_up) == ["sb-26-1-inv", "sb-26-2-inv", "sb-26-3-inv"]
    events = {e["event"]: e for e in logs}
    assert events["invitation.signed"]["nomor_surat"] == "005/1-PTIKP/2026"
    assert events["invitation.returned"]["reason"] == "Tujuan salah"
    assert events["invitation.returned"]["log_level"] == "warning"
    assert set(ledger.dirty_cases()) == {(2026, "1"), (2026, "2")}
    inputs = ledger.case_inputs([(2026, "1"), (2026, "2"), (2026, "3")])
    signed = {key[1]: i.invitation for key, i in inputs.items() if i.invitation is not None}
    assert signed["1"].status is InvitationStatus.SIGNED and signed["1"].signed_at == wib(24, 10)
    assert signed["2"].reason == "Tujuan salah" and signed["3"].status is InvitationStatus.WAITING
    assert ledger.returned_invitations() == 1

    # The next round asks only about the one still waiting, and logs nothing again.
    api.looked_up.clear()
    with capture_logs() as logs:
        watcher(api, ledger).run()
    assert api.looked_up == ["sb-26-3-inv"]
    assert not [e for e in logs if e["event"] in ("invitation.signed", "invitation.returned")]


def test_a_draft_sent_again_is_watched_and_ends_the_returned_count(ledger: Ledger) -> None:
    open_case(ledger, "2")
    ledger.record_invitation(2026, "2", draft(wib(23, 11), ref="sb-26-2-inv"))
    ledger.settle_invitation("sb-26-2-inv", DraftStatus("1", InvitationStatus.RETURNED,
                                                        reason="x"))
    assert ledger.returned_invitations() == 1 and ledger.waiting_invitations() == []
    ledger.record_invitation(2026, "2", draft(wib(24, 9), ref="sb-26-2-inv-r2", attempt=2))
    assert ledger.returned_invitations() == 0
    assert [inv.ref for _, _, inv in ledger.waiting_invitations()] == ["sb-26-2-inv-r2"]
    latest = ledger.case_inputs([(2026, "2")])[(2026, "2")].invitation
    assert latest is not None and latest.attempt == 2
    assert not ledger.record_invitation(2026, "2", draft(wib(24, 9), ref="sb-26-2-inv-r2"))


def test_closed_cases_and_failed_look_ups_cost_no_more_than_one_request(ledger: Ledger) -> None:
    open_case(ledger, "1")
    ledger.record_invitation(2026, "1", draft(wib(23, 11), ref="sb-26-1-inv"))
    ledger.record_invitation(2026, "9", draft(wib(23, 11), ref="sb-26-9-inv"))  # no case: closed
    api = FakeSisumaker(drafts={"sb-26-1-inv": RetriableApiError("HTTP 503")})
    with capture_logs() as logs:
        report = watcher(api, ledger).run()
    assert api.looked_up == ["sb-26-1-inv"]
    assert report.failed == 1
    assert [e["event"] for e in logs] == ["invitation.check_failed"]
    assert ledger.waiting_invitations()[0][2].status is InvitationStatus.WAITING


# -- previous years ---------------------------------------------------------------------------


Y25 = YearDir(2025, "/surattangsel25")


def test_a_previous_year_is_polled_while_it_holds_open_cases_then_dropped() -> None:
    offered = [Y25, Y26]
    march = date(2026, 3, 2)
    kept = plan_years(offered, march, open_cases={2025: 3, 2026: 10})
    assert [(p.year_dir, p.reason) for p in kept] == [
        (Y25, "3 open case(s) not yet at the invitation step"), (Y26, "current year")]
    assert [p.year_dir for p in plan_years(offered, march, open_cases={2026: 1})] == [Y26]
    january = plan_years(offered, date(2026, 1, 10), open_cases={})
    assert [(p.year_dir, p.reason) for p in january] == [
        (Y25, "first 6 weeks of January"), (Y26, "current year")]
    wanted = plan_years(offered, march, wanted=[2026], open_cases={2025: 3})
    assert [(p.year_dir, p.reason) for p in wanted] == [(Y26, "BRIDGE_YEARS")]


def test_status_says_which_directories_are_polled_and_why(ledger: Ledger) -> None:
    polled = plan_years([Y25, Y26], date(2026, 3, 2), open_cases=ledger.open_case_years(4))
    assert [p.year_dir for p in polled] == [Y26]
    open_case(ledger, "7")
    ledger.save_cases([CaseWrite(2025, "8", stored_case(2025, "8", 2), (),
                   wib(23))])
    assert ledger.open_case_years(4) == {2025: 1, 2026: 1}
    polled = plan_years([Y25, Y26], date(2026, 3, 2), open_cases=ledger.open_case_years(4))
    assert status_report(ledger, ledger_url="sqlite:///x")["polled"] == []
    ledger.record_polled_years(polled, wib(24))
    report = status_report(ledger, ledger_url="sqlite:///x")
    assert report["polled_decided_at"] == wib(24).isoformat()
    assert report["polled"] == [
        {"year": 2025, "dir": "/surattangsel25",
         "reason": "1 open case(s) not yet at the invitation step"},
        {"year": 2026, "dir": "/surattangsel26", "reason": "current year"}]
    assert report["invitations_returned"] == 0


def test_the_returned_invitations_gauge_counts_cases_not_yet_sent_again(ledger: Ledger) -> None:
    class Borrowed:
        """The test's ledger, lent to the collector (which closes what it opens)."""

        def close(self) -> None:
            """Left open: the test closes it."""

        def __getattr__(self, name: str) -> object:
            return getattr(ledger, name)

    def scrape() -> str:
        registry = CollectorRegistry()
        registry.register(LedgerCollector(Borrowed))  # type: ignore[arg-type]
        return generate_latest(registry).decode()

    assert "bridge_invitations_returned 0.0" in scrape()
    for surat_id in ("1", "2"):
        open_case(ledger, surat_id)
        ledger.record_invitation(2026, surat_id, draft(wib(23, 11), ref=f"sb-26-{surat_id}-inv"))
        ledger.settle_invitation(f"sb-26-{surat_id}-inv",
                                 DraftStatus(None, InvitationStatus.RETURNED, reason="x"))
    assert "bridge_invitations_returned 2.0" in scrape()
    ledger.record_invitation(2026, "1", draft(wib(24, 9), ref="sb-26-1-inv-r2", attempt=2))
    assert "bridge_invitations_returned 1.0" in scrape()


# -- a whole round with fakes: draft, watch, return, send again, sign, note ----------------------


class Office:
    """The real poller, tracker, pusher, watcher and cycle over a ledger and the fake API."""

    def __init__(self, ledger: Ledger, parsers: dict[ListKind, ItemParser],
                 profile: Profile) -> None:
        m = mappings()
        self.ledger = ledger
        self.now = wib(23, 12)
        self.api = FakeSisumaker(per_page=10)
        self.poller = ListPoller(self.api, ledger, parsers, PollConfig())
        push = load_push_mapping(MAPPINGS, max_meeting_days=m.sop.working_days(5))
        builder = IntentBuilder(push, profile.push, m.sop, m.calendar, now=lambda: self.now)
        tracker = CaseTracker(ledger, m, intents=builder, now=lambda: self.now)
        self.builder = builder
        self.pusher = Pusher(self.api, ledger, lambda year: Y26, drafts=builder,
                             now=lambda: self.now)
        watcher = InvitationWatcher(self.api, ledger, lambda year: Y26, now=lambda: self.now)
        lease = Lease(ledger, WORK_LEASE, timedelta(minutes=1))
        self.cycle = Cycle(ledger, None, tracker, self.pusher, lease,  # type: ignore[arg-type]
                           watcher=watcher)
        self.api.items(ListKind.SURAT).insert(0, letter(
            1, perihal="Permohonan Pengembangan Aplikasi SIMPUS", tgl_dibuat="2026-11-23 08:00:00",
            tgl_diterimaTU="2026-11-23 08:30:00"))
        for n, (dari, kepada, when) in enumerate(((FRONT_OFFICE, HEAD, "2026-11-23 09:00:00"),
                                                  (HEAD, IT_HEAD, "2026-11-23 10:00:00"))):
            self.api.items(ListKind.DISPOSISI).insert(0, disposition(
                n + 1, 1, dari_jabatan=dari, kepada_jabatan=kepada, tgl_disposisi=when))

    def round(self, at: datetime) -> CycleReport:
        self.now = at
        for kind in ListKind:
            assert self.poller.run_pass(kind, Y26, PassMode.FULL, f"p{at:%d%H}").complete
        return self.cycle.run_with(lambda: SyncReport(pass_id="p"))

    def case(self) -> Case:
        row = self.ledger.get_case("2026-1001")
        assert row is not None
        return case_from_document(row.document)

    def refs(self) -> list[str]:
        return [str(body["ref"]) for body in self.api.posted]


def test_a_round_drafts_watches_and_after_a_return_and_a_retry_signs_and_notes_once(
        ledger: Ledger, parsers: dict[ListKind, ItemParser], profile: Profile) -> None:
    office = Office(ledger, parsers, profile)
    first = "sb-26-1001-invitation-4"
    office.round(wib(23, 12))
    assert office.refs() == ["sb-26-1001-note-1", "sb-26-1001-note-2", "sb-26-1001-note-3", first]
    drafted = office.case()
    assert drafted.invitation is not None and drafted.invitation.status is InvitationStatus.WAITING
    assert not drafted.overdue and drafted.next_deadline == eod(24)

    office.api.drafts[first] = DraftStatus("4", InvitationStatus.RETURNED, reason="Tujuan salah")
    report = office.round(wib(24, 9))
    assert report.watch.returned == 1 and len(office.refs()) == 4  # not sent again by itself
    assert INVITATION_RETURNED in office.case().anomalies

    entry = next(e for e in ledger.outbox_entries() if e.intent.ref == first)
    again = resend_returned(ledger, office.builder, office.pusher, entry)
    assert again.intent.ref == first + "-r2" and again.state is OutboxState.SENT
    assert office.refs()[-1] == first + "-r2"
    with pytest.raises(BridgeError, match="newer draft"):
        resend_returned(ledger, office.builder, office.pusher, entry)
    office.round(wib(24, 10))
    assert INVITATION_RETURNED not in office.case().anomalies
    assert office.case().invitation.attempt == 2  # type: ignore[union-attr]

    office.api.drafts[first + "-r2"] = DraftStatus("5", InvitationStatus.SIGNED, "005/9-PTIKP",
                                                   wib(24, 14))
    office.round(wib(24, 15))
    case = office.case()
    assert case.step == 4 and case.steps[4].at == wib(24, 14)
    assert office.refs()[-1] == "sb-26-1001-note-4"
    assert "005/9-PTIKP" in office.api.posted[-1]["catatan"]

    office.api.looked_up.clear()
    office.round(wib(25, 9))  # nothing waits: no look-up, nothing posted twice
    assert office.api.looked_up == []
    assert len(office.refs()) == len(set(office.refs())) == 6


def test_the_sync_drops_a_previous_year_once_its_last_open_case_reached_step_4(
        ledger: Ledger, parsers: dict[ListKind, ItemParser]) -> None:
    api = FakeSisumaker(years=[Y25, Y26])
    sync = SyncService(api, ledger, ListPoller(api, ledger, parsers, PollConfig()),
                       SyncConfig(zone=WIB, open_below_step=4), now=lambda: wib(2, 10))
    ledger.save_cases([CaseWrite(2025, "8", stored_case(2025, "8", 3), (),
                   wib(23))])
    with capture_logs() as logs:
        assert sync.years() == [Y25, Y26]
        assert sync.years() == [Y25, Y26]  # logged only when the choice changes
        ledger.save_cases([CaseWrite(2025, "8", stored_case(2025, "8", 4), (),
                   wib(24))])
        assert sync.years() == [Y26]
    polled = [e for e in logs if e["event"] == "years.polled"]
    assert len(polled) == 2
    assert polled[0]["years"][0] == "/surattangsel25 (1 open case(s) not yet at the invitation step)"
    assert polled[1]["dropped"] == ["/surattangsel25"]
    # What `bridge status` shows: the last choice, as the sync recorded it in the ledger.
    recorded, decided_at = ledger.polled_years()
    assert [(p.year_dir, p.reason) for p in recorded] == [(Y26, "current year")]
    assert decided_at == wib(2, 10)


def test_a_request_found_long_after_step_3_is_no_breach_once_its_draft_is_sent(
        ledger: Ledger, parsers: dict[ListKind, ItemParser], profile: Profile) -> None:
    office = Office(ledger, parsers, profile)
    with capture_logs() as logs:
        report = office.round(wib(30, 12))  # a week after step 3: the first run finds it
    assert "sb-26-1001-invitation-4" in office.refs()
    case = office.case()
    assert not case.overdue and case.next_deadline == eod(1)
    assert report.track.breaches == 0
    assert [e for e in logs if e["event"] == "sla.breached"] == []
    # Without a signature by the end of the next working day, it is a breach, logged once.
    with capture_logs() as logs:
        office.round(wib(2, 9))
        office.round(wib(2, 10))
    breached = [e for e in logs if e["event"] == "sla.breached"]
    assert [(e["step"], e["deadline"]) for e in breached] == [(4, eod(1).isoformat())]
