"""Cases, their history and the SLA breaches already logged, on SQL.

A case is stored as its JSON document (``case_json``) beside the columns it is queried by;
the case tracker gets and gives ``Case`` objects, the commands' read side decoded documents.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bridge.adapters.ledger.base import from_iso, iso, now_utc
from bridge.adapters.ledger.outbox import OutboxStore
from bridge.adapters.ledger.reviews import ReviewStore
from bridge.domain.records import CaseInputs, CaseRow, CaseWrite, HistoryRow
from bridge.domain.review import ReviewEntry

if TYPE_CHECKING:
    from bridge.domain.cases import Case
    from bridge.domain.items import Disposition, Letter
    from bridge.domain.outbox import OutboxEntry


def _documents() -> ModuleType:
    """The case and item documents' codec, imported when first needed.

    The commands that only count and list cases start 60 ms sooner without it.
    """
    from bridge.adapters.ledger import case_json  # noqa: PLC0415 - see above

    return case_json

_IN_CHUNK = 400
_BREACH_CHUNK = 200  # four values a row: stays under SQLite's bound-variable limit


class CaseStore(OutboxStore, ReviewStore):
    """Dirty marks, cases, their history and breaches; a case saved with the pushes it needs."""

    def dirty_cases(self, limit: int = 500) -> list[tuple[int, str]]:
        """Letters whose items changed since their case was last derived."""
        rows = self._query(self._sql("SELECT year, surat_id FROM dirty_cases "
                                     "ORDER BY marked_at, year, surat_id LIMIT ?"), (limit,))
        return [(int(year), str(surat_id)) for year, surat_id in rows]

    def mark_cases_dirty(self, keys: Iterable[tuple[int, str]]) -> None:
        """Ask for these cases to be derived again (resync, mapping change)."""
        now = iso(now_utc())
        with self._transaction() as cur:
            cur.executemany(
                self._sql("INSERT INTO dirty_cases (year, surat_id, marked_at) VALUES (?, ?, ?) "
                          "ON CONFLICT (year, surat_id) DO NOTHING"),
                [(year, surat_id, now) for year, surat_id in keys],
            )

    def case_inputs(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CaseInputs]:
        """What each letter's case is derived from, by (year, letter id).

        Its items (those the server still lists), its case as stored, the latest decision on
        it, its review mark and its newest draft.
        """
        by_year: dict[int, list[str]] = defaultdict(list)
        for year, surat_id in keys:
            by_year[year].append(surat_id)
        decisions = self._decisions_for(keys)
        queued = self._queued_for(keys)
        found: dict[tuple[int, str], CaseInputs] = {}
        for year, ids in by_year.items():
            letters, dispositions = self._items_of(year, ids)
            cases = self._stored_cases(year, ids)
            invitations = self._case_invitations(year, ids)
            for surat_id in ids:
                key = (year, surat_id)
                found[key] = CaseInputs(
                    year, surat_id, letters.get(surat_id),
                    tuple(dispositions.get(surat_id, ())), cases.get(surat_id),
                    decisions.get(key), key in queued, invitations.get(surat_id))
        return found

    def _items_of(self, year: int, surat_ids: Sequence[str]
                  ) -> tuple[dict[str, Letter], dict[str, list[Disposition]]]:
        """Some letters of a year directory and their dispositions, by letter id.

        Built from the canonical fields stored with each; items removed on the server are left
        out.
        """
        documents = _documents()
        letters: dict[str, Letter] = {}
        dispositions: dict[str, list[Disposition]] = {}
        for start in range(0, len(surat_ids), _IN_CHUNK):
            chunk = list(surat_ids[start:start + _IN_CHUNK])
            among, values = self._in("source_id", chunk)
            for source_id, fields in self._query(self._sql(
                    "SELECT source_id, fields FROM items WHERE kind = 'surat' AND year = ? "  # noqa: S608
                    f"AND {among} AND missing_since IS NULL"), (year, *values)):
                letters[source_id] = documents.letter_from_fields(fields)
            among, values = self._in("parent_id", chunk)
            for parent_id, fields in self._query(self._sql(
                    "SELECT parent_id, fields FROM items WHERE kind = 'disposisi' AND year = ? "  # noqa: S608
                    f"AND {among} AND missing_since IS NULL"), (year, *values)):
                dispositions.setdefault(parent_id, []).append(
                    documents.disposition_from_fields(fields))
        return letters, dispositions

    def _stored_cases(self, year: int, surat_ids: Sequence[str]) -> dict[str, Case]:
        read = _documents().case_from_text
        found: dict[str, Case] = {}
        for start in range(0, len(surat_ids), _IN_CHUNK):
            among, values = self._in("surat_id", list(surat_ids[start:start + _IN_CHUNK]))
            for surat_id, data in self._query(self._sql(
                    f"SELECT surat_id, data FROM cases WHERE year = ? AND {among}"),  # noqa: S608
                    (year, *values)):
                found[surat_id] = read(data)
        return found

    def save_cases(self, writes: Sequence[CaseWrite]) -> list[OutboxEntry]:
        """Store a batch of derivations in one transaction; return the pushes held back.

        Each case is written with the pushes it needs, so no crash leaves a case without
        them; one statement per kind of change for the whole batch.
        """
        gone = [(f"{w.year}-{w.surat_id}",) for w in writes if w.case is None]
        text = _documents().case_text
        kept = [_case_params(w.case, w.at, text(w.case)) for w in writes if w.case is not None]
        history = [(f"{w.year}-{w.surat_id}", iso(h.at), h.kind, h.description, h.source)
                   for w in writes for h in w.history]
        queued = [_queue_params(w.review) for w in writes if w.review is not None]
        unqueued = [(w.year, w.surat_id) for w in writes if w.unqueue]
        held: list[OutboxEntry] = []
        with self._transaction() as cur:
            self._may_lose_on_crash(cur)
            if gone:
                cur.executemany(self._sql("DELETE FROM cases WHERE case_id = ?"), gone)
            if kept:
                cur.executemany(self._sql(_UPSERT_CASE), kept)
            if history:
                cur.executemany(
                    self._sql("INSERT INTO case_history (case_id, at, kind, description, source) "
                              "VALUES (?, ?, ?, ?, ?)"), history)
            if queued:
                cur.executemany(self._sql(UPSERT_QUEUE), queued)
            if unqueued:
                cur.executemany(
                    self._sql("DELETE FROM review_queue WHERE year = ? AND surat_id = ?"), unqueued)
            self._insert_intents(cur, [i for w in writes for i in w.intents])
            for write in writes:
                case_id = f"{write.year}-{write.surat_id}"
                if write.hold:
                    held.extend(self._cancel(cur, case_id, iso(write.at)))
                if write.revive:
                    self._revive(cur, case_id, iso(write.at))
            if writes:
                cur.executemany(
                    self._sql("DELETE FROM dirty_cases WHERE year = ? AND surat_id = ?"),
                    [(w.year, w.surat_id) for w in writes])
        return held

    def get_case(self, case_id: str) -> CaseRow | None:
        """One case."""
        rows = self._query(self._sql(
            "SELECT case_id, year, surat_id, step, overdue, next_deadline, data, updated_at "
            "FROM cases WHERE case_id = ?"), (case_id,))
        return _case(rows[0]) if rows else None

    def cases_past_deadline(self, now: datetime) -> list[tuple[int, str]]:
        """Cases not yet overdue whose next deadline has passed (their state must change)."""
        rows = self._query(self._sql("SELECT year, surat_id FROM cases WHERE overdue = 0 "
                                     "AND next_deadline IS NOT NULL AND next_deadline < ?"),
                           (_utc(now),))
        return [(int(year), str(surat_id)) for year, surat_id in rows]

    def unlogged_breaches(self) -> list[Case]:
        """Overdue cases whose next deadline has no breach recorded.

        A crash came between storing the case and recording it; only those cases' documents
        are decoded, so a process's first round does not read every overdue case.
        """
        # One statement; the deadlines are compared as moments, since the two tables write
        # them with different offsets (cases in UTC, breaches in the case's zone). With 11,000
        # overdue cases this takes 12 ms, where reading and comparing them in Python took 61 ms.
        rows = self._query(
            "SELECT c.data FROM cases c WHERE c.overdue = 1 AND c.next_deadline IS NOT NULL "  # noqa: S608
            "AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.case_id = c.case_id AND "
            f"{self._instant('b.deadline')} = {self._instant('c.next_deadline')}) "
            "ORDER BY c.case_id")
        read = _documents().case_from_text
        return [read(data) for (data,) in rows]

    def list_cases(self, *, step: int | None = None, overdue: bool | None = None,
                   limit: int | None = None, offset: int = 0,
                   containing: Sequence[str] = ()) -> list[CaseRow]:
        """Cases, newest letters first, filtered; ``limit`` of them from ``offset``.

        The filters: step, overdue state, and words (case-folded) the stored document holds.

        Only the documents that hold every word are decoded: looking for a word in the text
        first keeps a search over 50,000 cases near a second.
        """
        clause, params = _case_filter(step, overdue)
        order = "ORDER BY year DESC, updated_at DESC, case_id"
        if limit is not None:
            # The page's ids are sorted without their documents: sorting whole rows carries
            # every document through the sort (50,000 cases: 315 ms, this way 115 ms).
            clause = (f"WHERE case_id IN (SELECT case_id FROM cases {clause} {order} "  # noqa: S608
                      "LIMIT ? OFFSET ?)")
            params += [limit, offset]
        rows = self._query(self._sql(
            "SELECT case_id, year, surat_id, step, overdue, next_deadline, data, updated_at "  # noqa: S608
            f"FROM cases {clause} {order}"), params)
        return [_case(row) for row in rows
                if all(word in row[6].casefold() for word in containing)]

    def count_cases(self, *, step: int | None = None,
                    overdue: bool | None = None) -> tuple[int, int]:
        """How many cases pass the filters, and how many of those are overdue."""
        clause, params = _case_filter(step, overdue)
        rows = self._query(self._sql(
            f"SELECT COUNT(*), COALESCE(SUM(overdue), 0) FROM cases {clause}"), params)  # noqa: S608
        return int(rows[0][0]), int(rows[0][1])

    def case_history(self, case_id: str) -> list[HistoryRow]:
        """A case's changes, oldest first."""
        rows = self._query(self._sql("SELECT at, kind, description, source FROM case_history "
                                     "WHERE case_id = ? ORDER BY id"), (case_id,))
        return [HistoryRow(_when(at), kind, description, source)
                for at, kind, description, source in rows]

    def cases_per_step(self) -> dict[int, int]:
        """How many cases stand at each step."""
        return {int(step): int(count) for step, count in
                self._query("SELECT step, COUNT(*) FROM cases GROUP BY step")}

    def record_breaches(self, breaches: Sequence[tuple[str, int, datetime]]) -> list[bool]:
        """Remember several SLA breaches in one transaction; for each, whether it is new.

        True only for a breach recorded now for the first time (a breach given twice is
        True once, for its first occurrence).
        """
        keys = [(case_id, step, iso(deadline)) for case_id, step, deadline in breaches]
        if not keys:
            return []
        inserted: set[tuple[str, int, str]] = set()
        logged = iso(now_utc())
        with self._transaction() as cur:
            for start in range(0, len(keys), _BREACH_CHUNK):
                chunk = keys[start:start + _BREACH_CHUNK]
                # RETURNING names exactly the rows this statement inserted (SQLite >= 3.35).
                cur.execute(
                    self._sql(
                        "INSERT INTO sla_breaches (case_id, step, deadline, logged_at) VALUES "  # noqa: S608
                        + ",".join(["(?, ?, ?, ?)"] * len(chunk))
                        + " ON CONFLICT (case_id, step, deadline) DO NOTHING "
                        "RETURNING case_id, step, deadline"
                    ),
                    [value for key in chunk for value in (*key, logged)],
                )
                inserted.update((case_id, int(step), deadline)
                                for case_id, step, deadline in cur.fetchall())
        first: list[bool] = []
        for key in keys:
            first.append(key in inserted)
            inserted.discard(key)  # a second copy of the same breach is not new
        return first


