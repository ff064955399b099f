"""One pass over one paged list of one year directory.

The list is newest first, paged by offset, with no "changed since" filter. An incremental
pass reads from page 1 until a page's oldest item is older than the last complete pass's
watermark minus the lookback window, or a page holds nothing new or changed; a full pass reads
every page. Each page is stored in one transaction; the next one is fetched meanwhile when it
is sure to be needed (at most one request in flight).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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
from bridge.ports import Ledger, RawPage, SisumakerApi
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


@dataclass(frozen=True, slots=True)
class _Prefetch:
    future: Future[_Page]
    arrived: threading.Event  # set once the answer (or an error) is in


class PassStopped(Exception):  # noqa: N818 - a signal, not a failure
    """The pass was asked to stop (SIGTERM, Ctrl-C) between two pages."""


class ListPoller:
    """Runs passes over the lists; stateless between passes (the ledger holds the state)."""

    def __init__(
        self,
        api: SisumakerApi,
        ledger: Ledger,
        parsers: Mapping[ListKind, ItemParser],
        config: PollConfig,
        *,
        stop: StopSignal | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Wire the ports; ``stop`` ends a pass cleanly after the page being stored."""
        self._api = api
        self._ledger = ledger
        self._parsers = parsers
        self._config = config
        self._stop = stop or StopSignal()
        self._now = now
        self.idle: Callable[[], bool] | None = None  # work to do while a page is in flight

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
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
            try:
                self._walk(kind, year, pass_id, threshold, state, pool, bound)
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
              state: _PassState, pool: ThreadPoolExecutor, bound: structlog.BoundLogger) -> None:
        if threshold is None and self._config.prefetch:
            self._walk_to_end(kind, year, pass_id, state, bound)
        else:
            self._walk_to_threshold(kind, year, pass_id, threshold, state, pool, bound)

    def _walk_to_end(self, kind: ListKind, year: YearDir, pass_id: str, state: _PassState,
                     bound: structlog.BoundLogger) -> None:
        """Every page: a reader thread fetches the next one while this one is stored."""
        def fetch(number: int) -> RawPage:
            return self._api.fetch_page(kind, year, number)

        reader = ReadAhead(fetch, _more_pages)
        try:
            number = 1
            previous: _Page | None = None
            while True:
                page = self._parse(kind, year, number, reader.next(self.idle), live=state.live)
                self._check(page, previous, state)
                more = _more_pages(page.raw, number)
                if previous is not None and _shrank(previous.raw, page.raw):
                    # The reader may be ahead: stop it, read the previous page again with no
                    # other request in flight, then read on from the next page.
                    reader.close()
                    self._reread(kind, year, number, previous, page, pass_id, state, bound)
                    if more:
                        reader = ReadAhead(fetch, _more_pages, first=number + 1)
                self._store(page, pass_id, state, bound)
                if not more:
                    return
                if self._stop.is_set():
                    raise PassStopped
                previous = page
                number += 1
        finally:
            reader.close()

    def _walk_to_threshold(self, kind: ListKind, year: YearDir, pass_id: str,
                           threshold: datetime | None, state: _PassState,
                           pool: ThreadPoolExecutor, bound: structlog.BoundLogger) -> None:
        """Down to the threshold: whether to read on depends on what each page held.

        An incremental pass also stops at the first page holding nothing new or changed: the
        head of the list is then read, however many items share the last minutes (a burst of
        letters at the opening of the office would otherwise cost many pages per idle pass).
        """
        number = 1
        pending: _Prefetch | None = None
        previous: _Page | None = None
        while True:
            page = (pending.future.result() if pending is not None
                    else self._fetch(kind, year, number, state.live))
            pending = None
            self._check(page, previous, state)
            if previous is not None and _shrank(previous.raw, page.raw):
                self._reread(kind, year, number, previous, page, pass_id, state, bound)
            result = self._store(page, pass_id, state, bound)
            if not _has_more(page, threshold) or (state.stop_when_known
                                                  and not (result.new or result.changed)):
                return
            if self._stop.is_set():
                raise PassStopped
            pending = self._prefetch(pool, kind, year, number + 1, state.live)
            if pending is not None and self.idle is not None:
                # Waiting on a slow server: spend the time on other work (deriving cases).
                # Only until the answer arrives: then its parsing needs the interpreter.
                while not pending.arrived.is_set() and self.idle():
                    pass
            previous = page
            number += 1

    def _reread(self, kind: ListKind, year: YearDir, number: int, previous: _Page, page: _Page,
                pass_id: str, state: _PassState, bound: structlog.BoundLogger) -> None:
        """Read the previous page again: items were removed above it.

        The list moved up, so the head of this page slid onto the previous one.
        """
        bound.info("page.shifted", page=number, reread=number - 1,
                   total_before=previous.raw.total_items, total_now=page.raw.total_items)
        self._store(self._fetch(kind, year, number - 1, state.live), pass_id, state, bound)

    def _prefetch(self, pool: ThreadPoolExecutor, kind: ListKind, year: YearDir,
                  number: int, live: bool) -> _Prefetch | None:
        if not self._config.prefetch or self._stop.is_set():
            return None
        arrived = threading.Event()
        return _Prefetch(pool.submit(self._fetch, kind, year, number, live, arrived), arrived)

    def _fetch(self, kind: ListKind, year: YearDir, number: int, live: bool,
               arrived: threading.Event | None = None) -> _Page:
        """One page, fetched and parsed (parsing touches no shared state: any thread may)."""
        try:
            raw = self._api.fetch_page(kind, year, number)
        finally:
            if arrived is not None:
                arrived.set()
        return self._parse(kind, year, number, raw, live=live)

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
    return bool(raw.items) and (raw.total_pages is None or number < raw.total_pages)


def _shrank(previous: RawPage, current: RawPage) -> bool:
    return (
        previous.total_items is not None
        and current.total_items is not None
        and current.total_items < previous.total_items
    )
