"""What the ledger stores: items as received, quarantined items, list cursors, passes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from bridge.domain.items import ListKind

if TYPE_CHECKING:  # the ledger-only commands need not import case derivation
    from bridge.domain.cases import Case
    from bridge.domain.invitations import Invitation
    from bridge.domain.items import Disposition, Letter
    from bridge.domain.outbox import OutboxIntent
    from bridge.domain.review import Decision, ReviewEntry


class ItemRecord(NamedTuple):
    """One list item that could be keyed and dated, ready to be stored.

    A named tuple, not a frozen dataclass: one is built per item on the hot path, and a
    tuple is built several times faster while being as immutable.
    """

    kind: ListKind
    year: int
    source_id: str
    item_time: datetime
    content_hash: str
    payload: str
    parent_id: str | None = None
    fields: str = "{}"  # the parsed item's canonical fields as JSON, for case derivation


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """One list item that failed validation, kept with the reason."""

    kind: ListKind
    year: int
    reason: str
    payload: str
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class PageBatch:
    """The parsed items of one page, stored in one transaction."""

    kind: ListKind
    year: int
    page: int
    items: tuple[ItemRecord, ...]
    quarantined: tuple[QuarantineRecord, ...]
    live: bool = True  # False for a manual resync: the list's cursor is left alone


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing one page changed in the ledger."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def __add__(self, other: StoreResult) -> StoreResult:
        """Add two results up, field by field."""
        return StoreResult(
            self.new + other.new,
            self.changed + other.changed,
            self.unchanged + other.unchanged,
            self.quarantined + other.quarantined,
        )


class PassMode(StrEnum):
    """An incremental pass stops at the watermark; a full pass reads every page."""

    INCREMENTAL = "incremental"
    FULL = "full"
    RESYNC = "resync"  # manual: down to a given date, cursors and watermarks untouched


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where one list of one year directory stands."""

    kind: ListKind
    year: int
    watermark: datetime | None = None
    last_page: int = 0
    pass_id: str | None = None
    last_complete_pass_at: datetime | None = None
    last_full_pass_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PassSummary:
    """The outcome of one pass over one list of one year directory."""

    pass_id: str
    kind: ListKind
    year: int
    mode: PassMode
    started_at: datetime
    finished_at: datetime
    pages: int
    requests: int
    result: StoreResult
    watermark: datetime | None
    complete: bool
    missing: int = 0
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A case as the read side shows it: its key columns and its document.

    ``document`` is the case as ``bridge cases --json`` prints it (the ledger adapter decodes
    it); the services that derive cases work on ``Case`` objects instead (``CaseInputs``).
    """

    case_id: str
    year: int
    surat_id: str
    step: int
    overdue: bool
    next_deadline: datetime | None
    document: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One change of a case: when, what, and which Sisumaker item caused it."""

    at: datetime
    kind: str
    description: str
    source: str | None


@dataclass(frozen=True, slots=True)
class CaseInputs:
    """Everything one letter's case is derived from, as the ledger holds it now.

    ``letter`` None: the letter is not stored (or was removed on the server); ``case``: the
    case as last derived (None: none yet); ``decision``: an operator's latest one on it;
    ``queued``: it waits in the review queue; ``invitation``: its newest drafted invitation.
    """

    year: int
    surat_id: str
    letter: Letter | None = None
    dispositions: tuple[Disposition, ...] = ()
    case: Case | None = None
    decision: Decision | None = None
    queued: bool = False
    invitation: Invitation | None = None

    @property
    def key(self) -> tuple[int, str]:
        """(year, letter id): how the ledger keys a letter's case."""
        return self.year, self.surat_id


@dataclass(frozen=True, slots=True)
class CaseWrite:
    """One derivation's outcome, stored in one transaction with the others of its batch.

    ``case`` None: the letter is no case (any more). ``intents``: the pushes the case needs,
    queued with it (a ref already queued is left as it is). ``review``: the letter waits for a
    person's decision (queued, or its entry refreshed); ``unqueue``: it waited, and no longer
    does. ``hold``: cancel the case's unsent pushes (it was a case and now waits for review);
    ``revive``: bring back pushes a hold cancelled (it is a request again by itself).
    """

    year: int
    surat_id: str
    case: Case | None
    history: tuple[HistoryRow, ...]
    at: datetime
    intents: tuple[OutboxIntent, ...] = ()
    review: ReviewEntry | None = None
    unqueue: bool = False
    hold: bool = False
    revive: bool = False
