"""Case tracking: derive again every case whose inputs changed, keep its history, log breaches.

Each derived case is saved with the pushes it needs (``IntentBuilder.for_case``, the one
place that decides them) in one transaction of the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from bridge.config.sop_mapping import SopMappings
from bridge.domain.cases import Case, ChangeKind, derive_case, diff_cases, may_be_case
from bridge.domain.recognition import Outcome
from bridge.domain.records import CaseInputs, CaseWrite, HistoryRow
from bridge.domain.review import ReviewEntry
from bridge.ports import CaseStore
from bridge.services.intents import IntentBuilder
from bridge.services.memo import MemoisedRecognition

log = structlog.get_logger("bridge.cases")


@dataclass
class TrackReport:
    """What one round of case derivation changed."""

    derived: int = 0
    opened: int = 0
    changed: int = 0
    closed: int = 0
    breaches: int = 0
    queued: int = 0  # letters newly waiting for review


class CaseTracker:
    """Turns the ledger's items into cases, each saved with the pushes it needs."""

    def __init__(
        self,
        cases: CaseStore,
        mappings: SopMappings,
        *,
        intents: IntentBuilder | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 500,
        log_each: int = 200,
    ) -> None:
        """``intents`` decides each case's pushes (None: none are queued, for tests alone).

        ``log_each``: how many case events (opened, changed, closed, breached) a round logs
        one by one; beyond that (a first sync opens thousands) they are logged at debug level
        and the round ends with one ``cases.summary`` line counting them.
        """
        self._cases = cases
        self._mappings = mappings
        self._recognition = MemoisedRecognition(mappings.recogniser)
        self._intents = intents
        self._now = now
        self._batch = batch
        # The breaches of the overdue cases derived in this round, by case id (None: no next
        # deadline), and those a crash may have left unrecorded (read in a process's first round).
        self._overdue: dict[str, _Breach | None] = {}
        self._leftover: list[_Breach] | None = None
        self._carry = TrackReport()  # what derive_some did since the last run
        self._log_each = log_each
        self._logged = 0  # case events logged one by one in this round
        self._debug: bool | None = None  # whether debug lines are written (known once asked)

    def run(self, *, finish: bool = True) -> TrackReport:
        """Derive the dirty cases, then refresh cases whose deadline passed, then log breaches.

        ``finish`` False leaves the breaches to ``finish``: the round first sends the drafts
        that move step-4 deadlines, and derives those cases again.
        """
        report, self._carry = self._carry, TrackReport()
        if self._leftover is None:
            # Before this round derives any case: what is unrecorded now was left by a crash.
            self._leftover = [b for c in self._cases.unlogged_breaches()
                              if (b := _breach_of(c)) is not None]
        self._mark_deadlines_passed()
        while keys := self._cases.dirty_cases(self._batch):
            self._derive_batch(keys, report)
        if finish:
            self.finish(report)
        return report

    def finish(self, report: TrackReport) -> None:
        """Log the round's SLA breaches (each once) and its summary line."""
        report.breaches += self._log_breaches()
        self._summarise(report)

    def derive_some(self, limit: int = 10) -> bool:
        """Derive up to ``limit`` dirty cases now; False when none is dirty.

        The poller calls it while it waits for the next page, so that on a slow server the
        cases are derived in time that would otherwise be spent waiting.
        """
        keys = self._cases.dirty_cases(limit)
        if not keys:
            return False
        self._derive_batch(keys, self._carry)
        return True

    def derive_now(self, keys: list[tuple[int, str]]) -> TrackReport:
        """Derive these letters' cases at once (after an operator's decision)."""
        report = TrackReport()
        self._derive_batch(keys, report)
        return report

    def _mark_deadlines_passed(self) -> None:
        # Time alone makes a case overdue: derive again those whose deadline has passed.
        due = self._cases.cases_past_deadline(self._now())
        if due:
            self._cases.mark_cases_dirty(due)

    def _derive_batch(self, keys: list[tuple[int, str]], report: TrackReport) -> None:
        inputs = self._cases.case_inputs(keys)
        writes = [self._derive(inputs.get(key) or CaseInputs(*key), report)
                  for key in dict.fromkeys(keys)]
        held = self._cases.save_cases(writes)
        report.derived += len(writes)
        for entry in held:
            self._event("push.cancelled", warning=True, case_id=entry.intent.case_id,
                        ref=entry.intent.ref, was=entry.state.value,
                        reason="the letter now waits for review",
                        next="`bridge review accept` sends it after all; `reject` keeps it "
                             "cancelled")

    def _derive(self, inputs: CaseInputs, report: TrackReport) -> CaseWrite:
        now = self._now()
        case = self._case(inputs, now)
        old = inputs.case
        if case is None:
            return self._not_a_case(inputs, now, report)
        changes = diff_cases(old, case)
        if old is None:
            report.opened += 1
            self._event("case.opened", case_id=case.case_id, surat_id=case.surat_id,
                        step=case.step)
        elif changes:
            report.changed += 1
            self._event("case.changed", case_id=case.case_id, surat_id=case.surat_id,
                        step=case.step, changes=[c.describe() for c in changes])
        intents = (tuple(self._intents.for_case(case, inputs.letter))
                   if self._intents is not None else ())
        history = tuple(HistoryRow(now, c.kind.value, c.describe(), _source(c.kind, c.subject, case))
                        for c in changes)
        if case.overdue:
            self._overdue[case.case_id] = _breach_of(case)
        else:  # derived again in the same round (a draft just sent): no longer overdue
            self._overdue.pop(case.case_id, None)
        # It waited for review (its pushes held) and is a request again by itself: revived.
        return CaseWrite(inputs.year, inputs.surat_id, case, history, now, intents=intents,
                         unqueue=inputs.queued, revive=inputs.queued and old is None)

    def _case(self, inputs: CaseInputs, now: datetime) -> Case | None:
        """The case of one letter's stored items, or None when they make none.

        Most letters are no request: their texts alone say so, before any derivation.
        """
        m = self._mappings
        letter, dispositions = inputs.letter, inputs.dispositions
        opened = inputs.decision is not None and inputs.decision.action.opens
        if not opened and not may_be_case(letter.perihal if letter is not None else None,
                                          (d.isi for d in dispositions),
                                          has_letter=letter is not None,
                                          recogniser=self._recognition):
            return None
        return derive_case(inputs.year, letter, list(dispositions), recogniser=self._recognition,
                           sop=m.sop, calendar=m.calendar, now=now, decision=inputs.decision,
                           invitation=inputs.invitation)

    def _review(self, inputs: CaseInputs, now: datetime) -> ReviewEntry | None:
        """The letter's entry in the review queue when it waits for a person, else None."""
        letter = inputs.letter
        if inputs.decision is not None or letter is None:
            return None
        verdict = self._recognition.subject_verdict(letter.perihal)
        if verdict.outcome is not Outcome.REVIEW:
            return None
        return ReviewEntry(inputs.year, inputs.surat_id, letter.perihal, letter.asal_surat,
                           verdict.score, verdict.reason, now)

    def _not_a_case(self, inputs: CaseInputs, now: datetime, report: TrackReport) -> CaseWrite:
        """The write for a letter that is no case: queued for review, closed, or nothing."""
        surat_id, old = inputs.surat_id, inputs.case
        review = self._review(inputs, now)
        history: list[HistoryRow] = []
        if review is not None and not inputs.queued:
            report.queued += 1
            self._event("review.queued", case_id=review.case_id, surat_id=surat_id,
                        score=review.score, reason=review.why,
                        next="`bridge review` lists it; accept or reject it there")
            history.append(HistoryRow(now, "review_queued", f"waits for review: {review.why}",
                                      f"surat:{surat_id}"))
        if old is not None:
            report.closed += 1
            decision = inputs.decision
            why = (decision.describe() if decision is not None
                   else "the letter waits for review" if review is not None
                   else "the letter is no longer recognised as a request")
            self._event("case.closed", case_id=old.case_id, surat_id=surat_id, reason=why)
            text = ("no longer a request" if decision is None and review is None
                    else f"closed: {why}")
            history.append(HistoryRow(now, "closed", text, f"surat:{surat_id}"))
        # A case whose letter now waits for review sends nothing until a person decides.
        return CaseWrite(inputs.year, surat_id, None, tuple(history), now, review=review,
                         unqueue=inputs.queued and review is None,
                         hold=review is not None and old is not None)

    def _log_breaches(self) -> int:
        # A case becomes overdue only when it is derived (time passing marks it dirty), so the
        # cases derived in this round are enough, with those a crash left unrecorded.
        due = [*(self._leftover or ()), *(b for b in self._overdue.values() if b is not None)]
        self._leftover = []
        self._overdue.clear()
        # One transaction for all of them; each is logged the first time it is recorded.
        first = self._cases.record_breaches([(b.case_id, b.step, b.deadline) for b in due])
        breaches = 0
        for breach, new in zip(due, first, strict=True):
            if new:
                breaches += 1
                self._event("sla.breached", warning=True, case_id=breach.case_id,
                            surat_id=breach.surat_id, step=breach.step,
                            deadline=breach.deadline.isoformat(),
                            reached_step=breach.reached_step,
                            next="logged once; the case stays overdue until the step is reached")
        return breaches

    def _event(self, event: str, *, warning: bool = False, **fields: Any) -> None:
        """Log one case event, one by one while the round's budget lasts, then at debug level."""
        if self._logged < self._log_each:
            self._logged += 1
            (log.warning if warning else log.info)(event, **fields)
            return
        if self._debug is None:  # asked once per round: the lazy logger is rebuilt per call
            self._debug = log.bind().is_enabled_for(logging.DEBUG)
        if self._debug:
            log.debug(event, **fields)

    def _summarise(self, report: TrackReport) -> None:
        """After a round that logged more case events than its budget: one line counting them."""
        if self._logged >= self._log_each:
            log.info("cases.summary", derived=report.derived, opened=report.opened,
                     changed=report.changed, closed=report.closed, breaches=report.breaches,
                     queued_for_review=report.queued,
                     logged_one_by_one=self._logged,
                     next="the others were logged at debug level; `bridge cases list` shows "
                          "every case")
        self._logged = 0
        self._debug = None


@dataclass(frozen=True, slots=True)
class _Breach:
    """What an overdue case's SLA breach is recorded and logged with."""

    case_id: str
    surat_id: str
    reached_step: int
    step: int
    deadline: datetime


def _breach_of(case: Case) -> _Breach | None:
    if case.next_step is None or case.next_deadline is None:
        return None
    return _Breach(case.case_id, case.surat_id, case.step, case.next_step, case.next_deadline)


def _source(kind: ChangeKind, subject: str, case: Case) -> str:
    """The Sisumaker item behind a change: the step's evidence, else the letter."""
    if kind in (ChangeKind.STEP_REACHED, ChangeKind.STEP_CHANGED) and subject.startswith("step "):
        number = subject.removeprefix("step ").split()[0]
        if number.isdigit() and int(number) in case.steps:
            return case.steps[int(number)].source
    return f"surat:{case.surat_id}"
