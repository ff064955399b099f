"""Cases: one development request followed through the SOP, derived from Sisumaker items.

``derive_case`` is a pure function of the *set* of items known for one letter: dispositions
may arrive in any order, before their letter, or twice, and the result is the same. It is
recomputed from scratch whenever an item of the letter is added or changes in place;
``diff_cases`` then tells what changed, for the case's history.

Decisions (the SOP leaves them open):

* Step 1 is reached at the letter's ``created_at``; its actor is the sending agency.
* A step reached by a disposition (steps 2 and 3 in the shipped ``sop.toml``) is reached at
  the earliest matching disposition. Registration by the front office (``tgl_diterimaTU``)
  alone does NOT reach step 2: the SOP's step 2 is "register AND dispose to the Head", and
  only the disposition shows both. A case whose disposition-reached steps are seen while the
  letter has no ``received_at`` gets the anomaly ``not_registered``.
* A letter the request rule does not recognise gives no case, unless one of its dispositions
  carries an instruction (``isi``) that the ``[instruction]`` rule recognises as a
  development request; the case then has the anomaly ``recognised_from_disposition``. A
  disposition to the IT head alone is not enough: the Head sends the IT division invitations,
  data requests and much else.
* Dispositions whose letter is not yet known give no case either (the letter usually follows
  within one poll), again unless an instruction is recognised: then the case has the anomaly
  ``letter_missing`` and no step 1.
* The next step is due at ``calendar.add_working_days(when the current step was reached,
  the next step's working_days)``; the case is ``overdue`` once ``now`` is past that.
  ``overdue_steps`` also lists every reached step that came after its own deadline (counted
  from the step before it), so lateness stays on record after the step is done.

* The step reached by the invitation (step 4 in the shipped ``sop.toml``) is reached when the
  invitation the bridge drafted is signed, at the signing time. While the draft waits for its
  signer, that step is due one working day (its ``working_days``) after the later of the step
  before it and the drafting: only a late signature makes the case overdue, not the days the
  request spent before the bridge drafted it. Once signed, the next step (the presentation)
  is due at the end of the meeting day the invitation names. A returned draft is the anomaly
  ``invitation_returned`` (the signer's reason is in the case's ``invitation``); the step
  stays due from that draft until a new draft is sent.

Anomaly codes: ``letter_missing``, ``recognised_from_disposition``, ``not_registered``,
``invitation_returned``,
``step{N}_missing`` (a tracked step below the highest reached has no evidence),
``step{N}_before_step{M}`` (a later step's evidence is dated before an earlier one's), and the
disposition anomalies of ``sop.toml`` (shipped: ``disposed_to_other_division``,
``head_bypassed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bridge.domain.calendar import WorkingCalendar
from bridge.domain.invitations import Invitation, InvitationStatus
from bridge.domain.items import Disposition, Letter
from bridge.domain.recognition import Recognition, Role, Verdict
from bridge.domain.review import Decision
from bridge.domain.sop import Sop, StepDef, TriggerKind

LETTER_MISSING = "letter_missing"
NOT_REGISTERED = "not_registered"
RECOGNISED_FROM_DISPOSITION = "recognised_from_disposition"
INVITATION_RETURNED = "invitation_returned"
BUILTIN_ANOMALIES = (LETTER_MISSING, NOT_REGISTERED, RECOGNISED_FROM_DISPOSITION,
                     INVITATION_RETURNED)
"""Fixed anomaly codes; ``step{N}_missing`` and ``step{N}_before_step{M}`` are built too."""


@dataclass(frozen=True, slots=True)
class StepReached:
    """When a step was reached, by whom, and which item shows it."""

    at: datetime
    actor: str
    source: str  # "surat:<id_persuratan>", "disposisi:<id_disposisi>", "suratkeluar:<id_compose>"


@dataclass(frozen=True, slots=True)
class Case:
    """The state of one request in the SOP, as far as Sisumaker shows it."""

    case_id: str
    year: int
    surat_id: str
    perihal: str | None
    asal_surat: str | None
    registered_at: datetime | None
    step: int  # the highest step reached; 0 when none is (letter not yet seen)
    steps: Mapping[int, StepReached]
    next_step: int | None
    next_deadline: datetime | None
    overdue: bool
    overdue_steps: tuple[int, ...]  # steps reached late, and the next step once past due
    anomalies: tuple[str, ...]  # sorted short codes
    reason: str  # why this is a case: the recognition rule's verdict, or an operator's decision
    invitation: Invitation | None = None  # the latest invitation drafted for it
    score: float = 1.0  # how sure recognition was (an operator's opening counts as sure)


@dataclass(frozen=True, slots=True)
class _Seen:
    """A disposition with the roles of its sender and receiver, decided once."""

    item: Disposition
    at: datetime
    from_role: Role
    to_role: Role


def derive_case(
    year: int,
    letter: Letter | None,
    dispositions: Sequence[Disposition],
    *,
    recogniser: Recognition,
    sop: Sop,
    calendar: WorkingCalendar,
    now: datetime,
    invitation: Invitation | None = None,
    decision: Decision | None = None,
) -> Case | None:
    """The case of one letter from everything known about it, or None when it is no case.

    ``dispositions`` are those of this letter (``surat_id`` equal to the letter's id); their
    order does not matter. ``invitation`` is the latest invitation drafted for it, if any.
    Naive datetimes are read in the calendar's time zone.
    ``decision``: an operator's latest decision on the letter, which wins over recognition.
    """
    surat_id = _surat_id(letter, dispositions)
    if surat_id is None:
        return None
    if decision is not None and not decision.action.opens:
        return None  # dismissed or rejected by a person
    opened = decision is not None and decision.action.opens
    # No `may_be_case` here: its caller (the case tracker) asks it before building the items
    # at all; asking again would recognise every case's texts twice. Without it the answer is
    # the same: `_recognise` finds no verdict.
    seen = _sorted_seen(dispositions, recogniser, calendar)
    verdict, anomalies = _recognise(letter, seen, recogniser)
    if opened and decision is not None and verdict is None:
        verdict, anomalies = Verdict(True, "decision", decision.describe(), 1.0), set()
    if verdict is None:
        return None
    steps = _steps_reached(letter, seen, sop, calendar, invitation)
    step = max(steps, default=0)
    next_step = sop.next_step(step)
    timing = _Timing(sop, calendar, invitation)
    deadline = timing.deadline(steps, step, next_step)
    overdue = deadline is not None and calendar.localise(now) > deadline
    anomalies |= _structural_anomalies(letter, seen, steps, step, sop)
    if invitation is not None and invitation.status is InvitationStatus.RETURNED:
        anomalies.add(INVITATION_RETURNED)
    return Case(
        case_id=f"{year}-{surat_id}",
        year=year,
        surat_id=surat_id,
        perihal=letter.perihal if letter else None,
        asal_surat=letter.asal_surat if letter else None,
        registered_at=_registered_at(letter, calendar),
        step=step,
        steps=steps,
        next_step=next_step,
        next_deadline=deadline,
        overdue=overdue,
        overdue_steps=timing.overdue_steps(steps, next_step if overdue else None),
        anomalies=tuple(sorted(anomalies)),
        reason=verdict.reason,
        invitation=invitation,
        score=verdict.score,
    )


def may_be_case(perihal: str | None, instructions: Iterable[str | None], *, has_letter: bool,
                recogniser: Recognition) -> bool:
    """Whether the items of one letter can make a case at all, from their texts alone.

    A shortcut for callers that hold the texts before the items (most letters are no request,
    and their items need not be built); ``derive_case`` answers the same without it.

    ``perihal`` is the letter's subject (``has_letter`` False: the letter is not known),
    ``instructions`` its dispositions' ``isi``. False means ``derive_case`` gives None for
    them, whatever else they say: neither the subject nor any instruction is recognised.
    """
    if has_letter and recogniser.subject_verdict(perihal).matched:
        return True
    return any(recogniser.instruction_verdict(isi).matched for isi in instructions)


def _surat_id(letter: Letter | None, dispositions: Sequence[Disposition]) -> str | None:
    """The letter's id, checking every disposition belongs to it."""
    ids = {d.surat_id for d in dispositions}
    if letter is not None:
        ids.add(letter.id)
    if len(ids) > 1:
        raise ValueError(f"items of several letters given together: {sorted(ids)}")
    return next(iter(ids), None)


def _sorted_seen(
    dispositions: Sequence[Disposition], recogniser: Recognition, calendar: WorkingCalendar
) -> tuple[_Seen, ...]:
    """Dispositions with their roles, in one canonical order whatever order they came in.

    The order key covers every field that matters, so even two versions of one disposition
    (the same id seen before and after a change) sort the same way every time.
    """
    seen = [_seen(d, recogniser, calendar) for d in dispositions]
    seen.sort(key=_canonical_key)
    return tuple(seen)


def _seen(item: Disposition, recogniser: Recognition, calendar: WorkingCalendar) -> _Seen:
    from_role = recogniser.role_of(item.dari_jabatan)
    to_role = recogniser.role_of(item.kepada_jabatan)
    return _Seen(item, calendar.localise(item.created_at), from_role, to_role)


def _canonical_key(seen: _Seen) -> tuple[datetime, str, str, str, str]:
    item = seen.item
    return (seen.at, item.id, item.dari_jabatan or "", item.kepada_jabatan or "", item.isi or "")


def _recognise(
    letter: Letter | None, seen: tuple[_Seen, ...], recogniser: Recognition
) -> tuple[Verdict | None, set[str]]:
    """Why this is a case (None when it is not), and the anomalies that choice implies."""
    if letter is not None:
        verdict = recogniser.subject_verdict(letter.perihal)
        if verdict.matched:
            return verdict, set()
    for entry in seen:
        instruction = recogniser.instruction_verdict(entry.item.isi)
        if instruction.matched:
            code = RECOGNISED_FROM_DISPOSITION if letter is not None else LETTER_MISSING
            reason = f"disposisi:{entry.item.id}: {instruction.reason}"
            return replace(instruction, reason=reason), {code}
    return None, set()


def _steps_reached(
    letter: Letter | None, seen: tuple[_Seen, ...], sop: Sop, calendar: WorkingCalendar,
    invitation: Invitation | None,
) -> dict[int, StepReached]:
    """Each tracked step that the items show reached, with its earliest evidence."""
    steps: dict[int, StepReached] = {}
    for step in sop.tracked:
        reached = _reached(step, letter, seen, calendar, invitation)
        if reached is not None:
            steps[step.number] = reached
    return steps


def _reached(
    step: StepDef, letter: Letter | None, seen: tuple[_Seen, ...], calendar: WorkingCalendar,
    invitation: Invitation | None,
) -> StepReached | None:
    trigger = step.trigger
    if trigger is None:
        return None
    if trigger.kind is TriggerKind.INVITATION:
        if invitation is None or invitation.status is not InvitationStatus.SIGNED:
            return None
        signed = invitation.signed_at or invitation.drafted_at
        return StepReached(calendar.localise(signed), invitation.signer or step.actor,
                           f"suratkeluar:{invitation.remote_id or invitation.ref}")
    if trigger.kind is TriggerKind.LETTER:
        if letter is None:
            return None
        actor = letter.asal_surat or letter.pengirim or ""
        return StepReached(calendar.localise(letter.created_at), actor, f"surat:{letter.id}")
    # ``seen`` is in canonical order, so the first match is the earliest disposition.
    for entry in seen:
        if trigger.matches(entry.from_role, entry.to_role):
            actor = entry.item.dari_jabatan or ""
            return StepReached(entry.at, actor, f"disposisi:{entry.item.id}")
    return None


@dataclass(frozen=True, slots=True)
class _Timing:
    """When each step is due: the SOP's working days, adjusted around the invitation."""

    sop: Sop
    calendar: WorkingCalendar
    invitation: Invitation | None

    def deadline(self, steps: Mapping[int, StepReached], step: int,
                 next_step: int | None) -> datetime | None:
        """When the next step is due: counted from the moment the current step was reached."""
        if step == 0 or next_step is None:
            return None
        invitation = self.invitation
        if (step == self.sop.invitation_step and invitation is not None
                and invitation.meeting_at is not None):
            # The presentation is due on the meeting day the signed invitation names.
            meeting = self.calendar.localise(invitation.meeting_at)
            return self.calendar.end_of(meeting.date())
        return self.due(steps, next_step)

    def due(self, steps: Mapping[int, StepReached], number: int) -> datetime | None:
        """When step ``number`` is due, counted from the step before it (None: no limit)."""
        previous = steps.get(number - 1)
        allowed = self.sop.working_days(number)
        if previous is None or allowed is None:
            return None
        start = previous.at
        if number == self.sop.invitation_step and self.invitation is not None:
            # The signer can sign only once the draft exists: a request the bridge found
            # late (a first run, pushing turned on later) is not the signer's delay.
            start = max(start, self.calendar.localise(self.invitation.drafted_at))
        return self.calendar.add_working_days(start, allowed)

    def overdue_steps(self, steps: Mapping[int, StepReached],
                      overdue_next: int | None) -> tuple[int, ...]:
        """Steps reached after their deadline, plus the next step when it is past due now."""
        late = {overdue_next} if overdue_next is not None else set()
        for number, reached in steps.items():
            due = self.due(steps, number)
            if due is not None and reached.at > due:
                late.add(number)
        return tuple(sorted(late))


def _structural_anomalies(
    letter: Letter | None,
    seen: tuple[_Seen, ...],
    steps: Mapping[int, StepReached],
    step: int,
    sop: Sop,
) -> set[str]:
    """Skipped steps, steps out of order, unforeseen dispositions, an unregistered letter."""
    found: set[str] = set()
    for tracked in sop.tracked:
        number = tracked.number
        skipped_letter = tracked.trigger is not None and tracked.trigger.kind is TriggerKind.LETTER
        # A missing letter is reported once, as letter_missing, not also as step1_missing.
        if number < step and number not in steps and not (skipped_letter and letter is None):
            found.add(f"step{number}_missing")
    for later, reached in steps.items():
        for earlier, before in steps.items():
            if earlier < later and reached.at < before.at:
                found.add(f"step{later}_before_step{earlier}")
    for anomaly in sop.anomalies:
        if any((e.from_role, e.to_role) == (anomaly.from_role, anomaly.to_role) for e in seen):
            found.add(anomaly.code)
    if letter is not None and letter.received_at is None and _disposition_step_reached(steps):
        found.add(NOT_REGISTERED)
    return found


def _disposition_step_reached(steps: Mapping[int, StepReached]) -> bool:
    return any(r.source.startswith("disposisi:") for r in steps.values())


def _registered_at(letter: Letter | None, calendar: WorkingCalendar) -> datetime | None:
    if letter is None or letter.received_at is None:
        return None
    return calendar.localise(letter.received_at)


# --- history ------------------------------------------------------------------------------


class ChangeKind(StrEnum):
    """The kinds of change a case's history records."""

    OPENED = "opened"
    FIELD_CHANGED = "field_changed"
    STEP_REACHED = "step_reached"
    STEP_CHANGED = "step_changed"  # same step, other evidence (an earlier disposition...)
    STEP_WITHDRAWN = "step_withdrawn"  # its evidence is gone (a rule or an item changed)
    DEADLINE_CHANGED = "deadline_changed"
    BECAME_OVERDUE = "became_overdue"
    NO_LONGER_OVERDUE = "no_longer_overdue"
    ANOMALY_RAISED = "anomaly_raised"
    ANOMALY_CLEARED = "anomaly_cleared"


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a case: what (``subject``), from what, to what (as display text)."""

    kind: ChangeKind
    subject: str
    old: str | None = None
    new: str | None = None

    def describe(self) -> str:
        """A one-line English description, e.g. ``step_reached step 3: ... -> ...``."""
        return f"{self.kind.value} {self.subject}: {self.old or '-'} -> {self.new or '-'}"


_TRACKED_FIELDS = ("perihal", "asal_surat", "registered_at", "overdue_steps", "invitation")


def diff_cases(old: Case | None, new: Case) -> list[Change]:
    """What changed from ``old`` to ``new`` (``old`` None: the case was just opened).

    The list is in a fixed order: opening, fields, steps by number, deadline, overdue,
    anomalies by code. An empty list means nothing worth recording changed.
    """
    if old is not None and old.case_id != new.case_id:
        raise ValueError(f"cannot compare case {old.case_id} with case {new.case_id}")
    changes: list[Change] = []
    if old is None:
        changes.append(Change(ChangeKind.OPENED, new.case_id, None, new.reason))
    changes += _field_changes(old, new)
    changes += _step_changes(old, new)
    if old is not None and old.next_deadline != new.next_deadline:
        before, after = _text(old.next_deadline), _text(new.next_deadline)
        changes.append(Change(ChangeKind.DEADLINE_CHANGED, "next_deadline", before, after))
    changes += _overdue_changes(old, new)
    changes += _anomaly_changes(old, new)
    return changes


def _field_changes(old: Case | None, new: Case) -> list[Change]:
    if old is None:
        return []
    changes = []
    for name in _TRACKED_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            changes.append(Change(ChangeKind.FIELD_CHANGED, name, _text(before), _text(after)))
    return changes


def _step_changes(old: Case | None, new: Case) -> list[Change]:
    before = old.steps if old is not None else {}
    changes = []
    for number in sorted(set(before) | set(new.steps)):
        was, now = before.get(number), new.steps.get(number)
        subject = f"step {number}"
        if was is None and now is not None:
            changes.append(Change(ChangeKind.STEP_REACHED, subject, None, _step_text(now)))
        elif was is not None and now is None:
            changes.append(Change(ChangeKind.STEP_WITHDRAWN, subject, _step_text(was), None))
        elif was is not None and now is not None and was != now:
            changes.append(Change(ChangeKind.STEP_CHANGED, subject, _step_text(was), _step_text(now)))
    return changes


def _overdue_changes(old: Case | None, new: Case) -> list[Change]:
    if new.overdue and (old is None or not old.overdue):
        return [Change(ChangeKind.BECAME_OVERDUE, _due_subject(new), None, _text(new.next_deadline))]
    if old is not None and old.overdue and not new.overdue:
        return [Change(ChangeKind.NO_LONGER_OVERDUE, _due_subject(old), _text(old.next_deadline))]
    return []


def _due_subject(case: Case) -> str:
    return f"step {case.next_step}" if case.next_step is not None else "case"


def _anomaly_changes(old: Case | None, new: Case) -> list[Change]:
    before = set(old.anomalies) if old is not None else set()
    after = set(new.anomalies)
    raised = [Change(ChangeKind.ANOMALY_RAISED, code) for code in sorted(after - before)]
    cleared = [Change(ChangeKind.ANOMALY_CLEARED, code) for code in sorted(before - after)]
    return raised + cleared


def _step_text(reached: StepReached) -> str:
    return f"{reached.at.isoformat()} {reached.source} ({reached.actor})"


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or None
    if isinstance(value, Invitation):
        return value.describe()
    return str(value)
