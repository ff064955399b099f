"""One round of the bridge: sync the lists, derive the cases, push the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from bridge.domain.invitations import InvitationStatus
from bridge.domain.outbox import OutboxEntry, OutboxIntent, OutboxState, PushAction
from bridge.domain.records import PassMode
from bridge.errors import BridgeError, ConfigurationError
from bridge.ports import Ledger
from bridge.services.case_json import case_from_document
from bridge.services.intents import IntentBuilder
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

    def __init__(self, ledger: Ledger, sync: SyncService, tracker: CaseTracker,
                 pusher: Pusher | None, intents: IntentBuilder | None, lease: Lease, *,
                 dry_run: bool = False, lease_wait: float = 60.0,
                 watcher: InvitationWatcher | None = None) -> None:
        """``pusher``/``intents`` None: pushing is off (BRIDGE_PUSH_ENABLED=false).

        ``watcher`` looks up the drafted invitations waiting for their signer each round.
        """
        self._ledger = ledger
        self._sync = sync
        self._tracker = tracker
        self._pusher = pusher
        self._intents = intents
        self.lease = lease
        self._dry_run = dry_run
        self._lease_wait = lease_wait
        self._watcher = watcher
        self._reconciled = False
        self._drafted = 0  # drafts recorded since the cases were last derived

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
        if self._intents is None or self._pusher is None:
            return
        intents = [*self._reconcile(), *report.track.intents]
        if self._dry_run:
            report.dry_run = self._log_dry_run(intents)
            return
        self._ledger.enqueue(intents)
        report.push = self._pusher.run()
        if self._drafted:
            # Drafts sent now move their cases' step-4 deadline: derive them again, so the
            # round ends with the cases as they stand.
            self._drafted = 0
            again = self._tracker.run(finish=False)
            report.track.derived += again.derived
            report.track.changed += again.changed
            self._ledger.enqueue(again.intents)

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
        # Every sent draft is watched, in case a crash came between sending and recording it.
        for entry in self._ledger.outbox_entries(OutboxState.SENT):
            if entry.intent.action is PushAction.INVITATION and entry.remote_id is not None:
                self.after_sent(entry, entry.remote_id)
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
        """Watch a draft invitation just sent: it waits for its signer (step 4)."""
        if entry.intent.action is not PushAction.INVITATION or self._intents is None:
            return
        invitation = self._intents.invitation_record(entry, remote_id)
        if self._ledger.record_invitation(entry.intent.year, entry.intent.surat_id, invitation):
            self._drafted += 1
            log.info("invitation.watched", case_id=entry.intent.case_id, ref=entry.intent.ref,
                     remote_id=remote_id, next="looked up each round until signed or returned")

    def resend_returned(self, entry: OutboxEntry) -> OutboxEntry:
        """After an operator fixed what its signer returned it for: a new draft, new ref.

        The new draft is queued under the next attempt's ref (``...-invitation-4-r2``) and
        pushed at once; raises BridgeError when ``entry`` is not a case's newest returned draft.
        """
        intent = entry.intent
        invitation = self._ledger.invitation(intent.ref)
        if intent.action is not PushAction.INVITATION or invitation is None:
            raise BridgeError(f"push {entry.id} ({intent.ref}) is no watched invitation draft")
        latest = self._ledger.case_invitations(intent.year, [intent.surat_id]).get(intent.surat_id)
        if invitation.status is not InvitationStatus.RETURNED or latest != invitation:
            state = latest.describe() if latest is not None else invitation.describe()
            raise BridgeError(f"push {entry.id} ({intent.ref}) was not returned by its signer, or "
                              f"a newer draft exists; the case's newest draft: {state}")
        row = self._ledger.get_case(intent.case_id)
        letter = self._tracker.letter_of(intent.year, intent.surat_id)
        if row is None or letter is None or self._intents is None or self._pusher is None:
            raise BridgeError(f"case {intent.case_id} is closed, or pushing is off: "
                              "nothing is sent")
        case = case_from_document(json.loads(row.data))
        fresh = self._intents.invitation(case, letter, attempt=invitation.attempt + 1)
        self._ledger.enqueue([fresh])
        queued = next(e for e in self._ledger.outbox_entries() if e.intent.ref == fresh.ref)
        if queued.state in (OutboxState.PENDING, OutboxState.IN_DOUBT):
            self._pusher.push(queued, PushReport())
        after = self._ledger.outbox_entry(queued.id)
        return after if after is not None else queued
