"""The ports the services depend on; adapters implement them, tests fake them.

Each ledger port is what one service needs, in domain objects: the poller stores pages
(``PageStore``), the sync plans year directories (``YearPlans``), case tracking reads a
letter's inputs and saves its case with the pushes it needs in one transaction
(``CaseStore``), the pusher moves outbox entries (``Outbox``), the draft watcher settles
invitations (``DraftWatch``), and ``Leases`` keep commands from overlapping. JSON and rows
stay in the ledger adapters; ``tests/fakes.py`` holds in-memory fakes of the case, outbox
and lease ports, on which the round's services are tested without a database.
``Ledger`` is all of them with the read side the commands print, as the SQL stores build it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bridge.domain.invitations import DraftStatus, Invitation
from bridge.domain.items import ListKind, PolledYear, YearDir
from bridge.domain.outbox import OutboxEntry, OutboxIntent, OutboxState
from bridge.domain.records import (
    CaseInputs,
    CaseRow,
    CaseWrite,
    Cursor,
    HistoryRow,
    PageBatch,
    PassSummary,
    QuarantineRecord,
    StoreResult,
)
from bridge.domain.review import Decision, ReviewEntry

if TYPE_CHECKING:  # case derivation is not imported by the commands that only read
    from bridge.domain.cases import Case


@dataclass(frozen=True, slots=True)
class RawPage:
    """One page of a list as the server sent it, envelope already read.

    ``page`` is the page's number counted from 1 as the server echoed it (0: not echoed);
    ``more`` is the profile's end-of-list signal read from this answer (None: not read, then
    a non-empty page below ``total_pages`` goes on); ``next_cursor`` is what asks for the next
    page of a cursor or next-link list.
    """

    page: int
    total_pages: int | None
    total_items: int | None
    items: Sequence[Any]
    more: bool | None = None
    next_cursor: str | None = None


class SisumakerApi(Protocol):
    """What the bridge needs from Sisumaker."""

    def year_dirs(self) -> list[YearDir]:
        """The year directories the server offers (``/api/auth/domain``)."""
        ...

    def fetch_page(self, kind: ListKind, year: YearDir, page: int,
                   cursor: str | None = None) -> RawPage:
        """Page ``page`` (from 1) of a list, newest first; ``cursor``: the previous page's."""
        ...

    def post_note(self, year: YearDir, surat_id: str, body: Mapping[str, Any]) -> str:
        """POST a follow-up note once (never retried); return its id."""
        ...

    def find_note(self, year: YearDir, surat_id: str, ref: str) -> str | None:
        """The id of the letter's note carrying ``ref``, or None."""
        ...

    def post_letter(self, year: YearDir, body: Mapping[str, Any]) -> str:
        """POST a draft outgoing letter once (never retried); return its id."""
        ...

    def find_letter(self, year: YearDir, ref: str) -> str | None:
        """The id of the draft letter carrying ``ref``, or None."""
        ...

    def draft_status(self, year: YearDir, ref: str) -> DraftStatus | None:
        """Where the draft letter carrying ``ref`` stands with its signer, or None if unknown."""
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


class PageStore(Protocol):
    """Where the poller stores pages and keeps each list's cursor."""

    def store_page(self, batch: PageBatch, *, pass_id: str, seen_at: datetime) -> StoreResult:
        """Store one page's items and quarantined items in one transaction."""
        ...

    def cursor(self, kind: ListKind, year: int) -> Cursor:
        """Where a list of a year directory stands (an empty cursor if never polled)."""
        ...

    def complete_pass(self, summary: PassSummary) -> None:
        """Record a finished pass; move the watermark only if the pass completed."""
        ...

    def mark_missing(self, kind: ListKind, year: int, *, pass_id: str, at: datetime) -> int:
        """After a full pass: flag items the pass did not see; return how many."""
        ...


