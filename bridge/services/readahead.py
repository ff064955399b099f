"""Reading a list to its end on a thread: one request in flight, a few pages buffered.

A pass that reads every page needs page n+1 whatever page n holds, so a reader thread asks
for it the moment page n's answer is in, while the poller parses and stores page n. The
server sees one request at a time, as from a plain loop, and the time it takes to answer
is spent on the poller's work instead of waiting.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge.ports import RawPage

_POLL_S = 0.05  # how often a blocked reader or poller looks whether it should give up
# About what sending a request costs the reader in CPU here (measured: a shorter grace left
# requests 1-2 ms slower, fighting the parsing thread for the GIL); never more than 5% of
# the usual answer time, so that it costs nothing against a fast server.
_SEND_GRACE_S = 0.001


@dataclass(frozen=True, slots=True)
class _Failure:
    error: BaseException


class ReadAhead:
    """Fetches pages ``first``, ``first + 1``, ... in order until ``more`` says the list ends.

    ``next()`` hands them over in order; a fetch that fails is raised there, in the
    poller's thread, and the reader stops. ``close()`` stops the reader after the request in
    flight (a stop request, or an error of the poller) and waits for it.
    """

    def __init__(self, fetch: Callable[[int], RawPage], more: Callable[[RawPage, int], bool],
                 *, first: int = 1, buffer: int = 2) -> None:
        """``buffer`` bounds the pages fetched but not yet taken (memory stays flat)."""
        self._fetch = fetch
        self._more = more
        self._next = first
        self._pages: queue.Queue[RawPage | _Failure] = queue.Queue(maxsize=buffer)
        self._closing = threading.Event()
        self._asked_at = 0.0  # when the request in flight was sent (0: none in flight)
        self._typical = 0.0  # how long an answer usually takes (a moving average)
        self._thread = threading.Thread(target=self._run, name="read-ahead", daemon=True)
        self._thread.start()

    def next(self, idle: Callable[[], bool] | None = None) -> RawPage:
        """The next page; while none is in, ``idle()`` runs until it returns False.

        Idle work stops when half the usual answer time has passed: when the answer arrives,
        reading it must not wait for the interpreter (the GIL) held by idle work.
        """
        if idle is not None:
            while self._pages.empty() and self._early() and idle():
                pass
        while True:
            try:
                item = self._pages.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._pages.empty():
                    raise RuntimeError("the page reader ended without a page") from None
                continue
            if isinstance(item, _Failure):
                raise item.error
            if self._pages.empty() and self._asked_at:
                # The reader has just sent (or is sending) the next request: let it put the
                # request on the wire before this thread takes the GIL to parse the page.
                time.sleep(min(_SEND_GRACE_S, self._typical / 20))
            return item

    def close(self) -> None:
        """Stop after the request in flight and wait for the reader to end."""
        self._closing.set()
        self._thread.join()

    def _early(self) -> bool:
        asked = self._asked_at
        return bool(asked) and time.perf_counter() - asked < self._typical / 2

    def _run(self) -> None:
        number = self._next
        while not self._closing.is_set():
            self._asked_at = time.perf_counter()
            try:
                page = self._fetch(number)
            except BaseException as exc:  # noqa: BLE001 - handed to the poller, which raises it
                self._asked_at = 0.0
                self._put(_Failure(exc))
                return
            took = time.perf_counter() - self._asked_at
            self._asked_at = 0.0
            self._typical = took if not self._typical else 0.8 * self._typical + 0.2 * took
            if not self._put(page) or not self._more(page, number):
                return
            number += 1

    def _put(self, item: RawPage | _Failure) -> bool:
        while not self._closing.is_set():
            try:
                self._pages.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False
