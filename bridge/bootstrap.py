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
from bridge.config.settings import Settings
from bridge.domain.items import ListKind
from bridge.logs import Redactor
from bridge.ports import Ledger
from bridge.services.parse import ItemParser
from bridge.services.poll import ListPoller, PollConfig
from bridge.services.stop import StopSignal
from bridge.services.sync import SyncConfig, SyncService


@dataclass
class Bridge:
    """Everything a command needs, built once."""

    settings: Settings
    profile: Profile
    ledger: Ledger
    stop: StopSignal = field(default_factory=StopSignal)
    redactor: Redactor = field(default_factory=Redactor)
    transport: httpx.BaseTransport | None = None
    _client: SisumakerClient | None = None

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

    def sync_service(self) -> SyncService:
        """The sync service over the client and the ledger."""
        settings = self.settings
        poller = ListPoller(
            self.client(), self.ledger, self.parsers(),
            PollConfig(lookback=timedelta(seconds=settings.lookback_seconds),
                       max_pages=settings.max_pages),
            stop=self.stop,
        )
        config = SyncConfig(
            zone=self.profile.zone,
            years=settings.years,
            previous_year_weeks=settings.previous_year_weeks,
            full_sync_hour=settings.full_sync_hour,
            directory_template=self.profile.auth.directory_template,
        )
        return SyncService(self.client(), self.ledger, poller, config, stop=self.stop)

    def close(self) -> None:
        """Close the client and the ledger."""
        if self._client is not None:
            self._client.close()
        self.ledger.close()


def build(settings: Settings, *, redactor: Redactor | None = None,
          transport: httpx.BaseTransport | None = None) -> Bridge:
    """Load the mapping files and open the ledger; raises a BridgeError naming what is wrong."""
    profile = load_profile(settings.mappings_dir)
    ledger = open_ledger(settings.ledger_location)
    return Bridge(settings=settings, profile=profile, ledger=ledger,
                  redactor=redactor or Redactor(), transport=transport)
