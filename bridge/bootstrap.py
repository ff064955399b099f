"""The composition root: builds settings, mapping files and adapters, and injects them.

Nothing else in the package reads the environment or opens a connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from bridge.adapters.ledger import open_ledger
from bridge.adapters.sisumaker.client import RetryPolicy, SisumakerClient
from bridge.config.profile import Profile, load_profile
from bridge.config.push_mapping import PushMapping, load_push_mapping
from bridge.config.settings import Settings
from bridge.config.sop_mapping import SopMappings, load_sop_mappings
from bridge.domain.items import ListKind
from bridge.logs import Redactor
from bridge.ports import Ledger
from bridge.services.cycle import WORK_LEASE, Cycle
from bridge.services.intents import IntentBuilder
from bridge.services.lease import Lease
from bridge.services.parse import ItemParser
from bridge.services.poll import ListPoller, PollConfig
from bridge.services.push import Pusher, PushPolicy
from bridge.services.resync import Progress, Resync
from bridge.services.stop import StopSignal
from bridge.services.sync import SyncConfig, SyncService
from bridge.services.tracking import CaseTracker


@dataclass
class Bridge:
    """Everything a command needs, built once."""

    settings: Settings
    profile: Profile
    sop: SopMappings
    push: PushMapping
    ledger: Ledger
    stop: StopSignal = field(default_factory=StopSignal)
    redactor: Redactor = field(default_factory=Redactor)
    transport: httpx.BaseTransport | None = None
    _client: SisumakerClient | None = None
    _poller: ListPoller | None = None
    _sync: SyncService | None = None

    def open_ledger(self) -> Ledger:
        """Another connection to the ledger (for a server thread)."""
        return open_ledger(self.settings.ledger_location)

    def parsers(self) -> dict[ListKind, ItemParser]:
        """One parser per list, from the profile."""
        return {
            kind: ItemParser(kind, self.profile.lists[kind], zone=self.profile.zone,
                             max_chars=self.profile.max_field_chars)
            for kind in ListKind
        }

    def client(self) -> SisumakerClient:
        """The Sisumaker client (credentials are checked here, on first use)."""
        if self._client is None:
            url, username, password = self.settings.require_sisumaker()
            self.redactor.add(password.get_secret_value())
            self._client = SisumakerClient(
                base_url=url,
                username=username,
                password=password,
                profile=self.profile,
                timeout=self.settings.http_timeout,
                retry=RetryPolicy(max_attempts=self.settings.http_max_attempts,
                                  retry_after_cap=self.settings.retry_after_cap),
                token_refresh_margin=self.settings.token_refresh_margin,
                transport=self.transport,
            )
        return self._client

    def poller(self) -> ListPoller:
        """The list poller (one per process)."""
        if self._poller is None:
            settings = self.settings
            self._poller = ListPoller(
                self.client(), self.ledger, self.parsers(),
                PollConfig(lookback=timedelta(seconds=settings.lookback_seconds),
                           max_pages=settings.max_pages),
                stop=self.stop,
            )
        return self._poller

    def sync_service(self) -> SyncService:
        """The sync service over the client and the ledger (one per process)."""
        if self._sync is None:
            settings = self.settings
            config = SyncConfig(
                zone=self.profile.zone,
                years=settings.years,
                previous_year_weeks=settings.previous_year_weeks,
                full_sync_hour=settings.full_sync_hour,
                directory_template=self.profile.auth.directory_template,
            )
            self._sync = SyncService(self.client(), self.ledger, self.poller(), config,
                                     stop=self.stop)
        return self._sync

    def resync(self, progress: Progress | None = None) -> Resync:
        """The reading steps of manual resyncs."""
        return Resync(self.ledger, self.poller(), self.sync_service(), self.profile.zone,
                      progress=progress)

    def tracker(self) -> CaseTracker:
        """Case tracking over the ledger, with pushes computed when pushing is on."""
        return CaseTracker(self.ledger, self.sop, intents=self.intents())

    def intents(self) -> IntentBuilder | None:
        """The push wording, or None when BRIDGE_PUSH_ENABLED is false."""
        if not self.settings.push_enabled:
            return None
        return IntentBuilder(self.push, self.profile.push, self.sop.sop, self.sop.calendar,
                             zone=self.profile.zone)

    def cycle(self, *, dry_run: bool = False, pushes_per_round: int | None = None) -> Cycle:
        """Sync, cases and push, under the work lease."""
        sync = self.sync_service()
        intents = self.intents()
        lease = Lease(self.ledger, WORK_LEASE, timedelta(minutes=10), stop=self.stop)
        pusher = None
        if intents is not None:
            pusher = Pusher(self.client(), self.ledger, sync.year_dir, stop=self.stop,
                            policy=PushPolicy(entries_per_round=pushes_per_round,
                                              resend_after=self._resend_after()))
        tracker = self.tracker()
        self.poller().idle = tracker.derive_some
        cycle = Cycle(self.ledger, sync, tracker, pusher, intents, lease, dry_run=dry_run)
        if pusher is not None:
            pusher.on_sent = cycle.after_sent
        return cycle

    def _resend_after(self) -> timedelta:
        seconds = self.settings.push_resend_after
        return timedelta(seconds=2 * self.settings.http_timeout if seconds is None else seconds)

    def close(self) -> None:
        """Close the client and the ledger."""
        if self._client is not None:
            self._client.close()
        self.ledger.close()


def build(settings: Settings, *, redactor: Redactor | None = None,
          transport: httpx.BaseTransport | None = None) -> Bridge:
    """Load the mapping files and open the ledger; raises a BridgeError naming what is wrong."""
    profile = load_profile(settings.mappings_dir)
    sop = load_sop_mappings(settings.mappings_dir)
    push = load_push_mapping(settings.mappings_dir, max_meeting_days=sop.sop.working_days(5))
    ledger = open_ledger(settings.ledger_location)
    return Bridge(settings=settings, profile=profile, sop=sop, push=push, ledger=ledger,
                  redactor=redactor or Redactor(), transport=transport)
