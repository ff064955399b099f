"""Case tracking over a real ledger fed by the real poller: cases follow their items.

Every scenario stores pages the way the bridge does (ListPoller over a fake Sisumaker, full
passes, so each page goes through ``store_page`` and its dirty marks), then runs the
CaseTracker with the shipped mapping files and an injected clock. The ``ledger`` fixture is a
real SQLite file in tmp_path (and, where the local server answers, a PostgreSQL schema).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from structlog.testing import capture_logs

from bridge.config.sop_mapping import SopMappings, load_sop_mappings
from bridge.domain.items import ListKind
from bridge.domain.records import HistoryRow, PassMode
from bridge.ports import Ledger
from bridge.services.parse import ItemParser
from bridge.services.poll import ListPoller, PollConfig
from bridge.services.tracking import CaseTracker, TrackReport
from tests.conftest import MAPPINGS
from tests.fakes import Y26, FakeSisumaker, disposition, letter

WIB = ZoneInfo("Asia/Jakarta")
SURAT, DISPOSISI = ListKind.SURAT, ListKind.DISPOSISI

FRONT_OFFICE = "Subbag Umum dan Kepegawaian"
HEAD = "Kepala Dinas Komunikasi dan Informatika"
IT_HEAD = "Kabid PTIKP"
OTHER_HEAD = "Kabid Informasi dan Komunikasi Publik"

REQUEST = "Permohonan Pengembangan Aplikasi Pendaftaran Online Puskesmas"
NOT_A_REQUEST = "Laporan penggunaan aplikasi Pendaftaran Online Puskesmas"

# The letter of every scenario: n=1 in tests.fakes, so id_persuratan "1001".
SURAT_ID = "1001"
CASE_ID = f"2026-{SURAT_ID}"
# November 2026: Fri 20, (Sat 21, Sun 22), Mon 23, Tue 24, Wed 25, Thu 26 - no holiday.
CREATED = "2026-11-20 08:01:00"
REGISTERED = "2026-11-20 09:00:00"


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=WIB)


@pytest.fixture(scope="module")
def mappings() -> SopMappings:
    """The shipped sop.toml and recognition.toml."""
    return load_sop_mappings(MAPPINGS)


class Desk:
    """A fake Sisumaker, the real poller and the real tracker over one ledger."""

    def __init__(self, ledger: Ledger, parsers: dict[ListKind, ItemParser],
                 mappings: SopMappings) -> None:
        self.ledger = ledger
        self.api = FakeSisumaker(per_page=10)
        self.poller = ListPoller(self.api, ledger, parsers, PollConfig())
        self.now = wib(20, 12)
        self.tracker = CaseTracker(ledger, mappings, now=lambda: self.now)
        self._passes = 0

    # -- the server's lists, newest first ------------------------------------------------------

    def add_letter(self, *, perihal: str = REQUEST, registered: str | None = REGISTERED,
                   **extra: Any) -> dict[str, Any]:
        item = letter(1, perihal=perihal, tgl_dibuat=CREATED, tgl_diterimaTU=registered, **extra)
        self.api.items(SURAT).insert(0, item)
        return item

    def edit_letter(self, **changes: Any) -> None:
        for item in self.api.items(SURAT):
            if item["id_persuratan"] == SURAT_ID:
                item.update(changes)
                return
        raise AssertionError("no letter to edit")

    def add_disposition(self, n: int, when: str, dari: str, kepada: str,
                        isi: str = "Mohon ditindaklanjuti", surat: int = 1) -> str:
        item = disposition(n, surat, dari_jabatan=dari, kepada_jabatan=kepada,
                           isi_disposisi=isi, tgl_disposisi=when)
        self.api.items(DISPOSISI).insert(0, item)
        return f"disposisi:{item['id_disposisi']}"

    # -- the bridge ----------------------------------------------------------------------------

    def poll(self, *kinds: ListKind) -> None:
        """One full pass over each list given (both by default), as the sync would do."""
        for kind in kinds or (SURAT, DISPOSISI):
            self._passes += 1
            summary = self.poller.run_pass(kind, Y26, PassMode.FULL, f"pass-{self._passes}")
            assert summary.complete, summary.error

    def track(self, at: datetime | None = None) -> TrackReport:
        if at is not None:
            self.now = at
        return self.tracker.run()

    def doc(self, case_id: str = CASE_ID) -> dict[str, Any]:
        row = self.ledger.get_case(case_id)
        assert row is not None, f"no case {case_id}"
        return row.document

    def history(self, case_id: str = CASE_ID) -> list[HistoryRow]:
        return self.ledger.case_history(case_id)


@pytest.fixture
def desk(ledger: Ledger, parsers: dict[ListKind, ItemParser],
         mappings: SopMappings) -> Desk:
    return Desk(ledger, parsers, mappings)


def kinds_and_sources(rows: list[HistoryRow]) -> list[tuple[str, str | None]]:
    return [(row.kind, row.source) for row in rows]


def step_entries(rows: list[HistoryRow]) -> list[tuple[str, str | None]]:
    """The step_reached entries as (which step, source)."""
    return [(row.description.split(":")[0].removeprefix("step_reached "), row.source)
            for row in rows if row.kind == "step_reached"]


# --- steps 1 -> 2 -> 3 over later passes -------------------------------------------------------


def test_a_request_moves_through_steps_1_2_3_over_later_passes(desk: Desk) -> None:
    desk.add_letter()
    desk.poll()
    first = desk.track(wib(20, 12))
    assert (first.derived, first.opened) == (1, 1)
    doc = desk.doc()
    assert doc["step"] == 1 and list(doc["steps"]) == ["1"]
    assert doc["next_step"] == 2
    assert doc["next_deadline"] == "2026-11-23T23:59:59+07:00"  # 1 working day after Friday
    assert doc["overdue"] is False and doc["anomalies"] == []

    step2 = desk.add_disposition(2, "2026-11-23 09:00:00", FRONT_OFFICE, HEAD)
    desk.poll()
    second = desk.track(wib(23, 12))
    assert (second.derived, second.opened, second.changed) == (1, 0, 1)
    doc = desk.doc()
    assert doc["step"] == 2
    assert doc["steps"]["2"]["source"] == step2
    assert doc["next_deadline"] == "2026-11-24T23:59:59+07:00"

    step3 = desk.add_disposition(3, "2026-11-24 10:00:00", HEAD, IT_HEAD)
    desk.poll()
    third = desk.track(wib(24, 12))
    assert (third.derived, third.changed) == (1, 1)
    doc = desk.doc()
    assert doc["step"] == 3
    assert [doc["steps"][n]["source"] for n in ("1", "2", "3")] == [f"surat:{SURAT_ID}", step2, step3]
    assert doc["overdue"] is False and doc["anomalies"] == []

    # `bridge case` shows this history: one entry per change, each naming its Sisumaker item.
    history = desk.history()
    assert kinds_and_sources(history) == [
        ("opened", f"surat:{SURAT_ID}"),
        ("step_reached", f"surat:{SURAT_ID}"),
        ("step_reached", step2),
        ("deadline_changed", f"surat:{SURAT_ID}"),
        ("step_reached", step3),
        ("deadline_changed", f"surat:{SURAT_ID}"),
    ]
    assert step_entries(history) == [("step 1", f"surat:{SURAT_ID}"), ("step 2", step2),
                                      ("step 3", step3)]
    assert [row.at for row in history] == [wib(20, 12)] * 2 + [wib(23, 12)] * 2 + [wib(24, 12)] * 2


def test_the_case_list_filters_by_step(desk: Desk) -> None:
    desk.add_letter()
    desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    desk.poll()
    desk.track()
    assert [row.case_id for row in desk.ledger.list_cases(step=2)] == [CASE_ID]
    assert desk.ledger.list_cases(step=3) == []
    assert desk.ledger.cases_per_step() == {2: 1}


# --- dispositions before their letter ----------------------------------------------------------


def test_dispositions_seen_before_their_letter_are_applied_once_it_arrives(desk: Desk) -> None:
    step2 = desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    step3 = desk.add_disposition(3, "2026-11-20 14:00:00", HEAD, IT_HEAD)
    desk.poll(DISPOSISI)
    early = desk.track(wib(20, 15))
    # Nothing says yet that this letter is a request: no case, but nothing is lost either.
    assert early.derived == 1 and early.opened == 0
    assert desk.ledger.get_case(CASE_ID) is None
    assert desk.ledger.dirty_cases() == []

    desk.add_letter()
    desk.poll(SURAT)  # the letter list in a later pass; the dispositions are not read again
    late = desk.track(wib(20, 16))
    assert late.opened == 1
    doc = desk.doc()
    assert doc["step"] == 3
    assert [doc["steps"][n]["source"] for n in ("1", "2", "3")] == [f"surat:{SURAT_ID}", step2, step3]
    assert doc["anomalies"] == []
    assert step_entries(desk.history()) == [("step 1", f"surat:{SURAT_ID}"), ("step 2", step2),
                                            ("step 3", step3)]

    rows = len(desk.history())
    again = desk.track(wib(20, 17))
    assert again.derived == 0 and again.opened == again.changed == 0
    desk.poll()  # both lists again, unchanged
    assert desk.ledger.dirty_cases() == []
    assert desk.track(wib(20, 18)).derived == 0
    assert len(desk.history()) == rows


def test_a_case_opened_from_its_dispositions_gets_its_letter_later_without_repeating_steps(
        desk: Desk) -> None:
    step2 = desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    step3 = desk.add_disposition(3, "2026-11-20 14:00:00", HEAD, IT_HEAD,
                                 isi="Kabid PTIKP: tindaklanjuti permohonan pembuatan aplikasi")
    desk.poll(DISPOSISI)
    desk.track(wib(20, 15))
    doc = desk.doc()
    assert doc["anomalies"] == ["letter_missing"]
    assert doc["step"] == 3 and "1" not in doc["steps"]

    desk.add_letter()
    desk.poll(SURAT)
    desk.track(wib(20, 16))
    doc = desk.doc()
    assert doc["anomalies"] == []
    assert sorted(doc["steps"]) == ["1", "2", "3"]
    history = desk.history()
    # Steps 2 and 3 were recorded when first seen and not again; step 1 came with the letter.
    assert Counter(step for step, _ in step_entries(history)) == {"step 1": 1, "step 2": 1,
                                                                 "step 3": 1}
    assert ("step 2", step2) in step_entries(history) and ("step 3", step3) in step_entries(history)
    assert [(r.kind, r.description.split(":")[0]) for r in history
            if r.kind.startswith("anomaly")] == [("anomaly_raised", "anomaly_raised letter_missing"),
                                                  ("anomaly_cleared", "anomaly_cleared letter_missing")]


# --- letters changed in place ------------------------------------------------------------------


def test_registration_filled_in_later_derives_the_case_again(desk: Desk) -> None:
    desk.add_letter(registered=None)
    desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    desk.poll()
    desk.track(wib(20, 12))
    doc = desk.doc()
    assert doc["registered_at"] is None
    assert doc["anomalies"] == ["not_registered"]

    desk.edit_letter(tgl_diterimaTU="2026-11-20 09:30:00", status_dibaca="1")
    desk.poll(SURAT)
    assert desk.ledger.dirty_cases() == [(2026, SURAT_ID)]  # marked with the changed page
    report = desk.track(wib(20, 13))
    assert report.changed == 1
    doc = desk.doc()
    assert doc["registered_at"] == "2026-11-20T09:30:00+07:00"
    assert doc["anomalies"] == []
    new = [(r.kind, r.description.split(":")[0]) for r in desk.history() if r.at == wib(20, 13)]
    assert new == [("field_changed", "field_changed registered_at"),
                   ("anomaly_cleared", "anomaly_cleared not_registered")]


def test_a_letter_edited_out_of_and_back_into_a_request_closes_and_reopens_its_case(
        desk: Desk) -> None:
    desk.add_letter()
    desk.poll()
    desk.track(wib(20, 12))
    assert desk.doc()["step"] == 1

    desk.edit_letter(perihal=NOT_A_REQUEST)
    desk.poll(SURAT)
    with capture_logs() as logs:
        report = desk.track(wib(20, 13))
    assert report.closed == 1
    assert desk.ledger.get_case(CASE_ID) is None
    assert desk.ledger.list_cases() == []
    closed = desk.history()[-1]
    assert (closed.kind, closed.source, closed.at) == ("closed", f"surat:{SURAT_ID}", wib(20, 13))
    assert [e["case_id"] for e in logs if e["event"] == "case.closed"] == [CASE_ID]

    rows = len(desk.history())
    assert desk.track(wib(20, 14)).derived == 0  # a closed case is not closed again
    assert len(desk.history()) == rows

    desk.edit_letter(perihal=REQUEST + " (revisi)")
    desk.poll(SURAT)
    report = desk.track(wib(20, 15))
    assert report.opened == 1
    assert desk.doc()["perihal"] == REQUEST + " (revisi)"
    assert [r.kind for r in desk.history()].count("opened") == 2


def test_an_edited_subject_is_recorded_in_the_history(desk: Desk) -> None:
    desk.add_letter()
    desk.poll()
    desk.track(wib(20, 12))
    desk.edit_letter(perihal=REQUEST + " Tahun 2027")
    desk.poll(SURAT)
    desk.track(wib(20, 13))
    assert desk.doc()["perihal"] == REQUEST + " Tahun 2027"
    last = desk.history()[-1]
    assert last.kind == "field_changed" and last.description.startswith("field_changed perihal:")
    assert "Tahun 2027" in last.description


# --- anomalies ---------------------------------------------------------------------------------


def test_a_disposition_to_another_division_head_is_an_anomaly_not_step_3(desk: Desk) -> None:
    desk.add_letter()
    desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    other = desk.add_disposition(3, "2026-11-20 14:00:00", HEAD, OTHER_HEAD)
    desk.poll()
    desk.track(wib(20, 15))
    doc = desk.doc()
    assert doc["step"] == 2
    assert "3" not in doc["steps"]
    assert doc["anomalies"] == ["disposed_to_other_division"]
    assert doc["next_step"] == 3
    raised = [r for r in desk.history() if r.kind == "anomaly_raised"]
    assert [r.description.split(":")[0] for r in raised] == [
        "anomaly_raised disposed_to_other_division"]
    assert other not in [r.source for r in desk.history()]  # it reached no step


# --- deadlines ---------------------------------------------------------------------------------


def test_a_passed_deadline_makes_the_case_overdue_and_is_logged_once(desk: Desk) -> None:
    desk.add_letter()
    desk.poll()
    with capture_logs() as logs:
        desk.track(wib(20, 12))
        assert desk.doc()["overdue"] is False
        assert desk.ledger.list_cases(overdue=True) == []

        # Monday passes without the front office disposing the letter; no new item at all.
        overdue = desk.track(wib(24, 9))
        assert overdue.derived == 1 and overdue.breaches == 1
        doc = desk.doc()
        assert doc["overdue"] is True and doc["next_step"] == 2
        assert doc["overdue_steps"] == [2]
        assert [row.case_id for row in desk.ledger.list_cases(overdue=True)] == [CASE_ID]
        became = desk.history()[-1]
        assert became.kind == "became_overdue" and became.at == wib(24, 9)
        rows = len(desk.history())

        for later in (wib(24, 15), wib(25, 9), wib(25, 9)):
            again = desk.track(later)
            assert again.breaches == 0 and again.derived == 0
        assert len(desk.history()) == rows

    breaches = [e for e in logs if e["event"] == "sla.breached"]
    assert len(breaches) == 1
    assert breaches[0]["case_id"] == CASE_ID and breaches[0]["step"] == 2
    assert breaches[0]["deadline"] == "2026-11-23T23:59:59+07:00"
    assert breaches[0]["log_level"] == "warning"


def test_a_late_step_ends_the_breach_and_the_next_deadline_is_breached_once_too(
        desk: Desk) -> None:
    desk.add_letter()
    desk.poll()
    desk.track(wib(20, 12))
    with capture_logs() as logs:
        desk.track(wib(24, 9))  # step 2 overdue
        desk.add_disposition(2, "2026-11-24 10:00:00", FRONT_OFFICE, HEAD)  # done late
        desk.poll()
        late = desk.track(wib(24, 11))
        doc = desk.doc()
        assert late.breaches == 0
        assert doc["step"] == 2 and doc["overdue"] is False
        assert doc["overdue_steps"] == [2]  # lateness stays on record
        assert desk.history()[-1].kind == "no_longer_overdue"

        for moment in (wib(26, 9), wib(26, 10), wib(27, 9)):  # step 3 was due Wed 25
            desk.track(moment)
    breaches = [(e["case_id"], e["step"]) for e in logs if e["event"] == "sla.breached"]
    assert breaches == [(CASE_ID, 2), (CASE_ID, 3)]
    assert desk.doc()["overdue_steps"] == [2, 3]


# --- idempotence -------------------------------------------------------------------------------


def test_running_twice_on_unchanged_data_adds_no_history_and_no_dirty_marks(desk: Desk) -> None:
    desk.add_letter()
    desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    desk.add_disposition(3, "2026-11-20 14:00:00", HEAD, OTHER_HEAD)
    # a decoy of the same sender: never a case
    desk.api.items(SURAT).insert(0, letter(7, perihal=NOT_A_REQUEST, tgl_dibuat="2026-11-20 11:00:00"))
    desk.poll()
    assert sorted(desk.ledger.dirty_cases()) == [(2026, SURAT_ID), (2026, "1007")]
    first = desk.track(wib(24, 9))  # overdue from the start: step 3 was due Mon 23
    assert (first.derived, first.opened, first.breaches) == (2, 1, 1)
    assert [row.case_id for row in desk.ledger.list_cases()] == [CASE_ID]
    assert desk.ledger.case_history("2026-1007") == []
    row = desk.ledger.get_case(CASE_ID)
    rows = len(desk.history())

    with capture_logs() as logs:
        second = desk.track(wib(24, 9))
        desk.poll()  # the same pages once more: stored unchanged, nothing marked
        assert desk.ledger.dirty_cases() == []
        third = desk.track(wib(24, 9))
    for report in (second, third):
        assert (report.derived, report.opened, report.changed, report.closed,
                report.breaches) == (0, 0, 0, 0, 0)
    assert len(desk.history()) == rows
    assert desk.ledger.get_case(CASE_ID) == row  # not even rewritten (updated_at unchanged)
    assert [e["event"] for e in logs if e["event"].startswith(("case.", "sla."))] == []


# --- items that go away or move ----------------------------------------------------------------


def test_a_disposition_removed_on_the_server_withdraws_its_step(desk: Desk) -> None:
    desk.add_letter()
    desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    desk.add_disposition(3, "2026-11-20 14:00:00", HEAD, IT_HEAD)
    desk.poll()
    desk.track(wib(20, 15))
    assert desk.doc()["step"] == 3

    desk.api.items(DISPOSISI).pop(0)  # the Head's disposition is deleted in Sisumaker
    desk.poll(DISPOSISI)  # a full pass flags it missing
    item = desk.ledger.get_item(DISPOSISI, 2026, "9003")
    assert item is not None and item.missing_since is not None
    desk.track(wib(20, 16))
    doc = desk.doc()
    assert doc["step"] == 2, "the case still shows step 3 from a disposition that is gone"
    assert desk.history()[-1].kind in {"step_withdrawn", "deadline_changed"}


def test_a_disposition_moved_to_another_letter_updates_both_cases(desk: Desk) -> None:
    desk.add_letter()
    other = letter(5, perihal="Permohonan Pembuatan Sistem Informasi Kepegawaian",
                   tgl_dibuat="2026-11-20 08:05:00", tgl_diterimaTU=REGISTERED)
    desk.api.items(SURAT).insert(0, other)
    desk.add_disposition(2, "2026-11-20 10:00:00", FRONT_OFFICE, HEAD)
    desk.poll()
    desk.track(wib(20, 12))
    assert desk.doc()["step"] == 2
    assert desk.doc("2026-1005")["step"] == 1

    # The front office fixes a wrong letter reference: the disposition belongs to 1005.
    desk.api.items(DISPOSISI)[0]["id_persuratan"] = "1005"
    desk.poll(DISPOSISI)
    desk.track(wib(20, 13))
    assert desk.doc("2026-1005")["step"] == 2
    assert desk.doc()["step"] == 1, "the old letter keeps step 2 from a disposition now elsewhere"


@pytest.fixture(params=[logging.INFO, logging.DEBUG], ids=["info", "debug"])
def log_level(request: pytest.FixtureRequest) -> Iterator[int]:
    """structlog filtering at this level for the test, whatever an earlier test configured."""
    wrapper = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(request.param))
    yield request.param
    structlog.configure(wrapper_class=wrapper)


def test_a_round_opening_many_cases_logs_a_few_then_one_summary(
        ledger: Ledger, parsers: dict[ListKind, ItemParser], mappings: SopMappings,
        log_level: int) -> None:
    api = FakeSisumaker(per_page=10)
    for n in range(1, 8):
        api.items(SURAT).insert(0, letter(n, perihal=f"{REQUEST} nomor {n}",
                                          tgl_diterimaTU=REGISTERED))
    ListPoller(api, ledger, parsers, PollConfig()).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    tracker = CaseTracker(ledger, mappings, now=lambda: wib(20, 12), log_each=3)
    with capture_logs() as logs:
        report = tracker.run()
    assert report.opened == 7
    assert len(ledger.list_cases()) == 7  # every case stored, whatever was logged
    levels = Counter(e["log_level"] for e in logs if e["event"] == "case.opened")
    assert levels["info"] == 3
    # The rest at debug level, where debug is written.
    assert levels["debug"] == (4 if log_level == logging.DEBUG else 0)
    summary = [e for e in logs if e["event"] == "cases.summary"]
    assert len(summary) == 1
    assert summary[0]["opened"] == 7 and summary[0]["logged_one_by_one"] == 3
    # The next round has its own budget, and a quiet round writes no summary.
    with capture_logs() as logs:
        tracker.run()
    assert not [e for e in logs if e["event"] == "cases.summary"]
