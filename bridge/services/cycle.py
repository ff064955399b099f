"""One round of the bridge: sync the lists, derive the cases, push the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from bridge.domain.outbox import OutboxEntry, OutboxIntent, OutboxState, PushAction
from bridge.domain.records import PassMode
from bridge.errors import ConfigurationError
from bridge.ports import Ledger
from bridge.services.case_json import case_from_document
from bridge.services.intents import IntentBuilder
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
    track: TrackReport = field(default_factory=TrackReport)
    push: PushReport | None = None
    dry_run: list[OutboxIntent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every list synced."""
        return self.sync.ok


class Cycle:
    """Runs sync → cases → push under the work lease, so commands never overlap."""

    def __init__(self, ledger: Ledger, sync: SyncService, tracker: CaseTracker,
                 pusher: Pusher | None, intents: IntentBuilder | None, lease: Lease, *,
                 dry_run: bool = False, lease_wait: float = 60.0) -> None:
        """``pusher``/``intents`` None: pushing is off (BRIDGE_PUSH_ENABLED=false)."""
        self._ledger = ledger
        self._sync = sync
        self._tracker = tracker
        self._pusher = pusher
        self._intents = intents
        self.lease = lease
        self._dry_run = dry_run
        self._lease_wait = lease_wait
        self._reconciled = False

    def run_once(self, *, mode: PassMode | None = None) -> CycleReport:
        """One round; raises LeaseBusyError if another command holds the work lease too long."""
        return self.run_with(lambda: self._sync.run_once(mode=mode))

    def run_with(self, read: Callable[[], SyncReport]) -> CycleReport:
        """A round whose reading step is ``read`` (a sync, or a manual resync)."""
        with self.lease.held(self._lease_wait):
            report = CycleReport(sync=read())
            report.track = self._tracker.run()
            if self._intents is None or self._pusher is None:
                return report
            intents = [*self._reconcile(), *report.track.intents]
            if self._dry_run:
                report.dry_run = self._log_dry_run(intents)
                return report
            self._ledger.enqueue(intents)
            report.push = self._pusher.run()
            return report

    def pusher_for_retry(self) -> Pusher:
        """The pusher, for an operator's retry (raises when pushing is off)."""
        if self._pusher is None:
            raise ConfigurationError("pushing is off (BRIDGE_PUSH_ENABLED=false)")
        return self._pusher

    def _reconcile(self) -> list[OutboxIntent]:
        # Once per process: every case's intents, so pushes missed while pushing was off
        # (or lost with a crash between deriving and enqueueing) are queued.
        if self._reconciled or self._intents is None:
            return []
        self._reconciled = True
        intents: list[OutboxIntent] = []
        for row in self._ledger.list_cases():
            case = case_from_document(json.loads(row.data))
            intents.extend(self._intents.for_case(case, self._tracker.letter_of(row.year,
                                                                                 row.surat_id)))
        # The note that follows a sent invitation, in case a crash came between the two.
        for entry in self._ledger.outbox_entries(OutboxState.SENT):
            if entry.intent.action is PushAction.INVITATION and entry.remote_id is not None:
                note = self._after_invitation(entry, entry.remote_id)
                if note is not None:
                    intents.append(note)
        return intents

    def _log_dry_run(self, intents: list[OutboxIntent]) -> list[OutboxIntent]:
        known = {entry.intent.ref for entry in self._ledger.outbox_entries()}
        fresh = {intent.ref: intent for intent in intents if intent.ref not in known}
        for intent in fresh.values():
            log.info("push.dry_run", case_id=intent.case_id, ref=intent.ref,
                     action=intent.action.value, step=intent.step, body=intent.body,
                     next="nothing is sent (--dry-run)")
        return list(fresh.values())

    def after_sent(self, entry: OutboxEntry, remote_id: str) -> None:
        """Queue the note that tells the letter's readers the invitation draft exists."""
        if entry.intent.action is not PushAction.INVITATION:
            return
        note = self._after_invitation(entry, remote_id)
        if note is not None:
            self._ledger.enqueue([note])

    def _after_invitation(self, entry: OutboxEntry, remote_id: str) -> OutboxIntent | None:
        row = self._ledger.get_case(entry.intent.case_id)
        if row is None or self._intents is None:
            return None
        case = case_from_document(json.loads(row.data))
        letter = self._tracker.letter_of(row.year, row.surat_id)
        return self._intents.after_invitation(case, letter, entry.intent.body, remote_id)
