"""The composition root: builds settings, mapping files and adapters, and injects them.

Nothing else in the package reads the environment or opens a connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bridge.adapters.ledger import open_ledger
from bridge.config.environment import (
    ledger_location_from_environment,
    mappings_dir_from_environment,
)
from bridge.domain.items import ListKind
from bridge.logs import Redactor
from bridge.services.stop import StopSignal

if TYPE_CHECKING:
    import httpx

    from bridge.adapters.sisumaker.client import SisumakerClient
    from bridge.config.profile import Profile
    from bridge.config.push_mapping import PushMapping
    from bridge.config.settings import Settings
    from bridge.config.sop_mapping import SopMappings
    from bridge.domain.sop import Sop
    from bridge.ports import Ledger
    from bridge.services.cycle import Cycle
    from bridge.services.intents import IntentBuilder
    from bridge.services.parse import ItemParser
    from bridge.services.poll import ListPoller
    from bridge.services.resync import Progress, Resync
    from bridge.services.sync import SyncService
    from bridge.services.tracking import CaseTracker

# The modules of the Sisumaker client, the services and the mapping files cost most of a
# command's start-up (httpx, tenacity, pydantic); each is imported by the method that builds
# from it, so that a command that only reads the ledger does not pay for them.


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


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
    # The time deadlines are judged by (the demo moves it ahead to show signatures arrive).
    now: Callable[[], datetime] = utc_now
    _client: SisumakerClient | None = None
    _poller: ListPoller | None = None
    _sync: SyncService | None = None
    _tracker: CaseTracker | None = None

    def open_ledger(self) -> Ledger:
        """Another connection to the ledger (for a server thread)."""
        return open_ledger(self.settings.ledger_location)

    def parsers(self) -> dict[ListKind, ItemParser]:
        """One parser per list, from the profile."""
        from bridge.services.parse import ItemParser

        return {
            kind: ItemParser(kind, self.profile.lists[kind], zone=self.profile.zone,
                             max_chars=self.profile.max_field_chars)
            for kind in ListKind
        }

    def client(self) -> SisumakerClient:
        """The Sisumaker client (credentials are checked here, on first use)."""
        if self._client is None:
            self._client = self.client_for(self.profile)
        return self._client

    def client_for(self, profile: Profile) -> SisumakerClient:
        """A new client with another API profile (``bridge probe`` tries corrections)."""
        from bridge.adapters.sisumaker.client import RetryPolicy, SisumakerClient

        url, username, password = self.settings.require_sisumaker()
        self.redactor.add(password.get_secret_value())
        return SisumakerClient(
            base_url=url,
            username=username,
            password=password,
            profile=profile,
            timeout=self.settings.http_timeout,
            retry=RetryPolicy(max_attempts=self.settings.http_max_attempts,
                              retry_after_cap=self.settings.retry_after_cap),
            token_refresh_margin=self.settings.token_refresh_margin,
            transport=self.transport,
            on_token=lambda token, year_dir: self.redactor.add(token, slot=year_dir),
        )

    def poller(self) -> ListPoller:
        """The list poller (one per process)."""
        from bridge.services.poll import ListPoller, PollConfig

        if self._poller is None:
            settings = self.settings
            self._poller = ListPoller(
                self.client(), self.ledger, self.parsers(),
                PollConfig(lookback=timedelta(seconds=settings.lookback_seconds),
                           max_pages=settings.max_pages),
                stop=self.stop,
                # While a page is on its way, cases are derived: on a slow server, in time
                # that would otherwise be spent waiting.
                idle=self.tracker().derive_some,
            )
        return self._poller

    def sync_service(self) -> SyncService:
        """The sync service over the client and the ledger (one per process)."""
        from bridge.services.sync import SyncConfig, SyncService

        if self._sync is None:
            settings = self.settings
            config = SyncConfig(
                zone=self.profile.zone,
                years=settings.years,
                previous_year_weeks=settings.previous_year_weeks,
                full_sync_hour=settings.full_sync_hour,
                directory_template=self.profile.auth.directory_template,
                open_below_step=self.sop.sop.invitation_step,
            )
            self._sync = SyncService(self.client(), self.ledger, self.poller(), config,
                                     stop=self.stop)
        return self._sync

    def resync(self, progress: Progress | None = None) -> Resync:
        """The reading steps of manual resyncs."""
        from bridge.services.resync import Resync

        return Resync(self.ledger, self.poller(), self.sync_service(), self.profile.zone,
                      progress=progress)

    def tracker(self) -> CaseTracker:
        """Case tracking over the ledger, each case saved with its pushes (one per process)."""
        from bridge.services.tracking import CaseTracker

        if self._tracker is None:
            self._tracker = CaseTracker(self.ledger, self.sop, intents=self.intents(),
                                        now=self.now)
        return self._tracker

    def intents(self) -> IntentBuilder:
        """What each case asks to be written, in the mapping files' wording."""
        from bridge.services.intents import IntentBuilder

        return IntentBuilder(self.push, self.profile.push, self.sop.sop, self.sop.calendar,
                             now=self.now, zone=self.profile.zone)

    def cycle(self, *, dry_run: bool = False, pushes_per_round: int | None = None) -> Cycle:
        """Sync, cases and push, under the work lease; BRIDGE_PUSH_ENABLED=false: no pusher."""
        from bridge.services.cycle import WORK_LEASE, Cycle
        from bridge.services.invitations import InvitationWatcher
        from bridge.services.lease import Lease
        from bridge.services.push import Pusher, PushPolicy

        sync = self.sync_service()
        lease = Lease(self.ledger, WORK_LEASE, timedelta(minutes=10), stop=self.stop)
        pusher = None
        if self.settings.push_enabled:
            pusher = Pusher(self.client(), self.ledger, sync.year_dir, drafts=self.intents(),
                            stop=self.stop,
                            policy=PushPolicy(entries_per_round=pushes_per_round,
                                              resend_after=self._resend_after()))
        watcher = InvitationWatcher(self.client(), self.ledger, sync.year_dir, stop=self.stop,
                                    now=self.now)
        return Cycle(self.ledger, sync, self.tracker(), pusher, lease, dry_run=dry_run,
                     watcher=watcher)

    def _resend_after(self) -> timedelta:
        seconds = self.settings.push_resend_after
        return timedelta(seconds=2 * self.settings.http_timeout if seconds is None else seconds)

    def close(self) -> None:
        """Close the client and the ledger."""
        if self._client is not None:
            self._client.close()
        self.ledger.close()


