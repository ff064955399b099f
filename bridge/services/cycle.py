"""One round of the bridge: sync the lists, derive the cases, push the outbox.

The round, top to bottom (``Cycle.run_with``): read the lists into the ledger (deriving cases
while pages are on their way); look up the drafted invitations waiting for their signers;
derive every case whose inputs changed, each saved with the pushes it needs; send what is due
(BRIDGE_PUSH_ENABLED=false: nothing is sent, the outbox keeps it); derive again the cases
whose invitation was just drafted; log the SLA breaches once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from bridge.domain.outbox import OutboxIntent
from bridge.domain.records import PassMode
from bridge.errors import ConfigurationError
from bridge.ports import Outbox
from bridge.services.invitations import InvitationWatcher, WatchReport
from bridge.services.lease import Lease
from bridge.services.push import Pusher, PushReport
from bridge.services.sync import SyncReport, SyncService
from bridge.services.tracking import CaseTracker, TrackReport

log = structlog.get_logger("bridge.cycle")

WORK_LEASE = "work"


@dataclass
class CycleReport:
    """What one round did."""

    sync: SyncReport
    watch: WatchReport = field(default_factory=WatchReport)
    track: TrackReport = field(default_factory=TrackReport)
    push: PushReport | None = None
    dry_run: list[OutboxIntent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every list synced."""
        return self.sync.ok


class Cycle:
    """Runs sync → cases → push under the work lease, so commands never overlap."""

    def __init__(self, outbox: Outbox, sync: SyncService, tracker: CaseTracker,
                 pusher: Pusher | None, lease: Lease, *, dry_run: bool = False,
                 lease_wait: float = 60.0, watcher: InvitationWatcher | None = None) -> None:
        """Wire the round's services.

        ``pusher`` None: nothing is sent (BRIDGE_PUSH_ENABLED=false); the pushes the cases
        need are queued all the same. ``dry_run``: what is due is logged, not sent.

        ``watcher`` looks up the drafted invitations waiting for their signer each round.
        """
        self._outbox = outbox
        self._sync = sync
        self._tracker = tracker
        self._pusher = pusher
        self.lease = lease
        self._dry_run = dry_run
        self._lease_wait = lease_wait
        self._watcher = watcher

    def run_once(self, *, mode: PassMode | None = None) -> CycleReport:
        """One round; raises LeaseBusyError if another command holds the work lease too long."""
        return self.run_with(lambda: self._sync.run_once(mode=mode))

    def run_with(self, read: Callable[[], SyncReport]) -> CycleReport:
        """A round whose reading step is ``read`` (a sync, or a manual resync)."""
        with self.lease.held(self._lease_wait):
            report = CycleReport(sync=read())
            if self._watcher is not None:
                # Before deriving: a signature seen now is step 4 in this same round.
                report.watch = self._watcher.run()
            report.track = self._tracker.run(finish=False)
            try:
                self._push(report)
            finally:
                # After the drafts of this round: a case whose invitation was drafted just
                # now is no breach, however long ago it reached step 3.
                self._tracker.finish(report.track)
            return report

    def _push(self, report: CycleReport) -> None:
        if self._pusher is None:
            return
        if self._dry_run:
            report.dry_run = self._log_dry_run()
            return
        report.push = self._pusher.run()
        if report.push.drafted:
            # Drafts sent now move their cases' step-4 deadline: derive them again, so the
            # round ends with the cases as they stand.
            again = self._tracker.run(finish=False)
            report.track.derived += again.derived
            report.track.changed += again.changed

    def pusher_for_retry(self) -> Pusher:
        """The pusher, for an operator's retry (raises when pushing is off)."""
        if self._pusher is None:
            raise ConfigurationError("pushing is off (BRIDGE_PUSH_ENABLED=false)")
        return self._pusher

    def _log_dry_run(self) -> list[OutboxIntent]:
        due = [entry.intent for entry in self._outbox.outbox_due(limit=100_000)]
        for intent in due:
            log.info("push.dry_run", case_id=intent.case_id, ref=intent.ref,
                     action=intent.action.value, step=intent.step, body=intent.body,
                     next="nothing is sent (--dry-run)")
        return due
