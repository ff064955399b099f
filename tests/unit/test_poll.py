"""The poller over a fake Sisumaker: no item lost or counted twice, whatever the list does."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from bridge.adapters.ledger.sqlite import SqliteLedger
from bridge.domain.items import ListKind, YearDir
from bridge.domain.records import PassMode
from bridge.errors import PaginationError, RetriableApiError
from bridge.ports import RawPage
from bridge.services.parse import ItemParser
from bridge.services.poll import ListPoller, PollConfig
from bridge.services.stop import StopSignal
from tests.fakes import BASE, Y26, FakeSisumaker, letter

SURAT = ListKind.SURAT


def newest_first(count: int, start: int = 0) -> list[dict[str, object]]:
    return [letter(n) for n in range(start + count - 1, start - 1, -1)]


def make(api: FakeSisumaker, ledger: SqliteLedger, parsers: dict[ListKind, ItemParser],
         **config: object) -> ListPoller:
    return ListPoller(api, ledger, parsers, PollConfig(**config))  # type: ignore[arg-type]


def stored_ids(ledger: SqliteLedger) -> set[str]:
    return {item.source_id for item in ledger.iter_items(SURAT)}


def test_first_pass_stores_every_item_and_moves_the_watermark(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(35))
    summary = make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert summary.complete
    assert summary.pages == 4
    assert summary.result.new == 35
    assert stored_ids(ledger) == {str(1000 + n) for n in range(35)}
    cursor = ledger.cursor(SURAT, 2026)
    assert cursor.watermark is not None
    assert cursor.watermark.strftime("%Y-%m-%d %H:%M") == "2026-11-20 08:34"


def test_idle_pass_costs_one_request(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(35))
    poller = make(api, ledger, parsers, lookback=timedelta(minutes=5))
    poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    before = api.request_count
    summary = poller.run_pass(SURAT, Y26, PassMode.INCREMENTAL, "p2")
    assert api.request_count - before == 1
    assert summary.requests == 1
    assert summary.result.new == 0 and summary.result.changed == 0


def test_idle_pass_costs_one_request_when_the_head_is_a_burst(ledger, parsers) -> None:
    # 60 letters in the same two minutes: every page is inside the lookback window.
    api = FakeSisumaker(per_page=10)
    burst = [letter(n, when=BASE + timedelta(seconds=2 * n)) for n in range(59, -1, -1)]
    api.items(SURAT).extend(burst)
    poller = make(api, ledger, parsers, lookback=timedelta(minutes=10))
    poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    api.fetched.clear()
    summary = poller.run_pass(SURAT, Y26, PassMode.INCREMENTAL, "p2")
    assert [page for _, _, page in api.fetched] == [1]
    assert summary.complete and summary.result.new == 0
    # Three new letters on top: page 1 holds them, page 2 nothing new, and the pass stops.
    api.items(SURAT)[:0] = [letter(n, when=BASE + timedelta(seconds=200 + n)) for n in (62, 61, 60)]
    api.fetched.clear()
    summary = poller.run_pass(SURAT, Y26, PassMode.INCREMENTAL, "p3")
    assert [page for _, _, page in api.fetched] == [1, 2]
    assert summary.result.new == 3
    assert len(stored_ids(ledger)) == 63


def test_incremental_pass_reads_down_to_watermark_minus_lookback(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(35))
    poller = make(api, ledger, parsers, lookback=timedelta(minutes=15))
    poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    api.items(SURAT)[:0] = newest_first(12, start=35)  # 12 new letters on top
    api.fetched.clear()
    summary = poller.run_pass(SURAT, Y26, PassMode.INCREMENTAL, "p2")
    # 12 new + 15 minutes of lookback (items 20..34) reach into page 3, not page 4.
    assert [page for _, _, page in api.fetched] == [1, 2, 3]
    assert summary.result.new == 12
    assert len(stored_ids(ledger)) == 47


def test_items_inserted_during_a_pass_lose_nothing(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(40))
    arrivals = iter(range(100, 130))

    def insert(kind: ListKind, year: int, page: int) -> None:
        for _ in range(3):  # three new letters after every page: everything shifts down
            n = next(arrivals)
            api.items(kind, year).insert(0, letter(n))

    api.on_fetch = insert
    summary = make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert summary.complete
    assert {str(1000 + n) for n in range(40)} <= stored_ids(ledger)


@pytest.mark.parametrize("prefetch", [False, True], ids=["sequential", "read-ahead"])
def test_item_removed_during_a_pass_loses_nothing_else(ledger, parsers, prefetch: bool) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(30))
    removed: list[object] = []

    def remove_once(kind: ListKind, year: int, page: int) -> None:
        if page == 1 and not removed:
            removed.append(api.items(kind, year).pop(2))  # the list moves up by one

    api.on_fetch = remove_once
    with capture_logs() as logs:
        summary = make(api, ledger, parsers, prefetch=prefetch).run_pass(
            SURAT, Y26, PassMode.FULL, "p1")
    assert summary.complete
    gone = removed[0]["id_persuratan"]  # type: ignore[index]
    expected = {str(1000 + n) for n in range(30)} - {gone}
    assert expected <= stored_ids(ledger)
    assert any(entry["event"] == "page.shifted" for entry in logs)


def test_letter_changed_in_place_is_noticed_by_its_hash(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(5))
    poller = make(api, ledger, parsers)
    poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    api.items(SURAT)[3] = {**api.items(SURAT)[3], "tgl_diterimaTU": "2026-11-20 10:00:00",
                           "status_dibaca": "1"}
    summary = poller.run_pass(SURAT, Y26, PassMode.INCREMENTAL, "p2")
    assert summary.result.changed == 1
    item = ledger.get_item(SURAT, 2026, "1001")
    assert item is not None
    assert item.version == 2
    assert '"tgl_diterimaTU":"2026-11-20 10:00:00"' in item.payload


def test_rerunning_a_pass_changes_nothing(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(25))
    poller = make(api, ledger, parsers)
    poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    before = {(i.source_id, i.content_hash, i.version, i.payload) for i in ledger.iter_items(SURAT)}
    again = poller.run_pass(SURAT, Y26, PassMode.FULL, "p2")
    after = {(i.source_id, i.content_hash, i.version, i.payload) for i in ledger.iter_items(SURAT)}
    assert again.result.new == 0 and again.result.changed == 0 and again.result.unchanged == 25
    assert before == after


def test_page_loop_stops_the_pass_with_a_clear_error(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10, ignore_page=True)
    api.items(SURAT).extend(newest_first(30))
    with pytest.raises(PaginationError, match="page loop"):
        make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert ledger.cursor(SURAT, 2026).watermark is None


def test_repeated_page_content_is_a_page_loop(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(30))
    original = api.fetch_page

    def stuck(kind, year, page):  # echoes the page number but serves page 1 again
        raw = original(kind, year, 1)
        return type(raw)(page=page, total_pages=raw.total_pages,
                         total_items=raw.total_items, items=raw.items)

    api.fetch_page = stuck  # type: ignore[method-assign]
    with pytest.raises(PaginationError, match="repeats page 1"):
        make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")


def test_absurd_page_count_stops_the_pass(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10, total_pages_override=1e9)
    api.items(SURAT).extend(newest_first(30))
    with pytest.raises(PaginationError, match="over the limit"):
        make(api, ledger, parsers, max_pages=500).run_pass(SURAT, Y26, PassMode.FULL, "p1")


def test_failure_mid_pass_keeps_stored_pages_and_the_old_watermark(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(30))
    original = api.fetch_page

    def failing(kind, year, page):
        if page == 3:
            raise RetriableApiError("GET page 3: HTTP 503")
        return original(kind, year, page)

    api.fetch_page = failing  # type: ignore[method-assign]
    with pytest.raises(RetriableApiError):
        make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert len(stored_ids(ledger)) == 20
    assert ledger.cursor(SURAT, 2026).watermark is None
    last = ledger.last_passes(1)[0]
    assert not last.complete and "503" in (last.error or "")


def test_stop_request_ends_the_pass_after_the_current_page(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(50))
    stop = StopSignal()
    api.on_fetch = lambda kind, year, page: stop.set() if page == 2 else None
    poller = ListPoller(api, ledger, parsers, PollConfig(prefetch=False), stop=stop)
    summary = poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert not summary.complete
    assert summary.pages == 2
    assert len(stored_ids(ledger)) == 20
    assert ledger.cursor(SURAT, 2026).watermark is None


def test_bad_items_are_quarantined_and_the_page_goes_on(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    items = newest_first(6)
    items[1] = {**items[1], "tgl_dibuat": "0000-00-00 00:00:00"}
    items[2] = {**items[2], "id_persuratan": None}
    items[3] = {**items[3], "tgl_dibuat": "kemarin"}
    items[4] = "not an object"
    api.items(SURAT).extend(items)
    with capture_logs() as logs:
        summary = make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert summary.result.new == 2 and summary.result.quarantined == 4
    reasons = sorted(entry.record.reason for entry in ledger.quarantined())
    assert any("0000-00-00" in r for r in reasons)
    assert any("id_persuratan is null" in r for r in reasons)
    assert any("'kemarin'" in r for r in reasons)
    assert any("not a JSON object" in r for r in reasons)
    assert sum(1 for e in logs if e["event"] == "item.quarantined") == 4


def test_prefetch_never_fetches_past_the_stop_point(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(30))
    make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert [page for _, _, page in api.fetched] == [1, 2, 3]


def test_a_full_pass_never_has_two_requests_in_flight(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(95))
    in_flight: list[int] = []
    lock = threading.Lock()
    fetch = api.fetch_page

    def counted(kind: ListKind, year: YearDir, page: int) -> RawPage:
        with lock:
            in_flight.append(1)
            overlap = len(in_flight)
        time.sleep(0.002)
        with lock:
            in_flight.pop()
        assert overlap == 1, f"page {page} was asked while another request was in flight"
        return fetch(kind, year, page)

    api.fetch_page = counted  # type: ignore[method-assign]
    summary = make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert summary.complete and summary.result.new == 95
    assert [page for _, _, page in api.fetched] == list(range(1, 11))


def test_full_pass_flags_items_removed_on_the_server(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10)
    api.items(SURAT).extend(newest_first(12))
    poller = make(api, ledger, parsers)
    poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    del api.items(SURAT)[5]
    summary = poller.run_pass(SURAT, Y26, PassMode.FULL, "p2")
    assert summary.missing == 1
    gone = ledger.get_item(SURAT, 2026, "1006")
    assert gone is not None and gone.missing_since is not None


# -- cursor paging: the same loop, page n+1 asked for with the cursor page n gave ------------


def test_a_full_pass_over_a_cursor_list_reads_every_item_once(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10, cursor_paged=True)
    api.items(SURAT).extend(newest_first(35))
    summary = make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert summary.complete and summary.pages == 4 and summary.result.new == 35
    assert api.cursors == [None, "1025", "1015", "1005"]
    assert stored_ids(ledger) == {str(1000 + n) for n in range(35)}


def test_an_idle_pass_over_a_cursor_list_costs_one_request(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10, cursor_paged=True)
    api.items(SURAT).extend(newest_first(35))
    poller = make(api, ledger, parsers)
    poller.run_pass(SURAT, Y26, PassMode.FULL, "p1")
    idle = poller.run_pass(SURAT, Y26, PassMode.INCREMENTAL, "p2")
    assert (idle.requests, idle.result.new) == (1, 0)
    api.items(SURAT).insert(0, letter(40))
    summary = poller.run_pass(SURAT, Y26, PassMode.INCREMENTAL, "p3")
    # Page 1 held the new letter, page 2 nothing new: the pass stops there.
    assert (summary.requests, summary.result.new) == (2, 1)
    assert api.cursors[-2:] == [None, "1026"]


@pytest.mark.parametrize("prefetch", [False, True])
def test_a_removal_above_a_cursor_is_not_read_again_and_nothing_slides_past(
        ledger, parsers, prefetch: bool) -> None:
    api = FakeSisumaker(per_page=10, cursor_paged=True)
    api.items(SURAT).extend(newest_first(30))

    def remove_the_newest(kind: ListKind, year: int, page: int) -> None:
        if page == 1:
            del api.items(SURAT)[0]

    api.on_fetch = remove_the_newest
    with capture_logs() as logs:
        summary = make(api, ledger, parsers, prefetch=prefetch).run_pass(
            SURAT, Y26, PassMode.FULL, "p1")
    assert summary.complete and summary.result.new == 30
    # No page is read again by its cursor; a read-ahead stopped by the shrink may have asked
    # for a page the poller had not taken yet, and asks for it again with the same cursor.
    assert [page for _, _, page in api.fetched][:3] == [1, 2, 3]
    assert all(cursor is not None for cursor in api.cursors[1:])
    shifted = [line for line in logs if line["event"] == "page.shifted"]
    assert shifted and shifted[0]["reread"] is None


def test_a_cursor_that_never_moves_is_a_page_loop(ledger, parsers) -> None:
    api = FakeSisumaker(per_page=10, cursor_paged=True, stuck_cursor="1025")
    api.items(SURAT).extend(newest_first(40))
    with pytest.raises(PaginationError, match="a page loop"):
        make(api, ledger, parsers).run_pass(SURAT, Y26, PassMode.FULL, "p1")
    assert len(api.fetched) <= 4