def build(settings: Settings, *, redactor: Redactor | None = None,
          transport: httpx.BaseTransport | None = None,
          now: Callable[[], datetime] | None = None) -> Bridge:
    """Load the mapping files and open the ledger; raises a BridgeError naming what is wrong.

    ``now``: the clock deadlines are judged by (the demo's runs ahead of the wall clock).
    """
    from bridge.config.profile import load_profile
    from bridge.config.push_mapping import load_push_mapping
    from bridge.config.sop_mapping import load_sop_mappings

    profile = load_profile(settings.mappings_dir)
    sop = load_sop_mappings(settings.mappings_dir)
    push = load_push_mapping(settings.mappings_dir, max_meeting_days=sop.sop.working_days(5))
    ledger = open_ledger(settings.ledger_location)
    redactor = redactor or Redactor()
    if settings.board_token is not None:
        redactor.add(settings.board_token.get_secret_value())
    return Bridge(settings=settings, profile=profile, sop=sop, push=push, ledger=ledger,
                  redactor=redactor, transport=transport, now=now or utc_now)


@dataclass
class LedgerAccess:
    """The ledger alone, for the commands that only read it (``status``, ``cases``, ...)."""

    location: str
    ledger: Ledger

    def close(self) -> None:
        """Close the ledger."""
        self.ledger.close()


def open_ledger_for_reading() -> LedgerAccess:
    """Open the ledger named by BRIDGE_LEDGER_URL or BRIDGE_DATA_DIR, reading no other setting.

    No mapping file is loaded and nothing but the ledger's modules is imported: these
    commands answer in a fraction of the time the settings, mappings and client take.
    """
    location = ledger_location_from_environment()
    return LedgerAccess(location=location, ledger=open_ledger(location))


def load_sop_for_reading() -> Sop:
    """The SOP's steps from ``sop.toml`` (in BRIDGE_MAPPINGS_DIR), validated, for ``bridge case ID``."""
    from bridge.config.sop_mapping import SOP_FILE, load_sop

    return load_sop(mappings_dir_from_environment() / SOP_FILE)
