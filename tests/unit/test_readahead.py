"""The page reader of full passes: in order, one request in flight, bounded, stoppable."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.errors import RetriableApiError
from bridge.ports import RawPage
from bridge.services.readahead import ReadAhead


class Pages:
    """A list of ``total`` pages whose fetch records concurrency and can be slowed down."""

    def __init__(self, total: int, *, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.total = total
        self.delay = delay
        self.fail_at = fail_at
        self.fetched: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def fetch(self, number: int) -> RawPage:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.fetched.append(number)
        try:
            time.sleep(self.delay)
            if number == self.fail_at:
                raise RetriableApiError(f"page {number}: HTTP 503")
            return RawPage(page=number, total_pages=self.total, total_items=self.total,
                           items=[{"n": number}])
        finally:
            with self._lock:
                self.in_flight -= 1

    @staticmethod
    def more(page: RawPage, number: int) -> bool:
        return page.total_pages is None or number < page.total_pages


def test_pages_come_in_order_and_nothing_is_fetched_past_the_end() -> None:
    pages = Pages(5)
    reader = ReadAhead(pages.fetch, pages.more)
    try:
        got = [reader.next().page for _ in range(5)]
    finally:
        reader.close()
    assert got == [1, 2, 3, 4, 5]
    assert pages.fetched == [1, 2, 3, 4, 5]
    assert pages.most_in_flight == 1


def test_a_slow_consumer_keeps_the_reader_within_its_buffer() -> None:
    pages = Pages(50)
    reader = ReadAhead(pages.fetch, pages.more, buffer=2)
    try:
        assert reader.next().page == 1
        time.sleep(0.3)  # the reader fills its buffer and waits
        # Taken: 1; buffered: 2 and 3; in the reader's hand, waiting for room: 4.
        assert len(pages.fetched) <= 4
    finally:
        reader.close()
    assert len(pages.fetched) <= 4
    assert pages.most_in_flight == 1


def test_a_failed_fetch_is_raised_to_the_consumer_and_the_reader_stops() -> None:
    pages = Pages(10, fail_at=3)
    reader = ReadAhead(pages.fetch, pages.more)
    try:
        assert [reader.next().page for _ in range(2)] == [1, 2]
        with pytest.raises(RetriableApiError, match="page 3"):
            reader.next()
    finally:
        reader.close()
    assert pages.fetched == [1, 2, 3]


def test_close_while_a_request_is_in_flight_waits_for_it_and_fetches_no_more() -> None:
    pages = Pages(100, delay=0.05)
    reader = ReadAhead(pages.fetch, pages.more, first=7)
    assert reader.next().page == 7
    reader.close()
    count = len(pages.fetched)
    time.sleep(0.15)
    assert len(pages.fetched) == count <= 3
    assert pages.fetched[0] == 7


def test_idle_work_runs_while_waiting_on_a_slow_server_and_not_after_the_answer() -> None:
    pages = Pages(4, delay=0.06)
    reader = ReadAhead(pages.fetch, pages.more)
    calls: list[tuple[int, float]] = []
    arrived_at: dict[int, float] = {}

    def idle() -> bool:
        calls.append((len(arrived_at) + 1, time.perf_counter()))
        time.sleep(0.002)
        return True

    try:
        for expected in range(1, 5):
            page = reader.next(idle)
            arrived_at[expected] = time.perf_counter()
            assert page.page == expected
    finally:
        reader.close()
    # No idle work on the first request (its usual time is not known yet), some later on,
    # and only in the first half of a request's usual time.
    assert not [c for c in calls if c[0] == 1]
    assert [c for c in calls if c[0] >= 2]
    assert len(calls) < 4 * 0.03 / 0.002
