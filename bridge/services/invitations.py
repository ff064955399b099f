"""Watching the drafted invitations: a signature is step 4 reached, a return an anomaly.

Each round looks up the newest draft of every open case still waiting for its signer, one
request per draft; signed, returned and closed cases cost nothing. A change is written with
a dirty mark on its case, so the case is derived again in the same round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog

from bridge.domain.invitations import InvitationStatus
from bridge.domain.items import YearDir
from bridge.errors import ApiError, AuthenticationError
from bridge.ports import DraftWatch, SisumakerApi
from bridge.services.stop import StopSignal

log = structlog.get_logger("bridge.invitations")


@dataclass
class WatchReport:
    """What one look at the waiting drafts found."""

    checked: int = 0
    signed: int = 0
    returned: int = 0
    failed: int = 0


class InvitationWatcher:
    """Looks up the waiting drafts and records their signers' answers."""

    def __init__(self, api: SisumakerApi, ledger: DraftWatch, year_dir: Callable[[int], YearDir], *,
                 stop: StopSignal | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """Wire the client, the ledger and how a year's directory is found."""
        self._api = api
        self._ledger = ledger
        self._year_dir = year_dir
        self._stop = stop or StopSignal()
        self._now = now

    def run(self) -> WatchReport:
        """One look at each waiting draft; a failing look-up leaves that draft for next time."""
        report = WatchReport()
        for year, surat_id, invitation in self._ledger.waiting_invitations():
            if self._stop.is_set():
                break
            bound = log.bind(case_id=f"{year}-{surat_id}", surat_id=surat_id, ref=invitation.ref)
            report.checked += 1
            try:
                answer = self._api.draft_status(self._year_dir(year), invitation.ref)
            except AuthenticationError as exc:
                report.failed += 1
                bound.error("invitation.check_failed", reason=str(exc),
                            next="the other drafts wait for the next round")
                break
            except ApiError as exc:
                report.failed += 1
                bound.warning("invitation.check_failed", reason=str(exc),
                              next="looked up again in the next round")
                continue
            if answer is None or answer.status is InvitationStatus.WAITING:
                continue
            if answer.status is InvitationStatus.SIGNED and answer.signed_at is None:
                answer = replace(answer, signed_at=self._now())  # no readable signing time
            if not self._ledger.settle_invitation(invitation.ref, answer):
                continue  # settled meanwhile by another process
            if answer.status is InvitationStatus.SIGNED:
                report.signed += 1
                assert answer.signed_at is not None  # noqa: S101 - set just above
                bound.info("invitation.signed", nomor_surat=answer.nomor_surat,
                           signed_at=answer.signed_at.isoformat(), remote_id=answer.remote_id,
                           next="step 4 reached; its follow-up note is queued")
            else:
                report.returned += 1
                bound.warning("invitation.returned", reason=answer.reason or "",
                              remote_id=answer.remote_id,
                              next="not sent again by itself: after fixing the cause, "
                                   "`bridge outbox retry ID` (the push with this ref) sends a "
                                   "new draft under a new ref")
        return report
