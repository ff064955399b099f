"""Small hand-written fakes of the ports, for unit tests of the services."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bridge.domain.cases import Case
from bridge.domain.invitations import DraftStatus, Invitation, InvitationStatus
from bridge.domain.items import ListKind, YearDir
from bridge.domain.outbox import OutboxEntry, OutboxIntent, OutboxState
from bridge.domain.records import CaseInputs, CaseWrite
from bridge.errors import ApiError
from bridge.ports import RawPage

Y26 = YearDir(2026, "/surattangsel26")
_WAITING = InvitationStatus.WAITING
BASE = datetime(2026, 11, 20, 8, 0, 0)


def letter(n: int, *, when: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """A raw surat masuk item as the contract shows it; n orders them in time."""
    moment = when or BASE + timedelta(minutes=n)
    return {
        "id_persuratan": str(1000 + n),
        "id_compose": str(5000 + n),
        "asal_surat": "Dinas Kesehatan",
        "pengirim": "Kepala Dinas Kesehatan",
        "perihal": f"Surat nomor {n}",
        "tgl_dibuat": moment.strftime("%Y-%m-%d %H:%M:%S"),
        "tgl_diterimaTU": None,
        "tgl_dikirim": moment.strftime("%d-%m-%Y"),
        "n_sifatsurat": "Biasa",
        "status_dibaca": "0",
        **extra,
    }


def disposition(n: int, surat: int, **extra: Any) -> dict[str, Any]:
    """A raw disposisi item."""
    moment = BASE + timedelta(minutes=n)
    return {
        "id_disposisi": str(9000 + n),
        "id_persuratan": str(1000 + surat),
        "dari_jabatan": "Kepala Dinas Komunikasi dan Informatika",
        "kepada_jabatan": "Kabid PTIKP",
        "isi_disposisi": "Mohon ditindaklanjuti",
        "tgl_disposisi": moment.strftime("%Y-%m-%d %H:%M:%S"),
        "status_baca": "0",
        **extra,
    }


@dataclass
class FakeSisumaker:
    """A SisumakerApi over in-memory lists, newest first, with hooks between fetches."""

    per_page: int = 10
    years: list[YearDir] = field(default_factory=lambda: [Y26])
    lists: dict[tuple[ListKind, int], list[Any]] = field(default_factory=dict)
    on_fetch: Callable[[ListKind, int, int], None] | None = None
    ignore_page: bool = False
    total_pages_override: float | None = None
    fetched: list[tuple[ListKind, int, int]] = field(default_factory=list)
    cursor_paged: bool = False  # pages by a keyset cursor (the last item's id), no totals
    stuck_cursor: str | None = None  # a server that always answers this next cursor
    cursors: list[str | None] = field(default_factory=list)
    requests: int = 0
    # Draft invitations by ref, as their signer left them; an ApiError is raised when asked.
    drafts: dict[str, DraftStatus | ApiError] = field(default_factory=dict)
    looked_up: list[str] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)  # notes and drafts, in order

    def items(self, kind: ListKind, year: int = 2026) -> list[Any]:
        """The list, newest first (mutable: tests insert and remove)."""
        return self.lists.setdefault((kind, year), [])

    def year_dirs(self) -> list[YearDir]:
        """The offered year directories."""
        self.requests += 1
        return list(self.years)

    def fetch_page(self, kind: ListKind, year: YearDir, page: int,
                   cursor: str | None = None) -> RawPage:
        """One page by offset; the hook runs after the page is cut, like a racing writer."""
        self.requests += 1
        self.fetched.append((kind, year.year, page))
        data = self.items(kind, year.year)
        if self.cursor_paged:
            return self._by_cursor(kind, year, page, cursor, data)
        start = 0 if self.ignore_page else (page - 1) * self.per_page
        chunk = list(data[start:start + self.per_page])
        total = len(data)
        pages = self.total_pages_override or float(math.ceil(total / self.per_page))
        result = RawPage(page=1 if self.ignore_page else page,
                         total_pages=math.ceil(pages), total_items=total, items=chunk)
        if self.on_fetch is not None:
            self.on_fetch(kind, year.year, page)
        return result

    def _by_cursor(self, kind: ListKind, year: YearDir, page: int, cursor: str | None,
                   data: list[Any]) -> RawPage:
        """A keyset cursor: the items after the one whose id the cursor names."""
        self.cursors.append(cursor)
        if page > 1 and cursor is None:
            raise AssertionError(f"page {page} asked without a cursor")
        key = "id_persuratan" if kind is ListKind.SURAT else "id_disposisi"
        ids = [item.get(key) for item in data]
        start = 0 if cursor is None else next(
            (n + 1 for n, item_id in enumerate(ids) if item_id == cursor), len(data))
        chunk = list(data[start:start + self.per_page])
        more = start + self.per_page < len(data)
        next_cursor = (self.stuck_cursor or str(chunk[-1][key])) if more and chunk else None
        result = RawPage(page=0, total_pages=None, total_items=len(data), items=chunk,
                         more=more and bool(chunk), next_cursor=next_cursor)
        if self.on_fetch is not None:
            self.on_fetch(kind, year.year, page)
        return result

    def post_note(self, year: YearDir, surat_id: str, body: Mapping[str, Any]) -> str:
        """Record a note; its id."""
        self.requests += 1
        self.posted.append(dict(body))
        return str(len(self.posted))

    def find_note(self, year: YearDir, surat_id: str, ref: str) -> str | None:
        """The id of a posted note or draft with ``ref``."""
        self.requests += 1
        ids = [str(n) for n, body in enumerate(self.posted, 1) if body.get("ref") == ref]
        return ids[0] if ids else None

    def post_letter(self, year: YearDir, body: Mapping[str, Any]) -> str:
        """Record a draft, waiting for its signer; its id."""
        remote = self.post_note(year, "", body)
        self.drafts.setdefault(str(body.get("ref")), DraftStatus(remote, _WAITING))
        return remote

    def find_letter(self, year: YearDir, ref: str) -> str | None:
        """As find_note."""
        return self.find_note(year, "", ref)

    def draft_status(self, year: YearDir, ref: str) -> DraftStatus | None:
        """The draft carrying ``ref`` (None: the server has none)."""
        self.requests += 1
        self.looked_up.append(ref)
        answer = self.drafts.get(ref)
        if isinstance(answer, ApiError):
            raise answer
        return answer

    @property
    def request_count(self) -> int:
        """Requests so far."""
        return self.requests

    def close(self) -> None:
        """Nothing to release."""


# -- the ledger's ports, in memory -----------------------------------------------------------


@dataclass
class FakeCaseStore:
    """CaseStore in memory: letters' inputs in, each batch of derivations saved as one."""

    inputs: dict[tuple[int, str], CaseInputs] = field(default_factory=dict)
    dirty: list[tuple[int, str]] = field(default_factory=list)
    saved: list[list[CaseWrite]] = field(default_factory=list)  # each save_cases call
    breaches: set[tuple[str, int, datetime]] = field(default_factory=set)
    outbox: FakeOutbox | None = None  # where saved intents go (None: kept in ``saved`` only)

    def put(self, inputs: CaseInputs) -> None:
        """A letter's inputs changed (as storing a page does): its case is dirty."""
        self.inputs[inputs.key] = inputs
        self.mark_cases_dirty([inputs.key])

    def case(self, year: int, surat_id: str) -> Case | None:
        """The case as last saved."""
        return self.inputs.get((year, surat_id), CaseInputs(year, surat_id)).case

    def dirty_cases(self, limit: int = 500) -> list[tuple[int, str]]:
        return self.dirty[:limit]

    def mark_cases_dirty(self, keys: Iterable[tuple[int, str]]) -> None:
        self.dirty.extend(k for k in keys if k not in self.dirty)

    def case_inputs(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CaseInputs]:
        return {k: self.inputs.get(k, CaseInputs(*k)) for k in keys}

    def save_cases(self, writes: Sequence[CaseWrite]) -> list[OutboxEntry]:
        self.saved.append(list(writes))
        for w in writes:
            old = self.inputs.get((w.year, w.surat_id), CaseInputs(w.year, w.surat_id))
            self.inputs[old.key] = replace(old, case=w.case, queued=w.review is not None)
            self.dirty = [k for k in self.dirty if k != old.key]
            if self.outbox is not None:
                self.outbox.enqueue(list(w.intents))
        return []

    def cases_past_deadline(self, now: datetime) -> list[tuple[int, str]]:
        return [k for k, i in self.inputs.items() if i.case is not None and not i.case.overdue
                and i.case.next_deadline is not None and i.case.next_deadline < now]

    def unlogged_breaches(self) -> list[Case]:
        return [i.case for i in self.inputs.values() if i.case is not None and i.case.overdue
                and not any(b[0] == i.case.case_id for b in self.breaches)]

    def record_breaches(self, breaches: Sequence[tuple[str, int, datetime]]) -> list[bool]:
        first = []
        for breach in breaches:
            first.append(breach not in self.breaches)
            self.breaches.add(breach)
        return first