class YearPlans(Protocol):
    """What the sync reads and records to choose the year directories it polls."""

    def cursor(self, kind: ListKind, year: int) -> Cursor:
        """Where a list of a year directory stands (an empty cursor if never polled)."""
        ...

    def open_case_years(self, below_step: int) -> dict[int, int]:
        """Per year directory, how many cases stand below ``below_step``."""
        ...

    def record_polled_years(self, plan: Sequence[PolledYear], at: datetime) -> None:
        """Replace the record of the year directories polled, and why."""
        ...


class CaseStore(Protocol):
    """What case tracking reads and writes: letters' inputs in, cases with their pushes out."""

    def dirty_cases(self, limit: int = 500) -> list[tuple[int, str]]:
        """Letters whose inputs changed since their case was last derived."""
        ...

    def mark_cases_dirty(self, keys: Iterable[tuple[int, str]]) -> None:
        """Ask for these cases to be derived again."""
        ...

    def case_inputs(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CaseInputs]:
        """What each of these letters' cases is derived from, by (year, letter id)."""
        ...

    def save_cases(self, writes: Sequence[CaseWrite]) -> list[OutboxEntry]:
        """Store a batch of derivations in one transaction; return the pushes held back.

        Cases, history, review queue, the pushes they need, and their dirty marks cleared.
        """
        ...

    def cases_past_deadline(self, now: datetime) -> list[tuple[int, str]]:
        """Cases not yet overdue whose next deadline has passed."""
        ...

    def unlogged_breaches(self) -> list[Case]:
        """Overdue cases whose breach of their next deadline is not recorded yet."""
        ...

    def record_breaches(self, breaches: Sequence[tuple[str, int, datetime]]) -> list[bool]:
        """Remember several SLA breaches in one transaction; for each, True only the first time."""
        ...


class ItemLookup(Protocol):
    """What a resync of single letters needs: the stored letter, and a case to derive again."""

    def get_item(self, kind: ListKind, year: int, source_id: str) -> StoredItem | None:
        """One stored item."""
        ...

    def mark_cases_dirty(self, keys: Iterable[tuple[int, str]]) -> None:
        """Ask for these cases to be derived again."""
        ...


class Outbox(Protocol):
    """What the pusher moves: due entries, each committed before and after its POST."""

    def outbox_due(self, limit: int = 500) -> list[OutboxEntry]:
        """Pending and in-doubt pushes, oldest first."""
        ...

    def mark_sending(self, entry_id: int) -> bool:
        """Commit, before the POST, that one may reach the server; False if already settled."""
        ...

    def mark_sent(self, entry_id: int, remote_id: str, *,
                  draft: tuple[int, str, Invitation] | None = None) -> None:
        """Record the server's id.

        With ``draft`` (year, letter id, invitation), in the same transaction, start watching
        the invitation it drafted (its case is derived again).
        """
        ...

    def mark_in_doubt(self, entry_id: int, error: str) -> None:
        """Keep a push in doubt with the error; its ref is looked up before any new POST."""
        ...

    def mark_failed(self, entry_id: int, error: str) -> None:
        """Give up on a push until an operator retries it."""
        ...


class DraftWatch(Protocol):
    """The drafted invitations waiting for their signers."""

    def waiting_invitations(self, limit: int = 1000) -> list[tuple[int, str, Invitation]]:
        """(year, letter id, draft) of each open case's newest draft still waiting."""
        ...

    def settle_invitation(self, ref: str, answer: DraftStatus) -> bool:
        """Record a waiting draft's signature or return; False if it was not waiting."""
        ...


class Leases(Protocol):
    """Named leases in the ledger, so that two commands never work the same round."""

    def acquire_lease(self, name: str, holder: str, ttl: timedelta,
                      *, take_over: frozenset[str] = frozenset()) -> bool:
        """Hold the named lease for ttl if free, expired, ours or held by one in take_over."""
        ...

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds the named lease, and until when."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up, if held."""
        ...


