"""Leadership among replicas: one ``bridge run`` polls and pushes, the others stand by."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import structlog

from bridge.errors import BridgeError
from bridge.ports import Ledger
from bridge.services.lease import Lease, holder_id
from bridge.services.stop import StopSignal

log = structlog.get_logger("bridge.leader")

LEADER_LEASE = "leader"


class Leadership:
    """Holds the leader lease and renews it from a thread with its own ledger connection.

    A standby takes over when the lease expires (``ttl`` after the leader's last renewal), or
    at once when the leader's process is gone on this host.
    """

    def __init__(self, open_ledger: Callable[[], Ledger], ttl: timedelta, stop: StopSignal) -> None:
        """Nothing is taken until ``wait_for_leadership``."""
        self._open = open_ledger
        self._ttl = ttl
        self._stop = stop
        self.holder = holder_id()
        self._lost = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        """True while the lease is ours (the renewal thread keeps it)."""
        return self._thread is not None and not self._lost.is_set()

    def wait_for_leadership(self) -> bool:
        """Block until this process leads (True) or a stop is asked for (False)."""
        ledger = self._open()
        try:
            lease = Lease(ledger, LEADER_LEASE, self._ttl, holder=self.holder, stop=self._stop)
            announced = False
            while not self._stop.is_set():
                if lease.try_acquire():
                    log.info("leader.elected", holder=self.holder,
                             ttl_s=self._ttl.total_seconds())
                    self._start_renewal()
                    return True
                if not announced:
                    current = ledger.lease_holder(LEADER_LEASE)
                    log.info("leader.standby", holder=self.holder,
                             leader=current[0] if current else None,
                             next="taking over when the leader's lease expires")
                    announced = True
                self._stop.wait(min(2.0, self._ttl.total_seconds() / 3))
            return False
        finally:
            ledger.close()

    def _start_renewal(self) -> None:
        self._lost.clear()
        self._thread = threading.Thread(target=self._renew, name="leader-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        ledger = self._open()
        lease = Lease(ledger, LEADER_LEASE, self._ttl, holder=self.holder)
        try:
            while not self._stop.wait(self._ttl.total_seconds() / 3):
                try:
                    renewed = lease.try_acquire()
                except BridgeError as exc:
                    log.warning("leader.renewal_failed", reason=str(exc),
                                next="trying again; leadership is lost if the lease expires")
                    continue
                if not renewed:
                    log.error("leader.lost", holder=self.holder,
                              next="finishing the current round, then standing by")
                    self._lost.set()
                    return
        finally:
            if not self._lost.is_set():
                lease.release()
            ledger.close()

    def step_down(self) -> None:
        """Stop renewing and let go (on shutdown)."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            thread.join(timeout=self._ttl.total_seconds())
        self._thread = None