_UPSERT_CASE = (
    "INSERT INTO cases (case_id, year, surat_id, step, overdue, next_deadline, data, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (case_id) DO UPDATE SET step = excluded.step, "
    "overdue = excluded.overdue, next_deadline = excluded.next_deadline, "
    "data = excluded.data, updated_at = excluded.updated_at"
)


def _case_filter(step: int | None, overdue: bool | None) -> tuple[str, list[Any]]:
    where, params = [], []
    if step is not None:
        where.append("step = ?")
        params.append(step)
    if overdue is not None:
        where.append("overdue = ?")
        params.append(int(overdue))
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


def _queue_params(entry: ReviewEntry) -> tuple[Any, ...]:
    return (entry.year, entry.surat_id, entry.perihal, entry.asal_surat, entry.score,
            entry.why, iso(entry.queued_at))


UPSERT_QUEUE = (
    "INSERT INTO review_queue (year, surat_id, perihal, asal_surat, score, why, queued_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (year, surat_id) DO UPDATE SET "
    "perihal = excluded.perihal, asal_surat = excluded.asal_surat, score = excluded.score, "
    "why = excluded.why"
)


def _case_params(case: Case, at: datetime, document: str) -> tuple[Any, ...]:
    return (case.case_id, case.year, case.surat_id, case.step, int(case.overdue),
            _utc(case.next_deadline), document, iso(at), iso(at))


def _when(text: str | None) -> datetime:
    moment = from_iso(text)
    assert moment is not None  # noqa: S101 - NOT NULL columns
    return moment


def _case(row: tuple[Any, ...]) -> CaseRow:
    return CaseRow(case_id=row[0], year=int(row[1]), surat_id=row[2], step=int(row[3]),
                   overdue=bool(row[4]), next_deadline=from_iso(row[5]),
                   document=json.loads(row[6]),
                   updated_at=_when(row[7]))


def _utc(moment: datetime | None) -> str | None:
    # Stored in UTC so that deadlines compare as text in SQL, whatever zone they came in.
    return moment.astimezone(UTC).isoformat() if moment is not None else None
