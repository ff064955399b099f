"""Small hand-written fakes of the ports, for unit tests of the services."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bridge.domain.invitations import DraftStatus, InvitationStatus
from bridge.domain.items import ListKind, YearDir
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
