"""A stop request that a signal handler can raise safely."""

from __future__ import annotations

import time


class StopSignal:
    """Like ``threading.Event`` for one purpose: asking the work to stop between pages.

    ``set`` only assigns a flag, so it is safe inside a signal handler: a handler that takes
    a lock (``Event.set``, a logger's write lock) deadlocks when the signal lands while the
    main thread holds that same lock.
    """

    _POLL_S = 0.1

    def __init__(self) -> None:
        """Not set."""
        self._flag = False

    def set(self) -> None:
        """Ask the work to stop."""
        self._flag = True

    def is_set(self) -> bool:
        """True once a stop was asked for."""
        return self._flag

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early when a stop is asked for."""
        deadline = time.monotonic() + timeout
        while not self._flag:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(self._POLL_S, remaining))
        return self._flag
