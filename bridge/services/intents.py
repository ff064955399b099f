"""What each case asks the bridge to write: a note per step reached, the step-4 invitation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bridge.config.profile import PushSpec
from bridge.config.push_mapping import PushMapping
from bridge.domain.calendar import WorkingCalendar
from bridge.domain.cases import Case
from bridge.domain.dates import DateFormat, read_date
from bridge.domain.invitations import Invitation, InvitationStatus
from bridge.domain.items import Letter
from bridge.domain.outbox import OutboxEntry, OutboxIntent, PushAction, push_ref, ref_attempt
from bridge.domain.sop import Sop
from bridge.domain.wording import Wording, tanggal, tanggal_singkat, waktu

INVITATION_STEP = 4
NOTE_AFTER_INVITATION_STEP = 4
# The invitation follows the IT division head's receipt of the letter (step 3).
INVITATION_AFTER_STEP = 3


class IntentBuilder:
    """Renders the pushes a case implies, from the mapping files' wording."""

    def __init__(self, mapping: PushMapping, spec: PushSpec, sop: Sop, calendar: WorkingCalendar,
                 *, zone: ZoneInfo | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """Wire the wording, the API's field names, the SOP and the calendar.

        ``zone`` is the profile's: the meeting time is written in it (the calendar's when None).
        """
        self._mapping = mapping
        notes, invitation = mapping.notes, mapping.invitation
        self._notes = {step: Wording(text) for step, text in notes.steps.items()}
        self._signed = Wording(notes.invitation_sent) if notes.invitation_sent else None
        self._to, self._subject, self._body = (Wording(invitation.to),
                                               Wording(invitation.subject),
                                               Wording(invitation.body))
        self._zone = zone or calendar.zone
        self._event_time = DateFormat.of(spec.event_time_format)
        self._spec = spec
        self._sop = sop
        self._calendar = calendar
        self._now = now

    def for_case(self, case: Case, letter: Letter | None) -> list[OutboxIntent]:
        """The notes of every step reached that has wording, and the invitation after step 3.

        Step 4's note is written once the invitation is signed (the case shows step 4),
        from ``notes.invitation_sent``; the first draft's ref is the same every time.
        """
        signed = self._signed_note(case, letter)
        intents = [self._note(case, letter, step) for step in sorted(case.steps)
                   if step in self._mapping.notes.steps
                   and not (step == NOTE_AFTER_INVITATION_STEP and signed is not None)]
        if INVITATION_AFTER_STEP in case.steps and letter is not None:
            intents.append(self.invitation(case, letter))
        if signed is not None:
            intents.append(signed)
        return intents

    def _signed_note(self, case: Case, letter: Letter | None) -> OutboxIntent | None:
        """The note that tells the letter's readers the invitation is signed and sent."""
        template = self._signed
        invitation = case.invitation
        if (template is None or NOTE_AFTER_INVITATION_STEP not in case.steps
                or invitation is None or invitation.status is not InvitationStatus.SIGNED):
            return None
        values = self._note_values(case, letter, NOTE_AFTER_INVITATION_STEP)
        meeting = (self._calendar.localise(invitation.meeting_at)
                   if invitation.meeting_at is not None else None)
        if meeting is not None:
            values["tenggat_berikut"] = waktu(self._calendar.end_of(meeting.date()))
        values |= {"id_compose": invitation.remote_id, "nomor_undangan": invitation.nomor_surat,
                   "tanggal_rapat": tanggal(meeting.date()) if meeting else None,
                   "jam_rapat": f"{meeting:%H.%M}" if meeting else None,
                   "tempat": invitation.place}
        return self._note_intent(case, NOTE_AFTER_INVITATION_STEP, template.fill(values))

    def invitation_record(self, entry: OutboxEntry, remote_id: str) -> Invitation:
        """The invitation a sent draft stands for, waiting for its signer."""
        body, fields = entry.intent.body, self._spec.letter_fields
        try:  # read back as it was written: the profile's format and zone
            meeting: datetime | None = self._calendar.localise(read_date(
                str(body.get(fields["event_time"], "")), self._spec.event_time_format,
                self._zone))
        except ValueError:
            meeting = None
        drafted = entry.sent_at or self._now()
        return Invitation(
            ref=entry.intent.ref, attempt=ref_attempt(entry.intent.ref), remote_id=remote_id,
            status=InvitationStatus.WAITING, drafted_at=drafted, meeting_at=meeting,
            place=_str_or_none(body.get(fields["place"])),
            signer=_str_or_none(body.get(fields["signer"])),
        )

    def _note(self, case: Case, letter: Letter | None, step: int) -> OutboxIntent:
        text = self._notes[step].fill(self._note_values(case, letter, step))
        return self._note_intent(case, step, text)

    def _note_intent(self, case: Case, step: int, text: str) -> OutboxIntent:
        ref = push_ref(case.year, case.surat_id, PushAction.NOTE, step)
        fields = self._spec.note_fields
        body = {fields["status"]: self._mapping.notes.status, fields["text"]: text,
                self._spec.ref_field: ref}
        return OutboxIntent(ref, case.case_id, case.year, case.surat_id, PushAction.NOTE, step,
                            body)

    def _note_values(self, case: Case, letter: Letter | None, step: int) -> dict[str, str | None]:
        reached = case.steps.get(step)
        following = self._sop.next_step(step)
        deadline = None
        if reached is not None and following is not None:
            days = self._sop.working_days(following)
            if days is not None:
                deadline = self._calendar.add_working_days(reached.at, days)
        return {
            "surat_id": case.surat_id,
            "nomor_surat": letter.nomor_surat if letter else None,
            "perihal": case.perihal,
            "asal_surat": case.asal_surat,
            "langkah": str(step),
            "nama_langkah": self._sop.step(step).name,
            "waktu": waktu(self._calendar.localise(reached.at)) if reached else None,
            "aktor": reached.actor if reached else None,
            "langkah_berikut": self._sop.step(following).name if following else None,
            "tenggat_berikut": waktu(deadline) if deadline else None,
        }

    def invitation(self, case: Case, letter: Letter, attempt: int = 1) -> OutboxIntent:
        """The draft invitation of a case; ``attempt`` > 1 after the signer returned one."""
        config = self._mapping.invitation
        # The invitation is drafted now; the meeting falls on a later working day, within the
        # time the SOP allows for the presentation (checked when push.toml is loaded).
        drafted = self._calendar.localise(self._now())
        meeting_day = self._calendar.add_working_days(drafted, config.meeting_after_working_days)
        meeting = meeting_day.replace(hour=config.meeting_time.hour,
                                      minute=config.meeting_time.minute, second=0)
        values = {
            "surat_id": case.surat_id,
            "nomor_surat": letter.nomor_surat,
            "tanggal_surat": tanggal_singkat(self._calendar.localise(letter.created_at).date()),
            "perihal": case.perihal,
            "asal_surat": case.asal_surat,
            "tanggal_rapat": tanggal(meeting.date()),
            "jam_rapat": f"{meeting:%H.%M}",
            "tempat": config.place,
            "penandatangan": config.signer,
        }
        ref = push_ref(case.year, case.surat_id, PushAction.INVITATION, INVITATION_STEP, attempt)
        fields = self._spec.letter_fields
        body = {
            fields["kind"]: config.kind,
            fields["to"]: self._to.fill(values),
            fields["subject"]: self._subject.fill(values),
            fields["body"]: self._body.fill(values),
            fields["event_time"]: self._event_time.write(meeting, self._zone),
            fields["place"]: config.place,
            fields["signer"]: config.signer,
            fields["reference"]: self._spec.written_id(case.surat_id),
            self._spec.ref_field: ref,
        }
        return OutboxIntent(ref, case.case_id, case.year, case.surat_id, PushAction.INVITATION,
                            INVITATION_STEP, body)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