@dataclass
class FakeOutbox:
    """Outbox and DraftWatch in memory; ``cases`` (if given) learns of each draft sent."""

    entries: dict[int, OutboxEntry] = field(default_factory=dict)
    drafts: dict[str, tuple[int, str, Invitation]] = field(default_factory=dict)
    cases: FakeCaseStore | None = None

    def enqueue(self, intents: list[OutboxIntent]) -> int:
        known = {e.intent.ref for e in self.entries.values()}
        fresh = [i for i in intents if i.ref not in known]
        for intent in fresh:
            entry_id = len(self.entries) + 1
            self.entries[entry_id] = OutboxEntry(entry_id, intent, OutboxState.PENDING, 0, None,
                                                 None, BASE, BASE, None)
        return len(fresh)

    def outbox_due(self, limit: int = 500) -> list[OutboxEntry]:
        due = (OutboxState.PENDING, OutboxState.IN_DOUBT)
        return [e for e in self.entries.values() if e.state in due][:limit]

    def _move(self, entry_id: int, **changes: Any) -> None:
        self.entries[entry_id] = replace(self.entries[entry_id], **changes)

    def mark_sending(self, entry_id: int) -> bool:
        entry = self.entries[entry_id]
        if entry.state not in (OutboxState.PENDING, OutboxState.IN_DOUBT):
            return False
        self._move(entry_id, state=OutboxState.IN_DOUBT, attempts=entry.attempts + 1)
        return True

    def mark_sent(self, entry_id: int, remote_id: str, *,
                  draft: tuple[int, str, Invitation] | None = None) -> None:
        self._move(entry_id, state=OutboxState.SENT, remote_id=remote_id, sent_at=BASE)
        if draft is not None and draft[2].ref not in self.drafts:
            self.drafts[draft[2].ref] = draft
            if self.cases is not None:
                key = (draft[0], draft[1])
                inputs = self.cases.inputs.get(key, CaseInputs(*key))
                self.cases.put(replace(inputs, invitation=draft[2]))

    def mark_in_doubt(self, entry_id: int, error: str) -> None:
        self._move(entry_id, state=OutboxState.IN_DOUBT, last_error=error)

    def mark_failed(self, entry_id: int, error: str) -> None:
        self._move(entry_id, state=OutboxState.FAILED, last_error=error)

    def waiting_invitations(self, limit: int = 1000) -> list[tuple[int, str, Invitation]]:
        return [d for d in self.drafts.values() if d[2].status is _WAITING][:limit]

    def settle_invitation(self, ref: str, answer: DraftStatus) -> bool:
        return False  # the fakes' signers never answer


@dataclass
class FakeLeases:
    """Leases in memory: one holder per name."""

    held: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def acquire_lease(self, name: str, holder: str, ttl: timedelta,
                      *, take_over: frozenset[str] = frozenset()) -> bool:
        current = self.held.get(name)
        if current is not None and current[0] != holder and current[0] not in take_over:
            return False
        self.held[name] = (holder, BASE + ttl)
        return True

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        return self.held.get(name)

    def release_lease(self, name: str, holder: str) -> None:
        if self.held.get(name, ("",))[0] == holder:
            del self.held[name]
