"""One pass over one paged list of one year directory.

The list is newest first, paged by number, offset, cursor or next link (the client reads the
profile; here a page is page n, asked for with the cursor page n-1 gave), with no "changed
since" filter. An incremental
pass reads from page 1 until a page's oldest item is older than the last complete pass's
watermark minus the lookback window, or a page holds nothing new or changed; a full pass reads
every page. Each page is stored in one transaction; the next one is fetched meanwhile when it
is sure to be needed (at most one request in flight).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from bridge.domain.items import ListKind, YearDir
from bridge.domain.records import (
    ItemRecord,
    PageBatch,
    PassMode,
    PassSummary,
    QuarantineRecord,
    StoreResult,
)
from bridge.errors import PaginationError
from bridge.ports import PageStore, RawPage, SisumakerApi
from bridge.services.parse import ItemParser
from bridge.services.readahead import ReadAhead
from bridge.services.stop import StopSignal

log = structlog.get_logger("bridge.poll")


@dataclass(frozen=True, slots=True)
class PollConfig:
    """Limits of a pass."""

    lookback: timedelta = timedelta(minutes=10)
    max_pages: int = 10_000
    prefetch: bool = True


@dataclass(frozen=True, slots=True)
class _Page:
    number: int
    raw: RawPage
    batch: PageBatch
    ids: tuple[str, ...]
    oldest: datetime | None
    newest: datetime | None


class _Source(Protocol):
    """Hands over a list's pages in order (plain, or read ahead on a thread)."""

    def next(self, idle: Callable[[], bool] | None = None) -> RawPage:
        """The next page; ``idle()`` runs while it is on its way, until it returns False."""
        ...

    def close(self) -> None:
        """Stop after the request in flight, if any."""
        ...


class _Pages:
    """Fetches page n of one list: by its number, or by the cursor page n-1 gave.

    Used by one thread at a time (the reader thread, or the poller once it is closed).
    """

    def __init__(self, api: SisumakerApi, kind: ListKind, year: YearDir) -> None:
        self._api = api
        self.kind = kind
        self.year = year
        self._cursors: dict[int, str] = {}
        self.by_cursor = False  # a page gave a next cursor: the list is cursor-paged

    def fetch(self, number: int) -> RawPage:
        """Page ``number``; the cursor it gives is kept for page ``number + 1``."""
        cursor = self._cursors.get(number)
        raw = (self._api.fetch_page(self.kind, self.year, number) if cursor is None
               else self._api.fetch_page(self.kind, self.year, number, cursor))
        if raw.next_cursor is not None:
            if raw.next_cursor == cursor:
                raise PaginationError(f"page {number} gives as next cursor the one it was "
                                      "asked with; the pass stops (a page loop)")
            self.by_cursor = True
            self._cursors[number + 1] = raw.next_cursor
            # Only the last few are asked for again: a read-ahead source stopped by a shrink
            # (at most 3 pages ahead) starts again from the page after the poller's.
            self._cursors.pop(number - 8, None)
        return raw


