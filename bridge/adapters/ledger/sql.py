"""The ledger over a DB-API connection; the SQL is shared by the SQLite and PostgreSQL stores.

Statements are written with ``?`` placeholders; a store whose driver wants ``%s`` converts
them once. Every write method is one transaction, so a crash leaves no half-written page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from bridge.adapters.ledger.base import from_iso, iso
from bridge.adapters.ledger.cases import CaseStore
from bridge.adapters.ledger.schema import CURRENT_VERSION, MIGRATIONS
from bridge.domain.items import ListKind
from bridge.domain.records import (
    Cursor,
    ItemRecord,
    PageBatch,
    PassMode,
    PassSummary,
    QuarantineRecord,
    StoreResult,
)
from bridge.errors import LedgerError
from bridge.ports import QuarantineEntry, StoredItem

_IN_CHUNK = 400  # stays under SQLite's bound-variable limit with room for the fixed ones
_MAX_VARIABLES = 999  # SQLite's bound-variable limit before 3.32 (32,766 since)


class SqlLedger(CaseStore):
    """The Ledger port on SQL: items, cursors, passes and quarantine."""

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations this ledger has not seen yet; return the schema version."""
        with self._transaction() as cur:
            self._lock_for_migration(cur)
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM schema_version")
            row = cur.fetchone()
            version = int(row[0]) if row else 0
            if version > CURRENT_VERSION:
                raise LedgerError(
                    f"the ledger's schema is version {version}, newer than this bridge's "
                    f"{CURRENT_VERSION}: run a newer bridge or restore a matching backup"
                )
            for number in range(version, CURRENT_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    cur.execute(self._ddl(statement))
            if row is None:
                cur.execute(self._sql("INSERT INTO schema_version (version) VALUES (?)"),
                            (CURRENT_VERSION,))
            else:
                cur.execute(self._sql("UPDATE schema_version SET version = ?"), (CURRENT_VERSION,))
        return CURRENT_VERSION

    # -- pages ----------------------------------------------------------------------------

    def store_page(self, batch: PageBatch, *, pass_id: str, seen_at: datetime) -> StoreResult:
        """Store one page in one transaction; storing the same page again changes nothing."""
        result = self._store_page(batch, pass_id=pass_id, seen_at=seen_at)
        self._grown(result.new)
        return result

    def _store_page(self, batch: PageBatch, *, pass_id: str, seen_at: datetime) -> StoreResult:
        seen = iso(seen_at)
        records = _unique(batch.items)
        with self._transaction() as cur:
            self._may_lose_on_crash(cur)
            known = self._known_hashes(cur, batch.kind, batch.year, list(records))
            new, changed, unchanged = [], [], []
            moved: list[tuple[int, str]] = []
            for source_id, record in records.items():
                previous = known.get(source_id)
                if previous is None:
                    new.append(record)
                elif previous[0] != record.content_hash:
                    changed.append((record, previous[1] + 1))
                    if previous[2] is not None and previous[2] != record.parent_id:
                        moved.append((record.year, previous[2]))  # the old letter loses it
                else:
                    unchanged.append(source_id)
            self._insert_items(cur, new, seen, pass_id)
            self._update_changed(cur, changed, seen, pass_id)
            self._mark_dirty(cur, [*new, *(r for r, _ in changed)], seen, also=moved)
            self._touch(cur, batch.kind, batch.year, unchanged, seen, pass_id)
            self._release_quarantine(cur, batch.kind, batch.year, list(records))
            for bad in batch.quarantined:
                self._quarantine(cur, bad, seen)
            if not batch.live:
                return StoreResult(len(new), len(changed), len(unchanged), len(batch.quarantined))
            cur.execute(
                self._sql(
                    "INSERT INTO cursors (kind, year, last_page, pass_id) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (kind, year) DO UPDATE SET last_page = excluded.last_page, "
                    "pass_id = excluded.pass_id"
                ),
                (batch.kind.value, batch.year, batch.page, pass_id),
            )
        return StoreResult(len(new), len(changed), len(unchanged), len(batch.quarantined))

    def _known_hashes(self, cur: Any, kind: ListKind, year: int,
                      ids: list[str]) -> dict[str, tuple[str, int, str | None]]:
        known: dict[str, tuple[str, int, str | None]] = {}
        for chunk in _chunks(ids, _IN_CHUNK):
            among, values = self._in("source_id", chunk)
            query = (f"SELECT source_id, content_hash, version, parent_id FROM items "  # noqa: S608 - only ? marks
                     f"WHERE kind = ? AND year = ? AND {among}")
            cur.execute(self._sql(query), (kind.value, year, *values))
            for source_id, content_hash, version, parent_id in cur.fetchall():
                known[source_id] = (content_hash, int(version), parent_id)
        return known

    def _insert_items(self, cur: Any, records: list[ItemRecord], seen: str | None,
                      pass_id: str) -> None:
        self._insert_rows(
            cur,
            "INSERT INTO items (kind, year, source_id, parent_id, item_time, content_hash, "
            "payload, fields, version, first_seen, last_seen, changed_at, last_pass) VALUES ",
            "(?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)", "",
            [(r.kind.value, r.year, r.source_id, r.parent_id, r.item_time.isoformat(),
              r.content_hash, r.payload, r.fields, seen, seen, seen, pass_id)
             for r in records],
        )

    def _insert_rows(self, cur: Any, head: str, row: str, tail: str,
                     rows: list[tuple[Any, ...]]) -> None:
        """``head`` + one ``row`` of ``?`` marks per row + ``tail``: one statement a chunk.

        A page's rows go in one multi-row INSERT rather than ``executemany``: SQLite's driver
        steps (and lets the GIL go) once per row of an ``executemany``, once per statement
        here. Storing a first sync's 600 pages of 100 items alone (SQLite, callgrind): 5.08 ->
        4.52 billion instructions. Chunks keep to 999 bound values, SQLite's limit before 3.32.
        """
        if not rows:
            return
        per_chunk = max(1, _MAX_VARIABLES // len(rows[0]))
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start:start + per_chunk]
            cur.execute(self._sql(head + ", ".join([row] * len(chunk)) + tail),
                        [value for values in chunk for value in values])

    def _update_changed(self, cur: Any, changed: list[tuple[ItemRecord, int]],
                        seen: str | None, pass_id: str) -> None:
        if not changed:
            return
        cur.executemany(
            self._sql(
                "UPDATE items SET parent_id = ?, item_time = ?, content_hash = ?, payload = ?, "
                "fields = ?, "
                "version = ?, last_seen = ?, changed_at = ?, last_pass = ?, missing_since = NULL "
                "WHERE kind = ? AND year = ? AND source_id = ?"
            ),
            [
                (r.parent_id, r.item_time.isoformat(), r.content_hash, r.payload, r.fields,
                 version, seen,
                 seen, pass_id, r.kind.value, r.year, r.source_id)
                for r, version in changed
            ],
        )
        cur.executemany(
            self._sql(
                "INSERT INTO item_changes (kind, year, source_id, version, content_hash, "
                "changed_at, pass_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ),
            [(r.kind.value, r.year, r.source_id, version, r.content_hash, seen, pass_id)
             for r, version in changed],
        )

    def _mark_dirty(self, cur: Any, records: list[ItemRecord], seen: str | None, *,
                    also: list[tuple[int, str]]) -> None:
        # In the page's transaction: a case whose items changed is derived again, even
        # after a crash between this page and the derivation.
        keys = {(r.year, r.parent_id if r.kind is ListKind.DISPOSISI else r.source_id)
                for r in records} | set(also)
        if not keys:
            return
        self._insert_rows(
            cur, "INSERT INTO dirty_cases (year, surat_id, marked_at) VALUES ", "(?, ?, ?)",
            " ON CONFLICT (year, surat_id) DO NOTHING",
            [(year, surat_id, seen) for year, surat_id in keys if surat_id is not None],
        )

    def _touch(self, cur: Any, kind: ListKind, year: int, ids: list[str], seen: str | None,
               pass_id: str) -> None:
        if not ids:
            return
        cur.executemany(
            self._sql(
                "UPDATE items SET last_seen = ?, last_pass = ?, missing_since = NULL "
                "WHERE kind = ? AND year = ? AND source_id = ?"
            ),
            [(seen, pass_id, kind.value, year, source_id) for source_id in ids],
        )

    def _release_quarantine(self, cur: Any, kind: ListKind, year: int, ids: list[str]) -> None:
        # An item that now parses leaves quarantine: its valid version is in items.
        for chunk in _chunks(ids, _IN_CHUNK):
            among, values = self._in("qkey", chunk)
            cur.execute(
                self._sql(f"DELETE FROM quarantine WHERE kind = ? AND year = ? AND {among}"),  # noqa: S608
                (kind.value, year, *values),
            )

    def _quarantine(self, cur: Any, record: QuarantineRecord, seen: str | None) -> None:
        qkey = record.source_id or f"payload:{_digest(record.payload)}"
        cur.execute(
            self._sql(
                "INSERT INTO quarantine (kind, year, qkey, source_id, reason, payload, "
                "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, year, qkey) DO UPDATE SET reason = excluded.reason, "
                "payload = excluded.payload, last_seen = excluded.last_seen, "
                "attempts = quarantine.attempts + 1"
            ),
            (record.kind.value, record.year, qkey, record.source_id, record.reason,
             record.payload, seen, seen),
        )

    # -- cursors and passes -------------------------------------------------------------------

    def cursor(self, kind: ListKind, year: int) -> Cursor:
        """Where a list of a year directory stands."""
        rows = self._query(
            self._sql(
                "SELECT kind, year, watermark, last_page, pass_id, last_complete_pass_at, "
                "last_full_pass_at FROM cursors WHERE kind = ? AND year = ?"
            ),
            (kind.value, year),
        )
        return _cursor(rows[0]) if rows else Cursor(kind, year)

    def cursors(self) -> list[Cursor]:
        """Every list's cursor, by year then list."""
        rows = self._query(
            "SELECT kind, year, watermark, last_page, pass_id, last_complete_pass_at, "
            "last_full_pass_at FROM cursors ORDER BY year, kind"
        )
        return [_cursor(row) for row in rows]

    def complete_pass(self, summary: PassSummary) -> None:
        """Record a pass; only a complete pass moves the watermark and the pass times."""
        result = summary.result
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO passes (pass_id, kind, year, mode, started_at, finished_at, pages, "
                    "requests, new, changed, unchanged, quarantined, missing, complete, watermark, "
                    "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (pass_id, kind, year) DO NOTHING"
                ),
                (summary.pass_id, summary.kind.value, summary.year, summary.mode.value,
                 iso(summary.started_at), iso(summary.finished_at), summary.pages,
                 summary.requests, result.new, result.changed, result.unchanged,
                 result.quarantined, summary.missing, int(summary.complete),
                 iso(summary.watermark), summary.error),
            )
            if not summary.complete or summary.mode is PassMode.RESYNC:
                return
            full = iso(summary.finished_at) if summary.mode is PassMode.FULL else None
            cur.execute(
                self._sql(
                    "INSERT INTO cursors (kind, year, watermark, last_complete_pass_at, "
                    "last_full_pass_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (kind, year) DO UPDATE SET "
                    "watermark = COALESCE(excluded.watermark, cursors.watermark), "
                    "last_complete_pass_at = excluded.last_complete_pass_at, "
                    "last_full_pass_at = COALESCE(excluded.last_full_pass_at, "
                    "cursors.last_full_pass_at)"
                ),
                (summary.kind.value, summary.year, iso(summary.watermark),
                 iso(summary.finished_at), full),
            )

    def mark_missing(self, kind: ListKind, year: int, *, pass_id: str, at: datetime) -> int:
        """Flag the items a complete full pass did not see (removed on the server).

        Their cases are marked for derivation again in the same transaction: a removed
        disposition may withdraw a step.
        """
        unseen = ("kind = ? AND year = ? AND (last_pass IS NULL OR last_pass <> ?) "
                  "AND missing_since IS NULL")
        with self._transaction() as cur:
            cur.execute(
                self._sql(f"SELECT source_id, parent_id FROM items WHERE {unseen}"),  # noqa: S608
                (kind.value, year, pass_id),
            )
            keys = {parent if kind is ListKind.DISPOSISI else source
                    for source, parent in cur.fetchall()}
            cur.execute(
                self._sql(f"UPDATE items SET missing_since = ? WHERE {unseen}"),  # noqa: S608
                (iso(at), kind.value, year, pass_id),
            )
            count = int(cur.rowcount or 0)
            cur.executemany(
                self._sql("INSERT INTO dirty_cases (year, surat_id, marked_at) VALUES (?, ?, ?) "
                          "ON CONFLICT (year, surat_id) DO NOTHING"),
                [(year, key, iso(at)) for key in keys if key is not None],
            )
            return count

    def last_passes(self, limit: int = 10) -> list[PassSummary]:
        """The most recent passes, newest first."""
        rows = self._query(
            self._sql(
                "SELECT pass_id, kind, year, mode, started_at, finished_at, pages, requests, new, "
                "changed, unchanged, quarantined, missing, complete, watermark, error "
                "FROM passes ORDER BY finished_at DESC LIMIT ?"
            ),
            (limit,),
        )
        return [_pass(row) for row in rows]

    # -- reads ------------------------------------------------------------------------------

    def item_counts(self) -> Mapping[ListKind, int]:
        """Items per list over every year directory (removed ones included)."""
        counts = dict.fromkeys(ListKind, 0)
        for kind, count in self._query("SELECT kind, COUNT(*) FROM items GROUP BY kind"):
            counts[ListKind(kind)] = int(count)
        return counts

    def get_item(self, kind: ListKind, year: int, source_id: str) -> StoredItem | None:
        """One stored item."""
        rows = self._query(
            self._sql(
                "SELECT kind, year, source_id, parent_id, item_time, content_hash, payload, "
                "version, first_seen, last_seen, missing_since FROM items "
                "WHERE kind = ? AND year = ? AND source_id = ?"
            ),
            (kind.value, year, source_id),
        )
        return _item(rows[0]) if rows else None

    def iter_items(self, kind: ListKind, year: int | None = None) -> Iterator[StoredItem]:
        """Every stored item of a list (of one year directory, if given)."""
        sql = ("SELECT kind, year, source_id, parent_id, item_time, content_hash, payload, "
               "version, first_seen, last_seen, missing_since FROM items WHERE kind = ?")
        params: list[Any] = [kind.value]
        if year is not None:
            sql += " AND year = ?"
            params.append(year)
        for row in self._query(self._sql(sql + " ORDER BY year, item_time"), params):
            yield _item(row)

    def release_quarantined(self, entry_id: int) -> None:
        """Drop one quarantine entry (its item was stored after a replay)."""
        with self._transaction() as cur:
            cur.execute(self._sql("DELETE FROM quarantine WHERE id = ?"), (entry_id,))

    def quarantine_count(self) -> int:
        """How many items are in quarantine."""
        return int(self._query("SELECT COUNT(*) FROM quarantine")[0][0])

    def quarantined(self) -> list[QuarantineEntry]:
        """Every quarantined item, oldest first."""
        rows = self._query(
            "SELECT id, kind, year, source_id, reason, payload, first_seen, last_seen, attempts "
            "FROM quarantine ORDER BY id"
        )
        return [
            QuarantineEntry(
                id=int(row[0]),
                record=QuarantineRecord(ListKind(row[1]), int(row[2]), row[4], row[5],
                                        source_id=row[3]),
                first_seen=_required(row[6]),
                last_seen=_required(row[7]),
                attempts=int(row[8]),
            )
            for row in rows
        ]


def _statements(script: str) -> Iterable[str]:
    return (part.strip() for part in script.split(";") if part.strip())


def _unique(records: Iterable[ItemRecord]) -> dict[str, ItemRecord]:
    # The same id twice on one page: the first (newest) copy wins, as the server lists it.
    unique: dict[str, ItemRecord] = {}
    for record in records:
        unique.setdefault(record.source_id, record)
    return unique


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _digest(text: str) -> str:
    import hashlib  # noqa: PLC0415 - only quarantine needs it

    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _required(text: str | None) -> datetime:
    moment = from_iso(text)
    if moment is None:  # pragma: no cover - the schema says NOT NULL
        raise LedgerError("a required time is empty in the ledger")
    return moment


def _cursor(row: tuple[Any, ...]) -> Cursor:
    return Cursor(
        kind=ListKind(row[0]),
        year=int(row[1]),
        watermark=from_iso(row[2]),
        last_page=int(row[3] or 0),
        pass_id=row[4],
        last_complete_pass_at=from_iso(row[5]),
        last_full_pass_at=from_iso(row[6]),
    )


def _item(row: tuple[Any, ...]) -> StoredItem:
    return StoredItem(
        kind=ListKind(row[0]),
        year=int(row[1]),
        source_id=row[2],
        parent_id=row[3],
        item_time=_required(row[4]),
        content_hash=row[5],
        payload=row[6],
        version=int(row[7]),
        first_seen=_required(row[8]),
        last_seen=_required(row[9]),
        missing_since=from_iso(row[10]),
    )


def _pass(row: tuple[Any, ...]) -> PassSummary:
    return PassSummary(
        pass_id=row[0],
        kind=ListKind(row[1]),
        year=int(row[2]),
        mode=PassMode(row[3]),
        started_at=_required(row[4]),
        finished_at=_required(row[5]),
        pages=int(row[6]),
        requests=int(row[7]),
        result=StoreResult(int(row[8]), int(row[9]), int(row[10]), int(row[11])),
        missing=int(row[12]),
        complete=bool(row[13]),
        watermark=from_iso(row[14]),
        error=row[15],
    )