class Ledger(PageStore, YearPlans, CaseStore, ItemLookup, Outbox, DraftWatch, Leases, Protocol):
    """The idempotent sync ledger whole (SQLite by default, PostgreSQL).

    The services' ports above, and what the commands read and operators change.
    """

    def migrate(self) -> int:
        """Bring the schema to the current version; return that version."""
        ...

    def cursors(self) -> list[Cursor]:
        """Every list's cursor."""
        ...

    def item_counts(self) -> Mapping[ListKind, int]:
        """How many items of each list the ledger holds, over all year directories."""
        ...

    def iter_items(self, kind: ListKind, year: int | None = None) -> Iterator[StoredItem]:
        """Every stored item of a list (of one year directory, if given)."""
        ...

    def quarantine_count(self) -> int:
        """How many items are in quarantine."""
        ...

    def release_quarantined(self, entry_id: int) -> None:
        """Drop one quarantine entry (its item was stored after a replay)."""
        ...

    def quarantined(self) -> list[QuarantineEntry]:
        """Every quarantined item."""
        ...

    def last_passes(self, limit: int = 10) -> list[PassSummary]:
        """The most recent passes, newest first."""
        ...

    # -- the cases as the commands show them ----------------------------------------------------

    def get_case(self, case_id: str) -> CaseRow | None:
        """One case."""
        ...

    def list_cases(self, *, step: int | None = None, overdue: bool | None = None,
                   limit: int | None = None, offset: int = 0,
                   containing: Sequence[str] = ()) -> list[CaseRow]:
        """Cases filtered by step, overdue state and words (case-folded) their document holds.

        ``limit`` of them from ``offset``.
        """
        ...

    def count_cases(self, *, step: int | None = None,
                    overdue: bool | None = None) -> tuple[int, int]:
        """How many cases pass the filters, and how many of those are overdue."""
        ...

    def case_history(self, case_id: str) -> list[HistoryRow]:
        """A case's changes, oldest first."""
        ...

    def cases_per_step(self) -> dict[int, int]:
        """How many cases stand at each step."""
        ...

    # -- invitations and year directories -------------------------------------------------------

    def invitation(self, ref: str) -> Invitation | None:
        """One draft by its ref."""
        ...

    def returned_invitations(self) -> int:
        """Cases whose newest draft was returned by its signer and not sent again."""
        ...

    def polled_years(self) -> tuple[list[PolledYear], datetime | None]:
        """The year directories the last round chose, and when it chose them."""
        ...

    # -- the outbox as operators see it ---------------------------------------------------------

    def enqueue(self, intents: list[OutboxIntent]) -> int:
        """Add intents not yet known (by ref); return how many were new."""
        ...

    def outbox_entries(self, state: OutboxState | None = None, *,
                       case_id: str | None = None) -> list[OutboxEntry]:
        """Every push (of one state, of one case, if given)."""
        ...

    def outbox_entry(self, entry_id: int) -> OutboxEntry | None:
        """One push."""
        ...

    def outbox_counts(self) -> dict[OutboxState, int]:
        """Pushes per state."""
        ...

    def requeue(self, entry_id: int) -> bool:
        """An operator's retry of a failed push."""
        ...

    # -- operators' decisions and the review queue -------------------------------------------

    def record_decision(self, decision: Decision) -> list[OutboxEntry]:
        """Store a decision (history, queue, dirty mark, pushes); return pushes it cancelled."""
        ...

    def decisions(self, year: int | None = None, surat_id: str | None = None) -> list[Decision]:
        """Every decision (on one letter, if given), oldest first."""
        ...

    def review_queue(self) -> list[ReviewEntry]:
        """The letters waiting for a decision, longest waiting first."""
        ...

    def review_entry(self, year: int, surat_id: str) -> ReviewEntry | None:
        """One letter's place in the review queue, if it waits there."""
        ...

    def review_count(self) -> int:
        """How many letters wait for a decision."""
        ...

    def check_writable(self) -> None:
        """Raise LedgerError when the ledger cannot take a write now."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...