class _OnDemand:
    """Page n+1 is asked for when the poller wants it; while it is on the way, idle work runs."""

    def __init__(self, fetch: Callable[[int], RawPage], first: int, *, prefetch: bool) -> None:
        self._fetch = fetch
        self._next = first
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") \
            if prefetch else None

    def next(self, idle: Callable[[], bool] | None = None) -> RawPage:
        """Fetch the next page (on the pool thread, so idle work can run meanwhile)."""
        number = self._next
        self._next += 1
        if self._pool is None or idle is None:
            return self._fetch(number)
        arrived = threading.Event()

        def fetch() -> RawPage:
            try:
                return self._fetch(number)
            finally:
                arrived.set()

        future = self._pool.submit(fetch)
        # Waiting on a slow server: spend the time on other work (deriving cases). Only until
        # the answer arrives: then its parsing needs the interpreter.
        while not arrived.is_set() and idle():
            pass
        return future.result()

    def close(self) -> None:
        """Nothing is in flight between two calls of next(); release the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class PassStopped(Exception):  # noqa: N818 - a signal, not a failure
    """The pass was asked to stop (SIGTERM, Ctrl-C) between two pages."""


class ListPoller:
    """Runs passes over the lists; stateless between passes (the ledger holds the state)."""

    def __init__(
        self,
        api: SisumakerApi,
        ledger: PageStore,
        parsers: Mapping[ListKind, ItemParser],
        config: PollConfig,
        *,
        stop: StopSignal | None = None,
        idle: Callable[[], bool] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Wire the ports; ``stop`` ends a pass cleanly after the page being stored.

        ``idle()`` is work done while a page is on its way (the case tracker derives a few
        cases), called until it returns False or the page is in.
        """
        self._api = api
        self._ledger = ledger
        self._parsers = parsers
        self._config = config
        self._stop = stop or StopSignal()
        self._idle = idle
        self._now = now

    def run_pass(self, kind: ListKind, year: YearDir, mode: PassMode, pass_id: str, *,
                 floor: datetime | None = None,
                 progress: Callable[[int, int | None, int], None] | None = None) -> PassSummary:
        """Read the list until the watermark (or to the end) and store every page.

        A RESYNC pass reads down to ``floor`` (every page when None) and leaves the list's
        cursor and watermark alone. ``progress(page, total_pages, items)`` runs after each page.
        """
        started = self._now()
        clock = time.perf_counter()
        requests_before = self._api.request_count
        cursor = self._ledger.cursor(kind, year.year)
        threshold = floor if mode is PassMode.RESYNC else None
        if mode is PassMode.INCREMENTAL and cursor.watermark is not None:
            threshold = cursor.watermark - self._config.lookback
        bound = log.bind(list=kind.value, year_dir=year.path, pass_id=pass_id, mode=mode.value)
        state = _PassState(watermark=cursor.watermark, live=mode is not PassMode.RESYNC,
                           progress=progress, stop_when_known=threshold is not None
                           and mode is PassMode.INCREMENTAL)
        complete = False
        error: str | None = None
        try:
            self._walk(kind, year, pass_id, threshold, state, bound)
            complete = True
        except PassStopped:
            error = "stopped on request before the last page"
        except Exception as exc:
            error = str(exc)
            self._record(kind, year, pass_id, mode, started, requests_before, state, False,
                         error)
            raise
        missing = 0
        if complete and mode is PassMode.FULL:  # a resync never flags items as removed
            missing = self._ledger.mark_missing(kind, year.year, pass_id=pass_id, at=self._now())
        summary = self._record(kind, year, pass_id, mode, started, requests_before, state,
                               complete, error, missing=missing)
        bound.info(
            "pass.completed" if complete else "pass.stopped",
            pages=summary.pages, requests=summary.requests, new=summary.result.new,
            changed=summary.result.changed, unchanged=summary.result.unchanged,
            quarantined=summary.result.quarantined, missing=missing,
            duration_s=round(time.perf_counter() - clock, 3),
            watermark=summary.watermark.isoformat() if summary.watermark else None,
        )
        return summary

    def _record(self, kind: ListKind, year: YearDir, pass_id: str, mode: PassMode,
                started: datetime, requests_before: int, state: _PassState, complete: bool,
                error: str | None, *, missing: int = 0) -> PassSummary:
        summary = PassSummary(
            pass_id=pass_id, kind=kind, year=year.year, mode=mode, started_at=started,
            finished_at=self._now(), pages=state.pages,
            requests=self._api.request_count - requests_before, result=state.result,
            watermark=state.watermark if complete else None, complete=complete,
            missing=missing, error=error,
        )
        self._ledger.complete_pass(summary)
        return summary

    def _walk(self, kind: ListKind, year: YearDir, pass_id: str, threshold: datetime | None,
              state: _PassState, bound: structlog.BoundLogger) -> None:
        """The one page loop: pages from a source, checked, stored, until the pass may stop.

        A pass reading every page takes them from a read-ahead source (a thread asks for page
        n+1 the moment page n is in); a pass down to a threshold from a plain one (page n+1 is
        asked for only once page n says it is needed), since what each page held decides
        whether to read on. An incremental pass also stops at the first page holding nothing
        new or changed: the head of the list is then read, however many items share the last
        minutes (a burst of letters at the opening of the office would otherwise cost many
        pages per idle pass).
        """
        pages = _Pages(self._api, kind, year)
        read_ahead = threshold is None and self._config.prefetch
        # Cases are derived while dispositions are read, not letters: a letter read now gets
        # its dispositions in the pass after, and deriving it before would derive it twice
        # (a first sync of 50,000 letters and 100,000 dispositions at 20 ms a request:
        # 79,565 derivations and 41.5 s, this way 50,111 and 39.1 s).
        idle = self._idle if kind is ListKind.DISPOSISI else None
        source: _Source | None = None
        number = 1
        previous: _Page | None = None
        try:
            while True:
                if source is None:
                    source = self._source(pages, read_ahead, number)
                page = self._parse(kind, year, number, source.next(idle), live=state.live)
                self._check(page, previous, state)
                if previous is not None and _shrank(previous.raw, page.raw):
                    # A read-ahead source may be ahead: stop it, read the previous page again
                    # with no other request in flight, then read on from the next page.
                    source.close()
                    source = None
                    self._reread(pages, number, previous, page, pass_id, state, bound)
                result = self._store(page, pass_id, state, bound)
                if not _has_more(page, threshold) or (state.stop_when_known
                                                      and not (result.new or result.changed)):
                    return
                if self._stop.is_set():
                    raise PassStopped
                previous = page
                number += 1
        finally:
            if source is not None:
                source.close()

    def _source(self, pages: _Pages, read_ahead: bool, first: int) -> _Source:
        if read_ahead:
            return ReadAhead(pages.fetch, _more_pages, first=first)
        return _OnDemand(pages.fetch, first, prefetch=self._config.prefetch)

    def _reread(self, pages: _Pages, number: int, previous: _Page, page: _Page, pass_id: str,
                state: _PassState, bound: structlog.BoundLogger) -> None:
        """Read the previous page again: items were removed above it.

        The list moved up, so the head of this page slid onto the previous one. A cursor or
        next link marks a position in the list, not a count of items: a removal above it
        slides nothing past it, so a cursor-paged list is not read again (and an expired
        cursor could not be).
        """
        if pages.by_cursor:
            bound.info("page.shifted", page=number, reread=None,
                       total_before=previous.raw.total_items, total_now=page.raw.total_items,
                       next="cursor paging: the cursor keeps the position; nothing re-read")
            return
        bound.info("page.shifted", page=number, reread=number - 1,
                   total_before=previous.raw.total_items, total_now=page.raw.total_items)
        again = self._parse(pages.kind, pages.year, number - 1, pages.fetch(number - 1),
                            live=state.live)
        self._store(again, pass_id, state, bound)

    def _parse(self, kind: ListKind, year: YearDir, number: int, raw: RawPage, *,
               live: bool = True) -> _Page:
        parser = self._parsers[kind]
        items: list[ItemRecord] = []
        bad: list[QuarantineRecord] = []
        for entry in raw.items:
            result = parser.parse(year.year, entry)
            if isinstance(result, QuarantineRecord):
                bad.append(result)
            else:
                items.append(result.record)
        times = [record.item_time for record in items]
        return _Page(
            number=number,
            raw=raw,
            batch=PageBatch(kind, year.year, number, tuple(items), tuple(bad), live=live),
            ids=tuple(record.source_id for record in items),
            oldest=min(times) if times else None,
            newest=max(times) if times else None,
        )

    def _check(self, page: _Page, previous: _Page | None, state: _PassState) -> None:
        limit = self._config.max_pages
        total = page.raw.total_pages
        if total is not None and total > limit:
            raise PaginationError(
                f"page {page.number}: the server reports {total} pages, over the limit of "
                f"{limit} (BRIDGE_MAX_PAGES); the pass stops"
            )
        if page.number > limit:
            raise PaginationError(f"read {limit} pages without reaching the end; the pass stops")
        if page.raw.page and page.raw.page != page.number:
            raise PaginationError(
                f"asked for page {page.number}, the server answered page {page.raw.page}; "
                "the pass stops (a page loop)"
            )
        if previous is not None and page.ids and page.ids == previous.ids:
            raise PaginationError(
                f"page {page.number} repeats page {previous.number} item for item; "
                "the pass stops (a page loop)"
            )
        state.pages += 1

    def _store(self, page: _Page, pass_id: str, state: _PassState,
               bound: structlog.BoundLogger) -> StoreResult:
        started = time.perf_counter()
        result = self._ledger.store_page(page.batch, pass_id=pass_id, seen_at=self._now())
        state.result = state.result + result
        state.items += len(page.raw.items)
        if state.progress is not None:
            state.progress(page.number, page.raw.total_pages, state.items)
        if page.newest is not None and (state.watermark is None or page.newest > state.watermark):
            state.watermark = page.newest
        for bad in page.batch.quarantined:
            bound.warning("item.quarantined", page=page.number, source_id=bad.source_id,
                          reason=bad.reason, next="kept in quarantine; the rest of the page goes on")
        event = bound.info if (result.new or result.changed or result.quarantined) else bound.debug
        event("page.stored", page=page.number, items=len(page.raw.items), new=result.new,
              changed=result.changed, unchanged=result.unchanged,
              quarantined=result.quarantined, duration_s=round(time.perf_counter() - started, 4))
        return result


@dataclass
class _PassState:
    watermark: datetime | None
    live: bool = True
    progress: Callable[[int, int | None, int], None] | None = None
    pages: int = 0
    items: int = 0
    result: StoreResult = field(default_factory=StoreResult)
    stop_when_known: bool = False  # an incremental pass: stop at a page with nothing new


def _has_more(page: _Page, threshold: datetime | None) -> bool:
    """More pages, and this one did not reach below the threshold."""
    if not _more_pages(page.raw, page.number):
        return False
    return not (threshold is not None and page.oldest is not None and page.oldest < threshold)


def _more_pages(raw: RawPage, number: int) -> bool:
    """The list goes on after page ``number`` (whatever its items' dates)."""
    if raw.more is not None:  # the profile's end signal, read by the client
        return raw.more
    return bool(raw.items) and (raw.total_pages is None or number < raw.total_pages)


def _shrank(previous: RawPage, current: RawPage) -> bool:
    return (
        previous.total_items is not None
        and current.total_items is not None
        and current.total_items < previous.total_items
    )
