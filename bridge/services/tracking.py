"""Case tracking: derive again every case whose items changed, keep its history, log breaches."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from bridge import codec
from bridge.config.sop_mapping import SopMappings
from bridge.domain.cases import Case, ChangeKind, derive_case, diff_cases, may_be_case
from bridge.domain.invitations import Invitation
from bridge.domain.items import Disposition, Letter, ListKind, item_from_fields
from bridge.domain.outbox import OutboxIntent
from bridge.domain.recognition import Outcome
from bridge.domain.records import CaseRow, CaseWrite, HistoryRow
from bridge.domain.review import Decision, ReviewEntry
from bridge.ports import Ledger
from bridge.services.case_json import case_document, case_from_document
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
    intents: list[OutboxIntent] = field(default_factory=list)


class CaseTracker:
    """Turns the ledger's items into cases; the pushes they imply go to the outbox."""

    def __init__(
        self,
        ledger: Ledger,
        mappings: SopMappings,
        *,
        intents: IntentBuilder | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 500,
        log_each: int = 200,
    ) -> None:
        """``intents`` None: pushing is off, no intent is computed.

        ``log_each``: how many case events (opened, changed, closed, breached) a round logs
        one by one; beyond that (a first sync opens thousands) they are logged at debug level
        and the round ends with one ``cases.summary`` line counting them.
        """
        self._ledger = ledger
        self._mappings = mappings
        self._recognition = MemoisedRecognition(mappings.recogniser)
        self._intents = intents
        self._now = now
        self._batch = batch
        # Overdue cases derived in this round, by case id: the digest of their stored
        # document and their breach, so logging breaches need not parse the document back.
        self._overdue: dict[str, tuple[bytes, _Breach | None]] = {}
        self._checked_all = False
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
        self._mark_deadlines_passed()
        while keys := self._ledger.dirty_cases(self._batch):
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
        keys = self._ledger.dirty_cases(limit)
        if not keys:
            return False
        self._derive_batch(keys, self._carry)
        return True

    def _mark_deadlines_passed(self) -> None:
        # Time alone makes a case overdue: derive again those whose deadline has passed.
        due = self._ledger.cases_past_deadline(self._now())
        if due:
            self._ledger.mark_cases_dirty(due)

    def _derive_batch(self, keys: list[tuple[int, str]], report: TrackReport) -> None:
        by_year: dict[int, list[str]] = defaultdict(list)
        for year, surat_id in keys:
            by_year[year].append(surat_id)
        # The stored cases, decisions and queued letters of the whole batch in one read each.
        old_rows = self._ledger.get_cases([f"{year}-{surat_id}" for year, surat_id in keys])
        decisions = self._ledger.decisions_for(keys)
        queued = self._ledger.queued_for(keys)
        writes: list[CaseWrite] = []
        for year, ids in by_year.items():
            letters, dispositions = self._ledger.case_payloads(year, ids)
            invitations = self._ledger.case_invitations(year, ids)
            for surat_id in ids:
                letter = letters.get(surat_id)
                letter_fields = None if letter is None else codec.loads(letter)
                items = [codec.loads(p) for p in dispositions.get(surat_id, ())]
                old_row = old_rows.get(f"{year}-{surat_id}")
                derived = _Derived(year, surat_id, letter_fields, items, old_row,
                                   decisions.get((year, surat_id)), (year, surat_id) in queued,
                                   invitations.get(surat_id))
                writes.append(self._derive(derived, report))
        self._ledger.save_cases(writes)
        report.derived += len(writes)
        for write in writes:
            case_id = f"{write.year}-{write.surat_id}"
            was_case = old_rows.get(case_id) is not None
            if write.review is not None and write.row is None and was_case:
                self._hold_pushes(case_id)
            elif write.unqueue and write.row is not None and not was_case:
                # It waited for review (its pushes held) and is a request again by itself.
                self._ledger.revive_pushes(case_id)

    def derive_now(self, keys: list[tuple[int, str]]) -> TrackReport:
        """Derive these letters' cases at once (after an operator's decision)."""
        report = TrackReport()
        self._derive_batch(keys, report)
        return report

    def _hold_pushes(self, case_id: str) -> None:
        """A case whose letter now waits for review sends nothing until a person decides."""
        for entry in self._ledger.cancel_pushes(case_id):
            self._event("push.cancelled", warning=True, case_id=case_id, ref=entry.intent.ref,
                        was=entry.state.value,
                        reason="the letter now waits for review",
                        next="`bridge review accept` sends it after all; `reject` keeps it "
                             "cancelled")

    def _case(self, derived: _Derived, now: datetime) -> tuple[Case | None, Letter | None]:
        """The case of one letter's stored items (their canonical fields), and its letter.

        Most letters are no request: their texts alone say so, and their items are not
        even built.
        """
        m = self._mappings
        letter_fields, disposition_fields = derived.letter_fields, derived.disposition_fields
        opened = derived.decision is not None and derived.decision.action.opens
        if not opened and not may_be_case(_text(letter_fields, "perihal"),
                                          (_text(d, "isi") for d in disposition_fields),
                                          has_letter=letter_fields is not None,
                                          recogniser=self._recognition):
            return None, None
        letter = self._letter(letter_fields)
        dispositions = [d for d in (self._disposition(f) for f in disposition_fields)
                        if d is not None]
        case = derive_case(derived.year, letter, dispositions, recogniser=self._recognition,
                           sop=m.sop, calendar=m.calendar, now=now, decision=derived.decision,
                           invitation=derived.invitation)
        return case, letter

    def _review(self, derived: _Derived, now: datetime) -> ReviewEntry | None:
        """The letter's entry in the review queue when it waits for a person, else None."""
        fields = derived.letter_fields
        if derived.decision is not None or fields is None:
            return None
        verdict = self._recognition.subject_verdict(_text(fields, "perihal"))
        if verdict.outcome is not Outcome.REVIEW:
            return None
        return ReviewEntry(derived.year, derived.surat_id, _text(fields, "perihal"),
                           _text(fields, "asal_surat"), verdict.score, verdict.reason, now)

    def _not_a_case(self, derived: _Derived, old: Case | None, now: datetime,
                    report: TrackReport) -> CaseWrite:
        """The write for a letter that is no case: queued for review, closed, or nothing."""
        year, surat_id = derived.year, derived.surat_id
        review = self._review(derived, now)
        history: list[HistoryRow] = []
        if review is not None and not derived.queued:
            report.queued += 1
            self._event("review.queued", case_id=review.case_id, surat_id=surat_id,
                        score=review.score, reason=review.why,
                        next="`bridge review` lists it; accept or reject it there")
            history.append(HistoryRow(now, "review_queued", f"waits for review: {review.why}",
                                      f"surat:{surat_id}"))
        unqueue = derived.queued and review is None
        if old is not None:
            report.closed += 1
            decision = derived.decision
            why = (decision.describe() if decision is not None
                   else "the letter waits for review" if review is not None
                   else "the letter is no longer recognised as a request")
            self._event("case.closed", case_id=old.case_id, surat_id=surat_id, reason=why)
            text = ("no longer a request" if decision is None and review is None
                    else f"closed: {why}")
            history.append(HistoryRow(now, "closed", text, f"surat:{surat_id}"))
        return CaseWrite(year, surat_id, None, tuple(history), review=review, unqueue=unqueue)

    def _derive(self, derived: _Derived, report: TrackReport) -> CaseWrite:
        now = self._now()
        year, surat_id, old_row = derived.year, derived.surat_id, derived.old_row
        case, letter = self._case(derived, now)
        old = case_from_document(codec.loads(old_row.data)) if old_row else None
        if case is None:
            return self._not_a_case(derived, old, now, report)
        changes = diff_cases(old, case)
        if old is None:
            report.opened += 1
            self._event("case.opened", case_id=case.case_id, surat_id=surat_id, step=case.step)
        elif changes:
            report.changed += 1
            self._event("case.changed", case_id=case.case_id, surat_id=surat_id, step=case.step,
                     changes=[c.describe() for c in changes])
        if self._intents is not None:
            report.intents.extend(self._intents.for_case(case, letter))
        history = tuple(HistoryRow(now, c.kind.value, c.describe(), _source(c.kind, c.subject, case))
                        for c in changes)
        row = CaseRow(case.case_id, year, surat_id, case.step, case.overdue, case.next_deadline,
                      codec.dumps(case_document(case)), now)
        if case.overdue:
            self._overdue[case.case_id] = (_digest(row.data), _breach_of(case))
        else:  # derived again in the same round (a draft just sent): no longer overdue
            self._overdue.pop(case.case_id, None)
        return CaseWrite(year, surat_id, row, history, unqueue=derived.queued)

    def _log_breaches(self) -> int:
        # A case becomes overdue only when it is derived (time passing marks it dirty), so the
        # cases derived in this round are enough; the first round of a process checks them all,
        # in case a crash came between storing a case and recording its breach.
        if self._checked_all:
            due = [breach for _, breach in self._overdue.values() if breach is not None]
        else:
            due = list(self._every_stored_breach())
            self._checked_all = True
        self._overdue.clear()
        # One transaction for all of them; each is logged the first time it is recorded.
        first = self._ledger.record_breaches([(b.case_id, b.step, b.deadline) for b in due])
        breaches = 0
        for breach, new in zip(due, first, strict=True):
            if new:
                breaches += 1
                self._event("sla.breached", warning=True, case_id=breach.case_id, surat_id=breach.surat_id,
                            step=breach.step, deadline=breach.deadline.isoformat(),
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

    def _every_stored_breach(self) -> Iterator[_Breach]:
        """The breach of every overdue case in the ledger, read a batch of cases at a time."""
        after = ""
        while rows := self._ledger.overdue_cases(after=after, limit=self._batch):
            for row in rows:
                if (breach := self._stored_breach(row)) is not None:
                    yield breach
            after = rows[-1].case_id

    def _stored_breach(self, row: CaseRow) -> _Breach | None:
        """The breach a stored overdue case stands for (None: it has no next deadline).

        A case derived in this round is not read back from its document: the document
        stored is the one derived (same digest), so its breach is the one kept then.
        """
        derived = self._overdue.get(row.case_id)
        if derived is not None and derived[0] == _digest(row.data):
            return derived[1]
        return _breach_of(case_from_document(codec.loads(row.data)))

    def letter_of(self, year: int, surat_id: str) -> Letter | None:
        """The stored letter of a case, parsed."""
        letters, _ = self._ledger.case_payloads(year, [surat_id])
        payload = letters.get(surat_id)
        return self._letter(None if payload is None else codec.loads(payload))

    def _letter(self, fields: dict[str, object] | None) -> Letter | None:
        item = self._parse(ListKind.SURAT, fields)
        return item if isinstance(item, Letter) else None

    def _disposition(self, fields: dict[str, object]) -> Disposition | None:
        item = self._parse(ListKind.DISPOSISI, fields)
        return item if isinstance(item, Disposition) else None

    @staticmethod
    def _parse(kind: ListKind, fields: dict[str, object] | None) -> Letter | Disposition | None:
        # The canonical fields were written when the item was validated and stored.
        return None if fields is None else item_from_fields(kind, fields)


@dataclass(frozen=True, slots=True)
class _Derived:
    """What one letter's case is derived from: its stored items and an operator's decision."""

    year: int
    surat_id: str
    letter_fields: dict[str, object] | None
    disposition_fields: list[dict[str, object]]
    old_row: CaseRow | None
    decision: Decision | None
    queued: bool  # the letter waited in the review queue before this derivation
    invitation: Invitation | None = None  # the latest invitation drafted for it


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


def _digest(document: str) -> bytes:
    return hashlib.blake2b(document.encode("utf-8"), digest_size=16).digest()


def _text(fields: dict[str, object] | None, name: str) -> str | None:
    """A text field of an item's canonical fields, as the built item would hold it."""
    value = fields.get(name) if fields is not None else None
    return value if isinstance(value, str) else None


def _source(kind: ChangeKind, subject: str, case: Case) -> str:
    """The Sisumaker item behind a change: the step's evidence, else the letter."""
    if kind in (ChangeKind.STEP_REACHED, ChangeKind.STEP_CHANGED) and subject.startswith("step "):
        number = subject.removeprefix("step ").split()[0]
        if number.isdigit() and int(number) in case.steps:
            return case.steps[int(number)].source
    return f"surat:{case.surat_id}"
