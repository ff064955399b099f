"""Operators' decisions and the review queue, on SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bridge.adapters.ledger.base import SqlBase, from_iso, iso, now_utc
from bridge.adapters.ledger.outbox import COLUMNS, entry_of
from bridge.domain.outbox import OutboxEntry, OutboxState
from bridge.domain.review import Action, Decision, ReviewEntry

_IN_CHUNK = 400
# Not yet sent when a case is dismissed: these are cancelled. ``in_doubt`` may already have
# reached Sisumaker; it is cancelled too (never sent again) and reported as in doubt.
_CANCELLABLE = (OutboxState.PENDING, OutboxState.FAILED, OutboxState.IN_DOUBT)
_QUEUE_COLUMNS = "year, surat_id, perihal, asal_surat, score, why, queued_at"


class ReviewStore(SqlBase):
    """Decisions (append-only; the latest per letter wins) and the letters waiting for one."""

    def record_decision(self, decision: Decision) -> list[OutboxEntry]:
        """Store a decision with its history line, in one transaction; return pushes it cancelled.

        The letter leaves the review queue and is marked for derivation again. A dismissal
        cancels the case's pushes not yet sent; an opening revives pushes a dismissal had
        cancelled, in doubt (each is looked up on the server before it is sent).
        """
        at = iso(decision.at)
        key = (decision.year, decision.surat_id)
        with self._transaction() as cur:
            cur.execute(self._sql("INSERT INTO decisions (year, surat_id, action, decided_by, "
                                  "decided_at, reason) VALUES (?, ?, ?, ?, ?, ?)"),
                        (*key, decision.action.value, decision.by, at, decision.reason))
            cur.execute(self._sql("INSERT INTO case_history (case_id, at, kind, description, "
                                  "source) VALUES (?, ?, ?, ?, ?)"),
                        (decision.case_id, at, "decision", decision.describe(),
                         f"operator:{decision.by}"))
            cur.execute(self._sql("DELETE FROM review_queue WHERE year = ? AND surat_id = ?"), key)
            cur.execute(self._sql("INSERT INTO dirty_cases (year, surat_id, marked_at) "
                                  "VALUES (?, ?, ?) ON CONFLICT (year, surat_id) DO NOTHING"),
                        (*key, iso(now_utc())))
            if decision.action.opens:
                self._revive(cur, decision.case_id, at)
                return []
            return self._cancel(cur, decision.case_id, at)

    def _revive(self, cur: Any, case_id: str, at: str | None) -> int:
        # A push may have been cancelled while in doubt (its POST may have landed): each comes
        # back in doubt, so the pusher looks its ref up before it sends anything.
        cur.execute(self._sql("UPDATE outbox SET state = ?, updated_at = ? "
                              "WHERE case_id = ? AND state = ?"),
                    (OutboxState.IN_DOUBT.value, at, case_id, OutboxState.CANCELLED.value))
        return int(cur.rowcount or 0)

    def _cancel(self, cur: Any, case_id: str, at: str | None) -> list[OutboxEntry]:
        """Cancel the case's unsent pushes; return them with the state they were in."""
        marks = ", ".join("?" * len(_CANCELLABLE))
        where = f"WHERE case_id = ? AND state IN ({marks})"
        params = (case_id, *(s.value for s in _CANCELLABLE))
        cur.execute(self._sql(f"SELECT {COLUMNS} FROM outbox {where} ORDER BY id"), params)  # noqa: S608
        before = [entry_of(row) for row in cur.fetchall()]
        if before:
            cur.execute(self._sql(f"UPDATE outbox SET state = ?, updated_at = ? {where}"),  # noqa: S608
                        (OutboxState.CANCELLED.value, at, *params))
        return before

    def _decisions_for(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], Decision]:
        """The latest decision on each of these letters (letters without one are left out)."""
        by_year: dict[int, list[str]] = defaultdict(list)
        for year, surat_id in keys:
            by_year[year].append(surat_id)
        found: dict[tuple[int, str], Decision] = {}
        for year, ids in by_year.items():
            for start in range(0, len(ids), _IN_CHUNK):
                among, values = self._in("surat_id", ids[start:start + _IN_CHUNK])
                for row in self._query(self._sql(
                        "SELECT year, surat_id, action, decided_by, decided_at, reason "  # noqa: S608
                        f"FROM decisions WHERE year = ? AND {among} ORDER BY id"),
                        (year, *values)):
                    decision = _decision(row)
                    found[(decision.year, decision.surat_id)] = decision  # later rows win
        return found

    def decisions(self, year: int | None = None, surat_id: str | None = None) -> list[Decision]:
        """Every decision (on one letter, if given), oldest first."""
        if year is None or surat_id is None:
            rows = self._query("SELECT year, surat_id, action, decided_by, decided_at, reason "
                               "FROM decisions ORDER BY id")
        else:
            rows = self._query(self._sql(
                "SELECT year, surat_id, action, decided_by, decided_at, reason FROM decisions "
                "WHERE year = ? AND surat_id = ? ORDER BY id"), (year, surat_id))
        return [_decision(row) for row in rows]

    def _queued_for(self, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of these letters wait in the review queue."""
        by_year: dict[int, list[str]] = defaultdict(list)
        for year, surat_id in keys:
            by_year[year].append(surat_id)
        found: set[tuple[int, str]] = set()
        for year, ids in by_year.items():
            for start in range(0, len(ids), _IN_CHUNK):
                among, values = self._in("surat_id", ids[start:start + _IN_CHUNK])
                found.update((int(y), str(s)) for y, s in self._query(self._sql(
                    f"SELECT year, surat_id FROM review_queue WHERE year = ? AND {among}"),  # noqa: S608
                    (year, *values)))
        return found

    def review_queue(self) -> list[ReviewEntry]:
        """The letters waiting for a decision, longest waiting first."""
        rows = self._query(f"SELECT {_QUEUE_COLUMNS} FROM review_queue "  # noqa: S608
                           "ORDER BY queued_at, year, surat_id")
        return [_entry(row) for row in rows]

    def review_entry(self, year: int, surat_id: str) -> ReviewEntry | None:
        """One letter's place in the review queue, if it waits there."""
        rows = self._query(self._sql(f"SELECT {_QUEUE_COLUMNS} FROM review_queue "  # noqa: S608
                                     "WHERE year = ? AND surat_id = ?"), (year, surat_id))
        return _entry(rows[0]) if rows else None

    def review_count(self) -> int:
        """How many letters wait for a decision."""
        return int(self._query("SELECT COUNT(*) FROM review_queue")[0][0])


def _decision(row: tuple[Any, ...]) -> Decision:
    at = from_iso(row[4])
    assert at is not None  # noqa: S101 - NOT NULL column
    return Decision(int(row[0]), str(row[1]), Action(row[2]), row[3], at, row[5])


def _entry(row: tuple[Any, ...]) -> ReviewEntry:
    queued = from_iso(row[6])
    assert queued is not None  # noqa: S101 - NOT NULL column
    return ReviewEntry(int(row[0]), str(row[1]), row[2], row[3], float(row[4]), row[5], queued)
