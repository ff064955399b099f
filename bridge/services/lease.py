"""Leases in the ledger: one process at a time does the work a lease guards."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog

from bridge.errors import BridgeError
from bridge.ports import Leases
from bridge.services.stop import StopSignal

log = structlog.get_logger("bridge.lease")

HOST = socket.gethostname()


class LeaseBusyError(BridgeError):
    """Another process holds the lease and did not let go in time."""


def holder_id() -> str:
    """``host:pid:token``: unique per process; the pid lets a crashed holder be recognised."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_on_this_host(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    """A named lease with a time to live, renewed while held."""

    def __init__(self, ledger: Leases, name: str, ttl: timedelta, *, holder: str | None = None,
                 stop: StopSignal | None = None) -> None:
        """Nothing is taken until ``acquire``."""
        self._ledger = ledger
        self.name = name
        self._ttl = ttl
        self.holder = holder or holder_id()
        self._stop = stop or StopSignal()

    def try_acquire(self) -> bool:
        """Take (or renew) the lease if it is free, expired, ours, or its holder died here."""
        current = self._ledger.lease_holder(self.name)
        take_over: frozenset[str] = frozenset()
        if current is not None and current[0] != self.holder and _dead_on_this_host(current[0]):
            take_over = frozenset({current[0]})
            log.info("lease.taken_over", lease=self.name, previous=current[0],
                     reason="its process is gone")
        return self._ledger.acquire_lease(self.name, self.holder, self._ttl, take_over=take_over)

    def acquire(self, wait: float) -> bool:
        """Try for up to ``wait`` seconds (polling), unless a stop is asked for."""
        deadline = time.monotonic() + wait
        while True:
            if self.try_acquire():
                return True
            if time.monotonic() >= deadline or self._stop.wait(0.25):
                return False

    def release(self) -> None:
        """Let go."""
        self._ledger.release_lease(self.name, self.holder)

    @contextmanager
    def held(self, wait: float) -> Iterator[None]:
        """Hold the lease for a block, or raise LeaseBusyError naming who holds it."""
        if not self.acquire(wait):
            current = self._ledger.lease_holder(self.name)
            who = current[0] if current else "another process"
            raise LeaseBusyError(f"the {self.name!r} lease is held by {who}; try again later")
        try:
            yield
        finally:
            self.release()
