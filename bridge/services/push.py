"""Pushing the outbox to Sisumaker exactly once.

Each intent is committed with its deterministic ref before any POST, and marked ``in_doubt``
(a POST may reach the server) before each one. A POST is never retried blindly: after a
timeout, a dropped connection or a 5xx, and whenever an entry is found ``in_doubt`` (a crash, a
kill -9), the bridge looks the ref up first and sends again only when the server has none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from bridge.domain.invitations import Invitation
from bridge.domain.items import YearDir
from bridge.domain.outbox import OutboxEntry, OutboxState, PushAction
from bridge.errors import ApiError, AuthenticationError, RateLimitedApiError, RefusedApiError
from bridge.ports import Outbox, SisumakerApi
from bridge.services.stop import StopSignal

log = structlog.get_logger("bridge.push")


@dataclass
class PushReport:
    """What one push round did."""

    sent: int = 0
    found: int = 0
    deferred: int = 0
    failed: int = 0
    left: int = 0  # due entries left for the next round
    drafted: int = 0  # invitations sent (or found) now, watched from now on


class DraftRecords(Protocol):
    """Reads a sent invitation back from its push: what the draft watcher follows."""

    def invitation_record(self, entry: OutboxEntry, remote_id: str) -> Invitation:
        """The invitation a sent draft stands for, waiting for its signer."""
        ...


@dataclass(frozen=True, slots=True)
class PushPolicy:
    """How hard one round tries one entry, and when to give up on it."""

    posts_per_round: int = 3
    give_up_after: int = 10
    # In the daemon, a big backlog (the first run) must not keep the lists from being polled:
    # the rest of the outbox waits for the next round. None: push everything due.
    entries_per_round: int | None = None
    # An in-doubt push is sent again only this long after its last attempt: a POST that timed
    # out may still be landing on a slow server. The default is twice the HTTP timeout.
    resend_after: timedelta = timedelta(seconds=60)


class Pusher:
    """Sends due outbox entries; one failing entry never holds up the others."""

    def __init__(self, api: SisumakerApi, ledger: Outbox, year_dir: Callable[[int], YearDir], *,
                 drafts: DraftRecords, policy: PushPolicy | None = None,
                 stop: StopSignal | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """``drafts`` reads each invitation sent back from its push, to be watched."""
        self._api = api
        self._ledger = ledger
        self._year_dir = year_dir
        self._drafts = drafts
        self._policy = policy or PushPolicy()
        self._stop = stop or StopSignal()
        self._now = now

    def run(self) -> PushReport:
        """Push every due entry, oldest first, until none is left or a stop is asked for."""
        report = PushReport()
        seen: set[int] = set()
        while entries := [e for e in self._ledger.outbox_due() if e.id not in seen]:
            for entry in entries:
                limit = self._policy.entries_per_round
                if self._stop.is_set() or (limit is not None and len(seen) >= limit):
                    report.left = len(self._ledger.outbox_due())
                    return report
                seen.add(entry.id)
                try:
                    self.push(entry, report)
                except AuthenticationError as exc:
                    log.error("push.stopped", reason=str(exc),
                              next="the remaining pushes wait for the next round")
                    return report
        return report

    def push(self, entry: OutboxEntry, report: PushReport) -> None:
        """Push one entry: look up first when in doubt, then POST at most a few times."""
        bound = log.bind(case_id=entry.intent.case_id, surat_id=entry.intent.surat_id,
                         ref=entry.intent.ref, action=entry.intent.action.value,
                         step=entry.intent.step)
        try:
            self._push(entry, report, bound)
        except _Deferred:
            return

    def _push(self, entry: OutboxEntry, report: PushReport, bound: structlog.BoundLogger) -> None:
        if entry.state is OutboxState.IN_DOUBT:
            if self._found(entry, report, bound):
                return
            if self._now() - entry.updated_at < self._policy.resend_after:
                report.deferred += 1
                bound.info("push.waiting", reason="not on the server yet; the last attempt is "
                                                  "recent and may still be landing",
                           next="looking it up again in a later round")
                return
        if entry.attempts >= self._policy.give_up_after:
            self._ledger.mark_failed(entry.id, f"gave up after {entry.attempts} attempts; "
                                               f"last error: {entry.last_error}")
            report.failed += 1
            bound.error("push.failed", reason="too many attempts", attempts=entry.attempts,
                        next="left for an operator: bridge outbox retry ID")
            return
        last_error = "no attempt made"
        for _ in range(self._policy.posts_per_round):
            if not self._ledger.mark_sending(entry.id):
                return  # settled meanwhile by another process
            try:
                remote_id = self._post(entry)
            except AuthenticationError:
                self._ledger.mark_in_doubt(entry.id, "authentication failed")
                raise
            # What the server's answer means is decided by the client (status.py): the error
            # says whether it took nothing.
            except RefusedApiError as exc:
                self._ledger.mark_failed(entry.id, str(exc))
                report.failed += 1
                bound.error("push.failed", reason=str(exc), status=exc.status_code,
                            next="marked failed; other cases go on; "
                                 "after a fix: bridge outbox retry ID")
                return
            except RateLimitedApiError as exc:
                last_error = str(exc)
                bound.warning("push.rejected_for_now", reason=last_error,
                              next="the server took nothing; sending again after its wait")
                continue
            except ApiError as exc:
                last_error = str(exc)
                bound.warning("push.uncertain", reason=last_error,
                              next="looking the ref up; if the server has none, sending again "
                                   "in a later round, since a slow POST may still land")
                if not self._found(entry, report, bound):
                    self._defer(entry, last_error, report, bound)
                return
            self._sent(entry, remote_id, report, bound, event="push.sent")
            return
        self._defer(entry, last_error, report, bound)

    def _defer(self, entry: OutboxEntry, error: str, report: PushReport,
               bound: structlog.BoundLogger) -> None:
        self._ledger.mark_in_doubt(entry.id, error)
        report.deferred += 1
        bound.warning("push.deferred", reason=error,
                      next="the next round looks the ref up, then sends if the server has none")

    def _found(self, entry: OutboxEntry, report: PushReport,
               bound: structlog.BoundLogger) -> bool:
        try:
            remote_id = self._lookup(entry)
        except ApiError as exc:
            self._ledger.mark_in_doubt(entry.id, f"ref look-up failed: {exc}")
            report.deferred += 1
            bound.warning("push.deferred", reason=f"ref look-up failed: {exc}",
                          next="nothing is sent until the look-up answers")
            raise _Deferred from None
        if remote_id is None:
            return False
        report.found += 1
        self._sent(entry, remote_id, report, bound, event="push.found")
        return True

    def _sent(self, entry: OutboxEntry, remote_id: str, report: PushReport,
              bound: structlog.BoundLogger, *, event: str) -> None:
        intent = entry.intent
        draft = None
        if intent.action is PushAction.INVITATION:
            # Watched from the moment it is recorded as sent: the same transaction.
            draft = (intent.year, intent.surat_id,
                     self._drafts.invitation_record(entry, remote_id))
            report.drafted += 1
        self._ledger.mark_sent(entry.id, remote_id, draft=draft)
        if event == "push.sent":
            report.sent += 1
        bound.info(event, remote_id=remote_id)
        if draft is not None:
            bound.info("invitation.watched", remote_id=remote_id,
                       next="looked up each round until signed or returned")

    def _post(self, entry: OutboxEntry) -> str:
        intent = entry.intent
        year = self._year_dir(intent.year)
        if intent.action is PushAction.NOTE:
            return self._api.post_note(year, intent.surat_id, intent.body)
        return self._api.post_letter(year, intent.body)

    def _lookup(self, entry: OutboxEntry) -> str | None:
        intent = entry.intent
        year = self._year_dir(intent.year)
        if intent.action is PushAction.NOTE:
            return self._api.find_note(year, intent.surat_id, intent.ref)
        return self._api.find_letter(year, intent.ref)


class _Deferred(Exception):  # noqa: N818 - control flow inside Pusher.push
    """The ref look-up failed: stop working on this entry for now."""


def describe_body(entry: OutboxEntry) -> str:
    """The body of a push as one JSON line (for logs and ``bridge outbox``)."""
    return json.dumps(entry.intent.body, ensure_ascii=True)
