"""The step-4 invitations drafted and their signers' answers, on SQL.

Every change marks the invitation's case dirty in the same transaction, so the case is
derived again with it even after a crash in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bridge.adapters.ledger.base import SqlBase, from_iso, iso, now_utc
from bridge.domain.invitations import DraftStatus, Invitation, InvitationStatus
from bridge.domain.items import PolledYear, YearDir

_IN_CHUNK = 400
_COLUMNS = ("ref, attempt, remote_id, status, drafted_at, meeting_at, place, signer, "
            "nomor_surat, signed_at, reason, returned_at, year, surat_id")
# Only the newest draft of a case counts: an earlier one was returned and sent again.
_LATEST = ("attempt = (SELECT MAX(j.attempt) FROM invitations j "
           "WHERE j.year = invitations.year AND j.surat_id = invitations.surat_id)")
_DIRTY = ("INSERT INTO dirty_cases (year, surat_id, marked_at) VALUES (?, ?, ?) "
          "ON CONFLICT (year, surat_id) DO NOTHING")


class InvitationStore(SqlBase):
    """One row per draft sent, keyed by its ref."""

    def record_invitation(self, year: int, surat_id: str, invitation: Invitation) -> bool:
        """Remember a draft sent (waiting for its signer); False if already known.

        The pusher records its drafts with ``mark_sent``, in the same transaction; this is
        for a draft recorded alone (tests, repairs).
        """
        with self._transaction() as cur:
            return self._record_invitation(cur, year, surat_id, invitation)

    def _record_invitation(self, cur: Any, year: int, surat_id: str,
                           invitation: Invitation) -> bool:
        now = iso(now_utc())
        cur.execute(self._sql(
            f"INSERT INTO invitations ({_COLUMNS}, updated_at) "  # noqa: S608 - constants
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING"),
            (*_params(invitation), year, surat_id, now))
        added = bool(cur.rowcount)
        if added:
            cur.execute(self._sql(_DIRTY), (year, surat_id, now))
        return added

    def settle_invitation(self, ref: str, answer: DraftStatus) -> bool:
        """Record a waiting draft's signature or return; False if it was not waiting."""
        now = now_utc()
        returned = iso(now) if answer.status is InvitationStatus.RETURNED else None
        with self._transaction() as cur:
            cur.execute(self._sql(
                "UPDATE invitations SET status = ?, remote_id = COALESCE(?, remote_id), "
                "nomor_surat = ?, signed_at = ?, reason = ?, returned_at = ?, updated_at = ? "
                "WHERE ref = ? AND status = ? RETURNING year, surat_id"),
                (answer.status.value, answer.remote_id, answer.nomor_surat, iso(answer.signed_at),
                 answer.reason, returned, iso(now), ref, InvitationStatus.WAITING.value))
            rows = cur.fetchall()
            for year, surat_id in rows:
                cur.execute(self._sql(_DIRTY), (year, surat_id, iso(now)))
            return bool(rows)

    def waiting_invitations(self, limit: int = 1000) -> list[tuple[int, str, Invitation]]:
        """The newest draft of each open case still waiting for its signer, oldest first.

        A draft whose case is gone (no longer a request) is not watched.
        """
        rows = self._query(self._sql(
            f"SELECT {_COLUMNS} FROM invitations WHERE status = ? AND {_LATEST} "  # noqa: S608
            "AND EXISTS (SELECT 1 FROM cases c WHERE c.year = invitations.year "
            "AND c.surat_id = invitations.surat_id) ORDER BY drafted_at, ref LIMIT ?"),
            (InvitationStatus.WAITING.value, limit))
        return [(int(row[12]), str(row[13]), _invitation(row)) for row in rows]

    def _case_invitations(self, year: int, surat_ids: Sequence[str]) -> dict[str, Invitation]:
        """The newest draft of each of these letters' cases, by letter id."""
        found: dict[str, Invitation] = {}
        for start in range(0, len(surat_ids), _IN_CHUNK):
            among, values = self._in("surat_id", list(surat_ids[start:start + _IN_CHUNK]))
            for row in self._query(self._sql(
                    f"SELECT {_COLUMNS} FROM invitations WHERE year = ? AND {among} "  # noqa: S608
                    f"AND {_LATEST}"), (year, *values)):
                found[str(row[13])] = _invitation(row)
        return found

    def invitation(self, ref: str) -> Invitation | None:
        """One draft by its ref."""
        rows = self._query(self._sql(f"SELECT {_COLUMNS} FROM invitations WHERE ref = ?"),  # noqa: S608
                           (ref,))
        return _invitation(rows[0]) if rows else None

    def returned_invitations(self) -> int:
        """Cases whose newest draft was returned by its signer and not sent again."""
        rows = self._query(self._sql(
            f"SELECT COUNT(*) FROM invitations WHERE status = ? AND {_LATEST}"),  # noqa: S608
            (InvitationStatus.RETURNED.value,))
        return int(rows[0][0])

    def record_polled_years(self, plan: Sequence[PolledYear], at: datetime) -> None:
        """Replace the record of the year directories polled (``bridge status`` shows it)."""
        with self._transaction() as cur:
            cur.execute("DELETE FROM polled_years")
            for entry in plan:
                cur.execute(self._sql("INSERT INTO polled_years (year, dir, reason, decided_at) "
                                      "VALUES (?, ?, ?, ?)"),
                            (entry.year_dir.year, entry.year_dir.path, entry.reason, iso(at)))

    def polled_years(self) -> tuple[list[PolledYear], datetime | None]:
        """The year directories the last round chose, oldest first, and when it chose them."""
        rows = self._query("SELECT year, dir, reason, decided_at FROM polled_years ORDER BY year")
        plan = [PolledYear(YearDir(int(year), path), reason) for year, path, reason, _ in rows]
        return plan, (from_iso(rows[0][3]) if rows else None)

    def open_case_years(self, below_step: int) -> dict[int, int]:
        """Per year directory, how many cases stand below ``below_step``."""
        rows = self._query(self._sql("SELECT year, COUNT(*) FROM cases WHERE step < ? "
                                     "GROUP BY year"), (below_step,))
        return {int(year): int(count) for year, count in rows}


def _params(invitation: Invitation) -> tuple[Any, ...]:
    return (invitation.ref, invitation.attempt, invitation.remote_id, invitation.status.value,
            iso(invitation.drafted_at), iso(invitation.meeting_at), invitation.place,
            invitation.signer, invitation.nomor_surat, iso(invitation.signed_at),
            invitation.reason, iso(invitation.returned_at))


def _invitation(row: tuple[Any, ...]) -> Invitation:
    drafted = from_iso(row[4])
    assert drafted is not None  # noqa: S101 - a NOT NULL column
    return Invitation(ref=row[0], attempt=int(row[1]), remote_id=row[2],
                      status=InvitationStatus(row[3]), drafted_at=drafted,
                      meeting_at=from_iso(row[5]), place=row[6], signer=row[7],
                      nomor_surat=row[8], signed_at=from_iso(row[9]), reason=row[10],
                      returned_at=from_iso(row[11]))
