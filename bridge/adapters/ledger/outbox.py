"""The outbox and the leases, on SQL: each state change is its own committed transaction."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bridge.adapters.ledger.base import from_iso, iso, now_utc
from bridge.adapters.ledger.invitations import InvitationStore
from bridge.domain.invitations import Invitation
from bridge.domain.outbox import OutboxEntry, OutboxIntent, OutboxState, PushAction

COLUMNS = ("id, ref, case_id, year, surat_id, action, step, body, state, attempts, remote_id, "
            "last_error, created_at, updated_at, sent_at")


class OutboxStore(InvitationStore):
    """Intents committed before their POST, results after it."""

    def enqueue(self, intents: list[OutboxIntent]) -> int:
        """Add intents not yet known (by ref); return how many were new."""
        if not intents:
            return 0
        with self._transaction() as cur:
            return self._insert_intents(cur, intents)

    def _insert_intents(self, cur: Any, intents: list[OutboxIntent]) -> int:
        """Queue intents not yet known (by ref) on an open transaction; return how many were new.

        A ref already queued keeps its entry as it is, whatever state it is in.
        """
        now = iso(now_utc())
        added = 0
        for intent in intents:
            cur.execute(
                self._sql(
                    "INSERT INTO outbox (ref, case_id, year, surat_id, action, step, body, "
                    "state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (ref) DO NOTHING"
                ),
                (intent.ref, intent.case_id, intent.year, intent.surat_id,
                 intent.action.value, intent.step, json.dumps(intent.body),
                 OutboxState.PENDING.value, now, now),
            )
            added += int(cur.rowcount or 0)
        return added

    def outbox_due(self, limit: int = 500) -> list[OutboxEntry]:
        """Pending and in-doubt pushes, oldest first."""
        return self._entries(
            "WHERE state IN (?, ?) ORDER BY id LIMIT ?",
            (OutboxState.PENDING.value, OutboxState.IN_DOUBT.value, limit),
        )

    def outbox_entries(self, state: OutboxState | None = None, *,
                       case_id: str | None = None) -> list[OutboxEntry]:
        """Every push (of one state, of one case, if given), oldest first."""
        where, params = [], []
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        if case_id is not None:
            where.append("case_id = ?")
            params.append(case_id)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        return self._entries(f"{clause}ORDER BY id", tuple(params))

    def outbox_entry(self, entry_id: int) -> OutboxEntry | None:
        """One push by its id."""
        found = self._entries("WHERE id = ?", (entry_id,))
        return found[0] if found else None

    def outbox_counts(self) -> dict[OutboxState, int]:
        """Pushes per state."""
        counts = dict.fromkeys(OutboxState, 0)
        for state, count in self._query("SELECT state, COUNT(*) FROM outbox GROUP BY state"):
            counts[OutboxState(state)] = int(count)
        return counts

    def mark_sending(self, entry_id: int) -> bool:
        """Record, before the POST, that one may reach the server; False if already settled."""
        return self._move(entry_id, OutboxState.IN_DOUBT, attempt=True,
                          only_from=(OutboxState.PENDING, OutboxState.IN_DOUBT))

    def mark_sent(self, entry_id: int, remote_id: str, *,
                  draft: tuple[int, str, Invitation] | None = None) -> None:
        """Record the server's id: the push is done, for good.

        ``draft`` (year, letter id, invitation): the push drafted the step-4 invitation, which
        is watched from now on; in the same transaction, so no crash leaves it unwatched.
        """
        with self._transaction() as cur:
            now = iso(now_utc())
            cur.execute(
                self._sql("UPDATE outbox SET state = ?, remote_id = ?, last_error = NULL, "
                          "updated_at = ?, sent_at = ? WHERE id = ?"),
                (OutboxState.SENT.value, remote_id, now, now, entry_id),
            )
            if draft is not None:
                self._record_invitation(cur, *draft)

    def mark_in_doubt(self, entry_id: int, error: str) -> None:
        """Keep a push in ``in_doubt`` with the error: the next try looks its ref up first."""
        self._move(entry_id, OutboxState.IN_DOUBT, error=error,
                   only_from=(OutboxState.PENDING, OutboxState.IN_DOUBT))

    def mark_failed(self, entry_id: int, error: str) -> None:
        """Give up on a push until an operator retries it."""
        self._move(entry_id, OutboxState.FAILED, error=error,
                   only_from=(OutboxState.PENDING, OutboxState.IN_DOUBT))

    def requeue(self, entry_id: int) -> bool:
        """An operator's retry of a failed push: in doubt again, so it is looked up first."""
        return self._move(entry_id, OutboxState.IN_DOUBT, only_from=(OutboxState.FAILED,))

    def _move(self, entry_id: int, state: OutboxState, *, only_from: tuple[OutboxState, ...],
              attempt: bool = False, error: str | None = None) -> bool:
        marks = ", ".join("?" * len(only_from))
        sets = "state = ?, updated_at = ?" + (", attempts = attempts + 1" if attempt else "")
        if error is not None:
            sets += ", last_error = ?"
        params: list[Any] = [state.value, iso(now_utc())]
        if error is not None:
            params.append(error[:2000])
        with self._transaction() as cur:
            cur.execute(
                self._sql(f"UPDATE outbox SET {sets} WHERE id = ? AND state IN ({marks})"),  # noqa: S608
                (*params, entry_id, *(s.value for s in only_from)),
            )
            return bool(cur.rowcount)

    def _entries(self, where: str, params: tuple[Any, ...]) -> list[OutboxEntry]:
        rows = self._query(self._sql(f"SELECT {COLUMNS} FROM outbox {where}"), params)  # noqa: S608
        return [entry_of(row) for row in rows]

    # -- leases ---------------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: timedelta,
                      *, take_over: frozenset[str] = frozenset()) -> bool:
        """Hold the named lease until now + ttl, if it is free, expired, ours or in take_over.

        One statement decides, so two processes racing for a free lease cannot both win.
        """
        now = now_utc()
        others = sorted(take_over) or [holder]
        marks = ", ".join("?" * len(others))
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "  # noqa: S608
                    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                    "expires_at = excluded.expires_at WHERE leases.holder = ? "
                    f"OR leases.expires_at <= ? OR leases.holder IN ({marks})"
                ),
                (name, holder, iso(now + ttl), holder, iso(now), *others),
            )
            return bool(cur.rowcount)

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds the named lease, and until when."""
        rows = self._query(self._sql("SELECT holder, expires_at FROM leases WHERE name = ?"),
                           (name,))
        if not rows:
            return None
        expires = from_iso(rows[0][1])
        return (rows[0][0], expires) if expires is not None else None

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up, if we hold it."""
        with self._transaction() as cur:
            cur.execute(self._sql("DELETE FROM leases WHERE name = ? AND holder = ?"),
                        (name, holder))


def entry_of(row: tuple[Any, ...]) -> OutboxEntry:
    """An outbox row (the columns of ``COLUMNS``) as an entry."""
    created = from_iso(row[12])
    updated = from_iso(row[13])
    assert created is not None and updated is not None  # noqa: S101 - NOT NULL columns
    return OutboxEntry(
        id=int(row[0]),
        intent=OutboxIntent(ref=row[1], case_id=row[2], year=int(row[3]), surat_id=row[4],
                            action=PushAction(row[5]), step=int(row[6]), body=json.loads(row[7])),
        state=OutboxState(row[8]),
        attempts=int(row[9]),
        remote_id=row[10],
        last_error=row[11],
        created_at=created,
        updated_at=updated,
        sent_at=from_iso(row[14]),
    )

