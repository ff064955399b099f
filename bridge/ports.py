"""The ports the services depend on; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bridge.domain.items import ListKind, YearDir
from bridge.domain.records import Cursor, PageBatch, PassSummary, QuarantineRecord, StoreResult


@dataclass(frozen=True, slots=True)
class RawPage:
    """One page of a list as the server sent it, envelope already read."""

    page: int
    total_pages: int | None
    total_items: int | None
    items: Sequence[Any]


class SisumakerApi(Protocol):
    """What the bridge needs from Sisumaker."""

    def year_dirs(self) -> list[YearDir]:
        """The year directories the server offers (``/api/auth/domain``)."""
        ...

    def fetch_page(self, kind: ListKind, year: YearDir, page: int) -> RawPage:
        """One page of a list, newest first."""
        ...

    @property
    def request_count(self) -> int:
        """How many HTTP requests this client has sent (for summaries and tests)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A quarantined item as the ledger holds it."""

    id: int
    record: QuarantineRecord
    first_seen: datetime
    last_seen: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as the ledger holds it."""

    kind: ListKind
    year: int
    source_id: str
    parent_id: str | None
    item_time: datetime
    content_hash: str
    payload: str
    version: int
    first_seen: datetime
    last_seen: datetime
    missing_since: datetime | None


class Ledger(Protocol):
    """The idempotent sync ledger; SQLite by default, PostgreSQL later."""

    def migrate(self) -> int:
        """Bring the schema to the current version; return that version."""
        ...

    def store_page(self, batch: PageBatch, *, pass_id: str, seen_at: datetime) -> StoreResult:
        """Store one page's items and quarantined items in one transaction."""
        ...

    def cursor(self, kind: ListKind, year: int) -> Cursor:
        """Where a list of a year directory stands (an empty cursor if never polled)."""
        ...

    def cursors(self) -> list[Cursor]:
        """Every list's cursor."""
        ...

    def complete_pass(self, summary: PassSummary) -> None:
        """Record a finished pass; move the watermark only if the pass completed."""
        ...

    def mark_missing(self, kind: ListKind, year: int, *, pass_id: str, at: datetime) -> int:
        """After a full pass: flag items the pass did not see; return how many."""
        ...

    def item_counts(self) -> Mapping[ListKind, int]:
        """How many items of each list the ledger holds, over all year directories."""
        ...

    def get_item(self, kind: ListKind, year: int, source_id: str) -> StoredItem | None:
        """One stored item."""
        ...

    def quarantine_count(self) -> int:
        """How many items are in quarantine."""
        ...

    def quarantined(self) -> list[QuarantineEntry]:
        """Every quarantined item."""
        ...

    def last_passes(self, limit: int = 10) -> list[PassSummary]:
        """The most recent passes, newest first."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...
